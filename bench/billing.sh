#!/usr/bin/env bash
# Rates and exports a million generated records with the release binary and prints times
# and peak memory.
#
#   bench/billing.sh [--calls N] [--messages M] [--binary PATH]
set -euo pipefail
cd "$(dirname "$0")/.."
CALLS=1000000 MESSAGES=100000 BIN=.build/release/tollfreed PERIOD=2026-11
while [ $# -gt 0 ]; do
    case "$1" in
        --calls) CALLS=$2; shift 2 ;;
        --messages) MESSAGES=$2; shift 2 ;;
        --binary) BIN=$2; shift 2 ;;
        *) echo "usage: $0 [--calls N] [--messages M] [--binary PATH]" >&2; exit 2 ;;
    esac
done
[ -x "$BIN" ] || { echo "build first: make build ($BIN missing)" >&2; exit 2; }
WORK=$(mktemp -d /tmp/tollfreed-billing.XXXXXX)
echo "generating $CALLS calls and $MESSAGES messages for $PERIOD in $WORK ..."
python3 bench/gen_cdrs.py "$WORK/data" "$CALLS" "$MESSAGES" "$PERIOD"
# The key the daemon creates on its first start: exports are audited, and the audit
# log's anchor is sealed with it.
"$BIN" keygen --out "$WORK/data/keys/recording.key" >/dev/null

measure() { # label, command...: prints wall seconds, CPU seconds (user + sys) and peak RSS
    local label=$1; shift
    /usr/bin/time -f "%e %U %S %M" -o "$WORK/time" "$@" > "$WORK/out" 2>"$WORK/err" || { cat "$WORK/err"; exit 1; }
    read -r secs user sys kb < "$WORK/time"
    printf '| %s | %s s | %.2f s | %.1f MiB |\n' "$label" "$secs" "$(echo "$user + $sys" | bc -l)" "$(echo "$kb / 1024" | bc -l)"
}
echo "| step | wall time | CPU | peak RSS |"
echo "|---|---|---|---|"
measure "bill --period $PERIOD (store, $CALLS calls + $MESSAGES messages)" \
    "$BIN" bill --period "$PERIOD" --config Config/tollfreed.json --data "$WORK/data"
cp "$WORK/out" "$WORK/invoices.txt"
measure "cdr export --format csv ($CALLS rows)" "$BIN" cdr export --format csv --data "$WORK/data"
cp "$WORK/out" "$WORK/cdrs.csv"
measure "cdr export --format jsonl ($CALLS rows)" "$BIN" cdr export --format jsonl --data "$WORK/data"
cp "$WORK/out" "$WORK/cdrs.jsonl"
"$BIN" sms export --format csv --data "$WORK/data" > "$WORK/sms.csv"
"$BIN" sms export --format jsonl --data "$WORK/data" > "$WORK/sms.jsonl"
measure "bill --cdrs cdrs.jsonl --messages sms.jsonl (rating the JSONL exports)" \
    "$BIN" bill --period "$PERIOD" --config Config/tollfreed.json --cdrs "$WORK/cdrs.jsonl" --messages "$WORK/sms.jsonl"
cp "$WORK/out" "$WORK/invoices-jsonl.txt"
measure "bill --cdrs cdrs.csv --messages sms.csv (rating the CSV exports)" \
    "$BIN" bill --period "$PERIOD" --config Config/tollfreed.json --cdrs "$WORK/cdrs.csv" --messages "$WORK/sms.csv"
echo
echo "rows exported: $(($(wc -l < "$WORK/cdrs.csv") - 1))"
echo "invoices (store):"
cat "$WORK/invoices.txt"
for f in "$WORK/out" "$WORK/invoices-jsonl.txt"; do
    if cmp -s <(grep -v '^$' "$WORK/invoices.txt") <(grep -v '^$' "$f"); then
        echo "rating the export file ($(basename "$f")) gives the same invoices as rating the store"
    else
        echo "WARNING: invoices from the export file differ from the store's"; diff "$WORK/invoices.txt" "$f" | head -20
    fi
done
rm -rf "$WORK"
