#!/usr/bin/env python3
"""pjsip (pjsua2) answering UAS used as the comparison peer in the benchmark suite.

Auto-answers every INVITE on 127.0.0.1:--port with 200 OK (G.711 PCMU, 20 ms ptime, no VAD,
no ICE/SRTP) and, once the call's media is active, plays --wav (8 kHz mono 16-bit) in a loop
to the caller through a per-call AudioMediaPlayer. The caller's RTP is received by pjmedia as
usual. The conference bridge is clocked by the null audio device (no sound card needed).

Threading: uaConfig.threadCnt = 0, so SIP events and every pjsua2 callback run on the Python
main thread inside ep.libHandleEvents(); pjmedia keeps its own media worker and null-device
clock threads, which never call into Python. No libRegisterThread() is needed.

Prints "pjsua_uas ready port=P max_calls=N" once listening; runs until SIGTERM/SIGINT, then
hangs up all calls and calls libDestroy().

Usage: pjsua_uas.py --port SIP_PORT --rtp-port RTP_BASE --wav PROMPT.wav [--max-calls N]
       pjsua_uas.py --print-max-calls     (prints the build's per-process call limit)
"""
import argparse
import ctypes
import os
import signal
import sys
import time

import pjsua2 as pj

# pjsua_init() silently clamps maxCalls to the compile-time PJSUA_MAX_CALLS, which is 4 in the
# pjsua2-python 2.15.1.post1 wheel (verified: the 5th concurrent INVITE gets 486 Busy Here).
# Run several processes for more concurrent calls.
DEFAULT_MAX_CALLS = 4


def effective_max_calls(requested):
    """pjsua's real per-process limit after libInit (pjsua_call_get_max_count() is exported
    by the extension module but not wrapped by pjsua2; fall back to the request)."""
    try:
        lib = ctypes.CDLL(pj._pjsua2.__file__)
        return int(lib.pjsua_call_get_max_count())
    except (AttributeError, OSError):
        return requested


stop = False          # set by the signal handler; polled by the event loop
calls = {}            # pjsua call id -> UasCall (keeps the Python director objects alive)
dead = []             # finished calls, released from the main loop (not inside callbacks)


class UasCall(pj.Call):
    def __init__(self, acc, call_id, wav):
        pj.Call.__init__(self, acc, call_id)
        self.wav = wav
        self.player = None

    def onCallMediaState(self, prm):
        try:
            self.start_prompt()
        except pj.Error as e:
            print("pjsua_uas: player failed: %s" % e.info(), file=sys.stderr)

    def start_prompt(self):
        if self.player is not None:       # re-INVITE etc.: keep the running player
            return
        ci = self.getInfo()               # keep CallInfo alive while iterating its
        for mi in ci.media:               # media vector (SWIG returns references into it)
            if (mi.type == pj.PJMEDIA_TYPE_AUDIO
                    and mi.status == pj.PJSUA_CALL_MEDIA_ACTIVE):
                player = pj.AudioMediaPlayer()
                player.createPlayer(self.wav, 0)   # options 0 = loop forever
                player.startTransmit(self.getAudioMedia(mi.index))
                self.player = player
                return

    def onCallState(self, prm):
        ci = self.getInfo()
        if ci.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            call = calls.pop(ci.id, None)
            if call is not None:
                dead.append(call)


class UasAccount(pj.Account):
    def __init__(self, wav):
        pj.Account.__init__(self)
        self.wav = wav

    def onIncomingCall(self, prm):
        call = UasCall(self, prm.callId, self.wav)
        op = pj.CallOpParam()
        op.statusCode = 200
        try:
            call.answer(op)
        except pj.Error as e:          # e.g. media port exhaustion: let pjsua reject it
            print("pjsua_uas: answer failed: %s" % e.info(), file=sys.stderr)
            return
        calls[prm.callId] = call


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, help="UDP SIP port on 127.0.0.1")
    ap.add_argument("--rtp-port", type=int, help="first RTP port")
    ap.add_argument("--wav", help="prompt, 8 kHz mono 16-bit PCM")
    ap.add_argument("--max-calls", type=int, default=DEFAULT_MAX_CALLS)
    ap.add_argument("--print-max-calls", action="store_true",
                    help="print this build's per-process call limit and exit")
    a = ap.parse_args()
    if a.print_max_calls:
        a.max_calls = 1 << 16              # pjsua clamps this to its compiled limit
    elif None in (a.port, a.rtp_port, a.wav):
        ap.error("--port, --rtp-port and --wav are required")

    ep = pj.Endpoint()
    # libCreate() logs a few lines to stdout at the default level before our log config
    # applies; send them to stderr so stdout carries only the "ready" line.
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        ep.libCreate()
    finally:
        ctypes.CDLL(None).fflush(None)
        os.dup2(saved, 1)
        os.close(saved)

    cfg = pj.EpConfig()
    cfg.uaConfig.maxCalls = a.max_calls
    cfg.uaConfig.threadCnt = 0             # we poll with libHandleEvents() below
    cfg.uaConfig.userAgent = "pjsua_uas"
    cfg.logConfig.level = 1
    cfg.logConfig.consoleLevel = 1
    mc = cfg.medConfig
    mc.clockRate = 8000                    # bridge, null device and PCMU all 8 kHz:
    mc.sndClockRate = 8000                 # no resampling anywhere
    mc.channelCount = 1
    mc.audioFramePtime = 20
    mc.ptime = 20
    mc.noVad = True
    mc.ecTailLen = 0                       # no echo canceller
    mc.sndAutoCloseTime = -1               # keep the null-device clock running when idle
    mc.maxMediaPorts = 2 * min(a.max_calls, 256) + 8  # a call port + a player port per call
    ep.libInit(cfg)
    max_calls = effective_max_calls(a.max_calls)
    if a.print_max_calls:
        print(max_calls, flush=True)
        ep.libDestroy(pj.PJSUA_DESTROY_NO_NETWORK)
        return 0

    tcfg = pj.TransportConfig()
    tcfg.port = a.port
    tcfg.boundAddress = "127.0.0.1"
    tcfg.publicAddress = "127.0.0.1"
    ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)

    ep.audDevManager().setNullDev()        # null device = conference bridge clock
    ep.codecSetPriority("PCMU/8000", 255)  # highest: PCMU preferred
    ep.codecSetPriority("PCMA/8000", 254)

    ep.libStart()

    acfg = pj.AccountConfig()
    acfg.idUri = "sip:uas@127.0.0.1:%d" % a.port
    acfg.natConfig.iceEnabled = False
    acfg.natConfig.turnEnabled = False
    acfg.natConfig.sdpNatRewriteUse = 0
    acfg.mediaConfig.srtpUse = pj.PJMEDIA_SRTP_DISABLED
    acfg.mediaConfig.srtpSecureSignaling = 0
    mt = acfg.mediaConfig.transportConfig
    mt.port = a.rtp_port                   # RTP/RTCP pairs from here ...
    mt.portRange = 4 * max_calls - 2       # ... up to RTP_BASE+4*N-1 (pjsua wraps past
                                           # port+portRange, inclusive)
    mt.boundAddress = "127.0.0.1"
    mt.publicAddress = "127.0.0.1"
    acc = UasAccount(a.wav)
    acc.create(acfg, True)                 # default account: receives every INVITE

    def on_signal(signum, frame):
        global stop
        stop = True
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    if max_calls < a.max_calls:
        print("pjsua_uas: --max-calls %d clamped to %d by this pjsua build"
              % (a.max_calls, max_calls), file=sys.stderr)
    print("pjsua_uas ready port=%d max_calls=%d" % (a.port, max_calls), flush=True)

    while not stop:
        ep.libHandleEvents(50)             # returns after <=50 ms so signals get handled
        dead.clear()                       # drops finished calls and their players

    # Clean shutdown: BYE every live call, give the BYEs a moment, then tear down.
    ep.hangupAllCalls()
    deadline = time.monotonic() + 1.0
    while calls and time.monotonic() < deadline:
        ep.libHandleEvents(10)
    dead.clear()
    calls.clear()
    acc.shutdown()
    # The BYEs were already answered (or given up on) above, so skip libDestroy's fixed
    # ~1 s wait for network replies.
    ep.libDestroy(pj.PJSUA_DESTROY_NO_RX_MSG)
    return 0


if __name__ == "__main__":
    sys.exit(main())
