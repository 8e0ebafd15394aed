# Shared by scripts/cluster.sh (make cluster) and bench/cluster.sh: tollfreed nodes on
# 127.0.0.N+1 and the Kamailio dispatcher in front of them. Source it after setting
#   ROOT (repository), VAR (work directory), BIN (tollfreed binary),
#   NODE_PORT (SIP port of every node; each has its own address), PROXY_PORT.
# Functions fill NODE_PIDS[n] and KAM_PID.

declare -a NODE_PIDS=()
KAM_PID=""

# node_ip N: node N's address (127.0.0.2 for node 1).
node_ip() { echo "127.0.0.$(($1 + 1))"; }

# node_config N [STORAGE_URL] [EXTRA_JSON]: writes $VAR/nodeN/tollfreed.json from the shipped
# config (and the plans beside it, for bill): own address, RTP range, metrics endpoint and data directory. The dispatcher is the
# only source of a node's traffic, so the per-source limits are off (rate-limit at the edge)
# and only the dispatcher (and local tools on 127.0.0.1) may send INVITEs. EXTRA_JSON is
# merged into "calls" (e.g. '{"max_concurrent": 2000}'). With STORAGE_URL the node keeps its
# records in that PostgreSQL database as node.id "nodeN" (spool in its own directory).
node_config() {
	local n=$1 storage=${2:-} extra=${3:-'{}'}
	mkdir -p "$VAR/node$n/data"
	python3 - "$ROOT/Config/tollfreed.json" "$VAR/node$n/tollfreed.json" "$n" "$(node_ip "$n")" "$NODE_PORT" \
		"$VAR/node$n/data" "$ROOT/CallFlows" "$storage" "$extra" <<-'EOF'
	import json, sys
	src, dst, n, ip, port, data, flows, storage, extra = sys.argv[1:]
	n = int(n)
	cfg = json.load(open(src))
	cfg["sip"].update({"listen": f"{ip}:{port}", "invite_rate_per_source": 0, "trusted_sources": ["127.0.0.1/32"]})
	low = 20000 + (n - 1) * 8000  # 4000 calls' worth each (one even port a call)
	cfg["media"].update({"address": ip, "rtp_ports": f"{low}-{low + 7999}"})
	cfg["data_dir"] = data
	cfg["flows_dir"] = flows
	cfg["metrics"] = {"listen": f"{ip}:9464"}
	cfg["control"] = {"socket": f"{data}/control.sock"}  # tollfreed status --config $VAR/nodeN/tollfreed.json
	cfg["calls"]["half_open_per_source"] = 0
	cfg["calls"].update(json.loads(extra))
	if storage:
	    cfg["storage"] = {"kind": "postgres", "url": storage, "spool_dir": f"{data}/record-spool"}
	    cfg["node"] = {"id": f"node{n}", "lease_grace_s": 10}
	json.dump(cfg, open(dst, "w"), indent=2)
	EOF
	# `tollfreed bill --config` reads the plans next to the config.
	cp "$ROOT/Config/plans.json" "$VAR/node$n/plans.json"
}

# node_maxload N: the node's ordinary capacity (max_concurrent minus the emergency reserve).
node_maxload() {
	python3 -c 'import json, sys
c = json.load(open(sys.argv[1]))["calls"]
m = c.get("max_concurrent", 4000)
print(m - c.get("emergency_reserve", max(1, m // 20)))' "$VAR/node$1/tollfreed.json"
}

# start_node N: runs node N in the background (log $VAR/nodeN/tollfreed.log) and waits until
# it is ready; exits the script if it does not start.
start_node() {
	local n=$1 log=$VAR/node$1/tollfreed.log
	if ! "$BIN" check-config --config "$VAR/node$n/tollfreed.json" >"$VAR/node$n/check.log" 2>&1; then
		cat "$VAR/node$n/check.log" >&2
		echo "node $n's config is refused ($VAR/node$n/tollfreed.json)" >&2
		exit 1
	fi
	"$BIN" run --config "$VAR/node$n/tollfreed.json" >>"$log" 2>&1 &
	NODE_PIDS[n]=$!
	local before
	before=$(grep -c daemon.ready "$log" 2>/dev/null || true)
	before=${before:-0}
	for _ in $(seq 1 300); do
		[ "$(grep -c daemon.ready "$log")" -gt "$before" ] && return 0
		kill -0 "${NODE_PIDS[n]}" 2>/dev/null || break
		sleep 0.1
	done
	echo "node $n did not start:" >&2
	tail -20 "$log" >&2
	exit 1
}

# write_dispatcher_list N...: the dispatcher list for the given nodes, each with its maxload.
write_dispatcher_list() {
	: >"$VAR/dispatcher.list"
	for n in "$@"; do
		echo "1 sip:$(node_ip "$n"):$NODE_PORT 0 0 duid=node$n;maxload=$(node_maxload "$n")" >>"$VAR/dispatcher.list"
	done
}

# start_kamailio [EXTRA -A DEFINES...]: Kamailio on 127.0.0.1:$PROXY_PORT with the shipped
# config and $VAR/dispatcher.list; waits for its control socket.
start_kamailio() {
	rm -f "$VAR/kamailio.ctl"
	local defines=(-A SIP_IP=127.0.0.1 -A "SIP_PORT=$PROXY_PORT" -A "DS_LIST=\"$VAR/dispatcher.list\""
		-A "CTL_SOCKET=\"unix:$VAR/kamailio.ctl\"")
	for d in "$@"; do defines+=(-A "$d"); done
	kamailio -f "$ROOT/Config/kamailio/kamailio.cfg" -DD -E -m 256 -w "$VAR" "${defines[@]}" >"$VAR/kamailio.log" 2>&1 &
	KAM_PID=$!
	for _ in $(seq 1 100); do
		[ -S "$VAR/kamailio.ctl" ] && return 0
		kill -0 "$KAM_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "kamailio did not start:" >&2
	tail -20 "$VAR/kamailio.log" >&2
	exit 1
}

# stop_all: Kamailio, then every node with SIGTERM (they drain and flush their records).
stop_all() {
	[ -n "$KAM_PID" ] && kill "$KAM_PID" 2>/dev/null && wait "$KAM_PID" 2>/dev/null
	KAM_PID=""
	for pid in "${NODE_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${NODE_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	NODE_PIDS=()
}
