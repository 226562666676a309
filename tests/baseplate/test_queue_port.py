"""baseplate's own EventQueue unit tests (tests/unit/lib/events/queue_tests.py
at baseplate.py 2.7.1), ported to run against ringpub.EventQueue, plus
baseplate's documented wiring (configure_context, add_to_context) and its
exception classes. Where baseplate's tests mock the POSIX message queue,
these read the ring back with `ringctl tail`."""
import os
import subprocess
import tempfile
import unittest
from unittest import mock

from baseplate import Baseplate
from baseplate.lib import events as bp_events

import ringpub
from ringpub import EventQueue
from ringpub import MAX_EVENT_SIZE

BIN = os.environ.get("RINGPUB_BIN_DIR", "zig-out/bin")


def tail(name):
    out = subprocess.run([f"{BIN}/ringctl", "tail", name, "-n", "100"], capture_output=True, check=True, timeout=30)
    return out.stdout.decode().splitlines()


class EventQueueTests(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(dir="/dev/shm")
        self.env = mock.patch.dict(os.environ, {"RINGPUB_DIR": self.dir.name})
        self.env.start()
        self.mock_serializer = mock.Mock()
        self.queue = EventQueue("test", event_serializer=self.mock_serializer, capacity=4096, max_event=2048)

    def tearDown(self):
        self.queue.close()
        self.env.stop()
        self.dir.cleanup()

    def test_send_event(self):
        self.mock_serializer.return_value = "i_am_serialized"
        event = object()

        self.queue.put(event)

        self.mock_serializer.assert_called_with(event)
        self.assertEqual(tail("test"), ["i_am_serialized"])

    def test_event_too_large(self):
        self.mock_serializer.return_value = "x" * (MAX_EVENT_SIZE + 1)

        with self.assertRaises(bp_events.EventTooLargeError):
            self.queue.put(object())

    def test_event_queue_full(self):
        self.mock_serializer.return_value = "y" * 100

        with self.assertRaises(bp_events.EventQueueFullError):
            for _ in range(100):  # 4 KiB holds fewer than 100 such events
                self.queue.put(object())


class BaseplateWiringTests(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(dir="/dev/shm")
        self.env = mock.patch.dict(os.environ, {"RINGPUB_DIR": self.dir.name})
        self.env.start()

    def tearDown(self):
        self.env.stop()
        self.dir.cleanup()

    def test_configure_context(self):
        baseplate = Baseplate({})
        queue = EventQueue("production", capacity=1 << 16, max_event=1000)
        baseplate.configure_context({"events_production": queue})
        with baseplate.server_context("test") as context:
            context.events_production.put(b'{"via":"configure_context"}')
        self.assertEqual(tail("production"), ['{"via":"configure_context"}'])

    def test_add_to_context(self):
        baseplate = Baseplate({})
        baseplate.add_to_context("events", EventQueue("v2", capacity=1 << 16, max_event=1000))
        with baseplate.server_context("test") as context:
            context.events.put(b'{"via":"add_to_context"}')
        self.assertEqual(tail("v2"), ['{"via":"add_to_context"}'])

    def test_exceptions_are_baseplates(self):
        self.assertTrue(issubclass(ringpub.EventError, bp_events.EventError))
        self.assertTrue(issubclass(ringpub.EventTooLargeError, bp_events.EventTooLargeError))
        self.assertTrue(issubclass(ringpub.EventQueueFullError, bp_events.EventQueueFullError))
        self.assertIsInstance(EventQueue("t", capacity=1 << 16, max_event=1000), bp_events.EventQueue.__mro__[1])
        q = EventQueue("full", capacity=4096, max_event=200)
        caught = False
        try:
            for _ in range(1000):
                q.put(b"z" * 100)
        except bp_events.EventQueueFullError:  # an existing except clause
            caught = True
        self.assertTrue(caught)

    def test_generic_alias(self):
        self.assertTrue(EventQueue[bytes])


class GeventTests(unittest.TestCase):
    """baseplate services run under gevent: greenlets that yield between
    puts share one queue; every event arrives, in each greenlet's order."""

    def test_greenlets_share_a_queue(self):
        import json

        import gevent

        with tempfile.TemporaryDirectory(dir="/dev/shm") as d:
            q = EventQueue("gevent", capacity=1 << 20, max_event=1000, directory=d)

            def work(g):
                for i in range(500):
                    q.put(json.dumps({"g": g, "n": i}).encode())
                    gevent.sleep(0)  # yield to the other greenlets

            gevent.joinall([gevent.spawn(work, g) for g in range(4)], timeout=30, raise_error=True)
            with mock.patch.dict(os.environ, {"RINGPUB_DIR": d}):
                out = subprocess.run([f"{BIN}/ringctl", "tail", "gevent", "-n", "5000"], capture_output=True,
                                     check=True, timeout=30).stdout.decode().splitlines()
            got = [json.loads(line) for line in out]
            self.assertEqual(len(got), 2000)
            for g in range(4):
                self.assertEqual([e["n"] for e in got if e["g"] == g], list(range(500)))
            self.assertGreater(len({e["g"] for e in got[:8]}), 1, "the greenlets did not interleave")
