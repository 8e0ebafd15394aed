#if canImport(Glibc)
import Glibc
#endif

/// A session's RTCP as the pacer sends it (RFC 3550 6): where to, when next, and what the
/// last report covered. Plain values on the pacer thread.
struct RTCPSchedule {
    /// The minimum report interval (RFC 3550 6.2: 5 s), randomised by 0.5-1.5 each time.
    static let intervalNanoseconds: UInt64 = 5_000_000_000
    var remote = SocketAddress()
    /// The peer's RTCP port (network order) when not multiplexed, kept for a latch.
    var rawPort: UInt16 = 0
    var hasRemote = false
    var mux = false
    /// When the next report is due (monotonic ns; 0: not scheduled until the peer is known).
    var due: UInt64 = 0
    var sentAtLastReport: UInt64 = 0
    var expectedAtLastReport: UInt64 = 0
    var lostAtLastReport: UInt64 = 0
    /// xorshift state for the randomisation (no system call per report).
    var random: UInt64

    init(seed: UInt32) { random = UInt64(seed) | 1 << 40 }

    /// 0.5-1.5 times `base`, the first report at half of it (RFC 3550 6.2 / 6.3.6).
    mutating func schedule(from now: UInt64, first: Bool) {
        random ^= random << 13; random ^= random >> 7; random ^= random << 17
        let factor = 0.5 + Double(random % 1000) / 1000
        let base = Double(Self.intervalNanoseconds) * (first ? 0.5 : 1)
        due = now + UInt64(base * factor)
    }
}

extension PacedSession {
    /// Points RTCP at the peer: its RTP address, on the RTP port with mux, else on its
    /// RTCP port (RTP + 1 by default).
    mutating func configureRTCP(_ peer: MediaPeer, now: UInt64) {
        guard let r = peer.remote else { rtcp.hasRemote = false; return }
        rtcp.mux = peer.rtcpMux
        let to = peer.rtcpMux ? r : r.with(port: peer.rtcpPort != 0 ? peer.rtcpPort : r.port &+ 1)
        rtcp.rawPort = to.rawPort
        rtcp.remote = to.socketAddress
        rtcp.hasRemote = peer.rtcpMux || shared.rtcpFD >= 0
        if rtcp.due == 0 { rtcp.schedule(from: now, first: true) }
    }

    /// NAT latching moved the peer's RTP to `to`: RTCP follows its address (and its port
    /// with rtcp-mux; else the port the peer's SDP gave for RTCP stays).
    mutating func latchRTCP(_ to: UDPEndpoint) {
        rtcp.remote = (rtcp.mux ? to : to.with(port: UInt16(bigEndian: rtcp.rawPort))).socketAddress
    }

    /// Sends this session's report when it is due (or now with a BYE, at the end): an SR
    /// when we sent RTP of our own since the last one, else an RR; a report block when the
    /// peer's stream has been heard; SDES CNAME. `buffer` holds `RTCPPacket.maxWrittenBytes` and SRTP's trailer.
    mutating func sendReportIfDue(now: UInt64, bye: Bool, cname: UnsafeRawBufferPointer, buffer: UnsafeMutableRawPointer) {
        guard rtcp.hasRemote, bye || (rtcp.due != 0 && now >= rtcp.due) else { return }
        rtcp.schedule(from: now, first: false)
        let q = shared.quality
        let sent = shared.sent.load(ordering: .relaxed)
        var sender: RTCPSenderInfo?
        if sent > rtcp.sentAtLastReport && !muted {
            // Octets: G.711 carries one byte a sample, 160 a packet.
            sender = RTCPSenderInfo(ntp: NTPTime.now(), rtpTimestamp: header.timestamp,
                                    packets: UInt32(truncatingIfNeeded: sent), octets: UInt32(truncatingIfNeeded: sent &* 160))
        }
        rtcp.sentAtLastReport = sent
        var block: RTCPReportBlock?
        let peer = q.peerSSRC.load(ordering: .relaxed)
        if peer != 0 {
            let expected = q.expected.load(ordering: .relaxed), lost = q.lost.load(ordering: .relaxed)
            let expectedInterval = expected &- rtcp.expectedAtLastReport, lostInterval = lost &- rtcp.lostAtLastReport
            rtcp.expectedAtLastReport = expected
            rtcp.lostAtLastReport = lost
            let fraction = expectedInterval > 0 && lostInterval > 0 && lostInterval <= expectedInterval
                ? UInt8(min(255, (lostInterval << 8) / expectedInterval)) : 0
            let lsr = q.lastSR.load(ordering: .relaxed)
            let arrived = q.lastSRArrival.load(ordering: .relaxed)
            let dlsr: UInt32 = lsr == 0 || now < arrived ? 0 : UInt32(truncatingIfNeeded: (now - arrived) * 65536 / 1_000_000_000)
            block = RTCPReportBlock(ssrc: peer, fractionLost: fraction, cumulativeLost: q.cumulativeLost.load(ordering: .relaxed),
                                    highestSequence: q.highestSequence.load(ordering: .relaxed),
                                    jitter: q.jitterUnits.load(ordering: .relaxed), lastSR: lsr, delaySinceLastSR: dlsr)
        }
        var n = RTCPPacket.write(ssrc: shared.ssrc, sender: sender, block: block, cname: cname, bye: bye, into: buffer)
        if let srtp {
            guard let protected = srtp.protectRTCP(buffer, length: n) else { return }
            n = protected
        }
        if rtcp.remote.send(rtcp.mux ? shared.fd : shared.rtcpFD, buffer, n) > 0 { q.reportsSent.wrappingAdd(1, ordering: .relaxed) }
    }
}
