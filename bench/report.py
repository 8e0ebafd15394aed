#!/usr/bin/env python3
"""Analysis and rendering for bench/suite.sh.

    report.py setup-latency CALLS_LOG STREAMS_TSV   -> JSON latency summary
    report.py check-recordings WAV_DIR SECONDS       -> JSON recording check
    report.py billing BILLING_TXT CALLS MESSAGES     -> JSON result line
    report.py webhook METRICS_TXT APP_TSV            -> JSON webhook summary
    report.py render RESULTS_JSONL [--quick 0|1]     -> Markdown results (stdout)
"""
import datetime, glob, json, math, os, platform, struct, subprocess, sys, wave

TARGETS = {
    "capacity_calls": 2000, "gap_p99_ms": 25.0, "gap_max_ms": 60.0, "daemon_cpu_pct": 100.0,
    "setup_rate": 500, "invite_200_p99_ms": 20.0, "ack_speech_p99_ms": 30.0, "rss_per_call_kib": 100,
    "floor_ratio": 4.0, "pjsip_ratio": 10.0, "webhook_speech_rate": 300, "webhook_speech_p99_ms": 60.0,
    "webhook_clean_rate": 500, "bridges": 1500, "bridge_cpu_pct": 100.0, "bridge_floor_ratio": 2.0,
    # The meter's sends later than this at p99 mean the machine could not make the load.
    "meter_late_p99_ms": 5.0,
}


def percentiles(values):
    if not values:
        return {"p50": None, "p99": None, "max": None, "n": 0}
    v = sorted(values)
    pick = lambda p: round(v[min(len(v) - 1, int(len(v) * p))], 2)
    return {"p50": pick(0.50), "p99": pick(0.99), "max": round(v[-1], 2), "n": len(v)}


def setup_latency(calls_log, streams_tsv):
    """Pairs each call's ACK with the first RTP packet the meter saw from the daemon port in
    that call's answer (the same port may serve an earlier call, so only streams that began
    at most 1 s before the ACK count)."""
    by_port = {}
    with open(streams_tsv) as f:
        next(f)
        for line in f:
            meter_port, src_port, ssrc, first, speech, last, packets, gaps, sent = line.split("\t")
            by_port.setdefault(int(src_port), []).append((int(first), int(speech)))
    for streams in by_port.values():
        streams.sort()
    invite_ok, ack_rtp, ack_speech, logged, before_ack, unreadable = [], [], [], 0, 0, 0
    for line in open(calls_log):
        parts = line.split("(")[0].split()
        if not parts or parts[0] != "call":
            continue
        # sipp prints a variable holding 0 as an empty string: such a line is skipped.
        if len(parts) != 9:
            unreadable += 1
            continue
        logged += 1
        port = int(parts[2])
        t = [float(parts[i]) + float(parts[i + 1]) / 1e6 for i in (3, 5, 7)]
        invite_ok.append((t[1] - t[0]) * 1000)
        ack_ns = t[2] * 1e9
        for first, speech in by_port.get(port, []):
            if first >= ack_ns - 1e9:
                if first < ack_ns:
                    before_ack += 1
                ack_rtp.append(max(0.0, (first - ack_ns) / 1e6))
                if speech:
                    ack_speech.append(max(0.0, (speech - ack_ns) / 1e6))
                break
    return {"calls_logged": logged, "invite_200_ms": percentiles(invite_ok), "ack_rtp_ms": percentiles(ack_rtp),
            "ack_speech_ms": percentiles(ack_speech), "rtp_before_ack": before_ack, "unreadable_lines": unreadable}


def histogram_quantile(buckets, q):
    """Prometheus's histogram_quantile over cumulative (upper bound, count) pairs: linear
    within the bucket that holds the q-th observation; None when empty or beyond the last."""
    total = buckets[-1][1] if buckets else 0
    if not total:
        return None
    rank, lower, below = q * total, 0.0, 0
    for le, count in buckets:
        if count >= rank:
            if le == math.inf:
                return None
            return round((lower + (le - lower) * (rank - below) / max(1, count - below)) * 1000, 2)
        lower, below = le, count
    return None


def histogram(metrics_txt, name):
    """A histogram from a Prometheus text page, every label set summed: the sorted
    (upper bound, cumulative count) pairs and the count per label set."""
    buckets, counts = {}, {}
    for line in open(metrics_txt):
        if line.startswith(name + "_bucket"):
            le = line.split('le="')[1].split('"')[0]
            le = math.inf if le == "+Inf" else float(le)
            buckets[le] = buckets.get(le, 0) + float(line.rsplit(" ", 1)[1])
        elif line.startswith(name + "_count"):
            label = line.split("{", 1)[1].split("}")[0] if "{" in line else "all"
            counts[label] = int(float(line.rsplit(" ", 1)[1]))
    return sorted(buckets.items()), counts


def webhook(metrics_txt, app_tsv):
    """The daemon's webhook request and prompt synthesis times and the requests' outcomes,
    and what the tenant app saw: requests per path and its own time per answer."""
    requests, outcomes = histogram(metrics_txt, "tollfreed_webhook_request_seconds")
    tts, syntheses = histogram(metrics_txt, "tollfreed_tts_seconds")
    paths, took = {}, []
    for line in open(app_tsv):
        path, sid, arrived, us = line.rstrip("\n").split("\t")
        paths[path] = paths.get(path, 0) + 1
        took.append(int(us) / 1000)
    return {"request_ms": {"p50": histogram_quantile(requests, 0.5), "p99": histogram_quantile(requests, 0.99)},
            "tts_ms": {"p50": histogram_quantile(tts, 0.5), "p99": histogram_quantile(tts, 0.99),
                       "n": sum(syntheses.values())},
            "outcomes": outcomes, "app_requests": paths, "app_answer_ms": percentiles(took)}


def check_recordings(wav_dir, seconds):
    """Length of every decrypted recording against what was asked, and how many 20 ms
    frames carry the callers' tone (a lost packet is a missing frame)."""
    expected = int(seconds) * 8000
    files = sorted(glob.glob(os.path.join(wav_dir, "*.wav")))
    lengths, tone, frames = [], 0, 0
    for path in files:
        with wave.open(path) as w:
            n = w.getnframes()
            pcm = struct.unpack(f"<{n * w.getnchannels()}h", w.readframes(n))
        lengths.append(n)
        for i in range(0, len(pcm) - 159, 160):
            frames += 1
            if sum(s * s for s in pcm[i:i + 160:4]) / 40 > 1000 ** 2:
                tone += 1
    return {"count": len(files), "expected_samples": expected, "exact_length": sum(1 for n in lengths if n == expected),
            "min_s": round(min(lengths) / 8000, 3) if lengths else None, "max_s": round(max(lengths) / 8000, 3) if lengths else None,
            "frames": frames, "tone_frames": tone}


def billing(path, calls, messages):
    steps = []
    for line in open(path):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[1].endswith(" s") and cells[2].endswith(" s"):
            steps.append({"step": cells[0], "seconds": float(cells[1][:-2]), "cpu_s": float(cells[2][:-2]),
                          "rss_mib": float(cells[3].split()[0])})
    text = open(path).read()
    same = "gives the same invoices" in text and "WARNING" not in text
    return {"section": "billing", "calls": int(calls), "messages": int(messages), "steps": steps, "same_invoices": same}


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = next((int(l.split()[1]) // 1024 // 1024 for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    osname = next((l.split("=", 1)[1].strip().strip('"') for l in open("/etc/os-release") if l.startswith("PRETTY_NAME=")), "Linux")
    return f"{os.cpu_count()} cores ({cpu}), {mem} GiB, {osname}, Linux {platform.release()}"


def fmt(v, unit=""):
    return "n/a" if v is None else f"{v}{unit}"


def mark(ok):
    return "met" if ok else "**missed**"


def arrival(meter):
    """How the callers' packets reached the daemon (rtp_meter --arrival)."""
    a = meter.get("arrival", "batch")
    return f"spread, ±{meter.get('jitter_ms', 0):g} ms" if a == "spread" else "batch (all at once)"


def render_webhook(rows, out):
    """The webhook section's table (appended to `out`); returns its target lines."""
    hooks = [r for r in rows if r["section"] == "webhook"]
    if not hooks:
        return []
    out += ["## Webhook flows: a greeting no other call gets, a Gather, a second request", "",
            "| calls/s | calls | ok | failed | daemon CPU | app CPU | INVITE→200 p50 / p99 | ACK→first RTP p50 / p99 | "
            "ACK→first speech p50 / p99 / max | synthesis p50 / p99 (prompts) | webhook request p50 / p99 | second requests | app answer p99 |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    targets = []
    for r in hooks:
        l, w = r["latency"], r["webhook"]
        out.append(f"| {r['rate']} | {r['calls']} | {r['sipp'][0]} | {r['sipp'][1]} | {r['daemon_cpu']} % | {r['app_cpu']} % | "
                   f"{fmt(l['invite_200_ms']['p50'])} / {fmt(l['invite_200_ms']['p99'])} ms | "
                   f"{fmt(l['ack_rtp_ms']['p50'])} / {fmt(l['ack_rtp_ms']['p99'])} ms | "
                   f"{fmt(l['ack_speech_ms']['p50'])} / {fmt(l['ack_speech_ms']['p99'])} / {fmt(l['ack_speech_ms']['max'])} ms | "
                   f"{fmt(w['tts_ms']['p50'])} / {fmt(w['tts_ms']['p99'])} ms ({w['tts_ms']['n']:,}) | "
                   f"{fmt(w['request_ms']['p50'])} / {fmt(w['request_ms']['p99'])} ms | {w['app_requests'].get('/action', 0):,} | "
                   f"{fmt(w['app_answer_ms']['p99'])} ms |")
        p99 = l["ack_speech_ms"]["p99"]
        if r["rate"] == TARGETS["webhook_speech_rate"]:
            targets.append(f"| ACK→first speech p99 ≤ 60 ms at 300 calls/s, every greeting new | {fmt(p99, ' ms')} | "
                           f"{mark(p99 is not None and p99 <= TARGETS['webhook_speech_p99_ms'])} |")
        if r["rate"] == TARGETS["webhook_clean_rate"]:
            ok = r["sipp"][1] == 0 and r["sipp"][0] == r["calls"]
            targets.append(f"| 0 failed at 500 webhook calls/s | {r['sipp'][1]} failed of {r['calls']} | {mark(ok)} |")
    out.append("")
    return targets


def render_bridge(rows, out, floor_per_call):
    """The bridge section's table, tollfreed then rtpengine at each size (appended to
    `out`); returns its target lines. A bridge's kernel floor is two calls' worth: the
    relay receives 2 packets and sends 2 every 20 ms (the other 4 of the 8 packets a
    bridge moves are the two phones' own sends and receives). A row whose meter sent late
    (send_late_ms_p99 above meter_late_p99_ms) is marked saturated: the load generator and
    the daemon share the machine's cores, and the figures then describe the machine."""
    ours = [r for r in rows if r["section"] == "bridge"]
    if not ours:
        return []
    peers = {r["bridges"]: r for r in rows if r["section"] == "bridge_peer"}
    out += ["## Bridges: callers bridged by `<Dial>` to agents, RTP both ways on both legs, half transcoding PCMU ↔ PCMA", "",
            "| bridges | relay | ok | failed | CPU | CPU per bridge | vs the kernel floor | RSS | packets received | seq gaps | "
            "gap p50 / p99 / max | relay latency p50 / p99 / max (samples) | sipp CPU | meter CPU | meter sends late p99 |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    floor = 2 * floor_per_call if floor_per_call else None
    targets = []

    def line(name, n, ok, failed, cpu, rss_kb, m, sipp_cpu, meter_cpu):
        per = cpu / n
        vs = f"{per / floor:.2f}×" if floor else "n/a"
        out.append(f"| {n} | {name} | {ok} | {failed} | {cpu} % | {per:.4f} % | {vs} | {rss_kb / 1024:.0f} MiB | {m['packets']:,} | "
                   f"{m['seq_gaps']} | {m['gap_ms_p50']} / {m['gap_ms_p99']} / {m['gap_ms_max']} ms | "
                   f"{m['relay_ms_p50']} / {m['relay_ms_p99']} / {m['relay_ms_max']} ms ({m['relay_samples']:,}) | {sipp_cpu} | {meter_cpu} % | "
                   f"{late(m)} |")

    def behind(m):
        return m.get("send_late_ms_p99", 0) > TARGETS["meter_late_p99_ms"]

    def late(m):
        p99 = m.get("send_late_ms_p99")
        return "n/a" if p99 is None else (f"{p99} ms" if not behind(m) else f"**{p99} ms: behind**")

    for r in ours:
        m = r["meter"]
        line("tollfreed", r["bridges"], r["sipp"][0], r["sipp"][1], r["daemon_cpu"], r["rss_kb"], m, f"{r['sipp_cpu']} %", r["meter_cpu"])
        peer = peers.get(r["bridges"])
        if peer:
            line(peer["peer"], peer["bridges"], "set up", "-", peer["cpu"], peer["rss_kb"], peer["meter"], "-", peer["meter_cpu"])
        if r["bridges"] == TARGETS["bridges"]:
            ok = (r["sipp"][1] == 0 and r["sipp"][0] == r["bridges"] and m["gap_ms_p99"] <= TARGETS["gap_p99_ms"]
                  and r["daemon_cpu"] <= TARGETS["bridge_cpu_pct"])
            verdict = "**not measurable here**: the meter sent late" if behind(m) else mark(ok)
            targets.append(f"| {r['bridges']} bridges: 0 failed, ≤ 1 core, gap p99 ≤ 25 ms | {r['sipp'][1]} failed, "
                           f"{r['daemon_cpu']} %, {m['gap_ms_p99']} ms | {verdict} |")
    # Ratios only where the load was delivered on time (the meter kept its schedule).
    kept = [r for r in ours if not behind(r["meter"]) and r["sipp"][1] == 0]
    if floor and kept:
        r = kept[-1]
        ratio = r["daemon_cpu"] / r["bridges"] / floor
        targets.append(f"| CPU per bridge ≤ 2 × the kernel floor (at {r['bridges']} bridges, the most the meter delivered on time) | "
                       f"{ratio:.2f}× | {mark(ratio <= TARGETS['bridge_floor_ratio'])} |")
    both = [(r, peers[r["bridges"]]) for r in kept if r["bridges"] in peers and not behind(peers[r["bridges"]]["meter"])]
    if both and both[-1][1]["cpu"] > 0:
        r, peer = both[-1]
        targets.append(f"| (for reference) CPU per relayed stream against rtpengine at {r['bridges']} bridges | "
                       f"{peer['cpu'] / r['daemon_cpu']:.1f}× less than rtpengine | |")
    out.append("")
    return targets


def render_media_cost(rows, out):
    """The media cost section: each run, then per variant the mean CPU per call and its
    ratio to RTCP on (plain RTP with reports, the default)."""
    runs = [r for r in rows if r["section"] == "media_cost"]
    if not runs:
        return
    names = {"rtcp-off": "RTP only (media.rtcp false)", "rtcp": "RTP + RTCP (default)", "srtp": "SRTP + SRTCP (AES_CM_128_HMAC_SHA1_80)"}
    out += [f"## Media cost: RTCP and SRTP at {runs[0]['calls']} calls ({arrival(runs[0]['meter'])}; rounds interleaved)", "",
            "| run | media | ok | failed | daemon CPU | CPU per call | RSS per call | packets received | seq gaps | gap p50 / p99 / max | meter CPU |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for i, r in enumerate(runs):
        m = r["meter"]
        out.append(f"| {i + 1} | {names.get(r['variant'], r['variant'])} | {r['sipp'][0]} | {r['sipp'][1]} | {r['daemon_cpu']} % | "
                   f"{r['daemon_cpu'] / r['calls']:.4f} % | {(r['rss_kb'] - r['rss_idle_kb']) / r['calls']:.0f} KiB | {m['packets']:,} | "
                   f"{m['seq_gaps']} | {m['gap_ms_p50']} / {m['gap_ms_p99']} / {m['gap_ms_max']} ms | {r['meter_cpu']} % |")
    mean = {}
    for v in names:
        cpus = [r["daemon_cpu"] for r in runs if r["variant"] == v and r["sipp"][1] == 0]
        if cpus:
            mean[v] = sum(cpus) / len(cpus)
    out += ["", "| media | runs | mean daemon CPU | CPU per call | against RTP + RTCP |", "|---|---|---|---|---|"]
    for v, cpu in mean.items():
        n = sum(1 for r in runs if r["variant"] == v and r["sipp"][1] == 0)
        ratio = f"{cpu / mean['rtcp']:.2f}×" if mean.get("rtcp") else "n/a"
        out.append(f"| {names[v]} | {n} | {cpu:.1f} % | {cpu / runs[0]['calls']:.4f} % | {ratio} |")
    out.append("")


def render(results_path, quick):
    rows = [json.loads(l) for l in open(results_path) if l.strip()]
    sipp = subprocess.run(["sipp", "-v"], capture_output=True, text=True).stdout.strip().splitlines()
    out = [f"# tollfreed benchmark results{' (quick smoke run: small figures, not for comparison)' if quick else ''}", "",
           f"- Date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
           f"- Machine: {machine()}",
           f"- Command: `bench/suite.sh{' --quick' if quick else ''}` (release build; load from sipp {sipp[0].split()[1] if sipp else '?'} over loopback)", ""]
    targets = []
    conc = [r for r in rows if r["section"] == "concurrency"]
    if conc:
        out += ["## Concurrency: callers hearing a looping Say prompt and sending their own RTP", "",
                "| calls | callers' RTP | ok | failed | daemon CPU | daemon RSS (idle) | RSS per call | sipp CPU (procs) | meter CPU | packets received | seq gaps | gap p50 / p99 / max |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in conc:
            m = r["meter"]
            out.append(f"| {r['calls']} | {arrival(m)} | {r['sipp'][0]} | {r['sipp'][1]} | {r['daemon_cpu']} % | {r['rss_kb'] / 1024:.1f} MiB ({r['rss_idle_kb'] / 1024:.1f}) | "
                       f"{(r['rss_kb'] - r['rss_idle_kb']) / r['calls']:.0f} KiB | {r['sipp_cpu']} % ({r['sipp_procs']}) | {r['meter_cpu']} % | {m['packets']:,} | "
                       f"{m['seq_gaps']} | {m['gap_ms_p50']} / {m['gap_ms_p99']} / {m['gap_ms_max']} ms |")
        out.append("")
        big = [r for r in conc if r["calls"] >= TARGETS["capacity_calls"]]
        for r in big:
            m = r["meter"]
            ok = (r["sipp"][1] == 0 and r["sipp"][0] == r["calls"] and m["gap_ms_p99"] <= TARGETS["gap_p99_ms"]
                  and m["gap_ms_max"] <= TARGETS["gap_max_ms"] and r["daemon_cpu"] <= TARGETS["daemon_cpu_pct"])
            targets.append(f"| {r['calls']} calls: 0 failed, gap p99 ≤ 25 ms, max ≤ 60 ms, daemon ≤ 1 core | "
                           f"{r['sipp'][1]} failed, {m['gap_ms_p99']} / {m['gap_ms_max']} ms, {r['daemon_cpu']} % | {mark(ok)} |")
        worst = max((r["rss_kb"] - r["rss_idle_kb"]) / r["calls"] for r in conc)
        targets.append(f"| RSS per active call ≤ 100 KiB | worst {worst:.0f} KiB (RSS with the calls up less RSS idle, per call) | {mark(worst <= TARGETS['rss_per_call_kib'])} |")
    setup = [r for r in rows if r["section"] == "setup"]
    if setup:
        out += ["## Setup rate: short calls (2 s)", "",
                "| calls/s | calls | ok | failed | retrans. | daemon CPU | INVITE→200 p50 / p99 | ACK→first RTP p50 / p99 | ACK→first speech p50 / p99 |",
                "|---|---|---|---|---|---|---|---|---|"]
        for r in setup:
            l = r["latency"]
            out.append(f"| {r['rate']} | {r['calls']} | {r['sipp'][0]} | {r['sipp'][1]} | {r['sipp'][2]} | {r['daemon_cpu']} % | "
                       f"{fmt(l['invite_200_ms']['p50'])} / {fmt(l['invite_200_ms']['p99'])} ms | "
                       f"{fmt(l['ack_rtp_ms']['p50'])} / {fmt(l['ack_rtp_ms']['p99'])} ms | "
                       f"{fmt(l['ack_speech_ms']['p50'])} / {fmt(l['ack_speech_ms']['p99'])} ms |")
        out.append("")
        best = max((r["rate"] for r in setup if r["sipp"][1] == 0 and r["sipp"][0] == r["calls"]), default=0)
        targets.append(f"| ≥ 500 setups/s sustained, 0 failed | {best}/s with 0 failed | {mark(best >= TARGETS['setup_rate'])} |")
        for r in setup:
            if r["rate"] == 200:
                p99 = r["latency"]["invite_200_ms"]["p99"]
                targets.append(f"| INVITE→200 p99 ≤ 20 ms at 200/s | {p99} ms | {mark(p99 is not None and p99 <= TARGETS['invite_200_p99_ms'])} |")
        sp = [r["latency"]["ack_speech_ms"]["p99"] for r in setup if r["latency"]["ack_speech_ms"]["p99"] is not None]
        if sp:
            targets.append(f"| ACK→first speech p99 ≤ 30 ms (every rate) | worst {max(sp)} ms | {mark(max(sp) <= TARGETS['ack_speech_p99_ms'])} |")
    targets += render_webhook(rows, out)
    for r in (x for x in rows if x["section"] == "record"):
        f, m = r["files"], r["meter"]
        out += ["## Record: callers each recording on the healthcare number (AES-256-GCM at rest)", "",
                "| calls | ok | failed | recordings | exact length | length min / max | frames with the caller's tone | daemon CPU | written | write rate | receiver seq gaps |",
                "|---|---|---|---|---|---|---|---|---|---|---|",
                f"| {r['calls']} × {r['seconds']} s | {r['sipp'][0]} | {r['sipp'][1]} | {f['count']} | {f['exact_length']} | {f['min_s']} / {f['max_s']} s | "
                f"{f['tone_frames']:,} of {f['frames']:,} | {r['daemon_cpu']} % | {r['written_bytes'] / 2**20:.1f} MiB | "
                f"{r['written_bytes'] / 2**20 / r['wall_s']:.2f} MiB/s | {m['seq_gaps']} |", ""]
        ok = f["count"] == r["calls"] and f["exact_length"] == r["calls"] and f["tone_frames"] == f["frames"]
        targets.append(f"| Record: no lost audio | {f['exact_length']}/{r['calls']} files of exact length, {f['frames'] - f['tone_frames']} frames without audio | {mark(ok)} |")
    for r in (x for x in rows if x["section"] == "billing"):
        out += [f"## Billing: {r['calls']:,} calls and {r['messages']:,} messages", "", "| step | wall time | CPU | peak RSS |", "|---|---|---|---|"]
        out += [f"| {s['step']} | {s['seconds']} s | {s['cpu_s']} s | {s['rss_mib']} MiB |" for s in r["steps"]]
        out += ["", f"Rating the export files gives the same invoices as rating the store: {'yes' if r['same_invoices'] else '**no**'}.", ""]
    floor = next((x["result"] for x in rows if x["section"] == "floor"), None)
    floor_per_call = None
    if floor:
        each = floor["per_caller_sinks"]
        # % of a core per call: 50 packets/s sent and 50 received, at the kernel's cost alone.
        per_call = lambda send: (send + floor["epoll_recvmmsg_us"]) * 50 / 1e4
        floor_per_call = per_call(each["sendto_us"])
        out += [f"## Loopback floor: the kernel's CPU for one 172-byte RTP packet, {floor['sockets']} calls (bench/loopback_floor.c)", "",
                "| receivers | sendto (per-call sockets) | send (connected) | sendmmsg from one socket | epoll + recvmmsg | floor per call, both ways |",
                "|---|---|---|---|---|---|",
                f"| one socket | {floor['sendto_us']} µs | {floor['send_connected_us']} µs | {floor['sendmmsg_one_socket_us']} µs | "
                f"{floor['epoll_recvmmsg_us']} µs | {per_call(floor['sendto_us']):.4f} % |",
                f"| one socket per caller, in an epoll set (as in the peer runs) | {each['sendto_us']} µs | {each['send_connected_us']} µs | "
                f"{each['sendmmsg_one_socket_us']} µs | {floor['epoll_recvmmsg_us']} µs | {floor_per_call:.4f} % |", ""]
    targets += render_bridge(rows, out, floor_per_call)
    render_media_cost(rows, out)
    for r in (x for x in rows if x["section"] == "peers"):
        out += [f"## Peers on the same load: {r['calls']} callers, {r['hold']} s, RTP both ways "
                f"(callers' RTP: {arrival(r['systems'][0]['meter']) if r['systems'] else '?'})", "",
                "| system | processes | ok | failed | CPU | CPU per call | tollfreed's advantage | RSS | packets received | seq gaps | gap p50 / p99 / max | p99 jitter (vs tollfreed) | caller sipp CPU | meter CPU |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        base = next((s for s in r["systems"] if s["name"] == "tollfreed"), None)
        for s in r["systems"]:
            m = s["meter"]
            per = s["cpu"] / r["calls"]
            ratio = "1" if s is base else (f"{per / (base['cpu'] / r['calls']):.1f}×" if base and base["cpu"] > 0 else "n/a")
            # Pacing as a caller hears it: how far the p99 inter-packet gap strays from 20 ms.
            jitter = abs(m["gap_ms_p99"] - 20.0)
            base_jitter = abs(base["meter"]["gap_ms_p99"] - 20.0) if base else None
            vs = "1" if s is base else (f"{jitter / base_jitter:.1f}×" if base_jitter else "n/a")
            out.append(f"| {s['name']} | {s['procs']} | {s['sipp'][0]} | {s['sipp'][1]} | {s['cpu']} % | {per:.4f} % | {ratio} | "
                       f"{s['rss_kb'] / 1024:.0f} MiB | {m['packets']:,} | {m['seq_gaps']} | {m['gap_ms_p50']} / {m['gap_ms_p99']} / {m['gap_ms_max']} ms | "
                       f"{jitter:.2f} ms ({vs}) | {s['sipp_cpu']} % | {s['meter_cpu']} % |")
        out.append("")
        if base and base["cpu"] > 0:
            for s in r["systems"]:
                if s is base or s["sipp"][1] or s["cpu"] <= 0:
                    continue
                want = TARGETS["floor_ratio"] if s["name"].startswith("sipp") else TARGETS["pjsip_ratio"]
                got = s["cpu"] / base["cpu"]
                bound = (f"; the kernel floor alone is {s['cpu'] / r['calls'] / floor_per_call:.1f}× less"
                         if floor_per_call else "")
                targets.append(f"| CPU per call ≤ 1/{want:.0f} of {s['name']} at {r['calls']} calls | {got:.1f}× less{bound} | {mark(got >= want)} |")
            if floor_per_call:
                targets.append(f"| (for reference) tollfreed CPU per call against the loopback floor | "
                               f"{base['cpu'] / r['calls']:.4f} % vs {floor_per_call:.4f} %: {base['cpu'] / r['calls'] / floor_per_call:.2f}× the floor | |")
    if targets and quick:
        out += ["Targets are judged on a full run only (`bench/suite.sh` without `--quick`).", ""]
    elif targets:
        out += ["## Targets", "", "| target | measured | |", "|---|---|---|"] + targets + [""]
    return "\n".join(out)


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "setup-latency":
        print(json.dumps(setup_latency(sys.argv[2], sys.argv[3])))
    elif cmd == "webhook":
        print(json.dumps(webhook(sys.argv[2], sys.argv[3])))
    elif cmd == "check-recordings":
        print(json.dumps(check_recordings(sys.argv[2], sys.argv[3])))
    elif cmd == "billing":
        print(json.dumps(billing(*sys.argv[2:5])))
    elif cmd == "render":
        quick = len(sys.argv) > 4 and sys.argv[3] == "--quick" and sys.argv[4] == "1"
        print(render(sys.argv[2], quick))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
