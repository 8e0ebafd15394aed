#!/usr/bin/env python3
"""Sets up (or deletes) N bridged calls in rtpengine through its ng control protocol.

    rtpengine_ng.py setup --ng HOST:PORT --bridges N --transcoding K --meter-port M --targets FILE
    rtpengine_ng.py delete --ng HOST:PORT --bridges N

Each call is what a SIP proxy in front of rtpengine would ask for: an `offer` with the
caller's SDP (PCMU + telephone-event, media at 127.0.0.1:M, bench/rtp_meter), then an
`answer` with the callee's SDP at the same meter port. The first K calls' callee answers
PCMA only, with the offer asking rtpengine to offer PCMA as a transcoding target, so those
calls transcode PCMU <-> PCMA both ways, as the daemon's bridge section does.

Writes FILE: one "PORT PT" line per leg (rtpengine's port the meter must send to, and the
payload type that leg speaks), for rtp_meter --targets. Exits non-zero, naming the call,
when rtpengine refuses any request or answers without a usable SDP.
"""
import argparse
import re
import socket
import sys
import time
import uuid


def bencode(value) -> bytes:
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(bencode(v) for v in value) + b"e"
    if isinstance(value, dict):
        return b"d" + b"".join(bencode(k) + bencode(value[k]) for k in sorted(value)) + b"e"
    raise TypeError(f"cannot bencode {type(value).__name__}")


def bdecode(data: bytes, at: int = 0, depth: int = 0):
    """Returns (value, next offset). Bounded: ng replies are small and flat."""
    if depth > 16:
        raise ValueError("bencode nested too deep")
    c = data[at:at + 1]
    if c == b"i":
        end = data.index(b"e", at)
        return int(data[at + 1:end]), end + 1
    if c == b"l" or c == b"d":
        items, at = [], at + 1
        while data[at:at + 1] != b"e":
            item, at = bdecode(data, at, depth + 1)
            items.append(item)
        if c == b"l":
            return items, at + 1
        keys = [k.decode() if isinstance(k, bytes) else k for k in items[0::2]]
        return dict(zip(keys, items[1::2])), at + 1
    if c.isdigit():
        colon = data.index(b":", at)
        n = int(data[at:colon])
        if n > len(data):
            raise ValueError("bencode string longer than the reply")
        return data[colon + 1:colon + 1 + n], colon + 1 + n
    raise ValueError(f"bencode: unexpected byte {c!r} at {at}")


class NG:
    def __init__(self, address: str):
        host, port = address.rsplit(":", 1)
        self.to = (host, int(port))
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(5)

    def wait_ready(self, seconds: float = 15) -> None:
        """Pings until rtpengine answers: it binds its ng port only once started."""
        deadline = time.monotonic() + seconds
        self.sock.settimeout(0.2)
        try:
            while True:
                try:
                    if self.request({"command": "ping"}).get("result") == b"pong":
                        return
                except socket.timeout:
                    pass
                except ConnectionRefusedError:
                    time.sleep(0.2)
                if time.monotonic() > deadline:
                    raise RuntimeError(f"rtpengine did not answer a ping on {self.to[0]}:{self.to[1]} in {seconds:g} s")
        finally:
            self.sock.settimeout(5)

    def request(self, message: dict) -> dict:
        cookie = uuid.uuid4().hex[:12].encode()
        self.sock.sendto(cookie + b" " + bencode(message), self.to)
        while True:
            data, _ = self.sock.recvfrom(65535)
            got, _, body = data.partition(b" ")
            if got == cookie:
                break
        reply, _ = bdecode(body)
        if reply.get("result") not in (b"ok", b"pong"):
            raise RuntimeError(f"{message['command']} {message.get('call-id')}: {reply.get('result')!r} "
                               f"{reply.get('error-reason', b'')!r}")
        return reply


def sdp(port: int, session: str, pcma_only: bool) -> str:
    formats, maps = ("8 101", ["a=rtpmap:8 PCMA/8000"]) if pcma_only else ("0 101", ["a=rtpmap:0 PCMU/8000"])
    return "\r\n".join(["v=0", f"o={session} 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
                        f"m=audio {port} RTP/AVP {formats}", *maps, "a=rtpmap:101 telephone-event/8000",
                        "a=fmtp:101 0-15", "a=ptime:20", "a=sendrecv", ""])


def media_port(reply: dict, call: str) -> int:
    body = reply.get("sdp", b"").decode(errors="replace")
    m = re.search(r"^m=audio (\d+) ", body, re.M)
    if not m or int(m.group(1)) == 0:
        raise RuntimeError(f"{call}: rtpengine's SDP has no active audio stream:\n{body}")
    return int(m.group(1))


def setup(ng: NG, n: int, transcoding: int, meter_port: int, targets: str) -> None:
    lines = []
    for k in range(n):
        call, transcode = f"bridge-{k}", k < transcoding
        offer = {"command": "offer", "call-id": call, "from-tag": f"caller-{k}", "sdp": sdp(meter_port, "caller", False),
                 "replace": ["origin", "session-connection"], "ICE": "remove"}
        if transcode:
            offer["codec"] = {"transcode": ["PCMA"]}
        callee_side = media_port(ng.request(offer), call)  # where the callee sends
        answer = {"command": "answer", "call-id": call, "from-tag": f"caller-{k}", "to-tag": f"callee-{k}",
                  "sdp": sdp(meter_port, "callee", transcode), "replace": ["origin", "session-connection"], "ICE": "remove"}
        caller_side = media_port(ng.request(answer), call)  # where the caller sends
        lines += [f"{caller_side} 0", f"{callee_side} {8 if transcode else 0}"]
    with open(targets, "w") as f:
        f.write("\n".join(lines) + "\n")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("action", choices=["setup", "delete"])
    p.add_argument("--ng", required=True)
    p.add_argument("--bridges", type=int, required=True)
    p.add_argument("--transcoding", type=int, default=0)
    p.add_argument("--meter-port", type=int)
    p.add_argument("--targets")
    a = p.parse_args()
    if not 1 <= a.bridges <= 10000 or not 0 <= a.transcoding <= a.bridges:
        p.error("--bridges 1-10000 and --transcoding 0..bridges")
    ng = NG(a.ng)
    try:
        ng.wait_ready()
        if a.action == "setup":
            if not a.meter_port or not a.targets:
                p.error("setup needs --meter-port and --targets")
            setup(ng, a.bridges, a.transcoding, a.meter_port, a.targets)
        else:
            for k in range(a.bridges):
                ng.request({"command": "delete", "call-id": f"bridge-{k}", "from-tag": f"caller-{k}"})
    except (RuntimeError, ValueError, OSError) as e:
        print(f"rtpengine_ng: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
