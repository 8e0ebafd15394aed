#!/usr/bin/env bash
# Loads the release daemon with sipp over loopback and prints one results row.
#
#   bench/load.sh --calls N [--hold SECONDS] [--rate CPS] [--binary PATH]
#
# N callers (one sipp process) dial +1-800-596-3057 at --rate calls per second, hear a
# looping Say prompt for --hold seconds and hang up. Their SDP points at one RTP sink
# (bench/rtp_sink.py) that measures pacing as the callers receive it. CPU is measured
# from /proc over the middle of the hold time, when every call is up.
set -euo pipefail
cd "$(dirname "$0")/.."
CALLS=100 HOLD=20 RATE=50 BIN=.build/release/tollfreed
while [ $# -gt 0 ]; do
    case "$1" in
        --calls) CALLS=$2; shift 2 ;;
        --hold) HOLD=$2; shift 2 ;;
        --rate) RATE=$2; shift 2 ;;
        --binary) BIN=$2; shift 2 ;;
        *) echo "usage: $0 --calls N [--hold S] [--rate CPS] [--binary PATH]" >&2; exit 2 ;;
    esac
done
[ -x "$BIN" ] || { echo "build first: make build ($BIN missing)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/tollfreed-bench.XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SIP_PORT=$(free_port); SINK_PORT=$(free_port); SIPP_PORT=$(free_port)
RTP_LOW=20000; RTP_HIGH=$((RTP_LOW + CALLS * 4 + 100))
python3 - "$WORK/bench.json" "$CALLS" <<'PY'
import json, sys, os
cfg = json.load(open("Config/tollfreed.json"))
cfg["flows_dir"] = os.path.abspath("bench/flows")
for n in cfg["numbers"]:
    n["flow"] = "looping-greeting.xml"
cfg["calls"] = {"max_concurrent": int(sys.argv[2]) * 2 + 10, "ring_ms": 0, "max_duration_s": 3600}
cfg["log_level"] = "notice"
# One sipp process is one source address: the per-source INVITE rate limit would refuse it.
cfg.setdefault("sip", {})["invite_rate_per_source"] = 0
json.dump(cfg, open(sys.argv[1], "w"), indent=1)
PY

"$BIN" run --config "$WORK/bench.json" --sip "127.0.0.1:$SIP_PORT" --rtp-ports "$RTP_LOW-$RTP_HIGH" \
    --data "$WORK/data" >"$WORK/daemon.log" 2>&1 &
DAEMON=$!
trap 'kill ${DAEMON:-} 2>/dev/null || true; kill ${SIPP:-} 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q daemon.ready "$WORK/daemon.log" 2>/dev/null && break; sleep 0.1; done
grep -q daemon.ready "$WORK/daemon.log" || { cat "$WORK/daemon.log"; exit 1; }
sleep 1 # prompt synthesis

RAMP=$(( (CALLS + RATE - 1) / RATE ))
python3 bench/rtp_sink.py --port "$SINK_PORT" --seconds $((RAMP + HOLD + 3)) --out "$WORK/sink.json" &
SINK=$!
sipp "127.0.0.1:$SIP_PORT" -sf bench/uac_bench.xml -s 8005963057 -i 127.0.0.1 -p "$SIPP_PORT" \
    -l "$CALLS" -m "$CALLS" -r "$RATE" -d $((HOLD * 1000)) -key rtpport "$SINK_PORT" \
    -nostdin -timeout $((RAMP + HOLD + 60))s -max_socket 65000 >"$WORK/sipp.out" 2>&1 &
SIPP=$!

ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
HZ=$(getconf CLK_TCK)
sleep $((RAMP + 2))
D0=$(ticks $DAEMON); S0=$(ticks $SIPP); T0=$(date +%s.%N)
sleep $((HOLD / 2))
D1=$(ticks $DAEMON); S1=$(ticks $SIPP); T1=$(date +%s.%N)
RSS_KB=$(awk '/VmRSS/ {print $2}' /proc/$DAEMON/status)
ACTIVE_FDS=$(ls /proc/$DAEMON/fd | wc -l)
wait $SIPP || true
wait $SINK || true
kill -TERM $DAEMON; wait $DAEMON || true
trap - EXIT

OK=$(awk -F'|' '/Successful call/ {gsub(/ /,"",$3); print $3}' "$WORK/sipp.out" | tail -1)
FAIL=$(awk -F'|' '/Failed call/ {gsub(/ /,"",$3); print $3}' "$WORK/sipp.out" | tail -1)
CDRS=$("$BIN" cdr export --format csv --data "$WORK/data" | tail -n +2 | grep -c ',completed,' || true)
python3 - "$WORK/sink.json" "$CALLS" "$OK" "$FAIL" "$CDRS" "$D0" "$D1" "$S0" "$S1" "$T0" "$T1" "$HZ" "$RSS_KB" "$ACTIVE_FDS" <<'PY'
import json, sys
sink = json.load(open(sys.argv[1]))
calls, ok, fail, cdrs = sys.argv[2], sys.argv[3] or "?", sys.argv[4] or "?", sys.argv[5]
d0, d1, s0, s1 = map(float, sys.argv[6:10]); t0, t1 = float(sys.argv[10]), float(sys.argv[11]); hz = float(sys.argv[12])
rss_kb, fds = int(sys.argv[13]), sys.argv[14]
wall = t1 - t0
dcpu = (d1 - d0) / hz / wall * 100
scpu = (s1 - s0) / hz / wall * 100
print(f"| {calls} | {ok} | {fail} | {cdrs} | {dcpu:.1f} % | {rss_kb/1024:.1f} MiB | {rss_kb/max(1,int(calls)):.0f} KiB | "
      f"{scpu:.1f} % | {sink['packets']} | {sink['seq_gaps']} | {sink['gap_ms_p50']} / {sink['gap_ms_p99']} / {sink['gap_ms_max']} ms |")
PY
echo "(work dir: $WORK)"
