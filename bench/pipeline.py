"""bench/pipeline.py (run by tools/bench-pipeline in the pinned baseplate venv) — the
shipping side, measured in one run: EVENTS JSON events of 200 B go through

  1. ringpub's daemon, zstd + HMAC-SHA256 (ringpub's wire, /v2j),
  2. ringpub's daemon, gzip + HMAC-SHA256 (baseplate's wire, /v2),
  3. baseplate.py's own sidecar (python -m baseplate.sidecars.event_publisher, gzip + HMAC),

each to the same ringcollect on 127.0.0.1, and the script counts the CPU time (user +
system, every thread, from /proc/PID/task/*/schedstat) the shipping process spent from
the first put to the last event in the collector's file: seconds per million events.
Before row 1 the daemon sits idle for 10 s: its CPU in that time is the idle figure.
Producers: `ringctl load` (C, one process, JSON events of 200 B) into the ring, and
baseplate's EventQueue from Python into its POSIX mq (as root fs.mqueue.msg_max is raised
to 2 000 for the run and put back), as each is used. Bounded: every wait has
a deadline; the processes started here are stopped by PID.

usage: tools/bench-pipeline [EVENTS] [--rounds R] [--readme FILE] [--bin DIR]
       (EVENTS per ringpub run, default 300000; baseplate runs take at most 100000; R 3)
"""
import argparse
import datetime
import glob
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET = "cmluZ3B1Yi1kZXZlbG9wbWVudC1zZWNyZXQtMDAwMDA="  # ringcollect's development key
SIZE = 200
IDLE_S = 10.0
MSG_MAX = "/proc/sys/fs/mqueue/msg_max"


def die(msg):
    sys.exit(f"bench-pipeline: {msg}")


def event(n):
    head = b'{"event_topic":"bench","event_type":"pipeline.event","n":%d,"pad":"' % n
    return head + b"x" * (SIZE - len(head) - 2) + b'"}'


def cpu_ns(pid):
    """CPU time of every thread of pid, in ns (schedstat: exact, not clock ticks)."""
    total = 0
    for path in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            total += int(open(path).read().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a thread that ended between glob and read
    return total


class Lines:
    """Counts the lines of a growing file without reading it twice."""

    def __init__(self, path):
        self.path, self.off, self.n = path, 0, 0

    def count(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.off)
                data = f.read()
        except FileNotFoundError:
            return 0
        self.off += len(data)
        self.n += data.count(b"\n")
        return self.n


def wait(what, pred, procs, seconds=300):
    deadline = time.monotonic() + seconds
    while not pred():
        for name, p in procs.items():
            if p.poll() is not None:
                die(f"{name} exited ({p.returncode}) while waiting for {what}")
        if time.monotonic() > deadline:
            die(f"timed out waiting for {what}")
        time.sleep(0.01)


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)  # ours, by PID
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def put_all(put, full_exc, n, procs):
    deadline = time.monotonic() + 300
    for i in range(n):
        ev = event(i)
        while True:
            try:
                put(ev)
                break
            except full_exc:
                if time.monotonic() > deadline:
                    die("the queue stayed full for 300 s")
                for name, p in procs.items():
                    if p.poll() is not None:
                        die(f"{name} exited ({p.returncode}) while the queue was full")
                time.sleep(0.0005)


def section(name, port, spool, extra):
    return (f"[event-publisher:{name}]\ncollector.hostname = 127.0.0.1:{port}\ncollector.scheme = http\n"
            f"key.name = ringpub-dev\nkey.secret = {SECRET}\nspool.dir = {spool}\n{extra}\n")


def ringpub_row(bin_dir, work, port, name, extra, n, procs, idle=False):
    cfg = os.path.join(work, f"{name}.ini")
    with open(cfg, "w") as f:
        f.write(section(name, port, os.path.join(work, "spool"), extra))
    os.chmod(cfg, 0o600)
    log = open(os.path.join(work, f"{name}.log"), "w")
    d = subprocess.Popen([os.path.join(bin_dir, "ringpub"), "--queue", name, "--config", cfg], stderr=log)
    procs[name] = d
    ring = os.path.join(os.environ["RINGPUB_DIR"], name)
    wait(f"{name}'s ring", lambda: os.path.exists(ring), procs, 20)
    time.sleep(0.5)  # past start-up
    idle_ms = None
    if idle:
        c0 = cpu_ns(d.pid)
        time.sleep(IDLE_S)
        idle_ms = (cpu_ns(d.pid) - c0) / 1e6
    out = Lines(os.path.join(work, "out", f"{name}.jsonl"))
    c0, t0 = cpu_ns(d.pid), time.monotonic()
    subprocess.run([os.path.join(bin_dir, "ringctl"), "load", "--queue", name, "--procs", "1", "--events", str(n),
                    "--size", str(SIZE), "--seconds", "120"], check=True, stdout=subprocess.DEVNULL)
    wait(f"{n} events from {name}", lambda: out.count() >= n, procs)
    c1, t1 = cpu_ns(d.pid), time.monotonic()
    stop(d)
    del procs[name]
    return (c1 - c0) / n * 1e6 / 1e9, n / (t1 - t0), idle_ms


def baseplate_row(work, port, name, n, procs):
    from baseplate.lib import events as bp_events
    cfg = os.path.join(work, f"{name}.ini")
    with open(cfg, "w") as f:
        f.write(section(name, port, os.path.join(work, "spool"), ""))
    old = int(open(MSG_MAX).read())
    try:
        if os.geteuid() == 0:
            with open(MSG_MAX, "w") as f:
                f.write("2000")
        bp_events.MAX_QUEUE_SIZE = int(open(MSG_MAX).read())
        bp_events.MAX_EVENT_SIZE = 256  # 2 000 x 256 B fits RLIMIT_MSGQUEUE (800 KiB)
        q = bp_events.EventQueue(name, lambda e: e)  # creates /events-NAME
        log = open(os.path.join(work, f"{name}.log"), "w")
        d = subprocess.Popen([sys.executable, "-m", "baseplate.sidecars.event_publisher", cfg, "--queue-name", name],
                             stderr=log)
        procs[name] = d
        time.sleep(1.0)  # past start-up (imports)
        out = Lines(os.path.join(work, "out", "default.jsonl"))  # it sends no queue header
        c0, t0 = cpu_ns(d.pid), time.monotonic()
        put_all(q.put, bp_events.EventQueueFullError, n, procs)
        wait(f"{n} events from baseplate's sidecar", lambda: out.count() >= n, procs, 600)
        c1, t1 = cpu_ns(d.pid), time.monotonic()
        stop(d)
        del procs[name]
        q.queue.queue.unlink()
        q.queue.queue.close()
    finally:
        if os.geteuid() == 0:
            with open(MSG_MAX, "w") as f:
                f.write(str(old))
    return (c1 - c0) / n * 1e6 / 1e9, n / (t1 - t0), bp_events.MAX_QUEUE_SIZE


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("events", nargs="?", type=int, default=300000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--readme")
    ap.add_argument("--bin", help="a directory with ringpub and ringcollect (default: a ReleaseFast build)")
    a = ap.parse_args()
    if not 1000 <= a.events <= 10_000_000 or not 1 <= a.rounds <= 20:
        die("EVENTS 1000..10000000, --rounds 1..20")
    work = tempfile.mkdtemp(prefix="ringpub-pipeline.")
    procs = {}
    try:
        bin_dir = a.bin
        if not bin_dir:
            subprocess.run([os.path.join(ROOT, "tools", "zig"), "build", "-Doptimize=ReleaseFast", "-p",
                            os.path.join(work, "install")], cwd=ROOT, check=True)
            bin_dir = os.path.join(work, "install", "bin")
        os.environ["RINGPUB_DIR"] = os.path.join(work, "rings")
        os.mkdir(os.environ["RINGPUB_DIR"], 0o700)
        portfile = os.path.join(work, "port")
        procs["ringcollect"] = subprocess.Popen(
            [os.path.join(bin_dir, "ringcollect"), "--listen", "127.0.0.1:0", "--out", os.path.join(work, "out"),
             "--allow-untimestamped", "ringpub-dev", "--port-file", portfile],
            stderr=open(os.path.join(work, "ringcollect.log"), "w"))
        wait("ringcollect", lambda: os.path.exists(portfile) and open(portfile).read().strip(), procs, 20)
        port = int(open(portfile).read().strip())
        n, bp_n = a.events, min(a.events, 100000)
        runs = {"zstd": [], "gzip": [], "bp": []}
        idle_ms = []
        for r in range(a.rounds):  # alternating, so drift hits every row alike
            cpu, rate, idle = ringpub_row(bin_dir, work, port, f"rpzstd{r}",
                                          "compression = zstd\ncollector.version = 2j", n, procs, idle=r == 0)
            runs["zstd"].append((cpu, rate))
            idle_ms += [idle] if idle is not None else []
            cpu, rate, _ = ringpub_row(bin_dir, work, port, f"rpgzip{r}", "compression = gzip\ncollector.version = 2",
                                       n, procs)
            runs["gzip"].append((cpu, rate))
            cpu, rate, msg_max = baseplate_row(work, port, f"bp{os.getpid()}x{r}", bp_n, procs)
            runs["bp"].append((cpu, rate))
        med = {k: (statistics.median(c for c, _ in v), min(c for c, _ in v), max(c for c, _ in v),
                   statistics.median(r for _, r in v)) for k, v in runs.items()}
        rows = [("`ringpub`, zstd + HMAC-SHA256 (ringpub's wire, `/v2j`)", med["zstd"]),
                ("`ringpub`, gzip + HMAC-SHA256 (baseplate's wire, `/v2`)", med["gzip"]),
                ("baseplate.py 2.7.1 `event_publisher`, gzip + HMAC-SHA256 (`/v2`)", med["bp"])]
        idle_ms = idle_ms[0]
    finally:
        for p in procs.values():
            stop(p)
    base = rows[2][1][0]
    text = [f"Latest run (`tools/bench-pipeline {n} --rounds {a.rounds}`, {datetime.date.today().isoformat()}, this "
            f"{os.cpu_count()}-vCPU machine): {n} events of {SIZE} B per ringpub run, {bp_n} per baseplate run (its mq "
            f"`msg_max` {msg_max}); {a.rounds} rounds, rows alternating; CPU = user + system of every thread of the "
            "shipping process, first put to last event in ringcollect's file; medians (min–max).", "",
            "| shipping process | CPU s per million events | ÷ baseplate's sidecar (medians) | delivered events/s (wall) |",
            "|---|---|---|---|"]
    for label, (cpu, lo, hi, rate) in rows:
        text.append(f"| {label} | {cpu:.3f} ({lo:.3f}–{hi:.3f}) | {base / cpu:.1f}× less | {rate:,.0f} |")
    text += ["", f"Idle: the `ringpub` daemon used **{idle_ms:.3f} ms of CPU in {IDLE_S:.0f} s** with no events "
             "(every thread, from schedstat)."]
    out = "\n".join(text) + "\n"
    print(out)
    if a.readme:
        subprocess.run([os.path.join(ROOT, "tools", "readme-block"), "bench-pipeline", a.readme], input=out,
                       text=True, check=True)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
