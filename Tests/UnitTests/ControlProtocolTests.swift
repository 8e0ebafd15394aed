import Foundation
import XCTest
@testable import Commands
@testable import Daemon

/// The control socket's request lines, the control commands' command lines and help, and
/// the tables they print. No sockets.
final class ControlProtocolTests: XCTestCase {
    func testEveryRequestGoesOverTheWireAndBack() throws {
        let all: [ControlRequest] = [.status, .calls, .hangup("CA0123"), .drain, .undrain, .reload, .flowsReload("+18005963057")]
        for r in all {
            XCTAssertEqual(try ControlRequest(line: Array(r.line.utf8)), r, r.line)
        }
        XCTAssertEqual(ControlRequest.hangup("CA1").line, #"{"call":"CA1","command":"calls.hangup"}"#)
        XCTAssertEqual(all.filter(\.isAction).count, 5, "status and calls change nothing and are not audited")
    }

    func testBadRequestsAreRefusedWithAReason() {
        func reason(_ text: String) -> String {
            do { _ = try ControlRequest(line: Array(text.utf8)); return "accepted" } catch { return error.description }
        }
        XCTAssertEqual(reason("status"), "request is not a JSON object")
        XCTAssertEqual(reason("[1,2]"), "request is not a JSON object")
        XCTAssertEqual(reason(#"{"cmd":"status"}"#), #"request has no "command""#)
        XCTAssertEqual(reason(#"{"command":"shutdown"}"#), "unknown command 'shutdown'")
        XCTAssertEqual(reason(#"{"command":"calls.hangup"}"#), #"calls.hangup needs "call""#)
        XCTAssertEqual(reason(#"{"command":"calls.hangup","call":""}"#), #"calls.hangup needs "call""#)
        XCTAssertEqual(reason(#"{"command":"flows.reload","number":5}"#), #"flows.reload needs "number""#)
        let long = String(repeating: "9", count: 300)
        XCTAssertEqual(reason(#"{"command":"flows.reload","number":"\#(long)"}"#), #""number" is too long"#)
        let huge = #"{"command":"status","pad":""# + String(repeating: "x", count: 5000) + #""}"#
        XCTAssertEqual(reason(huge), "request longer than 4096 bytes")
        XCTAssertEqual(reason(String(repeating: "[", count: 4000)), "request is not a JSON object", "deep nesting is refused, not a crash")
    }

    func testControlCommandLines() throws {
        XCTAssertEqual(try CommandLineParser.parse(["status"], defaultConfig: "c.json"),
                       .control(ControlOptions(request: .status)))
        XCTAssertEqual(try CommandLineParser.parse(["calls", "hangup", "CA9", "--json", "--socket", "/s"], defaultConfig: "c.json"),
                       .control(ControlOptions(request: .hangup("CA9"), json: true, socketPath: "/s")))
        XCTAssertEqual(try CommandLineParser.parse(["flows", "reload", "+1-800-596-3057", "--config", "x.json"], defaultConfig: "c.json"),
                       .control(ControlOptions(request: .flowsReload("+1-800-596-3057"), configPath: "x.json")))
        XCTAssertThrowsError(try CommandLineParser.parse(["flows", "reload"], defaultConfig: "c.json"))
        XCTAssertThrowsError(try CommandLineParser.parse(["flows", "list"], defaultConfig: "c.json"))
        XCTAssertThrowsError(try CommandLineParser.parse(["calls", "hangup", "--json"], defaultConfig: "c.json"))
        XCTAssertThrowsError(try CommandLineParser.parse(["drain", "--now"], defaultConfig: "c.json")) { e in
            XCTAssertEqual("\(e)", "unknown option '--now' for drain")
        }
        XCTAssertThrowsError(try CommandLineParser.parse(["status", "--socket"], defaultConfig: "c.json"))
    }

    func testHelpForEveryCommandInTheUsage() throws {
        XCTAssertEqual(try CommandLineParser.parse(["help", "calls"], defaultConfig: "c.json"), .helpCommand("calls"))
        XCTAssertEqual(try CommandLineParser.parse(["bill", "--help"], defaultConfig: "c.json"), .helpCommand("bill"))
        XCTAssertEqual(try CommandLineParser.parse(["help"], defaultConfig: "c.json"), .help)
        XCTAssertThrowsError(try CommandLineParser.parse(["help", "frobnicate"], defaultConfig: "c.json"))
        // Every command the usage names has its help, and help knows no command the parser does not.
        let usageWords = Set(CommandLineParser.usage.split(separator: "\n")
            .filter { $0.trimmingCharacters(in: .whitespaces).hasPrefix("tollfreed ") }
            .compactMap { $0.split(separator: " ").dropFirst().first.map(String.init) }
            .filter { !$0.hasPrefix("-") })
        XCTAssertTrue(usageWords.isSuperset(of: ["run", "bill", "status", "calls", "help"]), "\(usageWords)")
        let words = usageWords.union(["undrain", "reload", "flows", "calls"])
        for w in words { XCTAssertNotNil(CommandHelp.text(w), "help for \(w)") }
        for w in CommandHelp.commands where !["help", "version"].contains(w) {
            XCTAssertTrue(CommandLineParser.usage.contains(" \(w)"), "\(w) is in the usage")
            let text = try XCTUnwrap(CommandHelp.text(w))
            XCTAssertTrue(text.hasPrefix("tollfreed \(w)"), "\(w)'s help starts with its synopsis: \(text.prefix(40))")
        }
    }

    func testTablesForPeople() {
        let rows: [[String: Any]] = [
            ["id": "CA1", "kind": "call", "number": "+18005963057", "tenant": "healthcare-client-001", "party": "********6543",
             "state": "active", "verb": "Gather", "duration_s": 75, "emergency": false, "leg": "CA2"],
            ["id": "CA2", "kind": "leg", "number": "+18005963057", "tenant": "healthcare-client-001", "party": "********0123",
             "state": "bridged", "verb": "-", "duration_s": 3725, "emergency": true, "leg": "CA1"],
        ]
        let lines = ControlTable.calls(rows).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 3)
        XCTAssertEqual(lines[0], "ID   KIND  NUMBER        TENANT                 PARTY         STATE    VERB    DURATION  EMERGENCY  LEG")
        XCTAssertEqual(lines[1], "CA1  call  +18005963057  healthcare-client-001  ********6543  active   Gather  1:15      no         CA2")
        XCTAssertEqual(lines[2], "CA2  leg   +18005963057  healthcare-client-001  ********0123  bridged  -       1:02:05   yes        CA1")
        XCTAssertEqual(ControlTable.calls([]), "no calls up")
        let status = ControlTable.status(["version": "0.1.0", "pid": 42, "node": "n1", "uptime_s": 61, "sip": "127.0.0.1:5060",
                                          "draining": true, "calls": 3, "legs": 1, "capacity": 4000, "emergency_calls": 1,
                                          "emergency_reserve": 200, "emergency_reserve_used": 0, "ports_free": 4990])
        XCTAssertTrue(status.contains("state      draining: new calls refused"), status)
        XCTAssertTrue(status.contains("calls      3 up, 1 <Dial> legs; capacity 4000"), status)
        XCTAssertTrue(status.contains("uptime     1:01"), status)
    }
}
