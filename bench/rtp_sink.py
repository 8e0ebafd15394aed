#!/usr/bin/env python3
"""Counts and timestamps the RTP the daemon sends to every benchmark caller.

All callers' SDP point at this one UDP port; packets are grouped by SSRC. Prints a JSON
summary: packets, streams, sequence gaps, and inter-packet gap percentiles per stream
(pacing quality as the caller hears it). Stops after --seconds.
"""
import argparse, json, socket, struct, time

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
    s.bind(("127.0.0.1", a.port))
    s.settimeout(0.2)
    streams = {}  # ssrc -> [count, last_seq, last_arrival, seq_gaps]
    gaps = []
    total = 0
    end = time.monotonic() + a.seconds
    while time.monotonic() < end:
        try:
            data = s.recv(2048)
        except socket.timeout:
            continue
        now = time.monotonic()
        if len(data) < 12:
            continue
        seq, ssrc = struct.unpack_from("!H", data, 2)[0], struct.unpack_from("!I", data, 8)[0]
        total += 1
        st = streams.get(ssrc)
        if st is None:
            streams[ssrc] = [1, seq, now, 0]
            continue
        if (seq - st[1]) & 0xFFFF != 1:
            st[3] += 1
        gaps.append(now - st[2])
        st[0] += 1
        st[1] = seq
        st[2] = now
    gaps.sort()
    def pct(p):
        return round(gaps[min(len(gaps) - 1, int(len(gaps) * p))] * 1000, 2) if gaps else None
    summary = {"packets": total, "streams": len(streams), "seq_gaps": sum(v[3] for v in streams.values()),
               "gap_ms_p50": pct(0.50), "gap_ms_p99": pct(0.99), "gap_ms_max": round(gaps[-1] * 1000, 2) if gaps else None}
    with open(a.out, "w") as f:
        json.dump(summary, f)

if __name__ == "__main__":
    main()
