#if canImport(Glibc)
import Glibc
#endif

/// The media addresses of offer/answer: which `c=` applies to a stream, whether its
/// address is one RTP can be sent to, and whether it is in the family of our own.
extension OfferAnswer {
    /// The stream's `c=`, else the session's: the address and its type (IP4 without any).
    static func connection(_ m: MediaDescription, in sdp: SessionDescription) -> (address: String?, type: SDPAddressType) {
        if let a = m.connectionAddress { return (a, m.connectionType ?? .ip4) }
        return (sdp.connectionAddress, sdp.connectionType ?? .ip4)
    }

    /// Why the peer's media address cannot be used with `local`, or nil. An address on
    /// hold (none, 0.0.0.0, ::) is not checked: nothing is sent to it, and old phones put
    /// `c=IN IP4 0.0.0.0` in a hold whatever the call's family.
    static func addressRefusal(_ remote: String?, type: SDPAddressType, onHold: Bool, local: LocalMedia) -> NegotiationFailure? {
        guard !onHold, let remote else { return nil }
        let usable = type == .ip4 ? isUsableIPv4Unicast(remote) : isUsableIPv6Unicast(remote)
        guard usable else { return .unusableAddress(remote) }
        return type == local.addressType ? nil : .otherFamily(type)
    }

    /// The family of the media an offer would be answered on: the `c=` of the audio stream
    /// `answer` picks (the first active RTP/AVP(F) one with G.711), nil when there is none.
    /// The caller opens the call's session on its local address of this family.
    public static func addressType(of offer: SessionDescription) -> SDPAddressType? {
        for m in offer.media where m.media == "audio" && m.port != 0 && (m.proto == "RTP/AVP" || m.proto == "RTP/AVPF") {
            if pickCodec(m) != nil { return connection(m, in: offer).type }
        }
        return nil
    }
}

extension LocalMedia {
    /// The family of our address (an IPv6 address has a colon, an IPv4 one never).
    public var addressType: SDPAddressType { address.contains(":") ? .ip6 : .ip4 }
}

/// True for an IPv6 address we can send RTP to: a literal `inet_pton` reads (so no zone
/// "%eth0" and no brackets), not `::` (hold), not multicast (ff00::/8), not link-local
/// (fe80::/10: meaningless without the zone, which SDP cannot carry), not IPv4-mapped
/// (::ffff:0:0/96: such a peer offers `c=IN IP4`; our IPv6 sockets take no IPv4).
public func isUsableIPv6Unicast(_ text: String) -> Bool {
    guard text.count <= 45 else { return false }  // INET6_ADDRSTRLEN - 1
    var a = in6_addr()
    guard inet_pton(AF_INET6, text, &a) == 1 else { return false }
    return withUnsafeBytes(of: &a) { b in
        if b.allSatisfy({ $0 == 0 }) { return false }
        if b[0] == 0xff { return false }
        if b[0] == 0xfe && b[1] & 0xc0 == 0x80 { return false }
        if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xff && b[11] == 0xff { return false }
        return true
    }
}
