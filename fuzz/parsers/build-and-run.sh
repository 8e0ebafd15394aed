#!/usr/bin/env bash
# Builds the libFuzzer targets for tollfreed's pure parsers (swiftc -sanitize=fuzzer,address,
# straight from the module sources: no SwiftPM, no C libraries) and runs each for a time.
#   fuzz/parsers/build-and-run.sh [SECONDS_PER_TARGET] [SEED]
# Exit status non-zero when a target crashes; the crashing input is kept in .build/fuzz/.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_TARGET=${1:-60}
SEED=${2:-$RANDOM}
SWIFTC=${SWIFTC:-$(command -v swiftc || echo /opt/swift/usr/bin/swiftc)}
OUT=.build/fuzz
mkdir -p "$OUT"
echo "parser fuzzing: ${SECONDS_PER_TARGET} s per target, seed $SEED"

declare -A SOURCES=(
    [sdp]="fuzz/parsers/sdp.swift Sources/Signaling/SDP.swift Sources/Signaling/OfferAnswer.swift Sources/Signaling/MediaAddress.swift Sources/Signaling/DTMFInfo.swift Sources/Routing/PhoneNumber.swift"
    [texml]="fuzz/parsers/texml.swift $(ls Sources/TeXML/*.swift | tr '\n' ' ')"
    [rtp]="fuzz/parsers/rtp.swift Sources/Media/RTPHeader.swift"
    [exports]="fuzz/parsers/exports.swift $(ls Sources/Metering/*.swift | grep -v -e SQLiteCDRStore -e CDRWriter | tr '\n' ' ') $(ls Sources/Formats/*.swift | tr '\n' ' ')"
    [spool]="fuzz/parsers/spool.swift Sources/RecordStore/SpoolCodec.swift Sources/RecordStore/SpoolFile.swift $(ls Sources/Metering/*.swift | grep -v -e SQLiteCDRStore -e CDRWriter | tr '\n' ' ') $(ls Sources/Formats/*.swift | tr '\n' ' ')"
)
status=0
for target in sdp texml rtp exports spool; do
    bin="$OUT/fuzz-$target"
    # shellcheck disable=SC2086
    "$SWIFTC" -sanitize=fuzzer,address -parse-as-library -O -module-name "Fuzz$target" ${SOURCES[$target]} -o "$bin" 2>&1 \
        | grep -v "Cannot export local symbol" || true
    [ -x "$bin" ] || { echo "fuzz-$target: build failed"; exit 2; }
    corpus="$OUT/corpus-$target"
    mkdir -p "$corpus"
    cp -n fuzz/parsers/seeds/$target/* "$corpus/" 2>/dev/null || true
    log="$OUT/fuzz-$target.log"
    if (cd "$OUT" && LSAN_OPTIONS="suppressions=$PWD/../../fuzz/parsers/lsan.supp" "./fuzz-$target" "corpus-$target" -seed="$SEED" -max_total_time="$SECONDS_PER_TARGET" \
            -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"fuzz-$target.log" 2>&1); then
        runs=$(grep -E "stat::number_of_executed_units" "$log" | awk '{print $2}')
        echo "fuzz-$target: ${runs:-?} inputs, no crash"
    else
        echo "fuzz-$target: CRASH (see $log and $OUT/crash-*)"
        grep -E "ERROR|SUMMARY|Fatal error|fatal error" "$log" | head -5
        status=1
    fi
done
exit $status
