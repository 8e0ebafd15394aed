import XCTest
@testable import Media
import CMediaIO
#if canImport(Glibc)
import Glibc
#endif

/// One endpoint form for both families: parsing, formatting, the per-packet compare, the
/// C bridge's source form and the socket address built for `sendto`. No sockets.
final class UDPEndpointTests: XCTestCase {
    func testParsesBothFamiliesAndRefusesTheRest() {
        XCTAssertEqual(UDPEndpoint(host: "192.0.2.1", port: 4000)?.family, .ipv4)
        XCTAssertEqual(UDPEndpoint(host: "2001:db8::1", port: 4000)?.family, .ipv6)
        XCTAssertEqual(UDPEndpoint(host: "::1", port: 4000)?.family, .ipv6)
        XCTAssertEqual(UDPEndpoint(host: "::ffff:192.0.2.1", port: 4000), UDPEndpoint(host: "192.0.2.1", port: 4000),
                       "an IPv4-mapped address is the IPv4 address")
        for bad in ["", "example.com", "[::1]", "fe80::1%lo", "192.0.2.256", "1.2.3", "2001:db8::1::2", "::1:4000x"] {
            XCTAssertNil(UDPEndpoint(host: bad, port: 1), bad)
        }
    }

    func testFormatsIPv6WithBracketsBeforeThePort() {
        XCTAssertEqual(UDPEndpoint(host: "192.0.2.1", port: 4000)?.description, "192.0.2.1:4000")
        XCTAssertEqual(UDPEndpoint(host: "2001:0db8:0000::0001", port: 4000)?.description, "[2001:db8::1]:4000")
        XCTAssertEqual(UDPEndpoint(host: "::1", port: 5)?.host, "::1")
        XCTAssertEqual(UDPEndpoint(host: "::1", port: 5)?.port, 5)
    }

    func testMatchesOnAddressAndPortWithinAFamilyOnly() {
        let v6 = UDPEndpoint(host: "2001:db8::1", port: 4000)!
        XCTAssertEqual(v6, UDPEndpoint(host: "2001:db8:0::1", port: 4000)!)
        XCTAssertNotEqual(v6, UDPEndpoint(host: "2001:db8::1", port: 4001)!)
        XCTAssertNotEqual(v6, UDPEndpoint(host: "2001:db8::2", port: 4000)!)
        XCTAssertNotEqual(v6, UDPEndpoint(host: "3001:db8::1", port: 4000)!, "the high word")
        XCTAssertTrue(v6.sameAddress(as: UDPEndpoint(host: "2001:db8::1", port: 9)!))
        XCTAssertFalse(v6.sameAddress(as: UDPEndpoint(host: "2001:db8::2", port: 4000)!))
        let v4 = UDPEndpoint(host: "0.0.0.1", port: 4000)!
        XCTAssertNotEqual(v4, UDPEndpoint(host: "::1", port: 4000)!, "0.0.0.1 and ::1 share their last bytes, not their family")
        XCTAssertEqual(v4.with(port: 9).port, 9)
    }

    func testTheBridgeFormMatchesTheParsedOne() {
        // What tfm_batch_packet writes for 192.0.2.1:4000: v4-mapped bytes, port in network order.
        var bytes: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1]
        var source = tfm_source_t()
        source.high = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self) }
        source.low = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self) }
        source.port = UInt16(4000).bigEndian
        XCTAssertEqual(UDPEndpoint(source), UDPEndpoint(host: "192.0.2.1", port: 4000))
        bytes = [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1]
        source.high = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self) }
        source.low = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self) }
        XCTAssertEqual(UDPEndpoint(source), UDPEndpoint(host: "2001:db8::1", port: 4000))
        XCTAssertEqual(UDPEndpoint(tfm_source_t()).family, .ipv6, "an unknown family's zeros match no peer")
    }

    func testSocketAddressesAreOfTheEndpointsFamily() {
        let v4 = UDPEndpoint(host: "192.0.2.1", port: 4000)!.socketAddress
        XCTAssertEqual(Int(v4.length), MemoryLayout<sockaddr_in>.size)
        let sin = withUnsafeBytes(of: v4.storage) { $0.loadUnaligned(as: sockaddr_in.self) }
        XCTAssertEqual(Int32(sin.sin_family), AF_INET)
        XCTAssertEqual(UInt16(bigEndian: sin.sin_port), 4000)
        XCTAssertEqual(UDPEndpoint(sin), UDPEndpoint(host: "192.0.2.1", port: 4000))
        let v6 = UDPEndpoint(host: "2001:db8::1", port: 4000)!.socketAddress
        XCTAssertEqual(Int(v6.length), MemoryLayout<sockaddr_in6>.size)
        XCTAssertEqual(Int32(v6.storage.sin6_family), AF_INET6)
        XCTAssertEqual(UDPEndpoint(v6.storage), UDPEndpoint(host: "2001:db8::1", port: 4000))
    }
}
