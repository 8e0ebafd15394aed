#!/usr/bin/env python3
"""Figures for bench/cluster.sh.

  cluster_report.py run DIR NAME RATE CALLS HOLD_MS T0 T1 KAM_TICKS NODE_TICKS HZ NODES
      one sipp run -> a JSON line (counters, setup p50/p99, achieved rate, peak calls, CPU)
  cluster_report.py failover WORK KILL_TIME DEAD_URI
      the kill -9 run -> a JSON line (time to out-of-rotation, records lost, duplicates)
  cluster_report.py markdown RESULTS.jsonl COMMAND
      every line -> bench/cluster-results.md
"""
import csv, datetime, glob, json, math, os, platform, re, subprocess, sys


def pct(values, q):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]


def stat_rows(path):
    rows = [r for r in csv.reader(open(path), delimiter=";") if r] if os.path.exists(path) else []
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def run(d, name, rate, calls, hold, t0, t1, kam, nodes, hz, node_count):
    rows = stat_rows(os.path.join(d, "stat.csv"))
    last = rows[-1] if rows else {}
    rtt = []
    for f in glob.glob(os.path.join(d, "*_rtt.csv")):
        for line in open(f):
            p = line.strip().split(";")
            if len(p) >= 2 and re.fullmatch(r"[0-9.]+", p[1]):
                rtt.append(float(p[1]))
    completed = sum(1 for l in open(os.path.join(d, "calls.log")) if "completed " in l) if os.path.exists(os.path.join(d, "calls.log")) else 0
    wall = float(t1) - float(t0)
    hold_s = int(hold) / 1000
    # Calls placed per second: the run minus the last call's hold.
    placing = max(wall - hold_s, 0.001)
    peak = max((int(r.get("CurrentCall", 0) or 0) for r in rows), default=0)
    return {"kind": "run", "name": name, "nodes": int(node_count), "offered_cps": int(rate), "calls": int(calls),
            "hold_s": hold_s, "completed": completed, "failed": int(last.get("FailedCall(C)", 0) or 0),
            "achieved_cps": round(completed / placing, 1), "peak_calls": peak,
            "p50_ms": pct(rtt, 0.5), "p99_ms": pct(rtt, 0.99), "mean_ms": round(sum(rtt) / len(rtt), 2) if rtt else None, "wall_s": round(wall, 1),
            "kamailio_cpu": round(100 * int(kam) / int(hz) / wall, 1), "nodes_cpu": round(100 * int(nodes) / int(hz) / wall, 1)}


def failover(work, kill_time, dead):
    kill_time = float(kill_time)
    log = open(os.path.join(work, "kamailio.log")).read().splitlines()
    down = [float(m.group(1)) for l in log if "node down" in l and dead in l
            for m in [re.search(r" t=([0-9.]+)", l)] if m and float(m.group(1)) >= kill_time]
    sent = [l for l in log if "<script>: dispatch " in l and f"du={dead}" in l
            and (m := re.search(r" t=([0-9.]+)", l)) and float(m.group(1)) >= kill_time]
    completed = {l.split("completed ")[1].split()[0] for l in open(os.path.join(work, "failover", "calls.log")) if "completed " in l}
    records = {}
    for n in (1, 2, 3):
        for line in open(os.path.join(work, f"node{n}.jsonl")):
            r = json.loads(line)
            if r["sip_call_id"].startswith("failover-"):
                records.setdefault(r["sip_call_id"], []).append((n, r["disposition"]))
    lost = [c for c in completed if len(records.get(c, [])) != 1]
    dup = [c for c, rs in records.items() if len(rs) > 1]
    up_on_dead = [c for c, rs in records.items() if c not in completed and rs and rs[0][0] == 2]
    return {"kind": "failover", "out_of_rotation_ms": round((down[0] - kill_time) * 1000) if down else None,
            "invites_to_dead_node": len(sent), "completed": len(completed), "calls_up_on_dead_node": len(up_on_dead),
            "records_lost": len(lost), "duplicates": len(dup), "calls": 2000}


def ms(v):
    return "-" if v is None else ("<1 ms" if v < 1 else f"{v:g} ms")


def markdown(results, command):
    lines = [json.loads(l) for l in open(results) if l.strip()]
    runs = {l["name"]: l for l in lines if l["kind"] == "run"}
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    out = ["# tollfreed cluster benchmark", "",
           f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
           f"- Machine: {os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}",
           f"- Command: `{command.strip()}` (release build; Kamailio {kam_version()}, sipp over loopback)",
           "- Everything (sipp, Kamailio, every node) shares these cores: more nodes add no CPU here, so the",
           "  rows show what the dispatcher costs and that load spreads, not how a real cluster scales.", "",
           "## Setup latency added by the dispatcher (INVITE -> 200 at the caller, 100 calls/s, 1 node)", "",
           "| path | calls | ok | failed | p50 | p99 | mean |", "|---|---|---|---|---|---|---|"]
    for name, label in (("latency-direct", "sipp -> node"), ("latency-proxy", "sipp -> Kamailio -> node")):
        r = runs.get(name)
        if r:
            out.append(f"| {label} | {r['calls']} | {r['completed']} | {r['failed']} | {ms(r['p50_ms'])} | {ms(r['p99_ms'])} | {r['mean_ms']} ms |")
    for l in (l for l in lines if l["kind"] == "probe"):
        label = "one call at a time, " + ("straight to the node" if l["name"] == "direct" else "through Kamailio")
        out.append(f"| {label} (µs clock) | {l['calls']} | {l['calls']} | 0 | {l['p50_us'] / 1000:.2f} ms | "
                   f"{l['p99_us'] / 1000:.2f} ms | {l['mean_us'] / 1000:.2f} ms |")
    out += ["", "sipp's response times have a coarse clock (whole milliseconds, in steps of its event loop):",
            "`<1 ms` is a setup under a millisecond; the mean over all calls is the finer comparison.", "",
            "## Calls per second through the dispatcher (calls held 1 s)", "",
            "| nodes | offered/s | calls | ok | failed | placed/s | setup p50 / p99 | Kamailio CPU | nodes CPU |",
            "|---|---|---|---|---|---|---|---|---|"]
    for r in (l for l in lines if l["kind"] == "run" and l["name"].startswith("cps-")):
        out.append(f"| {r['nodes']} | {r['offered_cps']} | {r['calls']} | {r['completed']} | {r['failed']} | {r['achieved_cps']} | "
                   f"{ms(r['p50_ms'])} / {ms(r['p99_ms'])} | {r['kamailio_cpu']} % | {r['nodes_cpu']} % |")
    out += ["", "## Concurrent calls through the dispatcher (placed at 150/s, held 20 s, RTP from every node)", "",
            "| nodes | calls | ok | failed | peak concurrent | setup p99 | Kamailio CPU | nodes CPU |", "|---|---|---|---|---|---|---|---|"]
    for r in (l for l in lines if l["kind"] == "run" and l["name"].startswith("conc-")):
        out.append(f"| {r['nodes']} | {r['calls']} | {r['completed']} | {r['failed']} | {r['peak_calls']} | {ms(r['p99_ms'])} | "
                   f"{r['kamailio_cpu']} % | {r['nodes_cpu']} % |")
    f = next((l for l in lines if l["kind"] == "failover"), None)
    if f:
        out += ["", "## Failover: kill -9 of one of three nodes at 100 calls/s (calls held 3 s)", "",
                "| calls | completed | up on the killed node (lost with it) | INVITEs that reached the dead node (failed over) | "
                "kill -> out of rotation | records lost | duplicates |", "|---|---|---|---|---|---|---|",
                f"| {f['calls']} | {f['completed']} | {f['calls_up_on_dead_node']} | {f['invites_to_dead_node']} | "
                f"{f['out_of_rotation_ms']} ms | {f['records_lost']} | {f['duplicates']} |", "",
                "The node is taken out by the first INVITE that gets no reply within FR_INVITE_MS (1.5 s) or by",
                "the OPTIONS probe (every second here), whichever comes first; each INVITE that reached it meanwhile",
                "is answered by another node after that timeout. Calls that were up on the killed node end with it",
                "(their records are closed `interrupted` when it restarts); records lost counts completed calls",
                "without exactly one record across the nodes' stores."]
    print("\n".join(out))


def kam_version():
    try:
        return subprocess.run(["kamailio", "-v"], capture_output=True, text=True).stdout.split()[2]
    except Exception:
        return "?"


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "run":
        print(json.dumps(run(*args)))
    elif mode == "failover":
        print(json.dumps(failover(*args)))
    else:
        markdown(*args)
