#!/usr/bin/env python3
"""A real SIP peer for end-to-end tests: pjsip (pjsua2, the PyPI wheel pjsua2-python) making
or answering ONE call, with the codec list, transport and SRTP a test asks for.

  UAC:  pjsua_peer.py --call sip:+18335550141@127.0.0.1:5060 [options]
  UAS:  pjsua_peer.py --listen 5090 [options]       (answers the first INVITE with 200)

Options:
  --transport udp|tls      SIP transport (TLS: --ca FILE to check the server, else no
                           verification; a UAS with TLS needs --cert/--key)
  --srtp off|optional|mandatory   pjsua2 AccountMediaConfig.srtpUse
  --srtp-secure 0|1|2      srtpSecureSignaling (0: SRTP over any transport)
  --codecs LIST            priority order, e.g. G722/16000,PCMU/8000; every other codec is
                           disabled (names as pjsua2's codecEnum2 ids, channel count optional)
  --play WAV               played in a loop to the other side once media is active
  --record WAV             what the peer receives (written at --clock-rate)
  --seconds N              hang up after N seconds of active media (the other side may
                           hang up first: that is not a failure)
  --dtmf DIGITS            sent as RFC 4733 events 1 s after media starts
  --timeout N              give up when the call is not over after N seconds (default 60)

Prints "pjsua_peer ready port=P" on stderr once its transport listens, and one JSON line on
stdout at the end: ok, status (final SIP status of the INVITE), codec ("G722/16000"), pt,
srtp (the remote SDP's m= line uses RTP/SAVP or has a=crypto), remote_m_line, remote_sdp,
rx_packets / tx_packets (RTCP stream statistics, sampled while media ran), media_seconds,
ended_by ("local", "remote", "timeout"), dtmf_sent. Exits non-zero when the call failed,
no media became active, or no RTP was received.

Threading as in bench/peers/pjsua_uas.py: threadCnt 0, every callback runs on the main
thread inside ep.libHandleEvents(); the null audio device clocks the conference bridge.
"""
import argparse
import json
import os
import sys
import time

import pjsua2 as pj

SRTP_USE = {"off": pj.PJMEDIA_SRTP_DISABLED, "optional": pj.PJMEDIA_SRTP_OPTIONAL,
            "mandatory": pj.PJMEDIA_SRTP_MANDATORY}


class State:
    """What the run saw; printed as the JSON line."""
    def __init__(self):
        self.status = 0
        self.reason = ""
        self.codec = ""
        self.pt = -1
        self.remote_sdp = ""
        self.rx = 0
        self.tx = 0
        self.media_start = None
        self.media_end = None
        self.disconnected = False
        self.ended_by = ""
        self.dtmf_sent = ""
        self.errors = []


def keep_sdp(st, msg):
    """Keeps the SDP body of a received SIP message, if it has one."""
    cut = msg.find("\r\n\r\n")
    if cut >= 0 and msg[cut + 4:].startswith("v=0"):
        st.remote_sdp = msg[cut + 4:]


class PeerCall(pj.Call):
    def __init__(self, acc, st, args, call_id=pj.PJSUA_INVALID_ID):
        pj.Call.__init__(self, acc, call_id)
        self.st = st
        self.args = args
        self.player = None
        self.recorder = None
        self.media_index = -1

    def onCallTsxState(self, prm):
        # Keep the last SDP the other side sent (the answer, or the offer we answered).
        try:
            if prm.e.type != pj.PJSIP_EVENT_TSX_STATE:
                return
            body = prm.e.body.tsxState
            if body.type != pj.PJSIP_EVENT_RX_MSG:
                return
            msg = body.src.rdata.wholeMsg
        except (AttributeError, pj.Error):
            return
        keep_sdp(self.st, msg)

    def onCallState(self, prm):
        ci = self.getInfo()
        if ci.lastStatusCode:
            if ci.role == pj.PJSIP_ROLE_UAC and ci.state != pj.PJSIP_INV_STATE_DISCONNECTED:
                self.st.status = ci.lastStatusCode
                self.st.reason = ci.lastReason
            elif ci.role == pj.PJSIP_ROLE_UAC and self.st.status < 200:
                self.st.status = ci.lastStatusCode
                self.st.reason = ci.lastReason
        if ci.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            # The stream is gone by now: the statistics were sampled while it ran.
            self.st.disconnected = True
            if self.st.media_start is not None and self.st.media_end is None:
                self.st.media_end = time.monotonic()
            if not self.st.ended_by:
                self.st.ended_by = "remote"

    def onCallMediaState(self, prm):
        ci = self.getInfo()
        for mi in ci.media:
            if mi.type == pj.PJMEDIA_TYPE_AUDIO and mi.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                self.media_index = mi.index
                self.start_media(mi.index)
                return

    def start_media(self, index):
        if self.st.media_start is None:
            self.st.media_start = time.monotonic()
        media = self.getAudioMedia(index)
        try:
            if self.args.play and self.player is None:
                self.player = pj.AudioMediaPlayer()
                self.player.createPlayer(self.args.play, 0)   # 0: loop
                self.player.startTransmit(media)
            if self.args.record and self.recorder is None:
                self.recorder = pj.AudioMediaRecorder()
                self.recorder.createRecorder(self.args.record)
                media.startTransmit(self.recorder)
        except pj.Error as e:
            self.st.errors.append("media: %s" % e.info())
        try:
            si = self.getStreamInfo(index)
            self.st.codec = "%s/%d" % (si.codecName, si.codecClockRate)
            self.st.pt = si.txPt
        except pj.Error as e:
            self.st.errors.append("stream info: %s" % e.info())

    def sample_stats(self):
        if self.media_index < 0:
            return
        try:
            ss = self.getStreamStat(self.media_index)
            self.st.rx = max(self.st.rx, ss.rtcp.rxStat.pkt)
            self.st.tx = max(self.st.tx, ss.rtcp.txStat.pkt)
        except pj.Error:
            pass


class PeerAccount(pj.Account):
    def __init__(self, st, args):
        pj.Account.__init__(self)
        self.st = st
        self.args = args
        self.call = None

    def onIncomingCall(self, prm):
        call = PeerCall(self, self.st, self.args, prm.callId)
        op = pj.CallOpParam()
        if self.call is not None:          # one call per run
            op.statusCode = 486
            call.hangup(op)
            return
        self.call = call
        keep_sdp(self.st, prm.rdata.wholeMsg)
        op.statusCode = 200
        call.answer(op)
        self.st.status = 200


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    role = ap.add_mutually_exclusive_group(required=True)
    role.add_argument("--call", metavar="URI")
    role.add_argument("--listen", type=int, metavar="PORT")
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--transport", choices=["udp", "tls"], default="udp")
    ap.add_argument("--ca")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--srtp", choices=sorted(SRTP_USE), default="off")
    ap.add_argument("--srtp-secure", type=int, choices=[0, 1, 2], default=0)
    ap.add_argument("--codecs", default="PCMU/8000")
    ap.add_argument("--play")
    ap.add_argument("--record")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--dtmf", default="")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--clock-rate", type=int, default=16000,
                    help="conference bridge rate (16000 keeps G.722 wideband)")
    ap.add_argument("--rtp-port", type=int, default=0, help="first RTP port (0: any)")
    return ap.parse_args(argv)


def set_codecs(ep, wanted):
    """Disables every codec, then enables `wanted` in priority order; fails on an unknown one."""
    ids = [c.codecId for c in ep.codecEnum2()]
    for cid in ids:
        ep.codecSetPriority(cid, 0)
    for rank, name in enumerate(wanted):
        match = [cid for cid in ids if cid == name or cid.startswith(name + "/")]
        if not match:
            raise SystemExit("pjsua_peer: codec %s not in %s" % (name, ids))
        ep.codecSetPriority(match[0], 255 - rank)


def start_endpoint(args):
    ep = pj.Endpoint()
    ep.libCreate()
    cfg = pj.EpConfig()
    cfg.uaConfig.maxCalls = 4
    cfg.uaConfig.threadCnt = 0
    cfg.uaConfig.userAgent = "pjsua_peer"
    cfg.logConfig.level = 1
    cfg.logConfig.consoleLevel = 1
    mc = cfg.medConfig
    mc.clockRate = args.clock_rate
    mc.sndClockRate = args.clock_rate
    mc.channelCount = 1
    mc.audioFramePtime = 20
    mc.ptime = 20
    mc.noVad = True
    mc.ecTailLen = 0
    mc.sndAutoCloseTime = -1
    ep.libInit(cfg)
    tcfg = pj.TransportConfig()
    tcfg.port = args.listen or 0
    tcfg.boundAddress = args.bind
    tcfg.publicAddress = args.bind
    kind = pj.PJSIP_TRANSPORT_UDP
    if args.transport == "tls":
        kind = pj.PJSIP_TRANSPORT_TLS
        tls = tcfg.tlsConfig
        tls.method = pj.PJSIP_TLSV1_2_METHOD
        if args.ca:
            tls.CaListFile = args.ca
            tls.verifyServer = True
        if args.cert:
            tls.certFile = args.cert
            tls.privKeyFile = args.key or ""
    tid = ep.transportCreate(kind, tcfg)
    port = ep.transportGetInfo(tid).localName.split(":")[-1]
    ep.audDevManager().setNullDev()
    set_codecs(ep, [c.strip() for c in args.codecs.split(",") if c.strip()])
    ep.libStart()
    print("pjsua_peer ready port=%s" % port, file=sys.stderr, flush=True)
    return ep


def make_account(args, st):
    acfg = pj.AccountConfig()
    acfg.idUri = "sip:peer@%s" % args.bind
    acfg.natConfig.iceEnabled = False
    acfg.natConfig.turnEnabled = False
    acfg.natConfig.sdpNatRewriteUse = 0
    acfg.mediaConfig.srtpUse = SRTP_USE[args.srtp]
    acfg.mediaConfig.srtpSecureSignaling = args.srtp_secure
    mt = acfg.mediaConfig.transportConfig
    mt.port = args.rtp_port
    mt.boundAddress = args.bind
    mt.publicAddress = args.bind
    acc = PeerAccount(st, args)
    acc.create(acfg, True)
    return acc


def run(ep, acc, args, st):
    deadline = time.monotonic() + args.timeout
    hung_up = False
    while time.monotonic() < deadline:
        ep.libHandleEvents(20)
        call = acc.call
        if call is None:
            continue
        if st.disconnected:
            break
        call.sample_stats()
        if st.media_start is None or hung_up:
            continue
        media_for = time.monotonic() - st.media_start
        if args.dtmf and not st.dtmf_sent and media_for >= 1.0:
            try:
                call.dialDtmf(args.dtmf)
                st.dtmf_sent = args.dtmf
            except pj.Error as e:
                st.errors.append("dtmf: %s" % e.info())
        if media_for >= args.seconds:
            st.ended_by = "local"
            st.media_end = time.monotonic()
            call.sample_stats()
            call.hangup(pj.CallOpParam())
            hung_up = True
    else:
        st.ended_by = st.ended_by or "timeout"
        if acc.call is not None and not st.disconnected:
            acc.call.hangup(pj.CallOpParam())
    # Let the BYE (or its answer) go through.
    end = time.monotonic() + 2.0
    while not st.disconnected and time.monotonic() < end:
        ep.libHandleEvents(20)


def report(st):
    m_line = ""
    for line in st.remote_sdp.splitlines():
        if line.startswith("m=audio"):
            m_line = line.strip()
            break
    srtp = "SAVP" in m_line or "a=crypto:" in st.remote_sdp
    media = 0.0
    if st.media_start is not None:
        media = (st.media_end or time.monotonic()) - st.media_start
    ok = (200 <= st.status < 300 and st.media_start is not None and st.rx > 0
          and st.ended_by != "timeout" and not st.errors)
    out = {"ok": ok, "status": st.status, "reason": st.reason, "codec": st.codec, "pt": st.pt,
           "srtp": srtp, "remote_m_line": m_line, "remote_sdp": st.remote_sdp,
           "rx_packets": st.rx, "tx_packets": st.tx, "media_seconds": round(media, 2),
           "ended_by": st.ended_by, "dtmf_sent": st.dtmf_sent, "errors": st.errors}
    os.write(RESULT_FD, (json.dumps(out) + "\n").encode())
    return ok


RESULT_FD = 1


def main(argv):
    global RESULT_FD
    args = parse_args(argv)
    # pjsip logs to stdout (before and after its log config applies): send all of that to
    # stderr, and keep the real stdout for the one JSON line.
    sys.stdout.flush()
    RESULT_FD = os.dup(1)
    os.dup2(2, 1)
    if args.call and args.transport == "tls" and "transport=tls" not in args.call:
        args.call += ";transport=tls"
    st = State()
    ep = start_endpoint(args)
    acc = make_account(args, st)
    if args.call:
        call = PeerCall(acc, st, args)
        acc.call = call
        prm = pj.CallOpParam(True)
        try:
            call.makeCall(args.call, prm)
        except pj.Error as e:
            st.errors.append("makeCall: %s" % e.info())
    if not st.errors:
        run(ep, acc, args, st)
    if acc.call is not None:               # the recorder's WAV header is written on destroy
        acc.call.player = None
        acc.call.recorder = None
    ok = report(st)
    # Every Call object must be gone before libDestroy (its destructor asserts on the id).
    call = None
    acc.call = None
    acc.shutdown()
    ep.libDestroy(pj.PJSUA_DESTROY_NO_RX_MSG)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
