@testable import Signaling
import XCTest

/// Builds an SDP body from lines, joined with CRLF (or `separator`).
func sdpBody(_ lines: [String], separator: String = "\r\n") -> String {
    lines.joined(separator: separator) + separator
}

/// A typical softphone/carrier offer.
func typicalOffer(formats: String = "0 8 101", connection: String = "192.0.2.10", port: Int = 49170,
                  direction: String? = nil, extra: [String] = []) -> [String] {
    var lines = [
        "v=0",
        "o=- 2890844526 2890844526 IN IP4 \(connection)",
        "s=-",
        "c=IN IP4 \(connection)",
        "t=0 0",
        "m=audio \(port) RTP/AVP \(formats)",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-16",
        "a=ptime:20",
    ]
    if let direction { lines.append("a=\(direction)") }
    return lines + extra
}

final class SDPParserTests: XCTestCase {
    private func assertParseError(_ body: String, line: Int, reasonContains fragment: String,
                                  file: StaticString = #filePath, lineNo: UInt = #line) {
        do {
            let sdp = try SDPParser.parse(body)
            XCTFail("expected SDPError, parsed \(sdp)", file: file, line: lineNo)
        } catch {
            XCTAssertEqual(error.line, line, "\(error)", file: file, line: lineNo)
            XCTAssertTrue(error.reason.contains(fragment), "reason '\(error.reason)' lacks '\(fragment)'",
                          file: file, line: lineNo)
            XCTAssertEqual(error.description, "SDP line \(line): \(error.reason)", file: file, line: lineNo)
        }
    }

    func testTypicalOfferWithCRLF() throws {
        let sdp = try SDPParser.parse(sdpBody(typicalOffer()))
        XCTAssertEqual(sdp.version, 0)
        XCTAssertEqual(sdp.connectionAddress, "192.0.2.10")
        XCTAssertNil(sdp.direction)
        XCTAssertEqual(sdp.media.count, 1)
        let m = sdp.media[0]
        XCTAssertEqual(m.media, "audio")
        XCTAssertEqual(m.port, 49170)
        XCTAssertEqual(m.proto, "RTP/AVP")
        XCTAssertEqual(m.formats, ["0", "8", "101"])
        XCTAssertEqual(m.ptime, 20)
        XCTAssertNil(m.connectionAddress)
        XCTAssertNil(m.direction)
        XCTAssertEqual(m.rtpmaps[0], RTPMap(encoding: "PCMU", clockRate: 8000, channels: 1))
        XCTAssertEqual(m.rtpmaps[8], RTPMap(encoding: "PCMA", clockRate: 8000, channels: 1))
        XCTAssertEqual(m.rtpmaps[101], RTPMap(encoding: "telephone-event", clockRate: 8000, channels: 1))
    }

    func testLFLineEndingsParseTheSame() throws {
        let crlf = try SDPParser.parse(sdpBody(typicalOffer()))
        let lf = try SDPParser.parse(sdpBody(typicalOffer(), separator: "\n"))
        XCTAssertEqual(lf, crlf)
        XCTAssertEqual(lf.media.first?.formats, ["0", "8", "101"])
    }

    func testSessionLevelVersusMediaLevelConnectionAndDirection() throws {
        let sdp = try SDPParser.parse(sdpBody([
            "v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0", "a=sendonly",
            "m=audio 4000 RTP/AVP 0", "c=IN IP4 198.51.100.7", "a=recvonly",
            "m=audio 4002 RTP/AVP 8",
        ]))
        XCTAssertEqual(sdp.connectionAddress, "192.0.2.1")
        XCTAssertEqual(sdp.direction, .sendonly)
        XCTAssertEqual(sdp.media[0].connectionAddress, "198.51.100.7")
        XCTAssertEqual(sdp.media[0].direction, .recvonly)
        XCTAssertNil(sdp.media[1].connectionAddress, "the session-level c= is not copied into media")
        XCTAssertNil(sdp.media[1].direction)
    }

    func testMulticastTTLAndPortCountAreStripped() throws {
        let sdp = try SDPParser.parse(sdpBody([
            "v=0", "o=- 1 1 IN IP4 233.252.0.1", "s=-", "c=IN IP4 233.252.0.1/127", "t=0 0",
            "m=audio 49170/2 RTP/AVP 0",
        ]))
        XCTAssertEqual(sdp.connectionAddress, "233.252.0.1")
        XCTAssertEqual(sdp.media[0].port, 49170)
    }

    func testRtpmapWithChannelsAndDynamicPayloadType() throws {
        let sdp = try SDPParser.parse(sdpBody([
            "v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "t=0 0",
            "m=audio 4000 RTP/AVP 96 97", "a=rtpmap:96 opus/48000/2", "a=rtpmap:97 PCMU/8000",
        ]))
        XCTAssertEqual(sdp.media[0].rtpmaps[96], RTPMap(encoding: "opus", clockRate: 48000, channels: 2))
        XCTAssertEqual(sdp.media[0].rtpmaps[97], RTPMap(encoding: "PCMU", clockRate: 8000, channels: 1))
    }

    func testIPv6Connection() throws {
        let sdp = try SDPParser.parse(sdpBody(["v=0", "o=- 1 1 IN IP6 2001:db8::1", "s=-", "c=IN IP6 2001:db8::1", "t=0 0"]))
        XCTAssertEqual(sdp.connectionAddress, "2001:db8::1")
        XCTAssertTrue(sdp.media.isEmpty)
    }

    // MARK: - Malformed bodies

    func testMissingVersionLine() {
        assertParseError(sdpBody(["o=- 1 1 IN IP4 192.0.2.1", "s=-"]), line: 1, reasonContains: "v=")
    }

    func testEmptyBody() {
        assertParseError("", line: 0, reasonContains: "empty")
        assertParseError("\r\n\r\n", line: 0, reasonContains: "empty")
    }

    func testMissingOrigin() {
        assertParseError(sdpBody(["v=0", "s=-", "t=0 0"]), line: 0, reasonContains: "o=")
    }

    func testBadOrigin() {
        assertParseError(sdpBody(["v=0", "o=- 1 IN IP4 192.0.2.1"]), line: 2, reasonContains: "o=")
    }

    func testUnsupportedVersion() {
        assertParseError(sdpBody(["v=1", "o=- 1 1 IN IP4 192.0.2.1"]), line: 1, reasonContains: "version")
    }

    func testBadMediaLine() {
        var lines = typicalOffer()
        lines[5] = "m=audio notaport RTP/AVP 0"
        assertParseError(sdpBody(lines), line: 6, reasonContains: "bad m= line")
        lines[5] = "m=audio 49170 RTP/AVP"
        assertParseError(sdpBody(lines), line: 6, reasonContains: "bad m= line")
        lines[5] = "m=audio 70000 RTP/AVP 0"
        assertParseError(sdpBody(lines), line: 6, reasonContains: "bad m= line")
    }

    func testGarbageLine() {
        var lines = typicalOffer()
        lines.insert("this is not sdp", at: 3)
        assertParseError(sdpBody(lines), line: 4, reasonContains: "expected '<type>=<value>'")
        assertParseError(sdpBody(["v=0", "o=- 1 1 IN IP4 192.0.2.1", "X=upper"]), line: 3, reasonContains: "expected")
    }

    func testBadConnection() {
        var lines = typicalOffer()
        lines[3] = "c=IN IP4"
        assertParseError(sdpBody(lines), line: 4, reasonContains: "bad c= line")
    }

    func testBadRtpmap() {
        var lines = typicalOffer()
        lines[6] = "a=rtpmap:x PCMU/8000"
        assertParseError(sdpBody(lines), line: 7, reasonContains: "bad rtpmap")
        lines[6] = "a=rtpmap:200 PCMU/8000"
        assertParseError(sdpBody(lines), line: 7, reasonContains: "bad rtpmap")
        lines[6] = "a=rtpmap:0 PCMU"
        assertParseError(sdpBody(lines), line: 7, reasonContains: "bad rtpmap encoding")
        lines[6] = "a=rtpmap:0 PCMU/0"
        assertParseError(sdpBody(lines), line: 7, reasonContains: "bad rtpmap encoding")
    }

    func testMediaDirectionAnswerTable() {
        XCTAssertEqual(MediaDirection.sendrecv.answer, .sendrecv)
        XCTAssertEqual(MediaDirection.sendonly.answer, .recvonly)
        XCTAssertEqual(MediaDirection.recvonly.answer, .sendonly)
        XCTAssertEqual(MediaDirection.inactive.answer, .inactive)
        XCTAssertEqual([MediaDirection.sendrecv, .sendonly, .recvonly, .inactive].map(\.sends), [true, true, false, false])
    }
}
