# Sourced by bench/suite.sh: the webhook section. RATE calls per second for RATE_SECONDS,
# every call's flow fetched from a local tenant app (bench/webhook_app.py) that greets it
# with text no other call gets (a name, the time, the call's number),
# so every greeting is synthesised while the caller waits; then a <Gather> that times out
# and a <Redirect>, a second request, whose answer hangs up. Measured: INVITE -> 200,
# ACK -> first RTP and first speech (the meter's kernel timestamps), the daemon's webhook
# request time (its tollfreed_webhook_request_seconds histogram), calls that reached the
# second request, failures, and the CPU of the daemon and of the app apart.

# metrics_port DIR: the daemon's metrics port, from its daemon.ready line.
metrics_port() { sed -n 's/.*daemon\.ready.*metrics=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$1/daemon.log" | head -1; }

run_webhook() { # RATE
    local rate=$1 name=webhook-$1
    local calls=$((rate * RATE_SECONDS))
    mkdir -p "$WORK/$name"
    local aport; aport=$(free_port)
    python3 bench/webhook_app.py --port "$aport" --log "$WORK/$name/app.tsv" >"$WORK/$name/app.out" 2>&1 &
    local app=$!; PIDS+=($app)
    for _ in $(seq 50); do grep -q listening "$WORK/$name/app.out" 2>/dev/null && break; sleep 0.1; done
    grep -q listening "$WORK/$name/app.out" || { cat "$WORK/$name/app.out"; exit 1; }
    # A call lasts about the greeting (4-5 s) and the Gather's 1 s.
    start_daemon "$name" "http://127.0.0.1:$aport/voice" $((rate * 8 + 100))
    local mport; mport=$(free_port)
    "$WORK/rtp_meter" --port "$mport" --seconds $((RATE_SECONDS + 14)) --send --arrival "$ARRIVAL" \
        --out "$WORK/$name/meter.json" --streams "$WORK/$name/streams.tsv" &
    local meter=$!; PIDS+=($meter)
    local d0 a0 t0; d0=$(ticks $DAEMON); a0=$(ticks $app); t0=$(now)
    callers "$name" bench/uac_webhook.xml "$calls" "$rate" 8 "$mport" 1 -trace_logs -log_file "$WORK/$name/calls.log"
    wait "${SIPPS[@]}" || true
    local d1 a1 t1; d1=$(ticks $DAEMON); a1=$(ticks $app); t1=$(now)
    python3 -c "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())" \
        "http://127.0.0.1:$(metrics_port "$WORK/$name")/metrics" > "$WORK/$name/metrics.txt"
    wait $meter || true
    stop_daemon
    kill -TERM $app; wait $app || true
    local st; st=$(sipp_stats "$WORK/$name"/sipp*.csv)
    record "{\"section\": \"webhook\", \"rate\": $rate, \"calls\": $calls, \"sipp\": [${st// /, }], \"daemon_cpu\": $(pct $d0 $d1 $t0 $t1), \"app_cpu\": $(pct $a0 $a1 $t0 $t1), \"latency\": $(python3 bench/report.py setup-latency "$WORK/$name/calls.log" "$WORK/$name/streams.tsv"), \"webhook\": $(python3 bench/report.py webhook "$WORK/$name/metrics.txt" "$WORK/$name/app.tsv")}"
    echo "webhook $rate/s: $(tail -1 "$RESULTS")"
}
