import Foundation
import XCTest
@testable import Configuration

/// The config keys of the control socket, call quality and NAT latching.
final class ConfigOperationsTests: XCTestCase {
    private func base() -> [String: Any] {
        ["sip": ["listen": "0.0.0.0:5070"],
         "tenants": [["id": "t1", "industry": "legal", "time_zone": "Europe/London"]],
         "numbers": [["did": "8005963057", "tenant": "t1", "flow": "f.xml"]]]
    }

    private func parse(_ change: (inout [String: Any]) -> Void) throws(ConfigError) -> DaemonConfig {
        var o = base()
        change(&o)
        return try ConfigLoader.parse(try! JSONSerialization.data(withJSONObject: o), source: "test.json", baseDirectory: "/etc/tollfreed")
    }

    private func refused(_ change: (inout [String: Any]) -> Void) -> String {
        do { _ = try parse(change); return "accepted" } catch { return error.description }
    }

    func testDefaults() throws {
        let c = try parse { _ in }
        XCTAssertEqual(c.controlSocket, "/run/tollfreed/control.sock")
        XCTAssertEqual(c.poorQualityMOS, 3.5)
        XCTAssertFalse(c.latching, "off by default on the public listener")
        XCTAssertEqual(c.latchingNetworks, [])
        XCTAssertEqual(c.flowsDirectory, "/etc/tollfreed/callflows")
    }

    func testControlSocket() throws {
        XCTAssertEqual(try parse { $0["control"] = ["socket": "run/ctl.sock"] }.controlSocket, "/etc/tollfreed/run/ctl.sock")
        XCTAssertNil(try parse { $0["control"] = ["socket": "off"] }.controlSocket)
        let long = "/" + String(repeating: "x", count: 120)
        XCTAssertTrue(refused { $0["control"] = ["socket": long] }.hasPrefix("test.json: control.socket: "))
        XCTAssertTrue(refused { $0["control"] = ["path": "/x"] }.contains("control"))
    }

    func testQualityAndLatching() throws {
        let c = try parse {
            $0["media"] = ["poor_quality_mos": 3.2, "latching_networks": ["10.0.0.0/8", "192.0.2.7"]]
            $0["sip"] = ["listen": "0.0.0.0:5070", "latching": true]
            $0["trunks"] = [["name": "carrier", "uri": "sip:{number}@192.0.2.9", "latching": true]]
        }
        XCTAssertEqual(c.poorQualityMOS, 3.2)
        XCTAssertTrue(c.latching)
        XCTAssertEqual(c.latchingNetworks, ["10.0.0.0/8", "192.0.2.7"])
        XCTAssertEqual(c.trunks.first?.latching, true)
        XCTAssertTrue(refused { $0["media"] = ["poor_quality_mos": 5] }.hasPrefix("test.json: media.poor_quality_mos: "))
        XCTAssertTrue(refused { $0["media"] = ["poor_quality_mos": true] }.hasPrefix("test.json: media.poor_quality_mos: "))
        XCTAssertTrue(refused { $0["media"] = ["latching_networks": ["10.0.0.0/40"]] }.hasPrefix("test.json: media.latching_networks: "))
        XCTAssertTrue(refused { $0["media"] = ["latching_networks": ["2001:db8::/129"]] }
            .contains("'2001:db8::/129' is not an IPv4 (a.b.c.d/n) or IPv6 (2001:db8::/n) network"))
        XCTAssertEqual(try parse { $0["media"] = ["latching_networks": ["2001:db8::/32", "::1"]] }.latchingNetworks, ["2001:db8::/32", "::1"])
        for bad in ["fe80::/10%eth0", "::ffff:10.0.0.0/104", "[2001:db8::]/32", "2001:db8::/", "10.0.0.0/+8"] {
            XCTAssertTrue(refused { $0["media"] = ["latching_networks": [bad]] }.hasPrefix("test.json: media.latching_networks: "), bad)
        }
        XCTAssertTrue(refused { $0["sip"] = ["listen": "0.0.0.0:5070", "latching": "yes"] }.contains("sip"))
    }

    func testSRTPPoliciesAndRTCP() throws {
        let d = try parse {
            $0["sip"] = ["listen": "0.0.0.0:5070", "tls": ["listen": "0.0.0.0:5061", "certificate": "c.pem", "key": "k.pem"]]
            $0["trunks"] = [["name": "carrier", "uri": "sip:{number}@192.0.2.9"]]
        }
        XCTAssertEqual(d.srtp, .off, "keys would cross the public listener in the clear")
        XCTAssertEqual(d.tls?.srtp, .offer, "inside TLS, SRTP when the caller offers it")
        XCTAssertEqual(d.trunks.first?.srtp, .off)
        let c = try parse {
            $0["sip"] = ["listen": "0.0.0.0:5070", "srtp": "offer",
                         "tls": ["listen": "0.0.0.0:5061", "certificate": "c.pem", "key": "k.pem", "srtp": "require"]]
            $0["trunks"] = [["name": "carrier", "uri": "sip:{number}@192.0.2.9", "srtp": "require"]]
        }
        XCTAssertEqual(c.srtp, .offer)
        XCTAssertEqual(c.tls?.srtp, .require)
        XCTAssertEqual(c.trunks.first?.srtp, .require)
        XCTAssertEqual(refused { $0["sip"] = ["listen": "0.0.0.0:5070", "srtp": "on"] },
                       "test.json: sip.srtp: must be off, offer or require, not 'on'")
        XCTAssertTrue(refused { $0["trunks"] = [["name": "t", "uri": "sip:{number}@h", "srtp": true]] }.hasPrefix("test.json: trunks[0].srtp"))
        XCTAssertTrue(try parse { _ in }.rtcp, "RTCP on by default")
        XCTAssertFalse(try parse { $0["media"] = ["rtcp": false] }.rtcp)
        XCTAssertTrue(refused { $0["media"] = ["rtcp": "no"] }.hasPrefix("test.json: media.rtcp"))
    }

    /// `media.address` is either family; `media.secondary_address` the other one (dual
    /// stack). Both are bound and advertised in SDP: literal unicast addresses only.
    func testMediaAddressesOfBothFamilies() throws {
        XCTAssertEqual(try parse { _ in }.mediaAddress, "127.0.0.1")
        XCTAssertNil(try parse { _ in }.secondaryMediaAddress)
        XCTAssertEqual(try parse { $0["media"] = ["address": "2001:db8::10"] }.mediaAddress, "2001:db8::10")
        let dual = try parse { $0["media"] = ["address": "192.0.2.10", "secondary_address": "2001:db8::10"] }
        XCTAssertEqual(dual.secondaryMediaAddress, "2001:db8::10")
        XCTAssertEqual(try parse { $0["media"] = ["address": "::1", "secondary_address": "127.0.0.1"] }.secondaryMediaAddress, "127.0.0.1")
        let wildcard = "is a wildcard; SDP must carry the address peers send RTP to"
        XCTAssertEqual(refused { $0["media"] = ["address": "0.0.0.0"] }, "test.json: media.address: '0.0.0.0' \(wildcard)")
        XCTAssertEqual(refused { $0["media"] = ["address": "::"] }, "test.json: media.address: '::' \(wildcard)")
        XCTAssertEqual(refused { $0["media"] = ["address": "[::1]"] },
                       "test.json: media.address: '[::1]' is not an IPv4 or IPv6 address (no host names, brackets or zones)")
        XCTAssertTrue(refused { $0["media"] = ["address": "media.example.com"] }.contains("not an IPv4 or IPv6 address"))
        XCTAssertTrue(refused { $0["media"] = ["address": "fe80::1%eth0"] }.contains("not an IPv4 or IPv6 address"))
        XCTAssertEqual(refused { $0["media"] = ["address": "fe80::1"] },
                       "test.json: media.address: 'fe80::1' is link-local, which SDP cannot carry (no zone)")
        XCTAssertEqual(refused { $0["media"] = ["address": "ff02::1"] }, "test.json: media.address: 'ff02::1' is a multicast address")
        XCTAssertEqual(refused { $0["media"] = ["address": "239.1.1.1"] }, "test.json: media.address: '239.1.1.1' is not a unicast address")
        XCTAssertEqual(refused { $0["media"] = ["address": "::ffff:192.0.2.1"] },
                       "test.json: media.address: '::ffff:192.0.2.1' is IPv4-mapped; write the IPv4 address")
        XCTAssertEqual(refused { $0["media"] = ["address": "192.0.2.10", "secondary_address": "192.0.2.11"] },
                       "test.json: media.secondary_address: '192.0.2.11' is of the same family as media.address '192.0.2.10'; "
                       + "it is the other family's address, for dual stack")
        XCTAssertTrue(refused { $0["media"] = ["address": "2001:db8::1", "secondary_address": "2001:db8::2"] }.contains("same family"))
        XCTAssertTrue(refused { $0["media"] = ["secondary_address": "::"] }.hasPrefix("test.json: media.secondary_address: '::' is a wildcard"))
        XCTAssertTrue(refused { $0["media"] = ["secondary_address": 6] }.hasPrefix("test.json: media.secondary_address: "))
    }

    func testChangingTheSecondaryMediaAddressNeedsARestart() throws {
        let a = try parse { _ in }
        let b = try parse { $0["media"] = ["secondary_address": "::1"] }
        XCTAssertTrue(a.restartOnlyChanges(to: b).contains("media.secondary_address"))
    }
}
