"""Phase `http`: the metrics endpoint under malformed, huge, random, pipelined and slow
requests, with /healthz probed meanwhile (a probe slower than 5 s is a finding).
"""
import collections
import concurrent.futures
import re
import socket
import threading
import time

from common import phase_rng, status_class

WORKERS = 16  # concurrent connections for the malformed/random requests (the server takes 64)

MALFORMED = [
    b"GET /metrics HTTP/1.1\r\n\r\n", b"GET /healthz HTTP/1.0\r\n\r\n", b"GET / HTTP/1.1\r\n\r\n",
    b"GET\r\n\r\n", b"GET /healthz\r\n\r\n", b"/healthz\r\n\r\n", b"\r\n\r\n", b"\r\n", b"\n\n", b"",
    b"GET /healthz HTTP/9.9\r\n\r\n", b"GET /healthz HTTP/1.1\n\n", b"GET /healthz HTTP/1.1\r\r\r\r",
    b"get /healthz http/1.1\r\n\r\n", b"POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
    b"POST /metrics HTTP/1.1\r\nContent-Length: -1\r\n\r\n", b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
    b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nx\r\n", b"DELETE /metrics HTTP/1.1\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\n\r\n", b"CONNECT 127.0.0.1:22 HTTP/1.1\r\n\r\n", b"GET http://127.0.0.1/healthz HTTP/1.1\r\n\r\n",
    b"GET /../../etc/passwd HTTP/1.1\r\n\r\n", b"GET /%00 HTTP/1.1\r\n\r\n", b"GET /healthz\x00 HTTP/1.1\r\n\r\n",
    b"GET /metrics?x=" + b"%" * 100 + b" HTTP/1.1\r\n\r\n", b"GET  /healthz  HTTP/1.1\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: \xff\xfe\r\n\r\n", b"GET /healthz HTTP/1.1\r\n: empty-name\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nNoColon\r\n\r\n", b"GET /healthz HTTP/1.1\r\n folded: x\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 32, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    b"GET /readyz HTTP/1.1\r\nConnection: keep-alive\r\n\r\n", b"HEAD /metrics HTTP/1.1\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\n" + b"X: y\r\n" * 2000 + b"\r\n",
]


def exchange(data, timeout=6.0, shutdown=True):
    """Sends `data` on a new connection; returns the status of the first answer, or a label."""
    try:
        s = socket.create_connection(("127.0.0.1", PORT[0]), timeout=timeout)
    except OSError:
        return "connect_failed"
    try:
        if data:
            s.sendall(data)
        if shutdown:
            s.shutdown(socket.SHUT_WR)
        buf = b""
        end = time.monotonic() + timeout
        while time.monotonic() < end and b"\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
        m = re.match(rb"HTTP/1\.[01] (\d{3})", buf)
        return status_class(int(m.group(1))) if m else ("closed" if not buf else "garbage")
    except socket.timeout:
        return "timeout"
    except OSError:
        return "reset"
    finally:
        s.close()


PORT = [0]


class Prober(threading.Thread):
    """Probes /healthz every 0.5 s until stopped; records latencies and failures."""

    def __init__(self, daemon):
        super().__init__(daemon=True)
        self.d, self.stop_flag, self.latencies, self.failures = daemon, threading.Event(), [], []

    def run(self):
        while not self.stop_flag.is_set():
            t = time.monotonic()
            status, body = self.d.http_get("/healthz", timeout=5.0)
            took = time.monotonic() - t
            self.latencies.append(took)
            if status != 200:
                self.failures.append(f"{status} after {took:.2f} s ({body[:80]})")
            self.stop_flag.wait(0.5)


def slow_clients(n, seconds, counts):
    """n connections each sending a request one byte per 100 ms for up to `seconds`."""
    socks = []
    for _ in range(n):
        try:
            s = socket.create_connection(("127.0.0.1", PORT[0]), timeout=2)
            s.setblocking(False)
            socks.append(s)
        except OSError:
            counts["slow_connect_failed"] += 1
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 200 + b"\r\n\r\n"
    closed = set()
    for step in range(int(seconds * 10)):
        for i, s in enumerate(socks):
            if i in closed:
                continue
            try:
                got = s.recv(4096)
                m = re.match(rb"HTTP/1\.[01] (\d{3})", got)
                counts[f"slow_answered_{m.group(1).decode() if m else 'closed'}_after_{step // 10}s"] += 1
                closed.add(i)
                continue
            except BlockingIOError:
                pass
            except OSError:
                closed.add(i)
                continue
            try:
                s.send(request[step % len(request):step % len(request) + 1])
            except OSError:
                counts["slow_dropped_by_server"] += 1
                closed.add(i)
        time.sleep(0.1)
    counts["slow_clients"] += len(socks)
    for s in socks:
        s.close()


def run(ctx, rounds, slow, slow_seconds):
    """`rounds` passes over the malformed set and random-byte requests, then the heavy ones."""
    d = ctx.daemon
    PORT[0] = d.metrics_port
    rng = phase_rng(ctx.seed, "http")
    started = time.monotonic()
    counts, answers = collections.Counter(), collections.Counter()
    prober = Prober(d)
    prober.start()
    jobs = []
    for r in range(rounds):
        jobs += [(req, rng.random() < 0.5, "malformed") for req in MALFORMED]
        jobs += [(rng.randbytes(rng.choice([1, 16, 512, 4096, 9000])), rng.random() < 0.5, "random_bytes")
                 for _ in range(20)]
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        for label, answer in pool.map(lambda job: (job[2], exchange(job[0], shutdown=job[1])), jobs):
            answers[answer] += 1
            counts[label] += 1
    heavy = {
        "header_1MiB": b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n",
        "request_line_1MiB": b"GET /" + b"a" * (1 << 20) + b" HTTP/1.1\r\n\r\n",
        "body_4MiB": b"POST /metrics HTTP/1.1\r\nContent-Length: 104857600\r\n\r\n" + b"b" * (4 << 20),
        "pipelined_100": b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 100,
        "pipelined_mixed": (b"GET /metrics HTTP/1.1\r\n\r\nGARBAGE\r\n\r\n" * 30),
    }
    for name, data in heavy.items():
        answers[f"{name}:{exchange(data, timeout=10)}"] += 1
        counts["heavy"] += 1
    idle = [socket.create_connection(("127.0.0.1", PORT[0]), timeout=2) for _ in range(100)]
    time.sleep(1.0)
    for s in idle:
        s.close()
    counts["idle_connections"] += len(idle)
    slow_clients(slow, slow_seconds, counts)
    prober.stop_flag.set()
    prober.join(10)
    return _finish(ctx, counts, answers, prober, started)


def _finish(ctx, counts, answers, prober, started):
    d = ctx.daemon
    if prober.failures or max(prober.latencies, default=0) > 5.0:
        ctx.findings.add("http", f"/healthz starved or failed during the attacks: {len(prober.failures)} failed probes "
                                 f"of {len(prober.latencies)}, slowest {max(prober.latencies, default=0):.2f} s; "
                                 f"first failures: {prober.failures[:3]}", log_excerpt=d.log_tail(20))
    ok_after = None
    t = time.monotonic()
    while time.monotonic() - t < 5:
        status, _ = d.http_get("/healthz", timeout=2)
        if status == 200:
            ok_after = round(time.monotonic() - t, 3)
            break
        time.sleep(0.2)
    if ok_after is None:
        ctx.findings.add("http", "/healthz did not answer 200 within 5 s after the attacks", log_excerpt=d.log_tail(20))
    lat = sorted(prober.latencies)
    return {"requests": counts, "answers": answers, "healthz_probes": len(lat), "healthz_failed": len(prober.failures),
            "healthz_p50_ms": round(lat[len(lat) // 2] * 1000, 1) if lat else None,
            "healthz_max_ms": round(lat[-1] * 1000, 1) if lat else None, "healthz_after_s": ok_after,
            "seconds": round(time.monotonic() - started, 1)}
