import Media
import Signaling

/// Which of our media addresses a call's session is opened on. The peer's SDP decides
/// (`c=IN IP6` an IPv6 session, `IN IP4` an IPv4 one), whatever family its SIP came over;
/// our own offers use `media.address`, unless a `<Dial>` target is an IP literal of the
/// secondary address's family.
extension CallPolicy {
    /// The family of a media address (an IPv6 literal has colons, an IPv4 one never).
    static func family(of address: String) -> IPFamily { address.contains(":") ? .ipv6 : .ipv4 }

    /// Our address of `family` (nil: the primary), nil when there is none of it.
    func mediaAddress(of family: IPFamily?) -> String? {
        guard let family else { return mediaAddress }
        if Self.family(of: mediaAddress) == family { return mediaAddress }
        return secondaryMediaAddress.flatMap { Self.family(of: $0) == family ? $0 : nil }
    }

    /// The family to open an incoming call's session on: its offer's when we have an
    /// address of it, else the primary (and `OfferAnswer.answer` refuses an offer of a
    /// family we have no address of: 488 with `Warning: 301`).
    func mediaFamily(forOffer offer: SessionDescription?) -> IPFamily {
        let primary = Self.family(of: mediaAddress)
        guard let offer, let type = OfferAnswer.addressType(of: offer) else { return primary }
        let wanted: IPFamily = type == .ip6 ? .ipv6 : .ipv4
        return mediaAddress(of: wanted) != nil ? wanted : primary
    }

    /// The family of our offer to a `<Dial>` target: an IP literal host in its URI picks
    /// its family when we have an address of it ("sip:+1...@[2001:db8::5]"), anything
    /// else the primary.
    func mediaFamily(forDialTarget uri: String) -> IPFamily {
        let primary = Self.family(of: mediaAddress)
        var rest = Substring(uri)
        if let colon = rest.firstIndex(of: ":"), rest[..<colon].lowercased().hasPrefix("sip") { rest = rest[rest.index(after: colon)...] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        let wanted: IPFamily
        if rest.hasPrefix("[") {
            wanted = .ipv6
        } else if let first = rest.split(whereSeparator: { ":;?>".contains($0) }).first,
                  first.split(separator: ".").count == 4, first.allSatisfy({ $0.isNumber || $0 == "." }) {
            wanted = .ipv4
        } else {
            return primary
        }
        return mediaAddress(of: wanted) != nil ? wanted : primary
    }
}
