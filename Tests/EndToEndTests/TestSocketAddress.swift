import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A loopback socket address of either family for the test's own peers ("127.0.0.1",
/// "::1"): a `sockaddr_in6`'s room holds a `sockaddr_in` too, and both keep the port at
/// the same offset.
struct TestSocketAddress {
    var storage = sockaddr_in6()
    let length: socklen_t
    let family: Int32

    init(host: String, port: UInt16) {
        if host.contains(":") {
            family = AF_INET6
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            storage.sin6_family = sa_family_t(AF_INET6)
            storage.sin6_port = port.bigEndian
            _ = inet_pton(AF_INET6, host, &storage.sin6_addr)
        } else {
            family = AF_INET
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = port.bigEndian
            sa.sin_addr.s_addr = inet_addr(host)
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: sa, as: sockaddr_in.self) }
        }
    }

    /// `body` with the address as the socket calls take it.
    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var s = storage
        return withUnsafePointer(to: &s) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) } }
    }

    /// The port of a received source of either family (network order at offset 2).
    static func port(of source: sockaddr_in6) -> UInt16 { UInt16(bigEndian: source.sin6_port) }

    /// A UDP socket of `host`'s family bound to `host` on an ephemeral port; the descriptor
    /// and the port (nil when it cannot be bound).
    static func bindUDP(host: String) -> (fd: Int32, port: UInt16)? {
        let address = TestSocketAddress(host: host, port: 0)
        let fd = socket(address.family, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0, address.withSockaddr({ bind(fd, $0, $1) }) == 0 else { close(fd); return nil }
        var bound = sockaddr_in6()
        var len = socklen_t(MemoryLayout<sockaddr_in6>.size)
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return (fd, port(of: bound))
    }
}
