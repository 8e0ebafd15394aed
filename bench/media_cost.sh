# Sourced by bench/suite.sh: the media cost section. The concurrency load (spread arrival,
# each caller its own RTP, a looping prompt) at MEDIA_COST_CALLS calls, three ways, in
# MEDIA_COST_ROUNDS interleaved rounds (the machine's noise falls on every variant alike):
#   rtcp-off  media.rtcp false: RTP only;
#   rtcp      RTCP on (the default): reports every 5 s both ways, receive statistics;
#   srtp      RTCP on, and every caller offering RTP/SAVP with an SDES key
#             (AES_CM_128_HMAC_SHA1_80): the daemon decrypts and authenticates every packet
#             it hears and encrypts every packet and report it sends; the meter protects
#             what the callers send (libsrtp2).
# The callers are sipp over UDP: SRTP's cost is the media's, whatever carried the keys.
# Every caller offers the same key (sipp has no per-call crypto): the daemon still keys
# each call's streams apart (its own key per call, and a stream per SSRC).

MEDIA_COST_KEY=${MEDIA_COST_KEY:-$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(30)).decode())')}

# The caller scenario offering SRTP: bench/uac_bench.xml with RTP/SAVP and a crypto line.
media_cost_scenario() {
    python3 - bench/uac_bench.xml "$WORK/uac_bench_srtp.xml" "$MEDIA_COST_KEY" <<'PY'
import sys
s = open(sys.argv[1]).read()
offer = "      m=audio [rtpport] RTP/AVP 0 101\n"
assert offer in s, "bench/uac_bench.xml's m= line changed"
s = s.replace(offer, "      m=audio [rtpport] RTP/SAVP 0 101\n      a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:%s\n" % sys.argv[3])
open(sys.argv[2], "w").write(s)
PY
}

run_media_cost() { # N
    local n=$1 round
    media_cost_scenario
    for round in $(seq 1 "$MEDIA_COST_ROUNDS"); do
        MEDIA_RTCP=0 CONC_VARIANT=rtcp-off run_concurrency "$n"
        CONC_VARIANT=rtcp run_concurrency "$n"
        SIP_SRTP=offer CONC_VARIANT=srtp CONC_SCENARIO="$WORK/uac_bench_srtp.xml" METER_EXTRA="--srtp-key $MEDIA_COST_KEY" run_concurrency "$n"
    done
}
