import Media
import Signaling

extension MediaPeer {
    /// Where and how to send for an offer/answer result.
    init(negotiated n: NegotiatedAudio) {
        self.init(remote: n.remoteAddress.flatMap { UDPEndpoint(host: $0, port: n.remotePort) },
                  law: n.codec == .pcmu ? .ulaw : .alaw, payloadType: n.payloadType,
                  telephoneEventPayloadType: n.telephoneEventPayloadType, sending: n.localDirection.sends)
        g722 = n.codec == .g722
        rtcpMux = n.rtcpMux
        // 0 is "RTP port + 1", the default: only a port the peer named is carried.
        rtcpPort = !n.rtcpMux && n.remoteRTCPPort == n.remotePort &+ 1 ? 0 : n.remoteRTCPPort
        if let c = n.crypto {
            // Offer/answer only agrees suites the engine has (SDESCrypto.suites); one it did
            // not know would leave the peer without an address rather than go out in the clear.
            if let suite = SRTPSuite(rawValue: c.suite) {
                srtp = SRTPKeys(suite: suite, send: c.localKey, receive: c.remoteKey)
            } else {
                remote = nil
                sending = false
            }
        }
    }
}
