#!/usr/bin/env bash
# Records per second the record stores take through the daemon's writer (group commit),
# SQLite (WAL, synchronous=FULL) against PostgreSQL 15 (a throwaway local server with
# default durability: fsync on, synchronous_commit on), on this machine; and, for
# comparison, one transaction per operation. Each call is two operations: the active
# record at admission and its finish.
#
#   bench/store.sh [--calls N] [--binary PATH]
set -euo pipefail
cd "$(dirname "$0")/.."
CALLS=20000 BIN=.build/release/tollfreed
[ -x "$BIN" ] || BIN=.build/debug/tollfreed
while [ $# -gt 0 ]; do
    case "$1" in
        --calls) CALLS=$2; shift 2 ;;
        --binary) BIN=$2; shift 2 ;;
        *) echo "usage: $0 [--calls N] [--binary PATH]" >&2; exit 2 ;;
    esac
done
[ -x "$BIN" ] || { echo "build first: make build ($BIN missing)" >&2; exit 2; }
PGBIN=/usr/lib/postgresql/15/bin
[ -x "$PGBIN/initdb" ] || { echo "PostgreSQL 15 missing: make deps" >&2; exit 2; }
WORK=$(mktemp -d /tmp/tollfreed-store.XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# PostgreSQL refuses to run as root: as root its programs run as the postgres user.
AS=()
if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$WORK"; AS=(runuser -u postgres --); fi
cleanup() { (cd "$WORK" && "${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg" -m immediate -w stop >/dev/null 2>&1) || true; rm -rf "$WORK"; }
trap cleanup EXIT
(cd "$WORK" && "${AS[@]}" "$PGBIN/initdb" -D "$WORK/pg" -U tollfreed --auth=trust -E UTF8 --locale=C >/dev/null)
(cd "$WORK" && "${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w \
    -o "-p $PORT -k $WORK -c listen_addresses=127.0.0.1" start >/dev/null)
"$PGBIN/psql" -h 127.0.0.1 -p "$PORT" -U tollfreed -d postgres -qc "CREATE DATABASE tollfreed"
URL="postgresql://tollfreed@127.0.0.1:$PORT/tollfreed"
mkdir -p "$WORK/sqlite-group" "$WORK/sqlite-single"

echo "$("$BIN" --version), $(nproc) cores, $CALLS calls"
echo
echo "| store | writes | calls/s | operations/s | operations per transaction |"
echo "|---|---|---|---|---|"
row() { # label, bench-store output
    local line=$2
    get() { sed -E "s/.* $1=([^ ]+).*/\1/" <<<"$line"; }
    printf '| %s | %s | %s | %s | %s |\n' "$1" "$(get mode)" "$(get calls_per_s)" "$(get operations_per_s)" "$(get operations_per_transaction)"
}
row SQLite "$("$BIN" bench-store --store sqlite --dir "$WORK/sqlite-group" --calls "$CALLS")"
row PostgreSQL "$("$BIN" bench-store --store postgres --url "$URL" --calls "$CALLS")"
SINGLE=$(( CALLS / 10 ))
row SQLite "$("$BIN" bench-store --store sqlite --dir "$WORK/sqlite-single" --calls "$SINGLE" --single)"
row PostgreSQL "$("$BIN" bench-store --store postgres --url "$URL" --calls "$SINGLE" --single)"
