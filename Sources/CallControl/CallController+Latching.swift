import Media
import Signaling

extension CallController {
    /// A leg's peer from its offer/answer, with its trunk's latching.
    func legPeer(_ leg: Leg, _ n: NegotiatedAudio) -> MediaPeer {
        var peer = MediaPeer(negotiated: n)
        peer.latch = leg.state.placement.target.latching ? policy.latchNetworks : nil
        return peer
    }

    /// NAT latching moved a call's or a leg's media: logged and counted.
    func mediaLatched(_ id: MediaSessionID, to: UDPEndpoint) {
        metrics.increment("tollfreed_rtp_latched_total")
        if let h = byMedia[id], let e = calls[h] {
            e.log.notice("call.media_latched", ["to": to.description])
        } else if let leg = legs.values.first(where: { $0.media == id }) {
            leg.log.notice("dial.leg_media_latched", ["to": to.description])
        }
    }
}
