import Media
import XCTest

final class RTPHeaderTests: XCTestCase {
    private func written(_ h: RTPHeader) -> [UInt8] {
        var bytes = [UInt8](repeating: 0xAA, count: RTPHeader.size + 4)
        bytes.withUnsafeMutableBytes { h.write(to: $0.baseAddress!) }
        XCTAssertEqual(Array(bytes[RTPHeader.size...]), [0xAA, 0xAA, 0xAA, 0xAA], "wrote past 12 bytes")
        return Array(bytes.prefix(RTPHeader.size))
    }

    private func parse(_ packet: [UInt8]) -> (header: RTPHeader, payloadOffset: Int, payloadLength: Int)? {
        packet.withUnsafeBytes { RTPHeader.parse($0) }
    }

    private let known = RTPHeader(marker: true, payloadType: 0, sequence: 0x1234, timestamp: 0xDEADBEEF, ssrc: 0x0102_0304)

    func testWriteKnownHeader() {
        XCTAssertEqual(RTPHeader.size, 12)
        XCTAssertEqual(written(known), [0x80, 0x80, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x02, 0x03, 0x04])
    }

    func testWriteWithoutMarkerAndPCMA() {
        let h = RTPHeader(marker: false, payloadType: 8, sequence: 1, timestamp: 160, ssrc: 0xFFFF_FFFF)
        XCTAssertEqual(written(h), [0x80, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00, 0xA0, 0xFF, 0xFF, 0xFF, 0xFF])
    }

    func testPayloadTypeIsMaskedTo7Bits() {
        let h = RTPHeader(marker: false, payloadType: 0xE5, sequence: 0, timestamp: 0, ssrc: 0)
        XCTAssertEqual(written(h)[1], 0x65, "a payload type above 127 must not set the marker bit")
    }

    func testParseRoundTrip() throws {
        let payload: [UInt8] = Array(repeating: 0xFF, count: 160)
        let packet = written(known) + payload
        let r = try XCTUnwrap(parse(packet))
        XCTAssertEqual(r.header, known)
        XCTAssertEqual(r.payloadOffset, 12)
        XCTAssertEqual(r.payloadLength, 160)
    }

    func testParseRoundTripManyHeaders() throws {
        for (i, pt) in [UInt8(0), 8, 101, 127].enumerated() {
            let h = RTPHeader(marker: i % 2 == 0, payloadType: pt, sequence: UInt16(65535 - i),
                              timestamp: UInt32(i) &* 0x9E37_79B9, ssrc: 0xCAFE_0000 | UInt32(i))
            let r = try XCTUnwrap(parse(written(h) + [1, 2, 3]))
            XCTAssertEqual(r.header, h)
            XCTAssertEqual(r.payloadLength, 3)
        }
    }

    func testHeaderOnlyPacketHasEmptyPayload() throws {
        let r = try XCTUnwrap(parse(written(known)))
        XCTAssertEqual(r.payloadOffset, 12)
        XCTAssertEqual(r.payloadLength, 0)
    }

    func testParseWithCSRCs() throws {
        var packet = written(known)
        packet[0] = 0x82 // CC = 2
        packet += [0, 0, 0, 1, 0, 0, 0, 2] // two CSRCs
        packet += [9, 9, 9]
        let r = try XCTUnwrap(parse(packet))
        XCTAssertEqual(r.payloadOffset, 20)
        XCTAssertEqual(r.payloadLength, 3)
        XCTAssertEqual(r.header.sequence, 0x1234)
        XCTAssertEqual(r.header.ssrc, 0x0102_0304)
    }

    func testParseWithHeaderExtension() throws {
        var packet = written(known)
        packet[0] = 0x90 // X = 1
        packet += [0xBE, 0xDE, 0x00, 0x02] // profile, length 2 words
        packet += [1, 2, 3, 4, 5, 6, 7, 8]
        packet += [0x55, 0x55]
        let r = try XCTUnwrap(parse(packet))
        XCTAssertEqual(r.payloadOffset, 12 + 4 + 8)
        XCTAssertEqual(r.payloadLength, 2)
        XCTAssertTrue(r.header.marker)
    }

    func testParseWithCSRCAndExtension() throws {
        var packet = written(known)
        packet[0] = 0x91 // X = 1, CC = 1
        packet += [0xAB, 0xCD, 0xEF, 0x01] // CSRC
        packet += [0x10, 0x00, 0x00, 0x01, 0xEE, 0xEE, 0xEE, 0xEE] // extension with one word
        packet += [7]
        let r = try XCTUnwrap(parse(packet))
        XCTAssertEqual(r.payloadOffset, 24)
        XCTAssertEqual(r.payloadLength, 1)
    }

    func testParseWithPadding() throws {
        var packet = written(known)
        packet[0] = 0xA0 // P = 1
        packet += [1, 2, 3, 4, 5]
        packet += [0, 0, 3] // three bytes of padding, count in the last
        let r = try XCTUnwrap(parse(packet))
        XCTAssertEqual(r.payloadOffset, 12)
        XCTAssertEqual(r.payloadLength, 5)
    }

    func testPaddingThatIsAllTheRest() throws {
        var packet = written(known)
        packet[0] = 0xA0
        packet += [0, 0, 0, 4]
        let r = try XCTUnwrap(parse(packet))
        XCTAssertEqual(r.payloadLength, 0)
    }

    func testRejectsOtherVersions() {
        for first: UInt8 in [0x00, 0x40, 0xC0] { // versions 0, 1, 3
            var packet = written(known) + [1, 2, 3]
            packet[0] = first
            XCTAssertNil(parse(packet), "version \(first >> 6)")
        }
    }

    func testRejectsTruncatedPackets() {
        let full = written(known)
        for n in 0..<12 {
            XCTAssertNil(parse(Array(full.prefix(n))), "\(n) bytes")
        }
        var csrc = full
        csrc[0] = 0x83 // claims 3 CSRCs
        XCTAssertNil(parse(csrc + [0, 0, 0, 1, 0, 0, 0, 2]), "CSRC list cut short")
        var ext = full
        ext[0] = 0x90
        XCTAssertNil(parse(ext + [0xBE, 0xDE]), "extension header cut short")
        XCTAssertNil(parse(ext + [0xBE, 0xDE, 0x00, 0x03, 1, 2, 3, 4]), "extension body cut short")
    }

    func testRejectsBadPadding() {
        var packet = written(known)
        packet[0] = 0xA0
        XCTAssertNil(parse(packet + [1, 2, 0]), "pad count 0 is invalid")
        XCTAssertNil(parse(packet + [1, 2, 200]), "padding longer than the packet")
        XCTAssertNil(parse(packet + [1, 2, 4]), "padding reaching into the header")
    }
}
