import CMediaIO
#if canImport(Glibc)
import Glibc
#endif

/// The address family of a media socket and of the peers it talks to.
public enum IPFamily: String, Sendable, Equatable {
    case ipv4 = "IPv4", ipv6 = "IPv6"
}

/// A UDP endpoint of either family, kept in the one form the receiver compares per packet:
/// the 16-byte IPv6 address in network order (an IPv4 address as v4-mapped,
/// `::ffff:a.b.c.d`) in two words, and the port in network order. Comparing two is three
/// integer compares; the C bridge hands each datagram's source over in the same form.
public struct UDPEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// Address bytes 0-7 and 8-15, as loaded from memory (not numbers).
    let high: UInt64
    let low: UInt64
    /// The port in network byte order.
    let rawPort: UInt16

    /// The first 8 bytes of a v4-mapped address are 0; the next 4 are 0, 0, 0xff, 0xff
    /// (loaded from memory like `low`, so the test holds on either byte order).
    private static let mappedPrefix: UInt32 = withUnsafeBytes(of: (UInt8(0), UInt8(0), UInt8(0xff), UInt8(0xff))) {
        $0.loadUnaligned(as: UInt32.self)
    }

    /// Parses a dotted quad or an IPv6 address (no brackets, no zone); nil for anything
    /// else. An IPv4-mapped IPv6 address is the IPv4 address it maps.
    public init?(host: String, port: UInt16) {
        var a4 = in_addr()
        if inet_pton(AF_INET, host, &a4) == 1 {
            self.init(ipv4: a4, rawPort: port.bigEndian)
            return
        }
        var a6 = in6_addr()
        guard inet_pton(AF_INET6, host, &a6) == 1 else { return nil }
        self.init(ipv6: a6, rawPort: port.bigEndian)
    }

    init(ipv4 a: in_addr, rawPort: UInt16) {
        var mapped = in6_addr()
        withUnsafeMutableBytes(of: &mapped) {
            $0[10] = 0xff
            $0[11] = 0xff
            $0.storeBytes(of: a.s_addr, toByteOffset: 12, as: UInt32.self)
        }
        self.init(ipv6: mapped, rawPort: rawPort)
    }

    init(ipv6 a: in6_addr, rawPort: UInt16) {
        var a = a
        (high, low) = withUnsafeBytes(of: &a) { ($0.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
                                                  $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }
        self.rawPort = rawPort
    }

    /// A datagram's source as the C bridge reports it.
    @inline(__always)
    init(_ source: tfm_source_t) {
        high = source.high
        low = source.low
        rawPort = source.port
    }

    init(_ sa: sockaddr_in) { self.init(ipv4: sa.sin_addr, rawPort: sa.sin_port) }
    init(_ sa: sockaddr_in6) { self.init(ipv6: sa.sin6_addr, rawPort: sa.sin6_port) }

    /// Where socket `fd` is bound (`getsockname`), either family; nil on failure.
    init?(boundTo fd: Int32) {
        var sa = sockaddr_in6()
        var len = socklen_t(MemoryLayout<sockaddr_in6>.size)
        let rc = withUnsafeMutablePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        guard rc == 0 else { return nil }
        switch Int32(sa.sin6_family) {
        case AF_INET6: self.init(sa)
        case AF_INET: self.init(withUnsafeBytes(of: &sa) { $0.loadUnaligned(as: sockaddr_in.self) })
        default: return nil
        }
    }

    public var family: IPFamily {
        high == 0 && withUnsafeBytes(of: low) { $0.loadUnaligned(as: UInt32.self) } == Self.mappedPrefix ? .ipv4 : .ipv6
    }

    /// The 16 address bytes as an `in6_addr`.
    private var address6: in6_addr {
        var a = in6_addr()
        withUnsafeMutableBytes(of: &a) {
            $0.storeBytes(of: high, toByteOffset: 0, as: UInt64.self)
            $0.storeBytes(of: low, toByteOffset: 8, as: UInt64.self)
        }
        return a
    }

    /// The IPv4 address (network order) of a v4-mapped one.
    private var address4: UInt32 { withUnsafeBytes(of: low) { $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self) } }

    public var port: UInt16 { UInt16(bigEndian: rawPort) }

    /// The same address on another port.
    func with(port: UInt16) -> UDPEndpoint { UDPEndpoint(high: high, low: low, rawPort: port.bigEndian) }

    private init(high: UInt64, low: UInt64, rawPort: UInt16) {
        self.high = high
        self.low = low
        self.rawPort = rawPort
    }

    /// A mask of the first `bits` (0-128) bits in this form.
    static func mask(bits: Int) -> (high: UInt64, low: UInt64) {
        var m = in6_addr()
        withUnsafeMutableBytes(of: &m) { raw in
            for i in 0..<16 {
                let b = min(8, max(0, bits - i * 8))
                raw[i] = b == 0 ? 0 : UInt8(truncatingIfNeeded: 0xFF << (8 - b))
            }
        }
        let e = UDPEndpoint(ipv6: m, rawPort: 0)
        return (e.high, e.low)
    }

    /// The address alone, as `inet_ntop` writes it ("192.0.2.1", "2001:db8::1").
    public var host: String {
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        if family == .ipv4 {
            var a = in_addr(s_addr: address4)
            inet_ntop(AF_INET, &a, &buf, socklen_t(buf.count))
        } else {
            var a = address6
            inet_ntop(AF_INET6, &a, &buf, socklen_t(buf.count))
        }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// "192.0.2.1:4000", "[2001:db8::1]:4000" (RFC 5952 section 6).
    public var description: String { family == .ipv4 ? "\(host):\(port)" : "[\(host)]:\(port)" }

    /// Same address, whatever the port (RTCP from a NATed peer may use another port).
    @inline(__always)
    func sameAddress(as other: UDPEndpoint) -> Bool { high == other.high && low == other.low }

    @inline(__always)
    public static func == (a: UDPEndpoint, b: UDPEndpoint) -> Bool {
        a.low == b.low && a.rawPort == b.rawPort && a.high == b.high
    }

    /// The endpoint as `sendto` and `bind` take it, in its own family.
    var socketAddress: SocketAddress {
        var out = SocketAddress()
        withUnsafeMutableBytes(of: &out.storage) { raw in
            if family == .ipv4 {
                var sa = sockaddr_in()
                sa.sin_family = sa_family_t(AF_INET)
                sa.sin_port = rawPort
                sa.sin_addr.s_addr = address4
                raw.storeBytes(of: sa, as: sockaddr_in.self)
            } else {
                var sa = sockaddr_in6()
                sa.sin6_family = sa_family_t(AF_INET6)
                sa.sin6_port = rawPort
                sa.sin6_addr = address6
                raw.storeBytes(of: sa, as: sockaddr_in6.self)
            }
        }
        out.length = socklen_t(family == .ipv4 ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
        return out
    }
}

/// The media engine's local addresses: one, or one of each family for dual stack.
struct MediaAddresses: Sendable {
    /// The family of the first address: sessions opened without a family use it.
    let primary: IPFamily
    private let byFamily: [IPFamily: String]

    init(_ address: String, secondary: String?) throws(MediaError) {
        guard let first = UDPEndpoint(host: address, port: 0) else {
            throw MediaError("media address '\(address)' is not an IPv4 or IPv6 address")
        }
        var byFamily = [first.family: address]
        if let secondary {
            guard let second = UDPEndpoint(host: secondary, port: 0), second.family != first.family else {
                throw MediaError("secondary media address '\(secondary)' is not an address of the other family than '\(address)'")
            }
            byFamily[second.family] = secondary
        }
        primary = first.family
        self.byFamily = byFamily
    }

    /// The address of `family` (nil: the primary), nil when there is none of it.
    subscript(family: IPFamily?) -> String? { byFamily[family ?? primary] }
}

/// A socket address of either family, ready for `sendto`: a `sockaddr_in6`'s room holds
/// a `sockaddr_in` too. Built once per peer change, not per packet.
struct SocketAddress {
    var storage = sockaddr_in6()
    var length: socklen_t = 0

    /// Sends `count` bytes without blocking; what `sendto` returns.
    @inline(__always)
    func send(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
        var to = storage
        let length = length
        return withUnsafePointer(to: &to) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, bytes, count, Int32(MSG_DONTWAIT), $0, length) }
        }
    }
}

/// Opens a non-blocking UDP socket bound to `host:port`, in the address's own family (an
/// IPv4 address never needs IPv6 in the kernel); returns the fd or nil.
func bindUDP(host: String, port: UInt16) -> Int32? {
    guard let ep = UDPEndpoint(host: host, port: port) else { return nil }
    let v6 = ep.family == .ipv6
    let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return nil }
    var one: Int32 = 1
    // Only this family's packets: never an IPv4 source on an IPv6 socket (as v4-mapped).
    if v6 { _ = setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size)) }
    var sa = ep.socketAddress
    let rc = withUnsafePointer(to: &sa.storage) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, sa.length) }
    }
    guard rc == 0 else { close(fd); return nil }
    var tos: Int32 = 0xB8 // DSCP EF (46) for voice
    if v6 {
        _ = setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_TCLASS, &tos, socklen_t(MemoryLayout<Int32>.size))
    } else {
        _ = setsockopt(fd, Int32(IPPROTO_IP), IP_TOS, &tos, socklen_t(MemoryLayout<Int32>.size))
    }
    return fd
}
