import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Bad input loses nothing: thousands of mutated SIP datagrams, then the daemon still
/// answers probes and calls.
final class MalformedInputEndToEndTests: XCTestCase {
    /// Well-formed mutants reach an unknown number (404) so they hold no call resources;
    /// the flood is about parsing, not capacity.
    private let invite = """
        INVITE sip:8005550199@127.0.0.1 SIP/2.0\r
        Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-fuzz-%d\r
        From: <sip:+15551230000@127.0.0.1>;tag=f%d\r
        To: <sip:8005550199@127.0.0.1>\r
        Call-ID: fuzz-%d@127.0.0.1\r
        CSeq: 1 INVITE\r
        Contact: <sip:fuzz@127.0.0.1:9>\r
        Max-Forwards: 70\r
        Content-Type: application/sdp\r
        Content-Length: %d\r
        \r
        %@
        """
    private let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"

    /// A deterministic generator so a failure can be replayed.
    private struct Rand {
        var s: UInt64
        mutating func next() -> UInt64 { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return s }
        mutating func upTo(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }
    }

    private func mutate(_ base: [UInt8], _ r: inout Rand) -> [UInt8] {
        var m = base
        switch r.upTo(6) {
        case 0: m = Array(m.prefix(r.upTo(m.count)))                              // truncated
        case 1: for _ in 0..<8 { m[r.upTo(m.count)] = UInt8(truncatingIfNeeded: r.next()) } // flipped bytes
        case 2: m.insert(contentsOf: Array(repeating: UInt8(ascii: "A"), count: 3000 + r.upTo(5000)), at: r.upTo(m.count)) // oversized
        case 3: m = Array(String(decoding: m, as: UTF8.self).replacingOccurrences(of: "Content-Length: ", with: "Content-Length: 9999").utf8)
        case 4: // a configured number with a broken SDP: 400 before any media is set up
            m = Array(String(decoding: m, as: UTF8.self).replacingOccurrences(of: "m=audio 9", with: "m=audio x")
                .replacingOccurrences(of: "8005550199", with: "8005963057").utf8)
        default: m = (0..<r.upTo(1400)).map { _ in UInt8(truncatingIfNeeded: r.next()) }  // noise
        }
        return m
    }

    func testThousandsOfMutatedRequestsThenANormalCall() throws {
        let d = try DaemonUnderTest(ringMs: 0)
        defer { d.stop() }
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var to = sockaddr_in()
        to.sin_family = sa_family_t(AF_INET)
        to.sin_addr.s_addr = inet_addr("127.0.0.1")
        to.sin_port = d.sipPort.bigEndian
        var r = Rand(s: 0xC0FFEE)
        for i in 0..<5000 {
            let text = String(format: invite, i, i, i, sdp.utf8.count, sdp)
            let packet = mutate(Array(text.utf8), &r)
            _ = packet.withUnsafeBytes { b in
                withUnsafePointer(to: &to) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, b.baseAddress, b.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            }
            if i % 200 == 0 { usleep(20_000) } // bounded rate: about 10,000 per second
        }
        XCTAssertEqual(d.sipp("options.xml", dial: "8005963057", tag: "after-fuzz-options").status, 0, d.logText.suffix(2000).description)
        let peer = RTPPeer()
        defer { peer.stop() }
        let call = d.sipp("uac_caller_bye.xml", dial: "8005963057", tag: "after-fuzz-call", rtpPort: peer.port)
        XCTAssertEqual(call.status, 0, call.output.suffix(1500).description + "\n" + d.logText.split(separator: "\n").filter { $0.contains("after-fuzz") || $0.contains("refused") }.suffix(10).joined(separator: "\n"))
        XCTAssertGreaterThan(peer.received.count, 50, "the call after the flood has audio")
        XCTAssertEqual(d.stop(), 0, "the daemon is still healthy and drains cleanly")
    }

    func testOneSourceFloodingINVITEsIsRateLimited() throws {
        let d = try DaemonUnderTest(ringMs: 0) { cfg in
            var sip = cfg["sip"] as? [String: Any] ?? [:]
            sip["invite_rate_per_source"] = 1
            sip["invite_burst_per_source"] = 5
            cfg["sip"] = sip
        }
        defer { d.stop() }
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var tv = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var to = sockaddr_in()
        to.sin_family = sa_family_t(AF_INET)
        to.sin_addr.s_addr = inet_addr("127.0.0.1")
        to.sin_port = d.sipPort.bigEndian
        for i in 0..<20 {
            // rport: answers come back to this socket (RFC 3581).
            let text = String(format: invite, i, i, i, sdp.utf8.count, sdp).replacingOccurrences(of: ":9;branch", with: ":9;rport;branch")
            _ = Array(text.utf8).withUnsafeBytes { b in
                withUnsafePointer(to: &to) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, b.baseAddress, b.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            }
        }
        // Final responses are retransmitted until ACKed: count calls, not datagrams.
        var finals: [String: Set<String>] = [:]
        let deadline = Date().addingTimeInterval(3)
        var buf = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            let n = recv(fd, &buf, buf.count, 0)
            guard n > 0 else { continue }
            let text = String(decoding: buf[0..<n], as: UTF8.self)
            let callID = text.split(whereSeparator: \.isNewline).first { $0.hasPrefix("Call-ID:") }.map(String.init) ?? ""
            for code in ["404", "503"] where text.hasPrefix("SIP/2.0 \(code)") { finals[code, default: []].insert(callID) }
        }
        XCTAssertEqual(finals["404"]?.count, 5, "the burst is served: \(finals)")
        XCTAssertEqual(finals["503"]?.count, 15, "the rest of the flood gets 503: \(finals)")
        XCTAssertTrue(d.logShows("sip.rate_limited"))
        XCTAssertEqual(d.records().count, 5, "no record per flooded INVITE")
    }
}
