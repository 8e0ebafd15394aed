#!/usr/bin/env bash
# make cluster: three tollfreed nodes behind a Kamailio dispatcher, on one machine.
#
#   scripts/cluster.sh [--port N] [--nodes 1-3] [--no-build]
#   STORAGE=sqlite scripts/cluster.sh        # each node its own SQLite store (default: postgres)
#
# By default PostgreSQL runs under var/cluster/pg (port PG_PORT, 55432; initdb as the
# postgres user when root) and the nodes share it as node1..node3.
# Nodes listen on 127.0.0.2, 127.0.0.3, 127.0.0.4 (Linux loopback answers all of 127/8),
# port 5060 each, with their own RTP range, metrics endpoint and data directory under
# var/cluster/nodeN/. Kamailio (Config/kamailio/kamailio.cfg) listens on 127.0.0.1:PORT
# (default 5060) and spreads calls over them. Ctrl-C stops everything: Kamailio first,
# then each node drains (SIGTERM: new calls 503, calls in progress end, records flushed).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VAR=$ROOT/var/cluster
PORT=5060
NODES=3
BUILD=1
STORAGE=${STORAGE:-postgres}
PG_PORT=${PG_PORT:-55432}
BIN=${TOLLFREED_BIN:-$ROOT/.build/release/tollfreed}

while [ $# -gt 0 ]; do
	case $1 in
		--port) PORT=$2; shift 2 ;;
		--nodes) NODES=$2; shift 2 ;;
		--no-build) BUILD=0; shift ;;
		-h|--help) sed -n '2,15p' "$0"; exit 0 ;;
		*) echo "cluster.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
[[ $NODES =~ ^[1-3]$ ]] || { echo "cluster.sh: --nodes must be 1, 2 or 3" >&2; exit 2; }
command -v kamailio >/dev/null || { echo "cluster.sh: kamailio is not installed (make deps)" >&2; exit 1; }
case $STORAGE in postgres|sqlite) ;; *) echo "cluster.sh: STORAGE must be postgres or sqlite" >&2; exit 2 ;; esac

# Release build when missing or older than a source file.
if [ "$BUILD" = 1 ] && { [ ! -x "$BIN" ] || [ -n "$(find "$ROOT/Sources" "$ROOT/Package.swift" -newer "$BIN" -print -quit)" ]; }; then
	(cd "$ROOT" && swift build -c release --static-swift-stdlib --disable-local-rpath)  # as `make build`: one release build
fi

mkdir -p "$VAR"
NODE_PORT=5060
PROXY_PORT=$PORT
# shellcheck source=scripts/cluster-lib.sh
. "$ROOT/scripts/cluster-lib.sh"
PG_DATA=$VAR/pg
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)

# Runs a PostgreSQL tool as the unprivileged postgres user when we are root.
pg_run() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cleanup() {
	trap - INT TERM EXIT
	echo
	echo "stopping: dispatcher, then nodes (draining)"
	stop_all
	if [ "$STORAGE" = postgres ] && [ -n "$PG_BIN" ]; then
		pg_run "$PG_BIN/pg_ctl" -D "$PG_DATA/data" -m fast stop >/dev/null 2>&1 || true
	fi
	if [ "$STORAGE" = postgres ]; then
		echo "stopped; records stay in $PG_DATA/data (tollfreed cdr export --config $VAR/node1/tollfreed.json once it runs again)"
	else
		echo "stopped; records stay in $VAR/node*/data (tollfreed cdr export --data DIR)"
	fi
}
# Ctrl-C or SIGTERM is the normal way to stop: clean up and exit 0.
trap 'cleanup; exit 0' INT TERM
trap cleanup EXIT

# PostgreSQL under var/cluster/pg on its own port, owned by an unprivileged user.
start_postgres() {
	[ -n "$PG_BIN" ] || { echo "cluster.sh: STORAGE=postgres needs the postgresql package" >&2; exit 1; }
	mkdir -p "$PG_DATA"
	[ "$(id -u)" = 0 ] && chown postgres:postgres "$PG_DATA"
	if [ ! -f "$PG_DATA/data/PG_VERSION" ]; then
		pg_run "$PG_BIN/initdb" -D "$PG_DATA/data" -U tollfreed --auth=trust -E UTF8 --locale=C >/dev/null
	fi
	pg_run "$PG_BIN/pg_ctl" -D "$PG_DATA/data" -l "$PG_DATA/postgres.log" -w \
		-o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $PG_DATA" start >/dev/null
	pg_run "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U tollfreed -d postgres -tAc \
		"SELECT 1 FROM pg_database WHERE datname='tollfreed'" | grep -q 1 ||
		pg_run "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U tollfreed tollfreed
	echo "postgres   127.0.0.1:$PG_PORT  data $PG_DATA/data  log $PG_DATA/postgres.log"
}

STORAGE_URL=""
if [ "$STORAGE" = postgres ]; then
	start_postgres
	STORAGE_URL="postgresql://tollfreed@127.0.0.1:$PG_PORT/tollfreed"
fi

for n in $(seq 1 "$NODES"); do
	node_config "$n" "$STORAGE_URL"
	start_node "$n"
	echo "node$n      sip:$(node_ip "$n"):5060  metrics http://$(node_ip "$n"):9464/metrics  data $VAR/node$n/data  log $VAR/node$n/tollfreed.log"
done
write_dispatcher_list $(seq 1 "$NODES")
start_kamailio
cat <<EOF
dispatcher sip:127.0.0.1:$PORT  log $VAR/kamailio.log  list $VAR/dispatcher.list
           node states: kamcmd -s unix:$VAR/kamailio.ctl dispatcher.list
storage    $STORAGE
call it:   sipp 127.0.0.1:$PORT -sf Tests/EndToEndTests/Scenarios/uac_proxy_call.xml -s 8005963057 -m 10 -r 5 \\
             -recv_timeout 5000 -key priority normal -key rtpport 9 -p 5070
EOF
if [ "$STORAGE" = postgres ]; then
	cat <<EOF
records:   $BIN cdr export --config $VAR/node1/tollfreed.json   (all nodes: one database)
           $BIN bill --period \$(date -u +%Y-%m) --config $VAR/node1/tollfreed.json
           psql -h 127.0.0.1 -p $PG_PORT -U tollfreed tollfreed -c 'SELECT node, sip_call_id, disposition FROM calls'
EOF
else
	echo "records:   for d in $VAR/node*/data; do $BIN cdr export --data \$d; done"
fi
echo "Ctrl-C stops everything."
wait "$KAM_PID"
