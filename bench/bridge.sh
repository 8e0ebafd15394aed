# Sourced by bench/suite.sh: the bridge section. N callers, each bridged by <Dial> to a sipp
# agent, with RTP both ways on both legs: half of them dial an agent that answers PCMU (the
# relay copies the payload), half one that answers PCMA to callers who offered PCMU only
# (every packet is transcoded both ways). bench/rtp_meter --relay is every caller's and
# every agent's media: it speaks as independent phones do (ARRIVAL), answers each leg in the
# payload type it hears, and marks every packet it sends, so a packet heard again on the
# other leg gives one relay latency sample (meter send time to meter arrival time, kernel
# timestamps: the daemon's wake-up, rewrite and send, plus loopback both ways).
#
# Then the same bridges through rtpengine (run_bridge_rtpengine), the peer.

# bridge_flows DIR PORT_PCMU PORT_PCMA: the two dial flows, each to its agent.
bridge_flows() {
    local dir=$1 u=$2 a=$3
    mkdir -p "$dir/flows"
    sed "s/127\.0\.0\.1:5090/127.0.0.1:$u/" bench/flows/bridge-agent.xml >"$dir/flows/dial-pcmu.xml"
    sed "s/127\.0\.0\.1:5090/127.0.0.1:$a/" bench/flows/bridge-agent.xml >"$dir/flows/dial-pcma.xml"
    grep -q "127.0.0.1:$u" "$dir/flows/dial-pcmu.xml" && grep -q "127.0.0.1:$a" "$dir/flows/dial-pcma.xml" ||
        { echo "suite: could not set the agent ports in bridge-agent.xml" >&2; exit 1; }
}

# bridge_agent DIR PORT CALLS METER_PORT PT NAME: one sipp UAS answering with codec PT; sets AGENT.
bridge_agent() {
    mkdir -p "$1"
    (cd "$1" && exec sipp -sf "$ROOT/bench/uas_agent.xml" -i 127.0.0.1 -p "$2" -m "$3" -l $(($3 + 10)) \
        -key calleertp "$4" -key codec "$5" -key codecname "$6" -nostdin -timeout $((HOLD + 120))s \
        -max_socket 65000 -trace_stat -stf stat.csv -fd 1 >sipp.out 2>&1) &
    AGENT=$!; PIDS+=($AGENT)
}

run_bridge() { # N bridges
    local n=$1 name=bridge-$1 dir=$WORK/bridge-$1
    local half_a=$(( n / 2 )) half_u=$(( n - n / 2 ))
    local mport agent_u agent_a
    mport=$(free_port); agent_u=$(free_port); agent_a=$(free_port)
    bridge_flows "$dir" "$agent_u" "$agent_a"
    # The healthcare DID dials the PCMU agent, the backup line the PCMA agent.
    NUMBER_FLOWS="+1-800-596-3057=dial-pcmu.xml,+1-208-279-2555=dial-pcma.xml" \
        start_daemon "$name" dial-pcmu.xml $((n * 2 + 10))
    local rate=$(( n / 10 > 100 ? n / 10 : 100 ))
    local ramp=$(( (n + rate - 1) / rate ))
    "$WORK/rtp_meter" --port "$mport" --seconds $((ramp + HOLD + 4)) --send --relay --arrival "$ARRIVAL" \
        --out "$dir/meter.json" &
    local meter=$!; PIDS+=($meter)
    bridge_agent "$dir/agent-u" "$agent_u" "$half_u" "$mport" 0 PCMU; local au=$AGENT
    bridge_agent "$dir/agent-a" "$agent_a" "$half_a" "$mport" 8 PCMA; local aa=$AGENT
    sleep 0.5
    mkdir -p "$dir/u" "$dir/a"
    local callers_all=()
    SERVICE=8005963057 callers "$name/u" bench/uac_bench.xml "$half_u" $(( rate - rate / 2 )) "$HOLD" "$mport" $(( (half_u + 999) / 1000 ))
    callers_all+=("${SIPPS[@]}")
    SERVICE=2082792555 callers "$name/a" bench/uac_bench.xml "$half_a" $(( rate / 2 )) "$HOLD" "$mport" $(( (half_a + 999) / 1000 ))
    callers_all+=("${SIPPS[@]}")
    sleep $((ramp + 2))
    local window=$(( HOLD - ramp - 4 > 4 ? HOLD - ramp - 4 : 4 ))
    local d0 s0 m0 t0 d1 s1 m1 t1 rss
    d0=$(ticks $DAEMON); s0=$(ticks "${callers_all[@]}" $au $aa); m0=$(ticks $meter); t0=$(now)
    sleep "$window"
    d1=$(ticks $DAEMON); s1=$(ticks "${callers_all[@]}" $au $aa); m1=$(ticks $meter); t1=$(now)
    rss=$(rss_kb $DAEMON)
    wait "${callers_all[@]}" || true
    # Each agent exits once it has answered the daemon's BYE on its last call; one that
    # has not within 10 s is stopped (its missing calls show as the callers' failures).
    for _ in $(seq 100); do kill -0 $au 2>/dev/null || kill -0 $aa 2>/dev/null || break; sleep 0.1; done
    kill $au $aa 2>/dev/null || true
    wait $meter || true
    stop_daemon
    local st; st=$(sipp_stats "$dir"/u/sipp*.csv "$dir"/a/sipp*.csv)
    record "{\"section\": \"bridge\", \"bridges\": $n, \"transcoding\": $half_a, \"sipp\": [${st// /, }], \"daemon_cpu\": $(pct $d0 $d1 $t0 $t1), \"sipp_cpu\": $(pct $s0 $s1 $t0 $t1), \"meter_cpu\": $(pct $m0 $m1 $t0 $t1), \"rss_kb\": $rss, \"meter\": $(cat "$dir/meter.json")}"
    echo "bridge $n: $(tail -1 "$RESULTS")"
}

# run_bridge_rtpengine N: the same N bridges (half transcoding) relayed by rtpengine in user
# space (--table=-1: no kernel forwarding module, so every packet crosses user space as in
# the daemon), set up through its ng control protocol (bench/peers/rtpengine_ng.py). The
# meter sends to rtpengine's ports from the start (rtp_meter --targets): rtpengine, like a
# relay, speaks only when spoken to.
run_bridge_rtpengine() { # N
    local n=$1 name=bridge-rtpengine-$1 dir=$WORK/bridge-rtpengine-$1
    command -v rtpengine >/dev/null || { echo "suite: missing rtpengine (make bench-deps)" >&2; exit 2; }
    mkdir -p "$dir"
    local ng mport; ng=$(free_port); mport=$(free_port)
    rtpengine --foreground --log-stderr --table=-1 --interface=127.0.0.1 --listen-ng="127.0.0.1:$ng" \
        --port-min=40000 --port-max=$((40000 + n * 8 + 100)) --log-level=4 --timeout=60 >"$dir/rtpengine.log" 2>&1 &
    local engine=$!; PIDS+=($engine)
    # rtpengine_ng.py pings until rtpengine answers (or fails after 15 s).
    python3 bench/peers/rtpengine_ng.py setup --ng "127.0.0.1:$ng" --bridges "$n" --transcoding $((n / 2)) \
        --meter-port "$mport" --targets "$dir/targets.txt" ||
        { cat "$dir/rtpengine.log"; echo "suite: rtpengine setup failed" >&2; exit 1; }
    local window=$(( HOLD - 8 > 4 ? HOLD - 8 : 4 ))
    "$WORK/rtp_meter" --port "$mport" --seconds $((window + 5)) --send --relay --arrival "$ARRIVAL" \
        --targets "$dir/targets.txt" --out "$dir/meter.json" &
    local meter=$!; PIDS+=($meter)
    sleep 3
    local e0 m0 t0 e1 m1 t1 rss
    e0=$(ticks $engine); m0=$(ticks $meter); t0=$(now)
    sleep "$window"
    e1=$(ticks $engine); m1=$(ticks $meter); t1=$(now)
    rss=$(rss_kb $engine)
    wait $meter || true
    python3 bench/peers/rtpengine_ng.py delete --ng "127.0.0.1:$ng" --bridges "$n" || { echo "suite: rtpengine delete failed" >&2; exit 1; }
    kill $engine 2>/dev/null || true; wait $engine 2>/dev/null || true
    record "{\"section\": \"bridge_peer\", \"peer\": \"rtpengine $(rtpengine --version 2>&1 | awk '{print $NF; exit}')\", \"bridges\": $n, \"transcoding\": $((n / 2)), \"cpu\": $(pct $e0 $e1 $t0 $t1), \"meter_cpu\": $(pct $m0 $m1 $t0 $t1), \"rss_kb\": $rss, \"meter\": $(cat "$dir/meter.json")}"
    echo "bridge rtpengine $n: $(tail -1 "$RESULTS")"
}
