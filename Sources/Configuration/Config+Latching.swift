#if canImport(Glibc)
import Glibc
#endif

extension ConfigLoader {
    /// "a.b.c.d" or "a.b.c.d/n" with n in 0...32, or an IPv6 address with n in 0...128
    /// ("2001:db8::/32"). No zone ("%eth0"), and no IPv4-mapped IPv6 network: write
    /// those as IPv4 (media latching never crosses families).
    static func isLatchingCIDR(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let family = ipFamily(String(parts[0])) else { return false }
        if family == AF_INET6, String(parts[0]).lowercased().hasPrefix("::ffff:"), parts[0].contains(".") { return false }
        let width = family == AF_INET ? 32 : 128
        return parts.count == 1 || (parts[1].allSatisfy(\.isNumber) && Int(parts[1]).map { (0...width).contains($0) } == true)
    }

    /// AF_INET or AF_INET6 for an address literal, nil for anything else.
    static func ipFamily(_ text: String) -> Int32? {
        guard text.count <= 45 else { return nil }
        var a4 = in_addr()
        if inet_pton(AF_INET, text, &a4) == 1 { return AF_INET }
        var a6 = in6_addr()
        return inet_pton(AF_INET6, text, &a6) == 1 ? AF_INET6 : nil
    }

    /// Why `text` cannot be a media address (`media.address`, `media.secondary_address`),
    /// or nil: it is bound and advertised in SDP, so it must be one unicast address that
    /// peers can send to, not a wildcard nor a name.
    static func mediaAddressProblem(_ text: String) -> String? {
        guard let family = ipFamily(text) else {
            return "'\(text)' is not an IPv4 or IPv6 address (no host names, brackets or zones)"
        }
        if family == AF_INET {
            var a = in_addr()
            _ = inet_pton(AF_INET, text, &a)
            let first = UInt8(truncatingIfNeeded: a.s_addr)  // network order: the first octet is the lowest byte
            if a.s_addr == 0 { return "'\(text)' is a wildcard; SDP must carry the address peers send RTP to" }
            if first >= 224 { return "'\(text)' is not a unicast address" }
            return nil
        }
        var a = in6_addr()
        _ = inet_pton(AF_INET6, text, &a)
        return withUnsafeBytes(of: &a) { b -> String? in
            if b.allSatisfy({ $0 == 0 }) { return "'\(text)' is a wildcard; SDP must carry the address peers send RTP to" }
            if b[0] == 0xff { return "'\(text)' is a multicast address" }
            if b[0] == 0xfe && b[1] & 0xc0 == 0x80 { return "'\(text)' is link-local, which SDP cannot carry (no zone)" }
            if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xff && b[11] == 0xff {
                return "'\(text)' is IPv4-mapped; write the IPv4 address"
            }
            return nil
        }
    }
}
