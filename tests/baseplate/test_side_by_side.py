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
import base64
import gzip
import hashlib
import hmac
import http.server
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

import posix_ipc
import pytest
from baseplate.lib import events as bp_events

import ringpub

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


def start_sidecars(cfg, bp_name, rp_name, tmp_path, procs):
    """baseplate's event_publisher and ringpub, each on its own section of
    cfg; returns the two queues to put into."""
    serialize = lambda e: json.dumps(e).encode()  # noqa: E731
    bp_queue = bp_events.EventQueue(bp_name, serialize)  # creates /events-NAME
    procs["event_publisher"] = subprocess.Popen(
        [sys.executable, "-m", "baseplate.sidecars.event_publisher", str(cfg), "--queue-name", bp_name],
        stderr=open(tmp_path / "sidecar.log", "w"))
    procs["ringpub"] = subprocess.Popen(
        [f"{BIN}/ringpub", "--queue", rp_name, "--config", str(cfg)],
        stderr=open(tmp_path / "ringpub.log", "w"))
    return bp_queue, ringpub.EventQueue(rp_name, serialize)


def stop_all(procs, bp_name):
    for p in procs.values():
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    try:
        posix_ipc.unlink_message_queue(f"/events-{bp_name}")
    except posix_ipc.ExistentialError:
        pass


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
    try:
        procs["ringcollect"] = subprocess.Popen(
            [f"{BIN}/ringcollect", "--listen", f"127.0.0.1:{port}", "--out", str(out),
             "--allow-untimestamped", "ringpub-dev",  # baseplate's sidecar signs the body only
             "--port-file", str(tmp_path / "port")], stderr=open(tmp_path / "collect.log", "w"))
        wait_for("ringcollect", lambda: (tmp_path / "port").exists(), procs)
        bp_queue, rp_queue = start_sidecars(cfg, bp_name, rp_name, tmp_path, procs)

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
        stop_all(procs, bp_name)


class BaseplateCollector(http.server.ThreadingHTTPServer):
    """What baseplate's collector side expects of a batch, checked on every
    POST, served over HTTPS on 127.0.0.1: path /v2, Content-Type
    application/json, Content-Encoding gzip, X-Signature "key=K, mac=HEX"
    with HMAC-SHA256(secret, the gunzipped body), and a TJSON list body
    {"1":{"lst":["rec",N,...]}}. Events land in .events[sender] (ringpub's
    requests carry X-Ringpub-Queue); each broken rule in .violations."""

    def __init__(self, cert, key, key_name, secret):
        super().__init__(("127.0.0.1", 0), BaseplateHandler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.socket = ctx.wrap_socket(self.socket, server_side=True)
        self.key_name, self.secret = key_name, secret
        self.events = {"baseplate": [], "ringpub": []}
        self.violations = []
        self.lock = threading.Lock()

    def check(self, path, headers, body):
        """The events of one batch, or raises ValueError naming the rule."""
        if path != "/v2":
            raise ValueError(f"path {path}, not /v2")
        if headers.get("Content-Type") != "application/json":
            raise ValueError(f"Content-Type {headers.get('Content-Type')}")
        if headers.get("Content-Encoding") != "gzip":
            raise ValueError(f"Content-Encoding {headers.get('Content-Encoding')}, not gzip")
        plain = gzip.decompress(body)
        sig = dict(part.strip().split("=", 1) for part in headers.get("X-Signature", "").split(","))
        if sig.get("key") != self.key_name:
            raise ValueError(f"signed with key {sig.get('key')}")
        want = hmac.new(self.secret, plain, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(sig.get("mac", ""), want):
            raise ValueError("the MAC does not cover the uncompressed body with the secret")
        lst = json.loads(plain)["1"]["lst"]
        if lst[0] != "rec" or lst[1] != len(lst) - 2:
            raise ValueError(f"not a TJSON list of records: {lst[:2]}")
        return lst[2:]


class BaseplateHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        sender = "ringpub" if "X-Ringpub-Queue" in self.headers else "baseplate"
        try:
            batch = self.server.check(self.path, self.headers, body)
            status = 204
        except (ValueError, OSError, KeyError, IndexError, TypeError) as e:
            with self.server.lock:
                self.server.violations.append(f"{sender}: {e}")
            batch, status = [], 400
        with self.server.lock:
            self.server.events[sender].extend(batch)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_unchanged_baseplate_section_speaks_baseplates_wire(tmp_path, monkeypatch):
    """Issue 14: the section a baseplate service already has — hostname and
    key only — means baseplate's wire: https, gzip, its signature. Both
    sidecars post to one checker; the CA comes from SSL_CERT_FILE (ringpub)
    and REQUESTS_CA_BUNDLE (baseplate), not from the section."""
    fit_mqueue_limits(monkeypatch)
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    secret = b"a baseplate service's own secret"
    server = BaseplateCollector(str(cert), str(key), "ServiceKey", secret)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    tag = f"w{os.getpid()}"
    bp_name, rp_name = f"bp{tag}", f"rp{tag}"
    section = (f"collector.hostname = 127.0.0.1:{server.server_address[1]}\nkey.name = ServiceKey\n"
               f"key.secret = {base64.b64encode(secret).decode()}\n")
    cfg = tmp_path / "publisher.ini"
    cfg.write_text(f"[event-publisher:{bp_name}]\n{section}\n"
                   f"[event-publisher:{rp_name}]\n{section}spool.dir = {tmp_path}/spool\n")
    cfg.chmod(0o600)
    monkeypatch.setenv("RINGPUB_DIR", str(tmp_path))
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    procs = {}
    n = 500
    try:
        bp_queue, rp_queue = start_sidecars(cfg, bp_name, rp_name, tmp_path, procs)
        batch = [e for _, e in zip(range(n), events())]
        put_all(bp_queue, batch)
        put_all(rp_queue, batch)
        for who in ("baseplate", "ringpub"):
            wait_for(f"{n} events via {who}", lambda: len(server.events[who]) >= n or server.violations, procs)
        assert server.violations == [], server.violations[:3]
        key = lambda e: e["payload"]["n"]  # noqa: E731
        assert sorted(server.events["baseplate"], key=key) == batch, "the checker accepts baseplate itself"
        assert sorted(server.events["ringpub"], key=key) == batch
    finally:
        stop_all(procs, bp_name)
        server.shutdown()
