#!/usr/bin/env bash
# Soak test (issue 12): the release daemon at half of calls.max_concurrent for a long time
# with continuous churn, sampling its memory and file descriptors to catch leaks.
#
#   bench/soak.sh [--minutes M] [--warmup W] [--calls N] [--binary PATH] [--out FILE]
#                 [--keep-recordings]
#   bench/soak.sh --report WORKDIR      (prints the report of an earlier run again)
#
# The daemon takes calls.max_concurrent = 2N; about N calls are up at any time. Three sipp
# callers (bench/uac_soak.xml), one per shipped DID, each place N/3 calls per 40 s for M
# minutes; every call lasts a uniformly random 20-60 s from its ACK (mean 40 s), so by
# Little's law the daemon holds about N calls. The numbers get dedicated soak flows, written
# into the work directory next to a copy of CallFlows/:
#   8005963057 (healthcare)  Say, Record (maxLength 30, timeout 10, beep): sealed AES-256-GCM
#                            recordings of the caller's tone; then Pause 60
#   2082792555 (general)     Gather numDigits=1 timeout=5 around a Say; 80 % of the callers
#                            press 1 (SIP INFO) -> the action document (Say, Pause 60,
#                            Hangup); the rest hear the no-input branch (Say, Pause 60, Hangup)
#   8888046762 (fleet, an emergency DID as shipped)  Dial timeout=10 to a sipp agent
#                            (Tests/EndToEndTests/Scenarios/uas_answer.xml), bridged
# Every caller names bench/rtp_meter --send as its media address: it sends a 400 Hz tone back
# to every stream it hears, so the daemon receives the callers' RTP (the recordings hold the
# tone). The agent's media goes to a second meter that only receives (what the daemon relays
# from the callers): the daemon relays with the talker's SSRC kept, and two answering meters
# would answer each other's relayed streams with new ones without end. So a Dial caller hears
# ringback, then silence once bridged, its meter stops answering, and calls.rtp_timeout_s is
# 90 s (longer than any soak call) instead of 60.
#
# Every 30 s: VmRSS, open fds and threads of the daemon, tollfreed_calls_active and
# tollfreed_dial_legs_active from /metrics, the daemon's CPU, the load generators' CPU and
# the whole machine's (others share it). Warm-up: the first W minutes. Growth = (mean of the
# last 3 samples - the sample at the end of the warm-up) / that sample, for RSS and fds; the
# run passes when both are under 5 %, the daemon exits 0 on SIGTERM, no record is left
# `active`, every sealed recording checked opens, and sipp counts no failed call.
# Exit status: 0 pass, 1 a check failed (or the run broke), 2 usage.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
MINUTES=30 WARMUP=5 CALLS=300 BIN=.build/release/tollfreed OUT= REPORT= KEEP_REC=0 INTERVAL=30
CMDLINE="bench/soak.sh${*:+ $*}"
usage() {
    echo "usage: $0 [--minutes M] [--warmup W] [--calls N] [--binary PATH] [--out FILE] [--keep-recordings]" >&2
    echo "       $0 --report WORKDIR" >&2
    exit 2
}
need() { [ $# -ge 2 ] || { echo "$0: $1 needs a value" >&2; usage; }; }
while [ $# -gt 0 ]; do
    case "$1" in
        --minutes) need "$@"; MINUTES=$2; shift 2 ;;
        --warmup) need "$@"; WARMUP=$2; shift 2 ;;
        --calls) need "$@"; CALLS=$2; shift 2 ;;
        --binary) need "$@"; BIN=$2; shift 2 ;;
        --out) need "$@"; OUT=$2; shift 2 ;;
        --keep-recordings) KEEP_REC=1; shift ;;
        --report) need "$@"; REPORT=$2; shift 2 ;;
        -h|--help) usage ;;
        *) echo "$0: unknown argument: $1" >&2; usage ;;
    esac
done
isint() { [[ $1 =~ ^[0-9]+$ ]]; }
isint "$MINUTES" && [ "$MINUTES" -ge 2 ] || { echo "$0: --minutes must be an integer >= 2" >&2; exit 2; }
isint "$WARMUP" && [ "$WARMUP" -ge 1 ] || { echo "$0: --warmup must be a positive integer (minutes)" >&2; exit 2; }
# At least 3 samples after the warm-up sample, so the last 3 never include it.
[ $(( (MINUTES - WARMUP) * 60 / INTERVAL )) -ge 3 ] || { echo "$0: --warmup must leave >= 1.5 minutes of soak" >&2; exit 2; }
isint "$CALLS" && [ "$CALLS" -ge 3 ] || { echo "$0: --calls must be an integer >= 3" >&2; exit 2; }
[ -z "$OUT" ] || [ -d "$(dirname "$OUT")" ] || { echo "$0: --out: directory $(dirname "$OUT") missing" >&2; exit 2; }

# The report: reads only files in the work dir, so --report can print it again later.
# Prints markdown; writes WORK/verdict (PASS/FAIL) and exits 1 when a check failed.
report() {
    python3 - "$1" <<'PY'
import csv, glob, json, os, re, sys
work = sys.argv[1]
p = json.load(open(os.path.join(work, "params.json")))
fin = json.load(open(os.path.join(work, "final.json"))) if os.path.exists(os.path.join(work, "final.json")) else {}
rows = list(csv.DictReader(open(os.path.join(work, "samples.csv"))))
num = lambda v: float(v) if v not in ("", None, "?") else None
for r in rows:
    for k in list(r):
        if k != "phase":
            r[k] = num(r[k])
load = [r for r in rows if r["phase"] == "load"]
drained = [r for r in rows if r["phase"] == "drained"]
checks = []  # (name, ok, detail)

def mib(kb): return f"{kb / 1024:.1f} MiB"
def pct(v): return "-" if v is None else f"{v:+.2f} %"

warm_t = p["warmup_min"] * 60
warm = next((r for r in load if r["t_s"] >= warm_t - 1), None)
after = [r for r in load if warm and r["t_s"] > warm["t_s"]]
last3 = load[-3:] if len(after) >= 3 else []
growth = {}
for key in ("rss_kb", "fds"):
    if warm and last3 and warm[key]:
        mean = sum(r[key] for r in last3) / 3
        growth[key] = (warm[key], mean, (mean - warm[key]) / warm[key] * 100)
    else:
        growth[key] = None
complete = len(load) >= p["samples"]
print(f"## Soak: {p['minutes']} min at {p['calls']} calls (max_concurrent {p['max_concurrent']}), {p['date']}")
print()
print(f"- Machine: {p['machine']}")
print(f"- Command: `{p['command']}` (binary {p['binary']}, git {p['git']}, built {p['built']})")
print(f"- Load: {p['calls']} concurrent calls targeted, {p['rate_total']:.2f} new calls/s over three DIDs "
      f"(Record / Gather / Dial), each 20-60 s (uniform), callers' RTP from bench/rtp_meter --send (the agent sends none); "
      f"warm-up {p['warmup_min']} min; a sample every {p['interval']} s; RTP ports {p['rtp_ports']}; "
      f"emergency reserve {p['reserve']}")
if not complete:
    print(f"- **incomplete run: {len(load)} of {p['samples']} samples**")
checks.append(("all samples taken", complete, f"{len(load)} of {p['samples']}"))
print()
print(f"| | end of warm-up ({p['warmup_min']} min) | mean of the last 3 samples | growth | limit |")
print("|---|---|---|---|---|")
for key, name, fmt in (("rss_kb", "RSS", mib), ("fds", "open fds", lambda v: f"{v:.0f}")):
    g = growth[key]
    if g:
        ok = g[2] < 5.0
        print(f"| {name} | {fmt(g[0])} | {fmt(g[1])} | {pct(g[2])} | < 5 % {'(pass)' if ok else '(**FAIL**)'} |")
        checks.append((f"{name} growth < 5 %", ok, pct(g[2])))
    else:
        print(f"| {name} | - | - | - | < 5 % (no data) |")
        checks.append((f"{name} growth < 5 %", False, "no data"))
print()

def rng(vals, fmt="{:.0f}"):
    vals = [v for v in vals if v is not None]
    return "-" if not vals else f"{fmt.format(min(vals))}-{fmt.format(max(vals))}"
def mean(vals):
    vals = [v for v in vals if v is not None]
    return sum(vals) / len(vals) if vals else None

steady = after or load
if load:
    first = load[0]
    print(f"- RSS: {mib(first['rss_kb'])} idle at the start, {rng([r['rss_kb'] / 1024 for r in steady], '{:.1f}')} MiB after the warm-up, "
          f"peak (VmHWM) {mib(max(r['hwm_kb'] or 0 for r in rows))}" +
          (f"; {mib(drained[-1]['rss_kb'])} once every call had ended" if drained else ""))
    print(f"- fds: {first['fds']:.0f} idle, {rng([r['fds'] for r in steady])} after the warm-up" +
          (f", {drained[-1]['fds']:.0f} once every call had ended" if drained else "") +
          f"; threads {rng([r['threads'] for r in steady])}")
    beyond = lambda r: None if None in (r["fds"], r["calls_active"], r["dial_legs_active"]) else r["fds"] - r["calls_active"] - r["dial_legs_active"]
    if warm and last3 and beyond(warm) is not None:
        print(f"- fds beyond one per call and per Dial leg (fds - calls active - legs active; steadier than fds, which "
              f"follow the number of calls): {beyond(warm):.0f} at the end of the warm-up, "
              f"{sum(beyond(r) for r in last3) / 3:.0f} over the last 3 samples, range {rng([beyond(r) for r in steady])}")
    print(f"- calls active after the warm-up (tollfreed_calls_active): {rng([r['calls_active'] for r in steady])} "
          f"(mean {mean([r['calls_active'] for r in steady]):.0f}); dial legs active {rng([r['dial_legs_active'] for r in steady])}" +
          (f"; at the end {drained[-1]['calls_active']:.0f} calls, {drained[-1]['dial_legs_active']:.0f} legs" if drained else ""))
    cpu = [r["daemon_cpu"] for r in steady[1:] if r["daemon_cpu"] is not None] or [r["daemon_cpu"] for r in steady if r["daemon_cpu"] is not None]
    gen = [r["gen_cpu"] for r in steady if r["gen_cpu"] is not None]
    busy = [r["machine_busy"] for r in steady if r["machine_busy"] is not None]
    others = [r["machine_busy"] * p["ncpu"] - r["daemon_cpu"] - r["gen_cpu"] for r in steady
              if None not in (r["machine_busy"], r["daemon_cpu"], r["gen_cpu"])]
    la = [r["loadavg1"] for r in steady if r["loadavg1"] is not None]
    if cpu:
        print(f"- CPU (% of one core, per 30 s interval, after the warm-up): daemon mean {mean(cpu):.1f} %, max {max(cpu):.1f} %; "
              f"load generators (4 sipp + 2 meters) mean {mean(gen):.1f} %; whole machine busy mean {mean(busy):.0f} % of "
              f"{p['ncpu']} cores (max {max(busy):.0f} %), of which others' work (tests, fuzzers, builds) mean "
              f"{mean(others):.0f} % of one core (max {max(others):.0f} %); load average {rng(la, '{:.1f}')}")

# sipp: callers and agent
def last_row(path):
    rs = [r for r in csv.reader(open(path), delimiter=";") if r]
    return dict(zip(rs[0], rs[-1])) if len(rs) > 1 else {}
def sipp(name):
    st = os.path.join(work, name, "stat.csv")
    if not os.path.exists(st):
        return None
    row = last_row(st)
    g = lambda k: int(row[k]) if row.get(k, "").strip().isdigit() else 0
    reasons = {k[6:-3]: g(k) for k in row if k.startswith("Failed") and k.endswith("(C)") and k != "FailedCall(C)" and g(k)}
    return {"created": g("TotalCallCreated"), "ok": g("SuccessfulCall(C)"), "failed": g("FailedCall(C)"),
            "retrans": g("Retransmissions(C)"), "current": g("CurrentCall"), "reasons": reasons}
print()
print("| caller | DID -> flow | calls placed | successful | failed | retransmissions |")
print("|---|---|---|---|---|---|")
failed_total = 0
for c in p["callers"]:
    s = sipp(c["name"])
    if s is None:
        print(f"| {c['name']} | {c['did']} -> {c['flow']} | (no sipp statistics) | | | |")
        checks.append((f"sipp {c['name']} ran", False, "no statistics"))
        continue
    failed_total += s["failed"]
    why = ", ".join(f"{k} {v}" for k, v in s["reasons"].items())
    print(f"| {c['name']} | {c['did']} -> {c['flow']} | {s['created']} | {s['ok']} | {s['failed']}{' (' + why + ')' if why else ''} | {s['retrans']} |")
a = sipp("agent")
if a:
    failed_total += a["failed"]
    why = ", ".join(f"{k} {v}" for k, v in a["reasons"].items())
    print(f"| agent (UAS) | Dial legs | {a['created']} received | {a['ok']} | {a['failed']}{' (' + why + ')' if why else ''} | {a['retrans']} |")
checks.append(("no failed sipp call", failed_total == 0, str(failed_total)))

cdr = os.path.join(work, "cdr.jsonl")
if os.path.exists(cdr):
    by, n, hang, active, rec = {}, 0, {}, 0, 0
    for line in open(cdr):
        try:
            r = json.loads(line)
        except ValueError:
            continue
        n += 1
        k = ("leg " if r.get("direction") == "outbound" else "") + str(r.get("disposition"))
        by[k] = by.get(k, 0) + 1
        h = str(r.get("hangup_by"))
        hang[h] = hang.get(h, 0) + 1
        active += r.get("disposition") == "active"
        rec += bool(r.get("recording_url"))
    print()
    print(f"- records: {n} ({', '.join(f'{k} {v}' for k, v in sorted(by.items()))}); hangup_by: "
          f"{', '.join(f'{k} {v}' for k, v in sorted(hang.items()))}; {rec} with a recording")
    checks.append(("no record left active", active == 0, str(active)))
else:
    checks.append(("records exported", False, "no cdr.jsonl"))
if fin:
    rc = fin.get("daemon_exit")
    print(f"- SIGTERM: the daemon exited with status {rc} after {fin.get('stop_s', '?')} s")
    checks.append(("daemon exits 0 on SIGTERM", rc == 0, str(rc)))
    r = fin.get("recordings", {})
    if r:
        print(f"- recordings: {r['files']} sealed files ({r['mib']:.0f} MiB); {r['opened']} of {r['checked']} checked "
              f"opened with `tollfreed recording decrypt` (durations {r['durations']}) "
              f"{'(files kept)' if r.get('kept') else '(files then deleted; --keep-recordings keeps them)'}")
        checks.append(("sealed recordings open", r["checked"] > 0 and r["opened"] == r["checked"], f"{r['opened']}/{r['checked']}"))
    m = fin.get("meter")
    if m:
        print(f"- media at the callers (bench/rtp_meter --send): received {m['packets']:,} packets in "
              f"{m['streams']:,} streams, sent {m['sent']:,}; sequence gaps {m['seq_gaps']}, gap p50 / p99 / max "
              f"{m['gap_ms_p50']} / {m['gap_ms_p99']} / {m['gap_ms_max']} ms; {m.get('gappy_streams', '?')} streams with silent "
              f"stretches over 1 s (at most {m.get('gappy_missing_s_max', '?')} s missing)")
    k = fin.get("sink")
    if k:
        print(f"- media at the agent (callers' RTP relayed over the Dial legs): {k['packets']:,} packets in {k['streams']:,} streams, "
              f"sequence gaps {k['seq_gaps']}")
    logs = fin.get("log_levels")
    if logs:
        print(f"- daemon log: {', '.join(f'{k} {v}' for k, v in sorted(logs.items()))} lines" +
              (f"; warnings/errors: {', '.join(f'{k} {v}' for k, v in fin.get('log_events', {}).items())}" if fin.get("log_events") else ""))
print()
ok = all(c[1] for c in checks)
print("Checks: " + "; ".join(f"{name}: {'pass' if good else 'FAIL'} ({detail})" for name, good, detail in checks))
print(f"**Result: {'PASS' if ok else 'FAIL'}**")
print()
print("<details><summary>Samples (every 30 s)</summary>")
print()
print("| t | RSS | fds | threads | calls active | dial legs | daemon CPU | generators CPU | machine busy | load avg |")
print("|---|---|---|---|---|---|---|---|---|---|")
f = lambda v, s="{:.0f}": "-" if v is None else s.format(v)
for r in rows:
    t = f"{r['t_s'] / 60:.1f} min" + (" (drained)" if r["phase"] == "drained" else "")
    print(f"| {t} | {f(r['rss_kb'] / 1024 if r['rss_kb'] else None, '{:.1f} MiB')} | {f(r['fds'])} | {f(r['threads'])} | "
          f"{f(r['calls_active'])} | {f(r['dial_legs_active'])} | {f(r['daemon_cpu'], '{:.1f} %')} | {f(r['gen_cpu'], '{:.1f} %')} | "
          f"{f(r['machine_busy'], '{:.0f} %')} | {f(r['loadavg1'], '{:.2f}')} |")
print()
print("</details>")
print()
print(f"(work dir: {work})")
open(os.path.join(work, "verdict"), "w").write("PASS\n" if ok else "FAIL\n")
sys.exit(0 if ok else 1)
PY
}
if [ -n "$REPORT" ]; then
    [ -f "$REPORT/params.json" ] || { echo "$0: $REPORT/params.json missing: not a soak.sh work dir" >&2; exit 2; }
    report "$REPORT"
    exit $?
fi

[ -x "$BIN" ] || { echo "$0: $BIN missing: build the release daemon first (make build)" >&2; exit 2; }
for tool in sipp cc python3; do command -v $tool >/dev/null || { echo "$0: missing $tool (make bench-deps)" >&2; exit 2; }; done
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

WORK=$(mktemp -d /tmp/tollfreed-soak.XXXXXX)
echo "soak: work directory $WORK"
mkdir -p "$WORK/flows" "$WORK/record" "$WORK/gather" "$WORK/dial" "$WORK/agent"
free_port() { python3 bench/free_port.py; }
SIP_PORT=$(free_port); AGENT_PORT=$(free_port); METER_PORT=$(free_port); SINK_PORT=$(free_port)
MAXC=$((CALLS * 2))
RESERVE=$(( (MAXC * 5 + 99) / 100 ))
# Every call and every Dial leg takes an even port (two port numbers), and each reserved
# place keeps two more: 2 * (2 * MAXC + 2 * RESERVE) numbers, plus some slack.
RTP_SPAN=$(( 4 * MAXC + 4 * RESERVE + 200 ))
# A range no other UDP socket on the machine uses now (others run tests meanwhile).
RTP_LOW=$(python3 - "$RTP_SPAN" <<'PY'
import subprocess, sys
span = int(sys.argv[1])
used = set()
for line in subprocess.run(["ss", "-Huan"], capture_output=True, text=True).stdout.splitlines():
    f = line.split()
    if len(f) >= 4 and ":" in f[3]:
        try: used.add(int(f[3].rsplit(":", 1)[1]))
        except ValueError: pass
for low in range(30000, 60000 - span, 1000):
    if not any(low <= u <= low + span for u in used):
        print(low); break
else:
    print(30000)
PY
)
RTP_HIGH=$((RTP_LOW + RTP_SPAN))

# The soak flows, next to a copy of the shipped ones.
cp -r CallFlows/. "$WORK/flows/"
cat >"$WORK/flows/soak-record.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<!-- Soak (bench/soak.sh): a sealed recording of up to 30 s, then hold until the caller hangs up. -->
<Response>
  <Say voice="alice">Please leave your message after the beep.</Say>
  <Record maxLength="30" timeout="10" playBeep="true"/>
  <Pause length="60"/>
</Response>
XML
cat >"$WORK/flows/soak-gather.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<!-- Soak (bench/soak.sh): a one-digit menu; a digit goes to soak-gather-done.xml. -->
<Response>
  <Say voice="alice">Thank you for calling.</Say>
  <Gather input="dtmf" numDigits="1" timeout="5" action="soak-gather-done.xml">
    <Say voice="alice">For sales, press 1. For support, press 2.</Say>
  </Gather>
  <Say voice="alice">We did not receive your selection.</Say>
  <Pause length="60"/>
  <Hangup/>
</Response>
XML
cat >"$WORK/flows/soak-gather-done.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<!-- Soak (bench/soak.sh): the Gather's action document. -->
<Response>
  <Say voice="alice">Thank you. Please hold for the next available representative.</Say>
  <Pause length="60"/>
  <Hangup/>
</Response>
XML
cat >"$WORK/flows/soak-dial.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<!-- Soak (bench/soak.sh): bridge the caller to the sipp agent. -->
<Response>
  <Dial timeout="10"><Sip>sip:agent@127.0.0.1:$AGENT_PORT</Sip></Dial>
</Response>
XML

# Callers: name DID flow digit press-probability local-port share-of-CALLS
SHARE_R=$((CALLS / 3 + (CALLS % 3 > 0 ? 1 : 0)))
SHARE_G=$((CALLS / 3 + (CALLS % 3 > 1 ? 1 : 0)))
SHARE_D=$((CALLS / 3))
CALLERS="record 8005963057 soak-record.xml none 0 $(free_port) $SHARE_R
gather 2082792555 soak-gather.xml 1 0.8 $(free_port) $SHARE_G
dial 8888046762 soak-dial.xml none 0 $(free_port) $SHARE_D"
MEAN_S=40
SAMPLES=$(( MINUTES * 60 / INTERVAL + 1 ))

python3 - "$WORK" "$MAXC" "$RESERVE" "$CALLS" "$MINUTES" "$WARMUP" "$INTERVAL" "$SAMPLES" "$MEAN_S" \
    "$RTP_LOW-$RTP_HIGH" "$BIN" "$CMDLINE" "$CALLERS" <<'PY'
import json, os, platform, subprocess, sys, time
(work, maxc, reserve, calls, minutes, warmup, interval, samples, mean_s, rtp, binary, cmd, callers) = sys.argv[1:]
cfg = json.load(open("Config/tollfreed.json"))
cfg["flows_dir"] = os.path.join(work, "flows")
flows = {}
cl = []
for line in callers.splitlines():
    name, did, flow, digit, press, port, share = line.split()
    flows[did] = flow
    cl.append({"name": name, "did": did, "flow": flow, "digit": digit, "press": float(press), "share": int(share)})
digits = lambda s: "".join(c for c in s if c.isdigit())[-10:]
for n in cfg["numbers"]:
    n["flow"] = flows[digits(n["did"])]
    n.pop("fallback_flow", None)
cfg.setdefault("sip", {})["invite_rate_per_source"] = 0  # every caller comes from 127.0.0.1
# rtp_timeout_s: a bridged Dial caller is silent (see the header); no soak call lasts 90 s.
cfg["calls"] = {"max_concurrent": int(maxc), "emergency_reserve": int(reserve), "ring_ms": 0, "max_duration_s": 3600,
                "rtp_timeout_s": 90}
cfg.setdefault("metrics", {})["listen"] = "127.0.0.1:0"
json.dump(cfg, open(os.path.join(work, "soak.json"), "w"), indent=1)

def sh(*a):
    try: return subprocess.run(a, capture_output=True, text=True).stdout.strip()
    except OSError: return ""
model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
mem = int(next(l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal"))) / 1048576
osname = next((l.split("=", 1)[1].strip().strip('"') for l in open("/etc/os-release") if l.startswith("PRETTY_NAME")), "?")
ncpu = os.cpu_count()
json.dump({"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "command": cmd,
           "machine": f"{ncpu} cores ({model} VM), {mem:.0f} GiB, {osname}, Linux {platform.release()}",
           "ncpu": ncpu, "binary": os.path.relpath(binary) if binary.startswith(os.getcwd()) else binary,
           "git": sh("git", "rev-parse", "--short", "HEAD") or "?",
           "built": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(os.path.getmtime(binary))),
           "calls": int(calls), "max_concurrent": int(maxc), "reserve": int(reserve), "minutes": int(minutes),
           "warmup_min": int(warmup), "interval": int(interval), "samples": int(samples), "rtp_ports": rtp,
           "rate_total": int(calls) / int(mean_s), "callers": cl}, open(os.path.join(work, "params.json"), "w"), indent=1)
PY

DAEMON= METER= SINK= AGENT= SIPPS=()
cleanup() { for p in "${SIPPS[@]:-}" $AGENT $METER $SINK $DAEMON; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
trap 'exit 130' INT TERM

"$BIN" run --config "$WORK/soak.json" --sip "127.0.0.1:$SIP_PORT" --rtp-ports "$RTP_LOW-$RTP_HIGH" \
    --data "$WORK/data" >"$WORK/daemon.log" 2>&1 &
DAEMON=$!
for _ in $(seq 300); do grep -q daemon.ready "$WORK/daemon.log" 2>/dev/null && break; kill -0 $DAEMON 2>/dev/null || break; sleep 0.1; done
grep -q daemon.ready "$WORK/daemon.log" || { tail -20 "$WORK/daemon.log"; echo "$0: the daemon did not start" >&2; exit 1; }
METRICS=$(grep -m1 daemon.ready "$WORK/daemon.log" | sed -n 's/.* metrics=\([0-9.]*:[0-9]*\).*/\1/p')
[ -n "$METRICS" ] || { echo "$0: no metrics address in the daemon.ready line" >&2; exit 1; }
grep -E ' (warning|error) ' "$WORK/daemon.log" || true
echo "soak: daemon pid $DAEMON, SIP 127.0.0.1:$SIP_PORT, metrics $METRICS, RTP $RTP_LOW-$RTP_HIGH, max_concurrent $MAXC"

cc -O2 -o "$WORK/rtp_meter" bench/rtp_meter.c -lm -lpthread -lsrtp2
METER_S=$(( MINUTES * 60 + 90 ))
"$WORK/rtp_meter" --port "$METER_PORT" --seconds "$METER_S" --send --out "$WORK/meter.json" \
    --streams "$WORK/meter-streams.tsv" &
METER=$!
"$WORK/rtp_meter" --port "$SINK_PORT" --seconds "$METER_S" --out "$WORK/sink.json" &
SINK=$!
(cd "$WORK/agent" && exec sipp -sf "$ROOT/Tests/EndToEndTests/Scenarios/uas_answer.xml" -i 127.0.0.1 -p "$AGENT_PORT" \
    -m 1000000 -l $((CALLS * 2)) -key calleertp "$SINK_PORT" -nostdin -trace_counts -trace_stat -stf stat.csv -fd "$INTERVAL" \
    -trace_err >sipp.out 2>&1) &
AGENT=$!
sleep 0.5
kill -0 $AGENT 2>/dev/null || { cat "$WORK/agent/sipp.out"; echo "$0: the sipp agent did not start" >&2; exit 1; }

# Each caller places its share of CALLS every MEAN_S seconds (sipp -r SHARE -rp MEAN_S*1000)
# for MINUTES minutes, at most twice its share at once.
GEN_PIDS="$METER $SINK $AGENT"
while read -r name did flow digit press port share; do
    [ "$share" -gt 0 ] || continue
    total=$(( share * MINUTES * 60 / MEAN_S ))
    (cd "$WORK/$name" && exec sipp "127.0.0.1:$SIP_PORT" -sf "$ROOT/bench/uac_soak.xml" -s "$did" -i 127.0.0.1 -p "$port" \
        -r "$share" -rp $((MEAN_S * 1000)) -m "$total" -l $((share * 2)) \
        -key rtpport "$METER_PORT" -key digit "$digit" -key press "$press" \
        -nostdin -timeout $((MINUTES * 60 + 300))s -trace_counts -trace_stat -stf stat.csv -fd "$INTERVAL" -trace_err \
        >sipp.out 2>&1) &
    SIPPS+=($!); GEN_PIDS="$GEN_PIDS $!"
done <<<"$CALLERS"
T0=$(date +%s.%N)
echo "soak: ${#SIPPS[@]} callers placing $(python3 -c "print(round($CALLS / $MEAN_S, 2))") calls/s for $MINUTES min; sampling every $INTERVAL s"

# sample PHASE T0 COUNT: COUNT samples, INTERVAL s apart from T0, appended to samples.csv.
sample() {
    python3 - "$WORK/samples.csv" "$DAEMON" "$METRICS" "$1" "$2" "$3" "$INTERVAL" "$GEN_PIDS" <<'PY'
import csv, os, sys, time, urllib.request
path, pid, metrics, phase, t0, count, interval, gen = sys.argv[1:]
t0, count, interval, gen = float(t0), int(count), int(interval), [int(g) for g in gen.split()]
hz = os.sysconf("SC_CLK_TCK")
soak_t0 = float(os.environ.get("SOAK_T0", t0))  # t_s counts from the start of the load
cols = ["phase", "t_s", "rss_kb", "hwm_kb", "fds", "threads", "calls_active", "dial_legs_active", "rtp_ports_free",
        "daemon_cpu", "gen_cpu", "machine_busy", "loadavg1"]
new = not os.path.exists(path)
out = open(path, "a", newline="")
w = csv.writer(out)
if new:
    w.writerow(cols)
def ticks(p):
    try:
        f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
        return int(f[11]) + int(f[12])
    except (OSError, IndexError, ValueError):
        return 0
def machine():
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    idle = f[3] + f[4]
    return sum(f[:8]) - idle, sum(f[:8])
def status():
    d = {}
    for line in open(f"/proc/{pid}/status"):
        k, _, v = line.partition(":")
        if k in ("VmRSS", "VmHWM", "Threads"):
            d[k] = int(v.split()[0])
    return d
def scrape():
    want = {"tollfreed_calls_active": None, "tollfreed_dial_legs_active": None, "tollfreed_rtp_ports_free": None}
    try:
        body = urllib.request.urlopen(f"http://{metrics}/metrics", timeout=5).read().decode()
    except Exception as e:
        print(f"soak: /metrics: {e}", file=sys.stderr)
        return want
    want = dict.fromkeys(want, 0.0)  # a gauge appears with its first value
    for line in body.splitlines():
        if line.startswith("#"):
            continue
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in want:
            want[name] = (want[name] or 0) + float(line.rsplit(" ", 1)[1])
    return want
prev = None
for i in range(count):
    target = t0 + i * interval
    delay = target - time.time()
    if delay > 0:
        time.sleep(delay)
    if not os.path.exists(f"/proc/{pid}"):
        print("soak: the daemon is gone", file=sys.stderr)
        sys.exit(1)
    now = time.time()
    st, m = status(), scrape()
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    cur = (now, ticks(pid), sum(ticks(g) for g in gen), *machine())
    cpu = gcpu = busy = None
    if prev:
        dt = cur[0] - prev[0]
        cpu = (cur[1] - prev[1]) / hz / dt * 100
        gcpu = (cur[2] - prev[2]) / hz / dt * 100
        busy = (cur[3] - prev[3]) / max(1, cur[4] - prev[4]) * 100
    prev = cur
    la = float(open("/proc/loadavg").read().split()[0])
    r = [phase, round(target - soak_t0, 1),
         st.get("VmRSS"), st.get("VmHWM"), fds, st.get("Threads"), m["tollfreed_calls_active"],
         m["tollfreed_dial_legs_active"], m["tollfreed_rtp_ports_free"],
         None if cpu is None else round(cpu, 2), None if gcpu is None else round(gcpu, 2),
         None if busy is None else round(busy, 1), la]
    w.writerow(r)
    out.flush()
    print(f"soak: {phase} t={r[1]:>6.0f}s rss={st.get('VmRSS', 0) / 1024:.1f}MiB fds={fds} threads={st.get('Threads')} "
          f"calls={m['tollfreed_calls_active']} legs={m['tollfreed_dial_legs_active']} "
          f"cpu={'-' if cpu is None else f'{cpu:.1f}%'} gen={'-' if gcpu is None else f'{gcpu:.1f}%'} "
          f"machine={'-' if busy is None else f'{busy:.0f}%'} load={la}", flush=True)
PY
}
export SOAK_T0=$T0
sample load "$T0" "$SAMPLES"

# The callers stop placing calls now; their last calls end within 60 s.
echo "soak: load window over; waiting for the callers' last calls"
for _ in $(seq 300); do
    alive=0
    for p in "${SIPPS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 1
done
for p in "${SIPPS[@]}"; do
    if kill -0 "$p" 2>/dev/null; then echo "soak: caller $p still running after 300 s: stopping it" >&2; kill -USR1 "$p" 2>/dev/null || true; fi
done
for p in "${SIPPS[@]}"; do wait "$p" 2>/dev/null || true; done
sleep 3 # the daemon's BYEs to the agent
T1=$(python3 -c "import time; print(time.time())")
sample drained "$T1" 1
kill -USR1 $AGENT 2>/dev/null || true # sipp: write the final counts, exit
for _ in $(seq 100); do kill -0 $AGENT 2>/dev/null || break; sleep 0.1; done
kill $AGENT 2>/dev/null || true; wait $AGENT 2>/dev/null || true
echo "soak: waiting for the RTP meters to finish"
for _ in $(seq 200); do kill -0 $METER 2>/dev/null || kill -0 $SINK 2>/dev/null || break; sleep 1; done
kill $METER $SINK 2>/dev/null || true; wait $METER $SINK 2>/dev/null || true

TS=$(date +%s.%N)
kill -TERM $DAEMON
for _ in $(seq 600); do kill -0 $DAEMON 2>/dev/null || break; sleep 0.1; done
kill -0 $DAEMON 2>/dev/null && { echo "soak: the daemon is still running 60 s after SIGTERM: SIGKILL" >&2; kill -KILL $DAEMON; }
DAEMON_RC=0; wait $DAEMON || DAEMON_RC=$?
STOP_S=$(python3 -c "import time; print(round(time.time() - $TS, 1))")
DAEMON=
trap - EXIT

"$BIN" cdr export --format jsonl --data "$WORK/data" >"$WORK/cdr.jsonl" 2>"$WORK/cdr-export.err" || true

# Sealed recordings: open a few with the authorised export and read them as WAV.
python3 - "$WORK" "$BIN" "$DAEMON_RC" "$STOP_S" "$KEEP_REC" <<'PY'
import collections, csv, glob, json, os, re, shutil, subprocess, sys, wave
work, binary, rc, stop_s, keep = sys.argv[1:]
files = sorted(glob.glob(os.path.join(work, "data", "recordings", "**", "*.enc"), recursive=True))
size = sum(os.path.getsize(f) for f in files)
checked, opened, durations = 0, 0, []
os.makedirs(os.path.join(work, "wav"), exist_ok=True)
for f in files[:: max(1, len(files) // 5)][:5]:
    checked += 1
    rid = os.path.basename(f)
    out = os.path.join(work, "wav", rid[:-4] if rid.endswith(".enc") else rid + ".wav")
    r = subprocess.run([binary, "recording", "decrypt", rid, "--out", out, "--config", os.path.join(work, "soak.json"),
                        "--data", os.path.join(work, "data")], capture_output=True, text=True)
    try:
        with wave.open(out) as w:
            durations.append(round(w.getnframes() / w.getframerate(), 1))
            opened += r.returncode == 0
    except Exception as e:
        print(f"soak: recording {rid}: decrypt rc={r.returncode} {r.stderr.strip()[:200]} {e}", file=sys.stderr)
if files and keep != "1":
    shutil.rmtree(os.path.join(work, "data", "recordings"), ignore_errors=True)
    shutil.rmtree(os.path.join(work, "wav"), ignore_errors=True)
levels, events = collections.Counter(), collections.Counter()
for line in open(os.path.join(work, "daemon.log"), errors="replace"):
    f = line.split(" ", 3)
    if len(f) >= 3:
        levels[f[1]] += 1
        if f[1] in ("warning", "error", "critical"):
            events[f"{f[1]} {f[2]}"] += 1
jl = lambda n: json.load(open(os.path.join(work, n))) if os.path.exists(os.path.join(work, n)) else None
meter, sink = jl("meter.json"), jl("sink.json")
# Streams the callers heard with silent stretches: fewer packets than 20 ms steps between
# the first and the last by more than 1 s worth.
gappy = []
path = os.path.join(work, "meter-streams.tsv")
if meter and os.path.exists(path):
    for r in csv.DictReader(open(path), delimiter="\t"):
        expected = (int(r["last_ns"]) - int(r["first_ns"])) / 20e6 + 1
        if expected - int(r["packets"]) > 50:
            gappy.append(round((expected - int(r["packets"])) * 0.02, 1))
    meter["gappy_streams"] = len(gappy)
    meter["gappy_missing_s_max"] = max(gappy, default=0)
json.dump({"daemon_exit": int(rc), "stop_s": float(stop_s), "meter": meter, "sink": sink, "log_levels": dict(levels),
           "log_events": dict(events.most_common(12)),
           "recordings": {"files": len(files), "mib": size / 1048576, "checked": checked, "opened": opened,
                          "durations": durations, "kept": keep == "1"}},
          open(os.path.join(work, "final.json"), "w"), indent=1)
PY

STATUS=0
report "$WORK" >"$WORK/report.md" || STATUS=$?
cat "$WORK/report.md"
if [ -n "$OUT" ]; then
    { [ -s "$OUT" ] || printf '# tollfreed soak results\n\n'; cat "$WORK/report.md"; echo; } >>"$OUT"
    echo "soak: report appended to $OUT"
fi
exit $STATUS
