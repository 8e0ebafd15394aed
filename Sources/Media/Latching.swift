#if canImport(Glibc)
import Glibc
#endif

/// NAT latching ("symmetric RTP", as FreeSWITCH and Asterisk do it): the peer's media
/// arrives from another port than its SDP said (a NAT rewrote it), or from a trusted
/// network: after the first RTP packet from there, we send to where media actually comes
/// from. Once per negotiation (a re-INVITE starts over), and never onto an address outside
/// the negotiated one and `networks`.
public struct LatchPolicy: Sendable, Equatable {
    /// IPv4 networks, address and mask in network byte order.
    public var networks: [(address: UInt32, mask: UInt32)]

    /// `networks` as "a.b.c.d/n" (or a bare address); nil when one is not IPv4 CIDR.
    public init?(networks: [String]) {
        var out: [(UInt32, UInt32)] = []
        for text in networks {
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            var a = in_addr()
            guard parts.count <= 2, inet_pton(AF_INET, String(parts[0]), &a) == 1 else { return nil }
            let prefix = parts.count == 2 ? Int(parts[1]) ?? -1 : 32
            guard (0...32).contains(prefix) else { return nil }
            let hostMask: UInt32 = prefix == 0 ? 0 : ~UInt32(0) << (32 - UInt32(prefix))
            out.append((a.s_addr & hostMask.bigEndian, hostMask.bigEndian))
        }
        self.networks = out
    }

    /// May media from `source` (network order) be latched onto, for a peer negotiated at
    /// `negotiated`?
    @inline(__always)
    func allows(source: UInt32, negotiated: UInt32) -> Bool {
        source == negotiated || networks.contains { source & $0.mask == $0.address }
    }

    public static func == (a: LatchPolicy, b: LatchPolicy) -> Bool {
        a.networks.elementsEqual(b.networks) { $0.address == $1.address && $0.mask == $1.mask }
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

    /// Whether a packet from `address` (network order) could latch: checked before SRTP
    /// authentication, so a stranger costs no decryption.
    @inline(__always)
    func mayLatch(onto address: UInt32) -> Bool {
        guard let policy = latch, !latched, let remote else { return false }
        return policy.allows(source: address, negotiated: remote.storage.sin_addr.s_addr)
    }

    /// A packet from `address:port` (network order) that is not the peer's: latch onto it
    /// when the policy allows and it is RTP; true when `remote` moved (reported once by the
    /// receiver through `latchedTo`).
    mutating func latch(onto address: UInt32, port: UInt16, packet: UnsafeRawBufferPointer) -> Bool {
        guard let policy = latch, !latched, let remote, policy.allows(source: address, negotiated: remote.storage.sin_addr.s_addr),
              RTPHeader.parse(packet) != nil else { return false }
        var to = remote.storage
        to.sin_addr.s_addr = address
        to.sin_port = port
        self.remote = UDPEndpoint(to)
        latched = true
        latchedTo = self.remote
        return true
    }
}
