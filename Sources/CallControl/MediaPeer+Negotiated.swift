import Media
import Signaling

extension MediaPeer {
    /// Where and how to send for an offer/answer result.
    init(negotiated n: NegotiatedAudio) {
        self.init(remote: n.remoteAddress.flatMap { UDPEndpoint(host: $0, port: n.remotePort) },
                  law: n.codec == .pcmu ? .ulaw : .alaw, payloadType: n.payloadType,
                  telephoneEventPayloadType: n.telephoneEventPayloadType, sending: n.localDirection.sends)
    }
}
