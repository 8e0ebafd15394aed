import Foundation
import Routing
import XCTest

final class SourceFilterTests: XCTestCase {
    func testCIDRParsingAndMembership() throws {
        let v4 = try XCTUnwrap(CIDR("203.0.113.0/24"))
        XCTAssertTrue(v4.contains("203.0.113.7"))
        XCTAssertFalse(v4.contains("203.0.114.7"))
        XCTAssertFalse(v4.contains("2001:db8::1"), "families never match")
        XCTAssertTrue(try XCTUnwrap(CIDR("10.0.0.0/8")).contains("10.200.3.4"))
        XCTAssertTrue(try XCTUnwrap(CIDR("0.0.0.0/0")).contains("198.51.100.1"))
        XCTAssertTrue(try XCTUnwrap(CIDR("192.0.2.5")).contains("192.0.2.5"), "a bare address is a /32")
        XCTAssertFalse(try XCTUnwrap(CIDR("192.0.2.5")).contains("192.0.2.6"))
        XCTAssertTrue(try XCTUnwrap(CIDR("172.16.0.0/12")).contains("172.31.255.255"))
        XCTAssertFalse(try XCTUnwrap(CIDR("172.16.0.0/12")).contains("172.32.0.0"))
        let v6 = try XCTUnwrap(CIDR("2001:db8::/32"))
        XCTAssertTrue(v6.contains("2001:db8:1234::5"))
        XCTAssertFalse(v6.contains("2001:db9::1"))
        XCTAssertTrue(try XCTUnwrap(CIDR("::1")).contains("::1"))
        for bad in ["", "10.0.0.0/33", "10.0.0/8", "256.1.1.1", "10.0.0.0/x", "1::2::3", "2001:db8::/129", "a.b.c.d"] {
            XCTAssertNil(CIDR(bad), bad)
        }
    }

    func testFilterOnSourceAddresses() throws {
        XCTAssertTrue(SourceFilter(trusted: []).allows(source: "198.51.100.9:5060"), "empty list trusts everyone")
        let f = SourceFilter(trusted: [try XCTUnwrap(CIDR("203.0.113.0/24")), try XCTUnwrap(CIDR("2001:db8::/32"))])
        XCTAssertTrue(f.allows(source: "203.0.113.10:5060"))
        XCTAssertFalse(f.allows(source: "127.0.0.1:5060"))
        XCTAssertTrue(f.allows(source: "[2001:db8::7]:5060"))
        XCTAssertFalse(f.allows(source: "[2001:db9::7]:5060"))
        XCTAssertTrue(f.allows(source: "2001:db8::7"), "bare IPv6 address")
        XCTAssertFalse(f.allows(source: ""), "unknown source is not trusted when a list is set")
    }
}

import Configuration

final class TrustedSourcesConfigTests: XCTestCase {
    private func load(_ json: String) throws(ConfigError) -> DaemonConfig {
        try ConfigLoader.parse(Data(json.utf8), source: "t.json", baseDirectory: "/tmp")
    }

    func testTrustedSourcesAreParsedAndBadOnesNamed() throws {
        let ok = try load(#"{"sip":{"trusted_sources":["203.0.113.0/24","2001:db8::/32"]},"tenants":[{"id":"a"}],"numbers":[]}"#)
        XCTAssertEqual(ok.trustedSources.map(\.description), ["203.0.113.0/24", "2001:db8:0:0:0:0:0:0/32"])
        XCTAssertThrowsError(try load(#"{"sip":{"trusted_sources":["10.0.0.0/8","10.0.0.0/40"]},"tenants":[{"id":"a"}],"numbers":[]}"#)) {
            XCTAssertTrue("\($0)".contains("sip.trusted_sources[1]"), "\($0)")
        }
        XCTAssertTrue(try load(#"{"tenants":[{"id":"a"}],"numbers":[]}"#).trustedSources.isEmpty, "default: trust everyone")
    }
}
