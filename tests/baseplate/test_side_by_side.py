"""Side by side with the real baseplate.py (tools/baseplate-python installs
the pinned release): the same events go through baseplate's EventQueue (a
POSIX message queue) and its event_publisher sidecar, and through ringpub's
drop-in and the ringpub daemon, to one ringcollect on 127.0.0.1, configured
by one INI file in baseplate's format. The collector must hold the same
events from both, each once.

Baseplate asks for a 10000 x 100 KiB message queue; a host whose
fs.mqueue sysctls are smaller (Debian's defaults: 10 x 8 KiB) refuses it.
The test then creates baseplate's queue within the host's limits first (the
sidecar opens the existing queue), instead of changing the host's sysctls."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import posix_ipc
import pytest
from baseplate.lib import events as bp_events

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
import ringpub  # noqa: E402

BIN = os.environ.get("RINGPUB_BIN_DIR", "zig-out/bin")
DEV_SECRET = "cmluZ3B1Yi1kZXZlbG9wbWVudC1zZWNyZXQtMDAwMDA="
N = 3000
WAIT_S = 60


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, pred, procs):
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if pred():
            return
        for name, p in procs.items():
            assert p.poll() is None, f"{name} exited with {p.returncode} while waiting for {what}"
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def lines(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f]
    except FileNotFoundError:
        return []


def fit_mqueue_limits(monkeypatch):
    """Baseplate's queue size, or the host's limits if they are smaller."""
    msg_max = int(open("/proc/sys/fs/mqueue/msg_max").read())
    size_max = int(open("/proc/sys/fs/mqueue/msgsize_max").read())
    monkeypatch.setattr(bp_events, "MAX_QUEUE_SIZE", min(bp_events.MAX_QUEUE_SIZE, msg_max))
    monkeypatch.setattr(bp_events, "MAX_EVENT_SIZE", min(bp_events.MAX_EVENT_SIZE, size_max))


def put_all(queue, items):
    """Every event in order; a full queue is retried (bounded), as a service
    that must not lose them would."""
    deadline = time.monotonic() + WAIT_S
    for e in items:
        while True:
            try:
                queue.put(e)
                break
            except bp_events.EventQueueFullError:
                assert time.monotonic() < deadline, "the queue stayed full"
                time.sleep(0.001)


def events():
    for i in range(N):
        yield {
            "event_topic": "side_by_side",
            "event_type": "test.event",
            "event_ts": 1700000000000 + i,
            "uuid": f"00000000-0000-4000-8000-{i:012d}",
            "payload": {"n": i, "text": "caf\u00e9 \u2603 \"quoted\" \\ back", "pad": "x" * (i % 300)},
        }


def test_same_events_reach_the_collector_from_both(tmp_path, monkeypatch):
    fit_mqueue_limits(monkeypatch)
    tag = f"{os.getpid()}"
    bp_name, rp_name = f"bp{tag}", f"rp{tag}"
    out = tmp_path / "out"
    out.mkdir()
    port = free_port()
    cfg = tmp_path / "publisher.ini"
    section = (f"collector.hostname = 127.0.0.1:{port}\ncollector.scheme = http\ncollector.version = 2\n"
               f"key.name = ringpub-dev\nkey.secret = {DEV_SECRET}\n")
    cfg.write_text(f"[event-publisher:{bp_name}]\n{section}\n"
                   f"[event-publisher:{rp_name}]\n{section}spool.dir = {tmp_path}/spool\n")
    cfg.chmod(0o600)
    monkeypatch.setenv("RINGPUB_DIR", str(tmp_path))
    procs = {}
    serialize = lambda e: json.dumps(e).encode()  # noqa: E731
    bp_queue = bp_events.EventQueue(bp_name, serialize)  # creates /events-NAME
    try:
        procs["ringcollect"] = subprocess.Popen(
            [f"{BIN}/ringcollect", "--listen", f"127.0.0.1:{port}", "--out", str(out),
             "--port-file", str(tmp_path / "port")], stderr=open(tmp_path / "collect.log", "w"))
        wait_for("ringcollect", lambda: (tmp_path / "port").exists(), procs)
        procs["event_publisher"] = subprocess.Popen(
            [sys.executable, "-m", "baseplate.sidecars.event_publisher", str(cfg), "--queue-name", bp_name],
            stderr=open(tmp_path / "sidecar.log", "w"))
        procs["ringpub"] = subprocess.Popen(
            [f"{BIN}/ringpub", "--queue", rp_name, "--config", str(cfg)],
            stderr=open(tmp_path / "ringpub.log", "w"))
        rp_queue = ringpub.EventQueue(rp_name, serialize)

        put_all(bp_queue, events())
        put_all(rp_queue, events())

        # baseplate's sidecar sends no queue header: ringcollect files it as "default"
        from_bp, from_rp = out / "default.jsonl", out / f"{rp_name}.jsonl"
        wait_for(f"{N} events via baseplate", lambda: len(lines(from_bp)) >= N, procs)
        wait_for(f"{N} events via ringpub", lambda: len(lines(from_rp)) >= N, procs)
        got_bp, got_rp = lines(from_bp), lines(from_rp)
        assert len(got_bp) == N and len(got_rp) == N, "no event twice"
        key = lambda e: e["payload"]["n"]  # noqa: E731
        assert sorted(got_bp, key=key) == list(events())
        assert sorted(got_rp, key=key) == sorted(got_bp, key=key)
    finally:
        for name, p in procs.items():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        posix_ipc.unlink_message_queue(f"/events-{bp_name}")
