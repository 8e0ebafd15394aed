#!/usr/bin/env bash
# Overloads the release daemon with ordinary and emergency callers who are bridged (<Dial>)
# to one sipp agent, and prints how each class was served.
#
#   bench/overload.sh [--capacity N] [--reserve R] [--share F] [--hold SECONDS] [--rate CPS]
#                     [--no-preemption] [--binary PATH]
#   bench/overload.sh --report WORKDIR      (prints the report of an earlier run again)
#
# The daemon takes N concurrent calls (calls.max_concurrent), R of them (default N/10) kept
# for emergencies (calls.emergency_reserve), preemption on. Every number's flow is
# bench/flows/dial-agent.xml, dialling one sipp UAS (uas_answer.xml) that answers every leg.
# 2N calls are offered at --rate calls per second by two sipp callers running together:
# 2N*F emergency calls (Priority: emergency) and the rest ordinary (Priority: normal), both
# spread over the same ramp. A call that is answered stays up --hold seconds, unless the
# daemon hangs it up first (preemption). Setup latency is INVITE -> 200 OK at the caller.
# CPU is measured from /proc over the ramp (admission, 503s, preemption) and over the hold.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
CAPACITY=100 RESERVE= SHARE=0.2 HOLD=10 RATE=50 PREEMPTION=true BIN=.build/release/tollfreed REPORT=
usage() {
    echo "usage: $0 [--capacity N] [--reserve R] [--share F] [--hold S] [--rate CPS] [--no-preemption] [--binary PATH]" >&2
    echo "       $0 --report WORKDIR" >&2
    exit 2
}
need() { [ $# -ge 2 ] || { echo "$0: $1 needs a value" >&2; usage; }; }
while [ $# -gt 0 ]; do
    case "$1" in
        --capacity) need "$@"; CAPACITY=$2; shift 2 ;;
        --reserve) need "$@"; RESERVE=$2; shift 2 ;;
        --share) need "$@"; SHARE=$2; shift 2 ;;
        --hold) need "$@"; HOLD=$2; shift 2 ;;
        --rate) need "$@"; RATE=$2; shift 2 ;;
        --no-preemption) PREEMPTION=false; shift ;;
        --binary) need "$@"; BIN=$2; shift 2 ;;
        --report) need "$@"; REPORT=$2; shift 2 ;;
        -h|--help) usage ;;
        *) echo "$0: unknown argument: $1" >&2; usage ;;
    esac
done
isint() { [[ $1 =~ ^[0-9]+$ ]]; }
isnum() { [[ $1 =~ ^([0-9]+\.?[0-9]*|\.[0-9]+)$ ]]; }
isint "$CAPACITY" && [ "$CAPACITY" -ge 1 ] || { echo "$0: --capacity must be a positive integer" >&2; exit 2; }
[ -n "$RESERVE" ] || RESERVE=$((CAPACITY / 10))
isint "$RESERVE" && [ "$RESERVE" -le "$CAPACITY" ] || { echo "$0: --reserve must be an integer 0...capacity" >&2; exit 2; }
isnum "$SHARE" && python3 -c "import sys; sys.exit(0 if 0 <= float('$SHARE') <= 1 else 1)" \
    || { echo "$0: --share must be a number 0...1" >&2; exit 2; }
isint "$HOLD" && [ "$HOLD" -ge 1 ] || { echo "$0: --hold must be a positive integer (seconds)" >&2; exit 2; }
isnum "$RATE" && python3 -c "import sys; sys.exit(0 if float('$RATE') > 0 else 1)" \
    || { echo "$0: --rate must be a positive number (calls per second)" >&2; exit 2; }

# The report: reads only files in the work dir, so --report can print it again later.
report() {
    python3 - "$1" <<'PY'
import csv, glob, json, math, os, re, sys
work = sys.argv[1]
p = json.load(open(os.path.join(work, "params.json")))
m = json.load(open(os.path.join(work, "measure.json"))) if os.path.exists(os.path.join(work, "measure.json")) else {}

def last_row(path):
    rows = [r for r in csv.reader(open(path), delimiter=";") if r]
    if len(rows) < 2:
        return {}
    return dict(zip(rows[0], rows[-1]))

def one(pattern):
    files = sorted(glob.glob(pattern))
    return files[-1] if files else None

def count(row, suffix, nth=0):
    """The nth column whose name ends with suffix (sipp names them INDEX_MESSAGE_KIND)."""
    cols = [k for k in row if re.fullmatch(r"\d+_" + suffix, k)]
    cols.sort(key=lambda k: int(k.split("_")[0]))
    return int(row[cols[nth]]) if len(cols) > nth and row[cols[nth]] else 0

def pct(values, q):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]  # nearest rank

def uac(cls):
    d = os.path.join(work, cls)
    r = {"offered": p["offered_" + cls], "sent": 0, "answered": 0, "rejected_503": 0, "ended_by_daemon": 0,
         "hung_up": 0, "failed": None, "rtt": []}
    if not os.path.isdir(d):
        return r
    counts = one(os.path.join(d, "*_counts.csv"))
    if counts:
        row = last_row(counts)
        r["sent"] = count(row, "INVITE_Sent")
        r["rejected_503"] = count(row, "503_Recv")
        r["answered"] = count(row, "200_Recv", 0)
        r["ended_by_daemon"] = count(row, "BYE_Recv")
        r["hung_up"] = count(row, "BYE_Sent")
    stat = os.path.join(d, "stat.csv")
    if os.path.exists(stat):
        row = last_row(stat)
        if row.get("FailedCall(C)", "").isdigit():
            r["failed"] = int(row["FailedCall(C)"])
    rtt = one(os.path.join(d, "*_rtt.csv"))
    if rtt:
        for line in open(rtt):
            f = line.strip().split(";")
            if len(f) >= 2 and re.fullmatch(r"[0-9.]+", f[1]):
                r["rtt"].append(float(f[1]))
    return r

def ms(v):
    # sipp reports whole milliseconds: a setup under 1 ms on loopback reads 0.
    return "-" if v is None else ("<1 ms" if v < 1 else f"{v:.0f} ms")

e, n = uac("emergency"), uac("normal")
print(f"capacity {p['capacity']} (reserve {p['reserve']}, preemption {'on' if p['preemption'] else 'off'}), "
      f"offered {p['offered_emergency'] + p['offered_normal']} calls at {p['rate']} cps, hold {p['hold']} s")
print("| class | offered | sent | answered | 503 | ended by daemon (preempted) | failed | setup p50 | setup p99 |")
print("|---|---|---|---|---|---|---|---|---|")
for name, r in (("emergency", e), ("normal", n)):
    print(f"| {name} | {r['offered']} | {r['sent']} | {r['answered']} | {r['rejected_503']} | {r['ended_by_daemon']} | "
          f"{'?' if r['failed'] is None else r['failed']} | {ms(pct(r['rtt'], 0.50))} | {ms(pct(r['rtt'], 0.99))} |")
ratio = 100.0 * e["answered"] / e["offered"] if e["offered"] else None
print("emergency answer ratio: " + ("-" if ratio is None else f"{ratio:.1f} %"))

agent = {}
counts = one(os.path.join(work, "agent", "*_counts.csv"))
if counts:
    row = last_row(counts)
    agent = {"invites": count(row, "INVITE_Recv"), "answered": count(row, "200_Sent", 0),
             "bye_from_daemon": count(row, "BYE_Recv")}
stat = os.path.join(work, "agent", "stat.csv")
if os.path.exists(stat):
    row = last_row(stat)
    agent["failed"] = row.get("FailedCall(C)", "?")
agent["still_up"] = m.get("agent_calls_at_end", "?")
answered = e["answered"] + n["answered"]
print(f"agent legs: {agent.get('invites', '?')} INVITEs, {agent.get('answered', '?')} answered, "
      f"{agent.get('bye_from_daemon', '?')} ended by the daemon's BYE, {agent.get('failed', '?')} failed, "
      f"{agent['still_up']} still up after the callers finished (callers answered: {answered})")
if agent.get("answered") == 0 and answered > 0:
    print("WARNING: no agent leg was answered although callers were: does this build bridge <Dial>?")

cdr = os.path.join(work, "cdr.jsonl")
if os.path.exists(cdr):
    by = {}
    setup = {}
    for line in open(cdr):
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        cls = "emergency" if rec.get("emergency") in (True, 1, "true", "1") else "normal"
        k = (cls + (" leg" if rec.get("direction") == "outbound" else ""), rec.get("disposition"))
        by[k] = by.get(k, 0) + 1
        # Daemon-side setup: INVITE received -> 200 OK sent, for answered inbound calls.
        if rec.get("direction", "inbound") == "inbound" and rec.get("answer_time"):
            from datetime import datetime
            t = lambda x: datetime.fromisoformat(x.replace("Z", "+00:00")).timestamp()
            setup.setdefault(cls, []).append((t(rec["answer_time"]) - t(rec["start_time"])) * 1000)
    print("records: " + (", ".join(f"{c} {d}={v}" for (c, d), v in sorted(by.items(), key=str)) or "none"))
    for cls in ("emergency", "normal"):
        v = setup.get(cls, [])
        if v:
            print(f"daemon-side setup (INVITE in -> 200 out, from the records, ms resolution) {cls}: "
                  f"p50 {pct(v, 0.50):.0f} ms, p99 {pct(v, 0.99):.0f} ms, max {max(v):.0f} ms")
if m:
    print(f"daemon: CPU {m['cpu_ramp']:.1f} % over the ramp, {m['cpu_hold']:.1f} % over the hold; "
          f"RSS {m['rss_kb'] / 1024:.1f} MiB during the hold, peak {m['hwm_kb'] / 1024:.1f} MiB; {m['fds']} fds")
sink = os.path.join(work, "sink.json")
if os.path.exists(sink):
    s = json.load(open(sink))
    print(f"media sink: {s['packets']} RTP packets in {s['streams']} streams")
print(f"(work dir: {work})")
PY
}
if [ -n "$REPORT" ]; then
    [ -f "$REPORT/params.json" ] || { echo "$0: $REPORT/params.json missing: not an overload.sh work dir" >&2; exit 2; }
    report "$REPORT"
    exit 0
fi

[ -x "$BIN" ] || { echo "$0: $BIN missing: build the release daemon first (make build)" >&2; exit 2; }
command -v sipp >/dev/null || { echo "$0: sipp missing (apt-get install sip-tester)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/tollfreed-overload.XXXXXX)
mkdir -p "$WORK/flows" "$WORK/emergency" "$WORK/normal" "$WORK/agent"
free_port() { python3 bench/free_port.py; }
SIP_PORT=$(free_port); AGENT_PORT=$(free_port); SINK_PORT=$(free_port); E_PORT=$(free_port); N_PORT=$(free_port)
OFFERED=$((CAPACITY * 2))
read -r OFF_E OFF_N RATE_E RATE_N RAMP < <(python3 -c "
import math
total, share, rate = $OFFERED, float('$SHARE'), float('$RATE')
e = int(round(total * share)); n = total - e
print(e, n, f'{rate * e / total:.3f}', f'{rate * n / total:.3f}', math.ceil(total / rate))")
RTP_LOW=20000; RTP_HIGH=$((RTP_LOW + OFFERED * 8 + 100))

sed "s/127\.0\.0\.1:5090/127.0.0.1:$AGENT_PORT/" bench/flows/dial-agent.xml >"$WORK/flows/dial-agent.xml"
grep -q "127.0.0.1:$AGENT_PORT" "$WORK/flows/dial-agent.xml" || { echo "$0: could not set the agent port in dial-agent.xml" >&2; exit 1; }
python3 - "$WORK" "$CAPACITY" "$RESERVE" "$PREEMPTION" "$SHARE" "$HOLD" "$RATE" "$OFF_E" "$OFF_N" <<'PY'
import json, sys, os
work, cap, res, pre, share, hold, rate, off_e, off_n = sys.argv[1:]
cfg = json.load(open("Config/tollfreed.json"))
cfg["flows_dir"] = os.path.join(work, "flows")
for n in cfg["numbers"]:
    n["flow"] = "dial-agent.xml"
    n.pop("fallback_flow", None)
cfg.setdefault("sip", {})["invite_rate_per_source"] = 0  # both callers share one source address
cfg["calls"] = {"max_concurrent": int(cap), "emergency_reserve": int(res), "preemption": pre == "true",
                "ring_ms": 0, "max_duration_s": 3600}
cfg["log_level"] = "notice"
json.dump(cfg, open(os.path.join(work, "overload.json"), "w"), indent=1)
json.dump({"capacity": int(cap), "reserve": int(res), "preemption": pre == "true", "share": float(share),
           "hold": int(hold), "rate": float(rate), "offered_emergency": int(off_e), "offered_normal": int(off_n)},
          open(os.path.join(work, "params.json"), "w"), indent=1)
PY

"$BIN" run --config "$WORK/overload.json" --sip "127.0.0.1:$SIP_PORT" --rtp-ports "$RTP_LOW-$RTP_HIGH" \
    --data "$WORK/data" >"$WORK/daemon.log" 2>&1 &
DAEMON=$!
AGENT= SINK= SIPP_E= SIPP_N=
cleanup() { for p in $SIPP_E $SIPP_N $AGENT $SINK $DAEMON; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
for _ in $(seq 100); do grep -q daemon.ready "$WORK/daemon.log" 2>/dev/null && break; sleep 0.1; done
grep -q daemon.ready "$WORK/daemon.log" || { cat "$WORK/daemon.log"; echo "$0: the daemon did not start" >&2; exit 1; }

# Media of both legs goes to one sink (sipp sends none itself; it only keeps ports open).
cc -O2 -o "$WORK/rtp_meter" bench/rtp_meter.c -lm -lpthread -lsrtp2
"$WORK/rtp_meter" --port "$SINK_PORT" --seconds $((RAMP + HOLD + 15)) --out "$WORK/sink.json" &
SINK=$!
(cd "$WORK/agent" && exec sipp -sf "$ROOT/Tests/EndToEndTests/Scenarios/uas_answer.xml" -i 127.0.0.1 -p "$AGENT_PORT" \
    -key calleertp "$SINK_PORT" -nostdin -trace_counts -trace_stat -stf stat.csv -fd 1 >sipp.out 2>&1) &
AGENT=$!
sleep 0.5
caller() { # class count rate local-port priority
    [ "$2" -gt 0 ] || return 0
    (cd "$WORK/$1" && exec sipp "127.0.0.1:$SIP_PORT" -sf "$ROOT/bench/uac_overload.xml" -s 8005963057 -i 127.0.0.1 \
        -p "$4" -m "$2" -l "$2" -r "$3" -recv_timeout $((HOLD * 1000)) -key priority "$5" -key rtpport "$SINK_PORT" \
        -nostdin -timeout $((RAMP + HOLD * 2 + 60))s -max_socket 65000 -trace_counts -trace_rtt -rtt_freq 1 \
        -trace_stat -stf stat.csv -fd 1 >sipp.out 2>&1) &
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
HZ=$(getconf CLK_TCK)
R0=$(ticks $DAEMON); TR0=$(date +%s.%N)
caller emergency "$OFF_E" "$RATE_E" "$E_PORT" emergency; SIPP_E=${!:-}
[ "$OFF_E" -gt 0 ] || SIPP_E=
caller normal "$OFF_N" "$RATE_N" "$N_PORT" normal; SIPP_N=${!:-}
[ "$OFF_N" -gt 0 ] || SIPP_N=
sleep "$RAMP"
R1=$(ticks $DAEMON); TR1=$(date +%s.%N)
sleep 1
H0=$(ticks $DAEMON); TH0=$(date +%s.%N)
sleep $(( HOLD / 2 > 1 ? HOLD / 2 : 1 ))
H1=$(ticks $DAEMON); TH1=$(date +%s.%N)
RSS_KB=$(awk '/VmRSS/ {print $2}' /proc/$DAEMON/status)
FDS=$(ls /proc/$DAEMON/fd | wc -l)
for p in $SIPP_E $SIPP_N; do wait "$p" || true; done
sleep 2 # the daemon's BYEs to the agent
AGENT_UP=$(python3 -c '
import csv, sys
rows = [r for r in csv.reader(open(sys.argv[1]), delimiter=";") if r]
print(dict(zip(rows[0], rows[-1])).get("CurrentCall", "?") if len(rows) > 1 else "?")' "$WORK/agent/stat.csv" 2>/dev/null || echo "?")
HWM_KB=$(awk '/VmHWM/ {print $2}' /proc/$DAEMON/status)
kill -USR1 $AGENT 2>/dev/null || true # sipp: finish the calls in progress, write the final counts, exit
for _ in $(seq 50); do kill -0 $AGENT 2>/dev/null || break; sleep 0.1; done
kill $AGENT 2>/dev/null || true; wait $AGENT 2>/dev/null || true
kill $SINK 2>/dev/null || true; wait $SINK 2>/dev/null || true
kill -TERM $DAEMON; wait $DAEMON || true
trap - EXIT
"$BIN" cdr export --format jsonl --data "$WORK/data" >"$WORK/cdr.jsonl" 2>/dev/null || true
python3 - "$WORK/measure.json" "$R0" "$R1" "$TR0" "$TR1" "$H0" "$H1" "$TH0" "$TH1" "$HZ" "$RSS_KB" "$HWM_KB" "$FDS" "$AGENT_UP" <<'PY'
import json, sys
r0, r1, tr0, tr1, h0, h1, th0, th1, hz = map(float, sys.argv[2:11])
json.dump({"cpu_ramp": (r1 - r0) / hz / max(1e-3, tr1 - tr0) * 100, "cpu_hold": (h1 - h0) / hz / max(1e-3, th1 - th0) * 100,
           "rss_kb": int(sys.argv[11] or 0), "hwm_kb": int(sys.argv[12] or 0), "fds": int(sys.argv[13] or 0),
           "agent_calls_at_end": sys.argv[14]}, open(sys.argv[1], "w"), indent=1)
PY
report "$WORK"
