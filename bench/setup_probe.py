#!/usr/bin/env python3
"""INVITE -> 200 OK times with a microsecond clock, one call at a time.

  setup_probe.py HOST:PORT CALLS [DIAL]   -> one JSON line {"p50_us", "p99_us", "mean_us", "calls"}

sipp's response times come in whole milliseconds; this caller measures the same step
with time.perf_counter, so the latency a dispatcher adds (a few hundred microseconds on
loopback) shows. Each call is ACKed and hung up along the route set of its 200
(Record-Route), so it works straight to a node and through the proxy alike.
"""
import json, math, random, socket, sys, time


def header(msg, name):
    for line in msg.split("\r\n")[1:]:
        if not line:
            break
        k, _, v = line.partition(":")
        if k.strip().lower() == name.lower():
            yield v.strip()


def call(sock, target, dial, n):
    host, port = target
    local = sock.getsockname()
    cid, tag = f"probe-{n}-{random.getrandbits(32)}@bench", f"t{n}"
    sdp = f"v=0\r\no=- 1 1 IN IP4 {local[0]}\r\ns=-\r\nc=IN IP4 {local[0]}\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    head = (f"SIP/2.0/UDP {local[0]}:{local[1]};rport", f"<sip:+15551230000@{local[0]}:{local[1]}>;tag={tag}")

    def request(method, uri, cseq, to, routes=(), body=""):
        lines = [f"{method} {uri} SIP/2.0", f"Via: {head[0]};branch=z9hG4bK{random.getrandbits(48):x}",
                 f"From: {head[1]}", f"To: {to}", f"Call-ID: {cid}", f"CSeq: {cseq} {method}",
                 f"Contact: <sip:probe@{local[0]}:{local[1]}>", "Max-Forwards: 70"]
        lines += [f"Route: {r}" for r in routes]
        if body:
            lines.append("Content-Type: application/sdp")
        lines += [f"Content-Length: {len(body)}", "", body]
        sock.sendto("\r\n".join(lines).encode(), target)

    uri = f"sip:{dial}@{host}:{port}"
    start = time.perf_counter()
    request("INVITE", uri, 1, f"<{uri}>", body=sdp)
    while True:
        msg = sock.recv(65535).decode(errors="replace")
        if msg.startswith("SIP/2.0 ") and f"Call-ID: {cid}" in msg and " INVITE" in next(header(msg, "CSeq"), ""):
            code = int(msg.split()[1])
            if code >= 200:
                break
    took = time.perf_counter() - start
    if code != 200:
        raise SystemExit(f"call {n}: {code}")
    to = next(header(msg, "To"))
    contact = next(header(msg, "Contact")).strip("<>").split(">")[0]
    routes = [r.strip() for rr in header(msg, "Record-Route") for r in rr.split(",")][::-1]
    request("ACK", contact, 1, to, routes)
    request("BYE", contact, 2, to, routes)
    deadline = time.time() + 5
    while time.time() < deadline:
        msg = sock.recv(65535).decode(errors="replace")
        if msg.startswith("SIP/2.0 200") and f"Call-ID: {cid}" in msg and "BYE" in next(header(msg, "CSeq"), ""):
            break
    return took


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    calls, dial = int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "8005963057"
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(10)
    times = sorted(call(sock, (host, int(port)), dial, n) * 1e6 for n in range(calls))
    q = lambda p: round(times[min(len(times) - 1, max(0, math.ceil(p * len(times)) - 1))])
    print(json.dumps({"calls": calls, "p50_us": q(0.5), "p99_us": q(0.99), "mean_us": round(sum(times) / len(times))}))


if __name__ == "__main__":
    main()
