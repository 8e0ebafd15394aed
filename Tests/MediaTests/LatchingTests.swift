import XCTest
@testable import Media

/// NAT latching in the packet path: onto the negotiated address's other port, or a
/// trusted network, once per negotiation, only for RTP; never onto anyone else.
final class LatchingTests: XCTestCase {
    private func packet() -> [UInt8] {
        var p = [UInt8](repeating: 0xFF, count: 172)
        RTPHeader(marker: false, payloadType: 0, sequence: 1, timestamp: 160, ssrc: 7).write(to: &p)
        return p
    }

    private func harness(networks: [String]?) -> ProcessorHarness {
        let h = ProcessorHarness()
        if let networks { h.processor.latch = LatchPolicy(networks: networks) }
        return h
    }

    func testWithoutAPolicyOtherSourcesAreDropped() {
        let h = harness(networks: nil)
        XCTAssertEqual(h.feed(packet(), from: UDPEndpoint(host: "127.0.0.1", port: 40_002)!), .dropped)
        XCTAssertEqual(h.processor.remote, testPeer)
    }

    func testTheNegotiatedAddressOnAnotherPortIsLatchedOnceAndReported() {
        let h = harness(networks: [])
        let nat = UDPEndpoint(host: "127.0.0.1", port: 51_000)!
        XCTAssertEqual(h.feed(packet(), from: nat), .audio, "the packet that latches is used")
        XCTAssertEqual(h.processor.remote, nat)
        XCTAssertEqual(h.processor.latchedTo, nat, "for the receiver to report")
        h.processor.latchedTo = nil
        XCTAssertEqual(h.feed(packet(), from: UDPEndpoint(host: "127.0.0.1", port: 52_000)!), .dropped, "once per negotiation")
        XCTAssertEqual(h.feed(packet(), from: testPeer), .dropped, "the SDP's port is no longer the peer")
        XCTAssertNil(h.processor.latchedTo)
        h.processor.configure(MediaPeer(remote: testPeer, law: .ulaw, payloadType: 0, telephoneEventPayloadType: 101, sending: true))
        XCTAssertNil(h.processor.latch, "a new negotiation without latching")
    }

    func testOtherAddressesOnlyFromTrustedNetworksAndOnlyRTP() {
        let outsider = UDPEndpoint(host: "198.51.100.7", port: 40_000)!
        let h = harness(networks: ["10.0.0.0/8", "192.0.2.0/24"])
        XCTAssertEqual(h.feed(packet(), from: outsider), .dropped, "outside the trusted networks: never")
        XCTAssertEqual(h.feed([0x80, 0, 1], from: UDPEndpoint(host: "10.1.2.3", port: 7000)!), .dropped, "not RTP")
        XCTAssertEqual(h.processor.remote, testPeer)
        let inside = UDPEndpoint(host: "10.1.2.3", port: 7000)!
        XCTAssertEqual(h.feed(packet(), from: inside), .audio)
        XCTAssertEqual(h.processor.remote, inside)
    }

    func testPoliciesParseIPv4AndIPv6Networks() {
        XCTAssertNotNil(LatchPolicy(networks: ["10.0.0.0/8", "192.0.2.1", "0.0.0.0/0", "2001:db8::/32", "::1", "::/0"]))
        XCTAssertNil(LatchPolicy(networks: ["10.0.0.0/33"]))
        XCTAssertNil(LatchPolicy(networks: ["2001:db8::/129"]))
        XCTAssertNil(LatchPolicy(networks: ["2001:db8::/+8"]))
        XCTAssertNil(LatchPolicy(networks: ["fe80::1%eth0"]), "no zones")
        XCTAssertNil(LatchPolicy(networks: ["::ffff:10.0.0.0/104"]), "IPv4-mapped: written as IPv4")
        XCTAssertNil(LatchPolicy(networks: ["[2001:db8::]/32"]))
        XCTAssertNil(LatchPolicy(networks: ["example.com"]))
        let any = LatchPolicy(networks: ["0.0.0.0/0"])!
        let negotiated = UDPEndpoint(host: "192.0.2.1", port: 4000)!
        XCTAssertTrue(any.allows(source: UDPEndpoint(host: "203.0.113.9", port: 1)!, negotiated: negotiated))
        XCTAssertFalse(any.allows(source: UDPEndpoint(host: "2001:db8::9", port: 1)!, negotiated: negotiated), "never across families")
    }

    func testIPv6NetworksMatchByPrefixAndNeverAnIPv4Source() {
        let policy = LatchPolicy(networks: ["2001:db8:1::/48", "::/0"])!
        let v6 = UDPEndpoint(host: "2001:db8:9::1", port: 4000)!
        XCTAssertTrue(policy.allows(source: UDPEndpoint(host: "2001:db8:1:ffff::7", port: 5)!, negotiated: v6))
        XCTAssertTrue(policy.allows(source: UDPEndpoint(host: "2001:db8:9::1", port: 6)!, negotiated: v6), "its own address")
        let narrow = LatchPolicy(networks: ["2001:db8:1::/48"])!
        XCTAssertTrue(narrow.allows(source: UDPEndpoint(host: "2001:db8:1::2", port: 5)!, negotiated: v6))
        XCTAssertFalse(narrow.allows(source: UDPEndpoint(host: "2001:db8:2::2", port: 5)!, negotiated: v6), "outside the /48")
        XCTAssertFalse(narrow.allows(source: UDPEndpoint(host: "2001:db9:1::2", port: 5)!, negotiated: v6))
        let v4 = UDPEndpoint(host: "192.0.2.1", port: 4000)!
        XCTAssertFalse(policy.allows(source: UDPEndpoint(host: "192.0.2.9", port: 5)!, negotiated: v4),
                       "::/0 does not take an IPv4 source (v4-mapped inside)")
        XCTAssertFalse(policy.allows(source: UDPEndpoint(host: "2001:db8:1::2", port: 5)!, negotiated: v4), "never across families")
    }

    func testAnIPv6PeerLatchesOntoItsOtherPort() {
        let peer = UDPEndpoint(host: "2001:db8::10", port: 40_000)!
        let h = ProcessorHarness()
        h.processor.configure(MediaPeer(remote: peer, law: .ulaw, payloadType: 0, telephoneEventPayloadType: 101, sending: true))
        h.processor.latch = LatchPolicy(networks: [])
        XCTAssertEqual(h.feed(packet(), from: UDPEndpoint(host: "2001:db8::11", port: 40_000)!), .dropped, "another address")
        let nat = UDPEndpoint(host: "2001:db8::10", port: 41_000)!
        XCTAssertEqual(h.feed(packet(), from: nat), .audio)
        XCTAssertEqual(h.processor.latchedTo?.description, "[2001:db8::10]:41000")
    }
}
