"""The Python drop-in (python/ringpub): baseplate's EventQueue API over a
ring. Events put from Python are read back with `ringctl tail` (the
installed binary); errors are baseplate's exception types."""
import json
import os
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
import ringpub  # noqa: E402

BIN = os.environ.get("RINGPUB_BIN_DIR", "zig-out/bin")


@pytest.fixture()
def ring_dir(monkeypatch):
    with tempfile.TemporaryDirectory(dir="/dev/shm") as d:
        monkeypatch.setenv("RINGPUB_DIR", d)
        yield d


def tail(name, n=100):
    out = subprocess.run([f"{BIN}/ringctl", "tail", name, "-n", str(n)], capture_output=True, check=True,
                         timeout=30)
    return out.stdout.decode().splitlines()


def test_put_reaches_the_ring_in_order(ring_dir):
    q = ringpub.EventQueue("py", lambda e: json.dumps(e).encode())
    for i in range(100):
        q.put({"event_type": "py.test", "n": i})
    got = [json.loads(line)["n"] for line in tail("py")]
    assert got == list(range(100))


def test_serialize_v2_event_passes_bytes_through(ring_dir):
    q = ringpub.EventQueue("v2", ringpub.serialize_v2_event)
    q.put(b'{"1":{"str":"x"}}')
    q.put('{"1":{"str":"y"}}')
    assert tail("v2") == ['{"1":{"str":"x"}}', '{"1":{"str":"y"}}']


def test_too_large_is_baseplates_error(ring_dir):
    q = ringpub.EventQueue("big", ringpub.serialize_v2_event)
    with pytest.raises(ringpub.EventTooLargeError) as e:
        q.put(b"x" * (ringpub.MAX_EVENT_SIZE + 1))
    assert f"({ringpub.MAX_EVENT_SIZE + 1:d} bytes)" in str(e.value)
    assert isinstance(e.value, ringpub.EventError)
    q.put(b"x" * ringpub.MAX_EVENT_SIZE)  # the limit itself is fine
    small = ringpub.EventQueue("small", ringpub.serialize_v2_event, capacity=1 << 16, max_event=100)
    with pytest.raises(ringpub.EventTooLargeError):
        small.put(b"y" * 101)  # the ring's own limit


def test_full_queue_raises_at_once(ring_dir):
    q = ringpub.EventQueue("full", ringpub.serialize_v2_event, capacity=4096, max_event=200)
    put = 0
    with pytest.raises(ringpub.EventQueueFullError):
        for _ in range(1000):  # bounded: 4 KiB holds far fewer than 1000 events of 100 B
            q.put(b"z" * 100)
            put += 1
    assert 0 < put < 1000
    assert len(tail("full", 1000)) == put, "every accepted event is in the ring"


def test_bad_name_is_an_event_error(ring_dir):
    with pytest.raises(ringpub.EventError, match="bad queue name"):
        ringpub.EventQueue("../escape", ringpub.serialize_v2_event)


def test_group_shares_the_ring(ring_dir):
    import grp
    gid = os.getgid() if os.geteuid() != 0 else 64600  # root may give a ring any group
    ringpub.EventQueue("shared", ringpub.serialize_v2_event, capacity=1 << 16, max_event=1000, group=gid).put(b"{}")
    st = os.stat(os.path.join(ring_dir, "shared"))
    assert (st.st_gid, st.st_mode & 0o777) == (gid, 0o660)
    ringpub.EventQueue("private", ringpub.serialize_v2_event, capacity=1 << 16, max_event=1000).put(b"{}")
    assert os.stat(os.path.join(ring_dir, "private")).st_mode & 0o777 == 0o600
    name = grp.getgrgid(os.getgid()).gr_name
    ringpub.EventQueue("byname", ringpub.serialize_v2_event, capacity=1 << 16, max_event=1000, group=name).put(b"{}")
    assert os.stat(os.path.join(ring_dir, "byname")).st_gid == os.getgid()
    with pytest.raises(ringpub.EventError, match="no group"):
        ringpub.EventQueue("nogroup", ringpub.serialize_v2_event, group="no-such-group-here")
