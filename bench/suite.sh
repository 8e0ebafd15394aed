#!/usr/bin/env bash
# The benchmark suite: one command, every figure, one results table.
#
#   bench/suite.sh [--quick] [--only LIST] [--out FILE] [--binary PATH]
#
# Sections (--only takes a comma list of them):
#   concurrency  100, 500, 1000, 2000, 3000 callers, each hearing a looping Say prompt for
#                30 s and sending its own RTP (rtp_meter --send)
#   setup        100, 200, 500, 1000 short calls per second: INVITE -> 200 OK and
#                ACK -> first RTP / first speech packet, failures, retransmissions
#   record       500 callers each recording 30 s on the healthcare number (sealed AES-256-GCM):
#                every file decrypted and checked for length and content; CPU, disk writes
#   billing      rating and exporting 1,000,000 records (bench/billing.sh)
#   floor        what one packet costs the kernel here (bench/loopback_floor.c): the least
#                CPU per call any media server can reach on this machine
#   bridge       250, 500, 1000, 1500 callers each bridged by <Dial> to a sipp agent, RTP both
#                ways on both legs, half of them transcoding PCMU <-> PCMA: CPU per bridge and
#                relay latency (bench/bridge.sh); the same bridges through rtpengine (the peer;
#                BRIDGE_PEER= leaves it out)
#   webhook      100, 300, 500 calls per second whose flow comes from a local tenant app
#                (bench/webhook_app.py): a greeting unique to each call, a Gather, a second
#                request (bench/webhook.sh)
#   peers        tollfreed, pjsip (pjsua2 wheel, bench/peers/pjsua_uas.py) and sipp's own UAS
#                replaying the prompt from a pcap (the floor), on the same 400-call load
#   media-cost   the concurrency load at 400 calls three ways, interleaved: RTCP off, RTCP
#                on, SRTP with RTCP (bench/media_cost.sh): what RTCP and SRTP cost per call
#
# Every run drives the release daemon over loopback with sipp from separate processes and
# measures at the receiver: all callers' SDP name bench/rtp_meter (C, batched), which
# timestamps what arrives with the kernel's clock and speaks for the callers: by default as
# independent phones do (ARRIVAL=spread: each caller its own phase in the 20 ms period and
# +-2 ms of jitter per packet); ARRIVAL=batch sends every caller's packet in one instant
# (the old, flattering pattern, kept for comparison; the report labels each row). The CPU of
# the load generators is printed next to the daemon's: they share the same 2 cores.
# Results: one JSON line per run in the work directory, rendered by bench/report.py into
# --out (default bench/results.md). --quick runs every section small (a smoke test).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN=$ROOT/.build/release/tollfreed OUT=$ROOT/bench/results.md QUICK=0
ONLY="concurrency,setup,bridge,webhook,record,billing,floor,peers,media-cost"
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1; shift ;;
        --only) ONLY=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --binary) BIN=$2; shift 2 ;;
        *) echo "usage: $0 [--quick] [--only concurrency,setup,bridge,webhook,record,billing,floor,peers,media-cost] [--out FILE] [--binary PATH]" >&2; exit 2 ;;
    esac
done
[ -x "$BIN" ] || { echo "build first: make build ($BIN missing)" >&2; exit 2; }
for tool in sipp cc python3; do command -v $tool >/dev/null || { echo "missing $tool (make bench-deps)" >&2; exit 2; }; done

# Sizes; each may be overridden from the environment (CONCURRENCY="2000" bench/suite.sh ...).
if [ $QUICK = 1 ]; then
    : "${CONCURRENCY:=50 200}" "${RATES:=50 100}" "${BRIDGES:=20}" "${WEBHOOK_RATES:=20}" "${HOLD:=10}" "${RATE_SECONDS:=3}" "${RECORD_CALLS:=20}"
    : "${RECORD_SECONDS:=5}" "${PEER_CALLS:=20}" "${BILL_CALLS:=20000}" "${BILL_MESSAGES:=2000}" "${MEDIA_COST_CALLS:=50}" "${MEDIA_COST_ROUNDS:=1}"
else
    : "${CONCURRENCY:=100 500 1000 2000 3000}" "${RATES:=100 200 500 1000}" "${BRIDGES:=250 500 1000 1500}" "${WEBHOOK_RATES:=100 300 500}" "${HOLD:=30}" "${RATE_SECONDS:=10}"
    : "${RECORD_CALLS:=500}" "${RECORD_SECONDS:=30}" "${PEER_CALLS:=400}" "${BILL_CALLS:=1000000}" "${BILL_MESSAGES:=100000}"
    : "${MEDIA_COST_CALLS:=400}" "${MEDIA_COST_ROUNDS:=3}"
fi

: "${ARRIVAL:=spread}"
case "$ARRIVAL" in spread|batch) ;; *) echo "ARRIVAL must be spread or batch, got '$ARRIVAL'" >&2; exit 2 ;; esac

WORK=$(mktemp -d /tmp/tollfreed-suite.XXXXXX)
RESULTS=$WORK/results.jsonl
HZ=$(getconf CLK_TCK)
echo "suite: work directory $WORK"
cc -O2 -o "$WORK/rtp_meter" bench/rtp_meter.c -lm -lpthread -lsrtp2
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() { python3 bench/free_port.py; }
# CPU ticks (user + system) of the given processes, summed.
ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' /proc/$p/stat 2>/dev/null || echo 0))); done; echo $t; }
rss_kb() { local t=0 p; for p in "$@"; do t=$((t + $(awk '/VmRSS/ {print $2}' /proc/$p/status 2>/dev/null || echo 0))); done; echo $t; }
now() { date +%s.%N; }
pct() { python3 -c "import sys; print(round((float(sys.argv[2]) - float(sys.argv[1])) / $HZ / (float(sys.argv[4]) - float(sys.argv[3])) * 100, 1))" "$@"; }

# start_daemon NAME FLOW CAPACITY [RECORD_SECONDS]: writes a config giving FLOW (from a
# copy of bench/flows, next to any flows already in the work directory's flows/) to every
# number, or per number with NUMBER_FLOWS="DID=FLOW,...", starts the release daemon and
# waits until it is ready. Sets DAEMON and SIP_PORT.
start_daemon() {
    local name=$1 flow=$2 capacity=$3 dir=$WORK/$1
    mkdir -p "$dir"
    mkdir -p "$dir/flows"
    cp bench/flows/* "$dir/flows/"
    if [ -n "${4:-}" ]; then sed -i 's/maxLength="[0-9]*"/maxLength="'"$4"'"/' "$dir/flows/$flow"; fi
    python3 - "$dir/config.json" "$flow" "$capacity" "$dir/flows" "${NUMBER_FLOWS:-}" <<'PY'
import json, sys, os
cfg = json.load(open("Config/tollfreed.json"))
cfg["flows_dir"] = sys.argv[4]
per_number = dict(item.split("=", 1) for item in sys.argv[5].split(",") if item)
for n in cfg["numbers"]:
    n["flow"] = per_number.pop(n["did"], sys.argv[2])
if per_number:
    sys.exit(f"suite: NUMBER_FLOWS names numbers the config does not have: {sorted(per_number)}")
cfg["calls"] = {"max_concurrent": int(sys.argv[3]), "ring_ms": 0, "max_duration_s": 3600, "drain_s": 0}
cfg["log_level"] = "notice"
cfg.setdefault("metrics", {})["listen"] = "127.0.0.1:0"
# One sipp process is one source address: the per-source INVITE rate limit would refuse it.
cfg.setdefault("sip", {})["invite_rate_per_source"] = 0
# The media cost section's variants (bench/media_cost.sh): RTCP off, SRTP offered.
if os.environ.get("MEDIA_RTCP") == "0":
    cfg.setdefault("media", {})["rtcp"] = False
if os.environ.get("SIP_SRTP"):
    cfg["sip"]["srtp"] = os.environ["SIP_SRTP"]
json.dump(cfg, open(sys.argv[1], "w"), indent=1)
PY
    SIP_PORT=$(free_port)
    local low=20000 high=$((20000 + capacity * 4 + 200))
    "$BIN" run --config "$dir/config.json" --sip "127.0.0.1:$SIP_PORT" --rtp-ports "$low-$high" \
        --data "$dir/data" >"$dir/daemon.log" 2>&1 &
    DAEMON=$!
    PIDS+=("$DAEMON")
    for _ in $(seq 100); do grep -q daemon.ready "$dir/daemon.log" 2>/dev/null && break; sleep 0.1; done
    grep -q daemon.ready "$dir/daemon.log" || { cat "$dir/daemon.log"; exit 1; }
    sleep 1 # prompt synthesis
    RSS_IDLE=$(rss_kb "$DAEMON")
}
stop_daemon() { kill -TERM "$DAEMON" 2>/dev/null || true; wait "$DAEMON" 2>/dev/null || true; }

# sipp_stats FILE...: "successful failed retransmissions" summed over sipp -trace_stat files.
sipp_stats() {
    python3 - "$@" <<'PY'
import csv, sys
ok = fail = retrans = 0
for path in sys.argv[1:]:
    rows = list(csv.reader(open(path), delimiter=";"))
    if len(rows) < 2:
        continue
    head, last = rows[0], rows[-1]
    get = lambda name: int(last[head.index(name)]) if name in head else 0
    ok += get("SuccessfulCall(C)"); fail += get("FailedCall(C)"); retrans += get("Retransmissions(C)")
print(ok, fail, retrans)
PY
}

# callers NAME SCENARIO CALLS RATE HOLD_S METER_PORT PROCESSES [extra sipp args...]:
# starts PROCESSES sipp callers sharing CALLS and RATE, dialling SERVICE (default the
# healthcare DID); sets SIPPS.
callers() {
    local name=$1 scenario=$2 calls=$3 rate=$4 hold=$5 mport=$6 procs=$7; shift 7
    SIPPS=()
    local i share r
    for i in $(seq 1 "$procs"); do
        share=$(( calls / procs + (i <= calls % procs ? 1 : 0) ))
        r=$(python3 -c "print(max(1, round($rate / $procs, 1)))")
        sipp "127.0.0.1:$SIP_PORT" -sf "$scenario" -s "${SERVICE:-8005963057}" -i 127.0.0.1 -p "$(free_port)" \
            -l "$share" -m "$share" -r "$r" -d $((hold * 1000)) -key rtpport "$mport" \
            -nostdin -timeout $((calls / rate + hold + 60))s -max_socket 65000 \
            -trace_stat -stf "$WORK/$name/sipp$i.csv" -fd 1 "$@" >"$WORK/$name/sipp$i.out" 2>&1 &
        SIPPS+=($!); PIDS+=($!)
    done
}

# record JSON: appends one result line; a line that is not JSON (an analysis step failed)
# stops the suite rather than leaving a hole in the table.
record() {
    python3 -c 'import json, sys; json.loads(sys.argv[1])' "$1" 2>/dev/null || { echo "suite: bad result: $1" >&2; exit 1; }
    echo "$1" >> "$RESULTS"
}

# run_concurrency N: the concurrency load. The media cost section runs it with
# CONC_VARIANT (its row's name and work directory), CONC_SCENARIO (another caller
# scenario) and METER_EXTRA (more meter arguments) set.
run_concurrency() { # N
    local n=$1 name=conc-$1${CONC_VARIANT:+-$CONC_VARIANT}
    start_daemon "$name" looping-greeting.xml $((n * 2 + 10))
    local rate=$(( n / 10 > 100 ? n / 10 : 100 ))
    local ramp=$(( (n + rate - 1) / rate ))
    local mport; mport=$(free_port)
    # shellcheck disable=SC2086 # METER_EXTRA is a word list
    "$WORK/rtp_meter" --port "$mport" --seconds $((ramp + HOLD + 4)) --send --arrival "$ARRIVAL" --out "$WORK/$name/meter.json" ${METER_EXTRA:-} &
    local meter=$!; PIDS+=($meter)
    callers "$name" "${CONC_SCENARIO:-bench/uac_bench.xml}" "$n" "$rate" "$HOLD" "$mport" $(( (n + 999) / 1000 ))
    sleep $((ramp + 1))
    local window=$(( HOLD - ramp - 3 > 4 ? HOLD - ramp - 3 : 4 ))
    local d0 s0 m0 t0 d1 s1 m1 t1 rss
    d0=$(ticks $DAEMON); s0=$(ticks "${SIPPS[@]}"); m0=$(ticks $meter); t0=$(now)
    sleep "$window"
    d1=$(ticks $DAEMON); s1=$(ticks "${SIPPS[@]}"); m1=$(ticks $meter); t1=$(now)
    rss=$(rss_kb $DAEMON)
    wait "${SIPPS[@]}" || true; wait $meter || true
    stop_daemon
    local st section=concurrency; st=$(sipp_stats "$WORK/$name"/sipp*.csv)
    [ -z "${CONC_VARIANT:-}" ] || section=media_cost
    record "{\"section\": \"$section\", \"variant\": \"${CONC_VARIANT:-}\", \"calls\": $n, \"sipp\": [${st// /, }], \"daemon_cpu\": $(pct $d0 $d1 $t0 $t1), \"sipp_cpu\": $(pct $s0 $s1 $t0 $t1), \"sipp_procs\": ${#SIPPS[@]}, \"meter_cpu\": $(pct $m0 $m1 $t0 $t1), \"rss_kb\": $rss, \"rss_idle_kb\": $RSS_IDLE, \"meter\": $(cat "$WORK/$name/meter.json")}"
    echo "concurrency $n${CONC_VARIANT:+ ($CONC_VARIANT)}: $(tail -1 "$RESULTS")"
}

run_setup() { # RATE
    local rate=$1 name=setup-$1
    local calls=$((rate * RATE_SECONDS)) hold=2
    start_daemon "$name" looping-greeting.xml $((rate * (hold + 2) + 100))
    local mport; mport=$(free_port)
    "$WORK/rtp_meter" --port "$mport" --seconds $((RATE_SECONDS + hold + 4)) --out "$WORK/$name/meter.json" \
        --streams "$WORK/$name/streams.tsv" &
    local meter=$!; PIDS+=($meter)
    local d0 t0
    d0=$(ticks $DAEMON); t0=$(now)
    callers "$name" bench/uac_setup.xml "$calls" "$rate" "$hold" "$mport" 1 -trace_logs -log_file "$WORK/$name/calls.log"
    wait "${SIPPS[@]}" || true
    local d1 t1; d1=$(ticks $DAEMON); t1=$(now)
    wait $meter || true
    stop_daemon
    local st; st=$(sipp_stats "$WORK/$name"/sipp*.csv)
    record "{\"section\": \"setup\", \"rate\": $rate, \"calls\": $calls, \"sipp\": [${st// /, }], \"daemon_cpu\": $(pct $d0 $d1 $t0 $t1), \"latency\": $(python3 bench/report.py setup-latency "$WORK/$name/calls.log" "$WORK/$name/streams.tsv")}"
    echo "setup $rate/s: $(tail -1 "$RESULTS")"
}

run_record() {
    local n=$RECORD_CALLS name=record
    start_daemon "$name" record-30s.xml $((n * 2 + 10)) "$RECORD_SECONDS"
    local rate=50 ramp=$(( (n + 49) / 50 )) hold=$((RECORD_SECONDS + 3))
    local mport; mport=$(free_port)
    "$WORK/rtp_meter" --port "$mport" --seconds $((ramp + hold + 4)) --send --arrival "$ARRIVAL" --out "$WORK/$name/meter.json" &
    local meter=$!; PIDS+=($meter)
    local w0 d0 t0; w0=$(awk '/^write_bytes/ {print $2}' /proc/$DAEMON/io); d0=$(ticks $DAEMON); t0=$(now)
    callers "$name" bench/uac_bench.xml "$n" "$rate" "$hold" "$mport" 1
    wait "${SIPPS[@]}" || true
    sleep 2 # the last recordings are sealed and written
    local w1 d1 t1; w1=$(awk '/^write_bytes/ {print $2}' /proc/$DAEMON/io); d1=$(ticks $DAEMON); t1=$(now)
    wait $meter || true
    stop_daemon
    mkdir -p "$WORK/$name/wav"
    local f id
    for f in $(find "$WORK/$name/data" -name '*.enc' -path '*recordings*'); do
        id=$(basename "$f")
        "$BIN" recording decrypt "$id" --out "$WORK/$name/wav/${id%.enc}" --config "$WORK/$name/config.json" \
            --data "$WORK/$name/data" >/dev/null 2>>"$WORK/$name/decrypt.err" || true
    done
    local st; st=$(sipp_stats "$WORK/$name"/sipp*.csv)
    record "{\"section\": \"record\", \"calls\": $n, \"seconds\": $RECORD_SECONDS, \"sipp\": [${st// /, }], \"daemon_cpu\": $(pct $d0 $d1 $t0 $t1), \"written_bytes\": $((w1 - w0)), \"wall_s\": $(python3 -c "print(round($t1 - $t0, 1))"), \"files\": $(python3 bench/report.py check-recordings "$WORK/$name/wav" "$RECORD_SECONDS"), \"meter\": $(cat "$WORK/$name/meter.json")}"
    echo "record: $(tail -1 "$RESULTS")"
}

run_floor() {
    cc -O2 -o "$WORK/loopback_floor" bench/loopback_floor.c -lpthread
    record "{\"section\": \"floor\", \"result\": $("$WORK/loopback_floor" --sockets "$PEER_CALLS" --rounds 200)}"
    echo "floor: $(tail -1 "$RESULTS")"
}

run_billing() {
    bench/billing.sh --calls "$BILL_CALLS" --messages "$BILL_MESSAGES" --binary "$BIN" > "$WORK/billing.txt" 2>&1
    record "$(python3 bench/report.py billing "$WORK/billing.txt" "$BILL_CALLS" "$BILL_MESSAGES")"
    echo "billing: $(tail -1 "$RESULTS")"
}

. bench/peers/peers.sh
. bench/webhook.sh
. bench/bridge.sh
. bench/media_cost.sh

IFS=, read -ra SECTIONS <<< "$ONLY"
for section in "${SECTIONS[@]}"; do
    case "$section" in
        concurrency) for n in $CONCURRENCY; do run_concurrency "$n"; done ;;
        setup) for r in $RATES; do run_setup "$r"; done ;;
        bridge) for n in $BRIDGES; do run_bridge "$n"; [ -z "${BRIDGE_PEER-rtpengine}" ] || run_bridge_rtpengine "$n"; done ;;
        webhook) for r in $WEBHOOK_RATES; do run_webhook "$r"; done ;;
        record) run_record ;;
        billing) run_billing ;;
        floor) run_floor ;;
        peers) run_peers "$PEER_CALLS" ;;
        media-cost) run_media_cost "$MEDIA_COST_CALLS" ;;
        *) echo "unknown section $section" >&2; exit 2 ;;
    esac
done
python3 bench/report.py render "$RESULTS" --quick "$QUICK" > "$OUT"
cat "$OUT"
echo "suite: results in $OUT (raw: $RESULTS)"
