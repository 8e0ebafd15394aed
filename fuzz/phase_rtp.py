"""Phase `rtp`: RTP and RTCP garbage to live calls' media ports.

Holds calls on the healthcare, fleet (both record the caller) and general (Gather)
numbers, sends random and mutated RTP (random payload types, SSRCs, CSRC counts,
extensions, padding, RFC 4733 events, 0 to 1400 bytes), RTCP-looking packets and plain
noise to each call's RTP port and RTP+1, mostly from the negotiated peer address (so the
packets get past the peer check) and some from a stray socket; then BYEs every call.
"""
import collections
import socket
import struct
import time

import sipua
from common import RateLimiter, phase_rng

NUMBERS = ["8005963057"] * 10 + ["8888046762"] * 4 + ["2082792555"] * 6
PAYLOAD_TYPES = [0, 0, 8, 101, 101, 13, 9, 18, 96, 127, 34, 72, 73, 200]


def _payload(rng, size):
    kind = rng.randrange(4)
    if kind == 0:
        return rng.randbytes(size)
    if kind == 1:
        return bytes([rng.choice([0x00, 0xFF, 0x7F, 0x80])]) * size
    if kind == 2:
        return bytes((0x80 + int(60 * ((i * 7) % 16 - 8))) & 0xFF for i in range(size))
    return struct.pack("!BBH", rng.randrange(256), rng.randrange(256), rng.randrange(65536)) * (size // 4)


def rtp_packet(rng):
    """An RTP packet with random header fields, CSRCs, extension and padding."""
    pad, ext, cc = rng.random() < 0.1, rng.random() < 0.1, rng.choice([0] * 8 + list(range(16)))
    pt = rng.choice(PAYLOAD_TYPES) & 0x7F
    first = 0x80 | (0x20 if pad else 0) | (0x10 if ext else 0) | cc
    head = struct.pack("!BBHII", first, pt | (0x80 if rng.random() < 0.1 else 0), rng.randrange(65536),
                       rng.getrandbits(32), rng.choice([0x11111111, rng.getrandbits(32)]))
    head += rng.randbytes(4 * cc if rng.random() < 0.8 else rng.randrange(4 * cc + 1))
    if ext:
        words = rng.choice([0, 1, 2, 0xFFFF])
        head += struct.pack("!HH", rng.choice([0xBEDE, 0x1000, rng.randrange(65536)]), words)
        head += rng.randbytes(min(words, 8) * 4)
    size = rng.choice([0, 1, 4, 80, 160, 160, 160, 161, 240, 320, 1000, 1400 - len(head)])
    body = _payload(rng, max(0, size))
    if pad:
        body += bytes(rng.randrange(3)) + bytes([rng.randrange(256)])
    return head + body


def dtmf_packet(rng):
    """An RFC 4733 telephone-event packet (valid and invalid events, end bits, durations)."""
    event = rng.choice(list(range(16)) + [16, 99, 255])
    flags = (0x80 if rng.random() < 0.3 else 0) | rng.randrange(64)
    payload = struct.pack("!BBH", event, flags, rng.choice([0, 160, 800, 65535, rng.randrange(65536)]))
    if rng.random() < 0.1:
        payload = payload[:rng.randrange(4)] if rng.random() < 0.5 else payload * rng.randint(2, 10)
    return struct.pack("!BBHII", 0x80, 101 | (0x80 if rng.random() < 0.2 else 0), rng.randrange(65536),
                       rng.getrandbits(32), 0x22222222) + payload


def rtcp_packet(rng):
    """One or more RTCP-looking packets with random counts and lengths."""
    out = b""
    for _ in range(rng.randint(1, 3)):
        pt = rng.choice([200, 201, 202, 203, 204, 205, 206, 207, 192, 223])
        count = rng.randrange(32)
        words = rng.choice([0, 1, 6, 0xFFFF, rng.randrange(100)])
        body = rng.randbytes(min(words, 60) * 4 if rng.random() < 0.7 else rng.randrange(300))
        out += struct.pack("!BBH", 0x80 | count, pt, words) + body
    return out


def noise_packet(rng):
    return rng.randbytes(rng.choice([0, 1, 2, 3, 11, 12, 13, 100, 172, 1400]))


def mutated_packet(rng):
    buf = bytearray(rtp_packet(rng))
    for _ in range(rng.randint(1, 8)):
        if buf:
            buf[rng.randrange(len(buf))] = rng.randrange(256)
    return bytes(buf)


GENERATORS = [(rtp_packet, 40), (dtmf_packet, 15), (rtcp_packet, 15), (noise_packet, 15), (mutated_packet, 15)]


def _pick(rng):
    roll = rng.uniform(0, 100)
    for fn, weight in GENERATORS:
        roll -= weight
        if roll <= 0:
            return fn
    return rtp_packet


def place_calls(ctx, count):
    """Places up to `count` calls; returns those answered with a media port."""
    calls = []
    for i in range(count):
        call = sipua.Call(ctx.daemon.sip_port, "fzr")
        status = call.invite(NUMBERS[i % len(NUMBERS)], timeout=15)
        if status == 200 and call.daemon_rtp_port:
            calls.append(call)
        else:
            ctx.findings.add("rtp", f"live call {i} to {NUMBERS[i % len(NUMBERS)]} answered {status}")
            call.close()
    return calls


def blast(ctx, rng, calls, count, rate):
    """Sends `count` garbage datagrams; answers SIP and drains RTP meanwhile."""
    stray = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stray.bind(("127.0.0.1", 0))
    stray.setblocking(False)
    stats, kinds = collections.Counter(), collections.Counter()
    limiter = RateLimiter(rate)
    for i in range(count):
        call = calls[rng.randrange(len(calls))]
        fn = _pick(rng)
        data = fn(rng)
        kinds[fn.__name__] += 1
        rtcp = rng.random() < 0.3
        port = call.daemon_rtp_port + (1 if rtcp else 0)
        src = stray if rng.random() < 0.15 else call.rtp
        try:
            src.sendto(data, ("127.0.0.1", port))
            stats["sent_rtcp_port" if rtcp else "sent_rtp_port"] += 1
            stats["from_stray" if src is stray else "from_peer"] += 1
        except OSError:
            stats["send_errors"] += 1
        limiter.tick()
        if i % 250 == 0:
            for c in calls:
                c.poll()
                stats["daemon_rtp_received"] += c.drain_rtp()
            if not ctx.daemon.alive():
                break
    stray.close()
    return stats, kinds


def run(ctx, calls_wanted, count, rate):
    rng = phase_rng(ctx.seed, "rtp")
    started = time.monotonic()
    calls = place_calls(ctx, calls_wanted)
    if not calls:
        return {"calls": 0}
    stats, kinds = blast(ctx, rng, calls, count, rate)
    if not ctx.daemon.alive():
        ctx.findings.add("rtp", f"daemon died (exit status {ctx.daemon.exit_status()}) under RTP/RTCP garbage",
                         log_excerpt=ctx.daemon.log_tail(60))
        ctx.daemon.start()
        return {"calls": len(calls), "sent": stats, "kinds": kinds}
    ends, completed = collections.Counter(), []
    for c in calls:
        c.poll()
        bye = None if c.ended_by_daemon else c.bye(timeout=8)
        if c.ended_by_daemon:
            ends["ended_by_daemon"] += 1
            completed.append(c.call_id)
        elif bye == 200:
            ends["bye_200"] += 1
            completed.append(c.call_id)
        else:
            ends[f"bye_{bye}"] += 1
            ctx.findings.add("rtp", f"BYE of live call {c.call_id} ({c.did}) answered {bye}",
                             log_excerpt="\n".join(ctx.daemon.log_grep(c.call_id, 0, 30)))
        c.close()
    ctx.expect_records(completed, "rtp")
    return {"calls": len(calls), "sent": stats, "kinds": kinds, "ends": ends,
            "seconds": round(time.monotonic() - started, 1), "call_ids": completed}
