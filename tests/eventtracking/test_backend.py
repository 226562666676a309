"""ringpub.eventtracking with the real event-tracking package (PyPI, pinned
by tools/venv-python): DjangoTracker builds the backend from
EVENT_TRACKING_BACKENDS, tracker.emit() puts each event into the ring, and
the ringpub daemon writes them to a file sink. Full, too large and
unserializable events never raise into emit and are reported once per
interval."""
import datetime
import json
import logging
import os
import signal
import subprocess
import time

from eventtracking.backends.logger import LoggerBackend
from eventtracking.django.django_tracker import DjangoTracker

from ringpub.eventtracking import RingpubBackend

BIN = os.environ.get("RINGPUB_BIN_DIR", "zig-out/bin")


def start_daemon(work, queue):
    cfg = os.path.join(work, "ringpub.ini")
    with open(cfg, "w") as f:
        f.write(f"[event-publisher:{queue}]\nsink = file\nfile.path = {work}/events.jsonl\nspool.dir = {work}/spool\n"
                "batch.max_age = 50ms\nring.capacity = 4MiB\nring.max_event = 64KiB\nbatch.max_bytes = 256KiB\n")
    os.chmod(cfg, 0o600)
    log = open(os.path.join(work, "ringpub.log"), "wb")
    p = subprocess.Popen([f"{BIN}/ringpub", "--queue", queue, "--config", cfg], stdout=log, stderr=log)
    deadline = time.monotonic() + 10
    while not os.path.exists(os.path.join(os.environ["RINGPUB_DIR"], queue)):
        assert p.poll() is None and time.monotonic() < deadline, open(os.path.join(work, "ringpub.log")).read()
        time.sleep(0.02)
    return p


def lines(path):
    try:
        with open(path, "rb") as f:
            return f.read().count(b"\n")
    except FileNotFoundError:
        return 0


def test_emit_through_the_daemon_to_a_file(ring_dir, tmp_path):
    daemon = start_daemon(str(tmp_path), "tracking")
    try:
        tracker = DjangoTracker()
        backend = tracker.backends["ringpub"]
        assert isinstance(backend, RingpubBackend)
        when = datetime.datetime(2026, 11, 24, 12, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
        for i in range(2000):
            tracker.emit("edx.ringpub.test", {"n": i, "when": when, "day": datetime.date(2026, 11, 24)})
        assert backend.counts["sent"] == 2000
        deadline = time.monotonic() + 30  # every event in the file (SIGTERM leaves unpolled ones in the ring)
        while lines(tmp_path / "events.jsonl") < 2000 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0
    with open(tmp_path / "events.jsonl") as f:
        events = [json.loads(line) for line in f]
    assert [e["data"]["n"] for e in events] == list(range(2000))
    assert events[0]["name"] == "edx.ringpub.test"
    assert events[0]["data"]["when"] == "2026-11-24T10:30:00+00:00", "event-tracking's encoder: UTC ISO 8601"
    assert events[0]["data"]["day"] == "2026-11-24"
    assert events[0]["timestamp"].endswith("+00:00")


def test_serialized_like_the_logger_backend(ring_dir):
    event = {"name": "x", "timestamp": datetime.datetime(2026, 1, 2, 3, 4, 5), "data": {"a": [1, "é"]},
             "context": {}}
    logged = []
    handler = logging.Handler()
    handler.emit = lambda record: logged.append(record.getMessage())
    logging.getLogger("tracking-log").addHandler(handler)
    logging.getLogger("tracking-log").setLevel(logging.INFO)
    LoggerBackend(name="tracking-log", max_event_size=None).send(event)
    RingpubBackend(queue="same", capacity=1 << 16, max_event=4096).send(event)
    out = subprocess.run([f"{BIN}/ringctl", "tail", "same"], capture_output=True, check=True, timeout=30)
    assert out.stdout.decode().splitlines() == logged


def test_drops_never_raise_and_are_reported_once(ring_dir, caplog):
    backend = RingpubBackend(queue="small", capacity=4096, max_event=1024, report_interval=3600)
    caplog.set_level(logging.WARNING, logger="ringpub.eventtracking")
    for i in range(300):  # nobody drains: 4 KiB fills after a few dozen events
        backend.send({"name": "fill", "data": {"n": i, "pad": "p" * 60}})
    backend.send({"name": "big", "data": {"pad": "x" * 5000}})
    backend.send({"name": "odd", "data": {"obj": object()}})
    assert backend.counts["full"] > 200 and backend.counts["sent"] > 10
    assert backend.counts["too_large"] == 1 and backend.counts["unserializable"] == 1
    warnings = [r for r in caplog.records if r.name == "ringpub.eventtracking"]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "dropped 1 event(s)" in warnings[0].getMessage() and "full 1" in warnings[0].getMessage()


def test_unopenable_queue_is_a_drop_not_an_error(ring_dir, caplog):
    caplog.set_level(logging.WARNING, logger="ringpub.eventtracking")
    backend = RingpubBackend(queue="absent", create=False, report_interval=3600)
    for _ in range(10):
        backend.send({"name": "lost"})
    assert backend.counts["unavailable"] == 10
    assert len([r for r in caplog.records if "cannot open" in r.getMessage()]) == 1, "one retry per interval"
