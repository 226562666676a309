"""The Python package (python/, installed from its wheel into a fresh
virtualenv by tools/python-test): baseplate's EventQueue API over a ring.
Events put from Python are read back with `ringctl tail` (the installed
binary); errors are baseplate's exception types."""
import json
import os
import subprocess
import tempfile

import pytest

import ringpub

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


def test_str_serializer_is_sent_as_utf8(ring_dir):
    q = ringpub.EventQueue("str", lambda e: json.dumps(e, ensure_ascii=False))
    q.put({"city": "Zürich"})
    assert tail("str") == ['{"city": "Zürich"}']


def test_every_use_after_close_raises(ring_dir):
    q = ringpub.EventQueue("closed", capacity=1 << 16, max_event=1000)
    q.put(b"{}")
    q.close()
    q.close()  # idempotent
    assert q.closed
    for use in (lambda: q.put(b"{}"), lambda: q.max_event, lambda: q.make_object_for_context("events", None),
                lambda: q.parse("events", {})):
        with pytest.raises(ringpub.QueueClosedError, match="closed"):
            use()
    with ringpub.EventQueue("ctx", capacity=1 << 16, max_event=1000) as q2:
        q2.put(b"{}")
    assert q2.closed


def test_installed_not_from_the_source_tree():
    here = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", "..", "python"))
    assert not os.path.realpath(ringpub.__file__).startswith(here), ringpub.__file__
    assert ringpub.MAX_QUEUE_SIZE == 10000 and ringpub.MAX_EVENT_SIZE == 102400
    assert ringpub.EventQueue[bytes] is ringpub.EventQueue


def test_fork_open_in_parent_put_in_children(ring_dir):
    q = ringpub.EventQueue("forked", capacity=1 << 20, max_event=1000)
    q.put(b'{"who":"parent"}')
    kids = []
    for k in range(4):  # gunicorn/uWSGI pre-fork: opened in the master, used in workers
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                for i in range(500):
                    q.put(json.dumps({"who": k, "n": i}).encode())
            except BaseException:
                code = 1
            os._exit(code)
        kids.append(pid)
    for pid in kids:
        assert os.waitpid(pid, 0)[1] == 0
    q.put(b'{"who":"parent again"}')
    got = [json.loads(line) for line in tail("forked", 5000)]
    assert len(got) == 2002
    for k in range(4):
        assert [e["n"] for e in got if e["who"] == k] == list(range(500)), f"child {k} out of order or lost"


def test_threads_put_concurrently(ring_dir):
    import threading
    q = ringpub.EventQueue("threads", capacity=1 << 22, max_event=1000)
    errors = []

    def work(t):
        try:
            for i in range(2000):
                q.put(json.dumps({"t": t, "n": i}).encode())
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    ts = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert not errors
    got = [json.loads(line) for line in tail("threads", 10000)]
    assert len(got) == 8000
    for t in range(4):
        assert [e["n"] for e in got if e["t"] == t] == list(range(2000))


def rss_shmem_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssShmem:"):
                return int(line.split()[1])
    return 0


def test_attach_is_cheap(ring_dir):
    import time
    ringpub.EventQueue("big16", populate=False).close()  # the default 16 MiB ring, created
    before = rss_shmem_kib()
    t = time.perf_counter()
    q = ringpub.EventQueue("big16")
    took = time.perf_counter() - t
    grew = rss_shmem_kib() - before
    q.put(b"{}")
    q.close()
    # without pre-faulting, an attach maps the ring and touches only its header
    assert grew < 1024, f"attach added {grew} KiB of RssShmem"
    assert took < 0.05, f"attach took {took * 1e3:.1f} ms"


def test_open_options(ring_dir):
    with pytest.raises(ringpub.EventError) as e:
        ringpub.EventQueue("absent", create=False)
    assert e.value.code == -7  # RP_ENOENT
    ringpub.EventQueue("opts", capacity=1 << 16, max_event=512, mode=0o640).close()
    assert os.stat(os.path.join(ring_dir, "opts")).st_mode & 0o777 == 0o640
    q = ringpub.EventQueue("opts", create=False)
    assert q.max_event == 512, "the attacher reads the geometry from the ring"


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
