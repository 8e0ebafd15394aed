import Foundation
import Observability
#if canImport(Glibc)
import Glibc
#endif

/// The configured RTP port range: even ports, handed out first-in first-out so a port
/// just released is the last to be reused (late packets of an old call rarely land in a
/// new one).
final class PortPool: Sendable {
    private struct Ring {
        var ports: [UInt16]
        var head = 0
        var count: Int
    }
    private let ring: Locked<Ring>

    init(range: ClosedRange<Int>) {
        var ports: [UInt16] = []
        var p = range.lowerBound + (range.lowerBound % 2)
        while p <= range.upperBound { ports.append(UInt16(p)); p += 2 }
        ring = Locked(Ring(ports: ports, count: ports.count))
    }

    var available: Int { ring.withLock { $0.count } }
    var capacity: Int { ring.withLock { $0.ports.count } }

    /// The next free port, unless only `reserve` (or fewer) are left.
    func take(leaving reserve: Int = 0) -> UInt16? {
        ring.withLock { r in
            guard r.count > max(0, reserve) else { return nil }
            let p = r.ports[r.head]
            r.head = (r.head + 1) % r.ports.count
            r.count -= 1
            return p
        }
    }

    func give(_ port: UInt16) {
        ring.withLock { r in
            let tail = (r.head + r.count) % r.ports.count
            r.ports[tail] = port
            r.count += 1
        }
    }
}

/// An IPv4 UDP endpoint in the form the socket calls take.
public struct UDPEndpoint: Sendable, Equatable, CustomStringConvertible {
    var storage: sockaddr_in

    /// Parses a dotted-quad address; nil for anything else.
    public init?(host: String, port: UInt16) {
        var a = in_addr()
        guard inet_pton(AF_INET, host, &a) == 1 else { return nil }
        storage = sockaddr_in()
        storage.sin_family = sa_family_t(AF_INET)
        storage.sin_port = port.bigEndian
        storage.sin_addr = a
    }

    init(_ sa: sockaddr_in) { storage = sa }

    public var port: UInt16 { UInt16(bigEndian: storage.sin_port) }

    public var host: String {
        var a = storage.sin_addr
        var buf = [CChar](repeating: 0, count: 32)
        inet_ntop(AF_INET, &a, &buf, socklen_t(buf.count))
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public var description: String { "\(host):\(port)" }

    @inline(__always)
    func matches(_ other: sockaddr_in) -> Bool {
        other.sin_port == storage.sin_port && other.sin_addr.s_addr == storage.sin_addr.s_addr
    }

    /// Compares with a source address in network byte order.
    @inline(__always)
    func matches(address: UInt32, port: UInt16) -> Bool {
        storage.sin_addr.s_addr == address && storage.sin_port == port
    }

    public static func == (a: UDPEndpoint, b: UDPEndpoint) -> Bool { a.matches(b.storage) }
}

/// Opens a non-blocking UDP socket bound to `host:port`; returns the fd or nil.
func bindUDP(host: String, port: UInt16) -> Int32? {
    guard let ep = UDPEndpoint(host: host, port: port) else { return nil }
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return nil }
    var sa = ep.storage
    let rc = withUnsafePointer(to: &sa) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard rc == 0 else { close(fd); return nil }
    var tos: Int32 = 0xB8 // DSCP EF (46) for voice
    _ = setsockopt(fd, Int32(IPPROTO_IP), IP_TOS, &tos, socklen_t(MemoryLayout<Int32>.size))
    return fd
}
