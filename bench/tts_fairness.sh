#!/usr/bin/env bash
# One tenant's flood of new prompts against another tenant's calls (text to speech is
# shared): the healthcare tenant's number takes 300 calls/s for 10 s, each greeted with text
# no other call gets (bench/webhook_app.py), while the backup-general tenant's number takes
# 5 calls/s of the same kind. Prints each tenant's answered and refused calls, its ACK ->
# first speech, and the records per number and disposition.
#
#   bench/tts_fairness.sh            (BIN=path to try another build)
set -euo pipefail
cd "$(dirname "$0")/.."
W=$(mktemp -d /tmp/tollfreed-fairness.XXXXXX)
cc -O2 -o "$W/rtp_meter" bench/rtp_meter.c -lm -lpthread -lsrtp2
AP=$(python3 bench/free_port.py)
python3 bench/webhook_app.py --port $AP --log $W/app.tsv > $W/app.out 2>&1 &
A=$!
sleep 1
python3 - $W $AP <<'PY'
import json,sys
w,ap=sys.argv[1],sys.argv[2]
cfg=json.load(open("Config/tollfreed.json"))
for n in cfg["numbers"]: n["flow"]=f"http://127.0.0.1:{ap}/voice"
cfg["calls"]={"max_concurrent":4000,"ring_ms":0,"max_duration_s":3600,"drain_s":0}
cfg["log_level"]="notice"; cfg.setdefault("metrics",{})["listen"]="127.0.0.1:0"
cfg.setdefault("sip",{})["invite_rate_per_source"]=0
json.dump(cfg,open(w+"/config.json","w"))
PY
SIP=$(python3 bench/free_port.py)
${BIN:-.build/release/tollfreed} run --config $W/config.json --sip 127.0.0.1:$SIP --rtp-ports 30000-38000 --data $W/data > $W/daemon.log 2>&1 &
D=$!
for i in $(seq 50); do grep -q daemon.ready $W/daemon.log && break; sleep 0.2; done
MP=$(python3 bench/free_port.py)
$W/rtp_meter --port $MP --seconds 26 --send --arrival spread --out $W/meter.json --streams $W/streams.tsv &
M=$!
sipp 127.0.0.1:$SIP -sf bench/uac_webhook.xml -s 8005963057 -i 127.0.0.1 -p $(python3 bench/free_port.py) -l 3000 -m 3000 -r 300 -key rtpport $MP -nostdin -max_socket 65000 -timeout 60s -trace_stat -stf $W/flood.csv -trace_logs -log_file $W/flood.log > $W/flood.out 2>&1 &
S1=$!
sipp 127.0.0.1:$SIP -sf bench/uac_webhook.xml -s 2082792555 -i 127.0.0.1 -p $(python3 bench/free_port.py) -l 50 -m 50 -r 5 -key rtpport $MP -nostdin -max_socket 65000 -timeout 60s -trace_stat -stf $W/small.csv -trace_logs -log_file $W/small.log > $W/small.out 2>&1 &
S2=$!
wait $S1 $S2 || true
wait $M || true
kill $D; wait $D 2>/dev/null || true
kill -TERM $A; wait $A || true
for t in flood small; do
  echo "$t: $(python3 -c "
import csv,sys
rows=list(csv.reader(open('$W/$t.csv'),delimiter=';'))
h,l=rows[0],rows[-1]
print('ok',l[h.index('SuccessfulCall(C)')],'failed',l[h.index('FailedCall(C)')])") first speech: $(python3 bench/report.py setup-latency $W/$t.log $W/streams.tsv | python3 -c "import json,sys; d=json.load(sys.stdin)['ack_speech_ms']; print(d)")"
done
${BIN:-.build/release/tollfreed} cdr export --format jsonl --config $W/config.json --data $W/data 2>/dev/null | python3 -c "
import json,sys,collections
c=collections.Counter()
for l in sys.stdin:
  r=json.loads(l); c[(r['did'],r['disposition'])]+=1
print(dict(c))"
