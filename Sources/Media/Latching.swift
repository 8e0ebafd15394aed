#if canImport(Glibc)
import Glibc
#endif

/// NAT latching ("symmetric RTP", as FreeSWITCH and Asterisk do it): the peer's media
/// arrives from another port than its SDP said (a NAT rewrote it), or from a trusted
/// network: after the first RTP packet from there, we send to where media actually comes
/// from. Once per negotiation (a re-INVITE starts over), and never onto an address outside
/// the negotiated one and `networks`.
public struct LatchPolicy: Sendable, Equatable {
    /// One network: its address and mask in `UDPEndpoint`'s 16-byte form (an IPv4
    /// network as v4-mapped, its prefix 96 bits longer), and its family.
    struct Network: Sendable, Equatable {
        var high: UInt64
        var low: UInt64
        var maskHigh: UInt64
        var maskLow: UInt64
        var family: IPFamily

        @inline(__always)
        func contains(_ a: UDPEndpoint) -> Bool {
            a.family == family && a.high & maskHigh == high && a.low & maskLow == low
        }
    }
    var networks: [Network]

    /// `networks` as "a.b.c.d/n", "2001:db8::/n" (or a bare address); nil when one is not
    /// an IPv4 or IPv6 CIDR network (IPv4-mapped IPv6 ones included: write them as IPv4).
    public init?(networks: [String]) {
        var out: [Network] = []
        for text in networks {
            guard let n = Self.network(text) else { return nil }
            out.append(n)
        }
        self.networks = out
    }

    /// Parses one network; nil when malformed.
    static func network(_ text: String) -> Network? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, !parts[0].contains("%"), let a = UDPEndpoint(host: String(parts[0]), port: 0) else { return nil }
        let family = a.family
        // "::ffff:a.b.c.d" parses as the IPv4 address: written as IPv6 it is refused.
        guard family == .ipv6 || !parts[0].contains(":") else { return nil }
        let width = family == .ipv4 ? 32 : 128
        let prefix = parts.count == 2 ? Int(parts[1]) ?? -1 : width
        guard (0...width).contains(prefix), parts.count == 1 || parts[1].allSatisfy(\.isNumber) else { return nil }
        let bits = prefix + (128 - width)
        let mask = UDPEndpoint.mask(bits: bits)
        return Network(high: a.high & mask.high, low: a.low & mask.low, maskHigh: mask.high, maskLow: mask.low, family: family)
    }

    /// May media from `source` be latched onto, for a peer negotiated at `negotiated`?
    /// Never across families.
    @inline(__always)
    func allows(source: UDPEndpoint, negotiated: UDPEndpoint) -> Bool {
        source.family == negotiated.family && (source.sameAddress(as: negotiated) || networks.contains { $0.contains(source) })
    }
}

extension PacketProcessor {
    /// Where a latch moved the peer, once. Mutating so that the receiver reaches it in
    /// place through the session table: a read through `table[fd]!` would copy the session
    /// (and retain what it holds) on every packet.
    @inline(__always)
    mutating func takeLatch() -> UDPEndpoint? {
        guard let to = latchedTo else { return nil }
        latchedTo = nil
        return to
    }

    /// Hands the receive statistics to the session's shared figures (mutating for the
    /// same in-place access).
    @inline(__always)
    mutating func publishReception(to quality: SessionQuality) { quality.publish(reception) }

    /// Whether a packet from `source` could latch: checked before SRTP authentication, so a
    /// stranger costs no decryption.
    @inline(__always)
    func mayLatch(onto source: UDPEndpoint) -> Bool {
        guard let policy = latch, !latched, let remote else { return false }
        return policy.allows(source: source, negotiated: remote)
    }

    /// A packet from `source` that is not the peer's: latch onto it when the policy allows
    /// and it is RTP; true when `remote` moved (reported once by the receiver through
    /// `latchedTo`).
    mutating func latch(onto source: UDPEndpoint, packet: UnsafeRawBufferPointer) -> Bool {
        guard let policy = latch, !latched, let remote, policy.allows(source: source, negotiated: remote),
              RTPHeader.parse(packet) != nil else { return false }
        self.remote = source
        latched = true
        latchedTo = self.remote
        return true
    }
}
