import Foundation
import Metering
@testable import CallControl
@testable import Commands
@testable import Configuration
@testable import Daemon
import XCTest

/// The exact messages of the two strict JSON readers (config file, plans file), which share
/// one implementation: each names the file and the key path.
final class StrictJSONMessageTests: XCTestCase {
    private func configError(_ json: String) -> String {
        do { _ = try ConfigLoader.parse(Data(json.utf8), source: "c.json", baseDirectory: "/etc"); return "no error" } catch {
            return error.description
        }
    }

    private func planError(_ json: String) -> String {
        do { _ = try PlanCatalog.parse(Data(json.utf8), source: "p.json"); return "no error" } catch { return error.description }
    }

    private let tenants = #""tenants": [{"id": "t1"}], "numbers": [{"did": "8005963057", "tenant": "t1", "flow": "f.xml"}]"#

    func testConfigMessages() {
        XCTAssertEqual(configError("[]"), "c.json: : must be an object")
        XCTAssertEqual(configError(#"{"sip": 1, \#(tenants)}"#), "c.json: sip: must be an object")
        XCTAssertEqual(configError(#"{"data_dir": "", \#(tenants)}"#), "c.json: data_dir: must be a non-empty string")
        XCTAssertEqual(configError(#"{"sip": {"listen": 5}, \#(tenants)}"#), "c.json: sip.listen: must be a non-empty string")
        XCTAssertEqual(configError(#"{"calls": {"drain_s": 1.5}, \#(tenants)}"#), "c.json: calls.drain_s: must be an integer in 0...3600")
        XCTAssertEqual(configError(#"{"calls": {"drain_s": true}, \#(tenants)}"#), "c.json: calls.drain_s: must be an integer in 0...3600")
        XCTAssertEqual(configError(#"{"calls": {"drain_s": "5"}, \#(tenants)}"#), "c.json: calls.drain_s: must be an integer in 0...3600")
        XCTAssertEqual(configError(#"{"calls": {"preemption": 1}, \#(tenants)}"#), "c.json: calls.preemption: must be true or false")
        XCTAssertEqual(configError(#"{"compliance": {"retention_years": {"legal": 0}}, \#(tenants)}"#),
                       "c.json: compliance.retention_years.legal: must be an integer in 1...100")
        XCTAssertEqual(configError(#"{"tenants": [{"id": "t1", "name": ""}], "numbers": []}"#),
                       "c.json: tenants[0].name: must be a non-empty string")
        XCTAssertEqual(configError(#"{"tenants": [{"id": "t1"}], "numbers": [{"did": "8005963057", "tenant": "t1", "flow": "f", "emergency": 0}]}"#),
                       "c.json: numbers[0].emergency: must be true or false")
        XCTAssertEqual(configError(#"{"node": {"lease_grace_s": -1}, \#(tenants)}"#), "c.json: node.lease_grace_s: must be an integer in 0...86400")
        XCTAssertTrue(configError(#"{"media": {"adress": "x"}, \#(tenants)}"#)
            .hasPrefix("c.json: media.adress: unknown key (allowed: address, latching_networks, pacer_priority, poor_quality_mos, rtcp, rtp_ports, secondary_address)"))
    }

    func testConfigAcceptsWholeNumbersAndBooleans() throws {
        let c = try ConfigLoader.parse(Data(#"{"calls": {"drain_s": 7.0, "preemption": false}, \#(tenants)}"#.utf8),
                                       source: "c.json", baseDirectory: "/etc")
        XCTAssertEqual(c.drainSeconds, 7)
        XCTAssertFalse(c.allowPreemption)
    }

    /// A number too big for an Int is out of range, not read as 0 (it once was, for the config).
    func testHugeNumbersAreOutOfRange() {
        XCTAssertEqual(configError(#"{"calls": {"drain_s": 18446744073709551616}, \#(tenants)}"#),
                       "c.json: calls.drain_s: must be an integer in 0...3600")
        XCTAssertEqual(configError(#"{"calls": {"drain_s": 1e30}, \#(tenants)}"#), "c.json: calls.drain_s: must be an integer in 0...3600")
        XCTAssertTrue(planError(#"{"plans": [{"id": "x", "name": "X", "monthly_fee": "1", "included": {"minutes": 18446744073709551616, "sms": 0, "two_factor": 0, "numbers": 0}, "overage": {"minute": "0", "sms": "0", "two_factor": "0"}}]}"#)
            .hasSuffix("plans[0].included.minutes: must be a whole number in 0...1000000000"))
    }

    func testPlanMessages() {
        XCTAssertEqual(planError("[]"), "p.json: top level: must be an object")
        XCTAssertEqual(planError("{}"), "p.json: plans: missing")
        XCTAssertEqual(planError(#"{"plans": 1}"#), "p.json: plans: must be an array of plans")
        XCTAssertEqual(planError(#"{"plans": [1]}"#), "p.json: plans[0]: must be an object")
        XCTAssertEqual(planError(#"{"plans": [{"id": "x", "name": "X", "monthly_fee": "1", "included": {}, "overage": {}}]}"#),
                       "p.json: plans[0].included.minutes: missing")
        let plan = #"{"id": "x", "name": "", "monthly_fee": "1", "included": {"minutes": 1, "sms": 0, "two_factor": 0, "numbers": 0}, "overage": {"minute": "0", "sms": "0", "two_factor": "0"}}"#
        XCTAssertEqual(planError(#"{"plans": [\#(plan)]}"#), "p.json: plans[0].name: must be a non-empty string")
        XCTAssertEqual(planError(#"{"plans": [\#(plan.replacingOccurrences(of: #""name": """#, with: #""name": "X""#).replacingOccurrences(of: #""minutes": 1"#, with: #""minutes": true"#))]}"#),
                       "p.json: plans[0].included.minutes: must be a whole number in 0...1000000000")
    }
}
