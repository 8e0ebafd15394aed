# Sourced by bench/suite.sh: the peers section. tollfreed, pjsip and sipp's own UAS (the
# floor) each answer the same load in turn: N sipp callers, RTP both ways, the same prompt.
#
# Each caller's SDP names its own rtp_meter port (an injection file gives call k port
# base+k), because sipp's pcap replay sends every call from one address with one SSRC;
# streams are then told apart by the port they arrive on. The same injection file gives
# each call its SIP destination (setdest), so calls spread over several pjsua processes.

PJSUA_VENV=${PJSUA_VENV:-$ROOT/.build/bench-venv}

# The pjsua2 wheel from PyPI, in a venv of its own (installed once).
pjsua_python() {
    if ! "$PJSUA_VENV/bin/python3" -c 'import pjsua2' 2>/dev/null; then
        python3 -m venv "$PJSUA_VENV" >&2
        "$PJSUA_VENV/bin/pip" install -q pjsua2-python >&2
    fi
    echo "$PJSUA_VENV/bin/python3"
}

# peer_callers NAME N HOLD METER_BASE SIP_PORTS...: callers spread round-robin over the
# SIP ports given; sets SIPPS.
peer_callers() {
    local name=$1 n=$2 hold=$3 mbase=$4; shift 4
    local ports=("$@") i
    python3 - "$ROOT/bench/uac_bench.xml" "$WORK/$name/uac.xml" <<'PY'
import sys
s = open(sys.argv[1]).read().replace("m=audio [rtpport]", "m=audio [field0]")
at = s.index('  <send retrans="500">')
s = s[:at] + '  <nop>\n    <action>\n      <setdest host="127.0.0.1" port="[field1]" protocol="udp"/>\n    </action>\n  </nop>\n' + s[at:]
open(sys.argv[2], "w").write(s)
PY
    { echo SEQUENTIAL; for i in $(seq 0 $((n - 1))); do echo "$((mbase + i));${ports[$((i % ${#ports[@]}))]};"; done; } > "$WORK/$name/callers.csv"
    SIP_PORT=${ports[0]}
    callers "$name" "$WORK/$name/uac.xml" "$n" "$PEER_RATE" "$hold" 0 1 -inf "$WORK/$name/callers.csv"
}

# measure_peer NAME N SYSTEM_PIDS...: runs the callers against what is listening, measures
# the system's CPU and RSS while every call is up, and appends one JSON object to PEER_ROWS.
measure_peer() {
    local name=$1 n=$2; shift 2
    local sys_pids=("$@") hold=$HOLD ramp=$(( (n + PEER_RATE - 1) / PEER_RATE ))
    local mbase=12000 # below the ephemeral range (SIP ports) and the RTP ranges in use
    "$WORK/rtp_meter" --ports "$mbase:$n" --seconds $((ramp + hold + 4)) --send --arrival "$ARRIVAL" --out "$WORK/$name/meter.json" &
    local meter=$!; PIDS+=($meter)
    peer_callers "$name" "$n" "$hold" "$mbase" "${PEER_SIP_PORTS[@]}"
    sleep $((ramp + 1))
    local window=$(( hold - ramp - 3 > 4 ? hold - ramp - 3 : 4 ))
    local c0 s0 m0 t0 c1 s1 m1 t1 rss
    c0=$(ticks "${sys_pids[@]}"); s0=$(ticks "${SIPPS[@]}"); m0=$(ticks $meter); t0=$(now)
    sleep "$window"
    c1=$(ticks "${sys_pids[@]}"); s1=$(ticks "${SIPPS[@]}"); m1=$(ticks $meter); t1=$(now)
    rss=$(rss_kb "${sys_pids[@]}")
    wait "${SIPPS[@]}" || true; wait $meter || true
    local st; st=$(sipp_stats "$WORK/$name"/sipp*.csv)
    PEER_ROWS+=("{\"name\": \"$name\", \"procs\": ${#sys_pids[@]}, \"sipp\": [${st// /, }], \"cpu\": $(pct $c0 $c1 $t0 $t1), \"sipp_cpu\": $(pct $s0 $s1 $t0 $t1), \"meter_cpu\": $(pct $m0 $m1 $t0 $t1), \"rss_kb\": $rss, \"meter\": $(cat "$WORK/$name/meter.json")}")
    echo "peers $name: ${PEER_ROWS[-1]}"
}

peer_tollfreed() { # N
    start_daemon tollfreed looping-greeting.xml $(($1 * 2 + 10))
    PEER_SIP_PORTS=("$SIP_PORT")
    measure_peer tollfreed "$1" "$DAEMON"
    stop_daemon
}

# pjsip: as many pjsua processes as the wheel's per-process call limit needs.
peer_pjsip() { # N
    local n=$1 p py
    py=$(pjsua_python)
    mkdir -p "$WORK/pjsip"
    local per=${PJSUA_CALLS_PER_PROCESS:-$("$py" bench/peers/pjsua_uas.py --print-max-calls)}
    local procs=$(( (n + per - 1) / per )) pj_pids=()
    PEER_SIP_PORTS=()
    for p in $(seq 0 $((procs - 1))); do
        local port; port=$(free_port)
        "$py" bench/peers/pjsua_uas.py --port "$port" --rtp-port $((22000 + p * per * 4)) --max-calls "$per" \
            --wav "$WORK/peers/prompt.wav" >"$WORK/pjsip/uas$p.log" 2>&1 &
        pj_pids+=($!); PIDS+=($!); PEER_SIP_PORTS+=("$port")
    done
    for p in $(seq 0 $((procs - 1))); do
        for _ in $(seq 100); do grep -q "pjsua_uas ready" "$WORK/pjsip/uas$p.log" && break; sleep 0.1; done
    done
    measure_peer pjsip "$n" "${pj_pids[@]}"
    kill -TERM "${pj_pids[@]}" 2>/dev/null || true; wait "${pj_pids[@]}" 2>/dev/null || true
}

# The sipp floor: one sipp UAS replaying the prompt pcap.
peer_sipp_floor() { # N
    mkdir -p "$WORK/sipp-floor"
    sed "s|@PCAP@|$WORK/peers/prompt.pcap|" bench/peers/uas_floor.xml > "$WORK/sipp-floor/uas.xml"
    local fport; fport=$(free_port)
    sipp -sf "$WORK/sipp-floor/uas.xml" -i 127.0.0.1 -p "$fport" -mp 21000 -nostdin -max_socket 65000 \
        >"$WORK/sipp-floor/uas.out" 2>&1 &
    local floor=$!; PIDS+=($floor)
    sleep 1
    PEER_SIP_PORTS=("$fport")
    measure_peer sipp-floor "$1" "$floor"
    kill -TERM $floor 2>/dev/null || true; wait $floor 2>/dev/null || true
}

run_peers() { # N; PEER_SYSTEMS (default "tollfreed pjsip sipp-floor") picks which run, in order
    local n=$1 system text
    PEER_RATE=50 PEER_ROWS=()
    # The prompt every system plays: tollfreed's own <Say> of the benchmark flow.
    text=$(python3 -c 'import re; print(re.search(r"<Say[^>]*>([^<]*)</Say>", open("bench/flows/looping-greeting.xml").read()).group(1))')
    mkdir -p "$WORK/peers"
    "$BIN" say --out "$WORK/peers/prompt.wav" "$text" >/dev/null
    python3 bench/peers/wav2pcap.py "$WORK/peers/prompt.wav" "$WORK/peers/prompt.pcap" --seconds $((HOLD + 20))
    for system in ${PEER_SYSTEMS:-tollfreed pjsip sipp-floor}; do
        case $system in
            tollfreed) peer_tollfreed "$n" ;;
            pjsip) peer_pjsip "$n" ;;
            sipp-floor) peer_sipp_floor "$n" ;;
            *) echo "unknown peer $system" >&2; exit 2 ;;
        esac
    done
    local joined; joined=$(IFS=,; echo "${PEER_ROWS[*]}")
    record "{\"section\": \"peers\", \"calls\": $n, \"hold\": $HOLD, \"systems\": [$joined]}"
}
