import CMediaIO

/// RTCP from the peer, on the receiver thread: read from a session's RTCP socket (or
/// demultiplexed from its RTP socket with rtcp-mux), accepted only from the peer's address,
/// and folded into the session's quality figures (loss and jitter it reports for our
/// stream, round-trip time, its last SR for our next report).
extension RTPReceiver {
    func drainRTCP(session i: Int) {
        guard i < byFD.count, let s = byFD[i], s.shared.rtcpFD >= 0 else { return }
        while true {
            let n = tfm_batch_recv(s.shared.rtcpFD, batchBuffers)
            if n <= 0 { break }
            for k in 0..<n {
                var length: Int32 = 0
                var raw = tfm_source_t()
                let bytes = tfm_batch_packet(batchBuffers, k, &length, &raw)
                heardRTCP(UnsafeRawBufferPointer(start: bytes, count: Int(length)), session: i, from: UDPEndpoint(raw))
            }
            if n < RTPReceiver.batch { break }
        }
    }

    /// One RTCP datagram for session `i` from `from`. Not from the peer's address, or not
    /// valid RTCP: counted as dropped or malformed, otherwise unused.
    func heardRTCP(_ datagram: UnsafeRawBufferPointer, session i: Int, from: UDPEndpoint) {
        guard let s = byFD[i] else { return }
        // The peer's RTCP port may differ from what SDP said (NAT): its address must not.
        guard let remote = s.processor.remote, remote.sameAddress(as: from) else {
            s.shared.dropped.wrappingAdd(1, ordering: .relaxed)
            return
        }
        var datagram = datagram
        if let srtp = s.processor.srtp {
            // SRTCP: authenticated and decrypted in place (the receive buffer is ours).
            guard let base = datagram.baseAddress,
                  let n = srtp.unprotectRTCP(UnsafeMutableRawPointer(mutating: base), length: datagram.count) else {
                s.shared.malformed.wrappingAdd(1, ordering: .relaxed)
                return
            }
            datagram = UnsafeRawBufferPointer(start: base, count: n)
        }
        guard let summary = RTCPPacket.parse(datagram, ourSSRC: s.shared.ssrc) else {
            s.shared.malformed.wrappingAdd(1, ordering: .relaxed)
            return
        }
        s.shared.quality.heard(summary, arrivalNTP: NTPTime.now(), arrivalNs: monotonicNanoseconds())
    }
}
