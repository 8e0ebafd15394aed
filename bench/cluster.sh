#!/usr/bin/env bash
# make bench-cluster: the cluster (Kamailio dispatcher + 1, 2 or 3 tollfreed nodes on
# 127.0.0.2-4, release build) under sipp load, all on this machine.
#
#   bench/cluster.sh [--rates "200 500 1000"] [--seconds 10] [--concurrent 1500]
#                    [--binary PATH] [--out bench/cluster-results.md]
#
# 1. Setup latency the dispatcher adds: INVITE -> 200 at the caller, sipp straight to a node
#    vs the same load through Kamailio (one node), p50/p99 from sipp's response times, and
#    one call at a time with a microsecond clock (bench/setup_probe.py).
# 2. Calls per second: for 1, 2, 3 nodes, each offered rate for --seconds (calls held 1 s).
# 3. Concurrent calls: for 1, 2, 3 nodes, --concurrent calls placed at 150/s, held 20 s.
# 4. Failover: 3 nodes at 100 calls/s, calls held 3 s; node 2 gets kill -9 after 8 s; the
#    time until the dispatcher takes it out, the INVITEs that reached it meanwhile (each
#    delayed by FR_INVITE_MS, then answered elsewhere), the calls that were up on it, and
#    records lost (a completed call without exactly one record: must be 0).
# Every figure is printed and written to --out with the date, machine and command.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RATES="200 500 1000" SECONDS_PER_RATE=10 CONCURRENT=1500
BIN=$ROOT/.build/release/tollfreed OUT=$ROOT/bench/cluster-results.md
while [ $# -gt 0 ]; do
	case $1 in
		--rates) RATES=$2; shift 2 ;;
		--seconds) SECONDS_PER_RATE=$2; shift 2 ;;
		--concurrent) CONCURRENT=$2; shift 2 ;;
		--binary) BIN=$2; shift 2 ;;
		--out) OUT=$2; shift 2 ;;
		-h|--help) sed -n '2,16p' "$0"; exit 0 ;;
		*) echo "$0: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ -x "$BIN" ] || { echo "$0: no $BIN (make build)" >&2; exit 1; }
WORK=$ROOT/.build/bench-cluster
rm -rf "$WORK"; mkdir -p "$WORK"
VAR=$WORK NODE_PORT=5160 PROXY_PORT=5170
SCENARIO=$ROOT/Tests/EndToEndTests/Scenarios/uac_proxy_call.xml
# shellcheck source=scripts/cluster-lib.sh
. "$ROOT/scripts/cluster-lib.sh"
trap stop_all EXIT
RESULTS=$WORK/results.jsonl

# cluster K [DEFINES...]: fresh data directories, nodes 1..K and the dispatcher.
cluster() {
	local k=$1; shift
	stop_all
	rm -rf "$WORK"/node*
	for n in $(seq 1 "$k"); do node_config "$n" "" '{"max_concurrent": 4000, "ring_ms": 0, "drain_s": 0}'; start_node "$n"; done
	write_dispatcher_list $(seq 1 "$k")
	start_kamailio "$@"
}

ticks() { local t=0; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo $t; }
kam_pids() { pgrep -f "kamailio -f $ROOT/Config/kamailio/kamailio.cfg" || true; }

# load NAME TARGET RATE CALLS HOLD_MS: one sipp run in $WORK/NAME; appends a JSON line with
# the sipp counters, response times and the CPU used by the dispatcher and the nodes.
load() {
	local name=$1 target=$2 rate=$3 calls=$4 hold=$5 dir=$WORK/$1
	mkdir -p "$dir"
	local kp np t0 k0 n0
	kp=$(kam_pids | tr '\n' ' '); np="${NODE_PIDS[*]}"
	t0=$(date +%s.%N); k0=$(ticks $kp); n0=$(ticks $np)
	(cd "$dir" && sipp "$target" -sf "$SCENARIO" -s 8005963057 -m "$calls" -r "$rate" -l 100000 \
		-recv_timeout "$hold" -key priority normal -key rtpport 9 -p 5180 -i 127.0.0.1 -cid_str "$name-%u@bench" \
		-trace_stat -stf stat.csv -fd 1 -trace_rtt -rtt_freq 1 -trace_logs -log_file calls.log -trace_err -error_file errors.log \
		-nostdin -timeout $((calls / rate + hold / 1000 + 90))s >sipp.out 2>&1) || true
	local t1 k1 n1
	t1=$(date +%s.%N); k1=$(ticks $kp); n1=$(ticks $np)
	python3 "$ROOT/bench/cluster_report.py" run "$dir" "$name" "$rate" "$calls" "$hold" "$t0" "$t1" \
		"$((k1 - k0))" "$((n1 - n0))" "$(getconf CLK_TCK)" "${#NODE_PIDS[@]}" >>"$RESULTS"
	tail -1 "$RESULTS"
}

echo "== setup latency: straight to a node vs through the dispatcher"
cluster 1
load latency-direct "$(node_ip 1):$NODE_PORT" 100 2000 1000
load latency-proxy "127.0.0.1:$PROXY_PORT" 100 2000 1000
# The same step one call at a time with a microsecond clock (sipp's is whole milliseconds).
for target in direct:"$(node_ip 1):$NODE_PORT" proxy:"127.0.0.1:$PROXY_PORT"; do
	python3 "$ROOT/bench/setup_probe.py" "${target#*:}" 500 |
		python3 -c 'import json, sys; r = json.load(sys.stdin); r.update(kind="probe", name=sys.argv[1]); print(json.dumps(r))' "${target%%:*}" >>"$RESULTS"
	tail -1 "$RESULTS"
done

for k in 1 2 3; do
	echo "== calls per second, $k node(s)"
	cluster "$k"
	for r in $RATES; do load "cps-$k-$r" "127.0.0.1:$PROXY_PORT" "$r" $((r * SECONDS_PER_RATE)) 1000; done
	echo "== concurrent calls, $k node(s)"
	load "conc-$k" "127.0.0.1:$PROXY_PORT" 150 "$CONCURRENT" 20000
done

echo "== failover: kill -9 node 2 under load"
cluster 3 LOG_DISPATCH PING_INTERVAL=1
(sleep 8; date +%s.%N >"$WORK/kill.time"; kill -9 "${NODE_PIDS[2]}") &
KILLER=$!
load failover "127.0.0.1:$PROXY_PORT" 100 2000 3000
wait "$KILLER"
start_node 2 # recovery closes the calls that were up on it (interrupted)
for n in 1 2 3; do "$BIN" cdr export --format jsonl --data "$WORK/node$n/data" >"$WORK/node$n.jsonl"; done
python3 "$ROOT/bench/cluster_report.py" failover "$WORK" "$(cat "$WORK/kill.time")" "sip:$(node_ip 2):$NODE_PORT" >>"$RESULTS"
tail -1 "$RESULTS"
stop_all

python3 "$ROOT/bench/cluster_report.py" markdown "$RESULTS" "bench/cluster.sh $*" >"$OUT"
cat "$OUT"
