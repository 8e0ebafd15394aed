import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `tollfreed check` and `tollfreed simulate`, run as engineers run them.
final class ToolEndToEndTests: XCTestCase {
    private var flows: URL { Paths.repo.appendingPathComponent("CallFlows") }

    func testCheckAcceptsEveryShippedTemplateAndTheConfig() throws {
        let files = try FileManager.default.subpathsOfDirectory(atPath: flows.path)
            .filter { $0.hasSuffix(".xml") }.map { flows.appendingPathComponent($0).path }
        XCTAssertGreaterThanOrEqual(files.count, 8)
        let r = runProgram(Paths.daemon, ["check"] + files + [Paths.repo.appendingPathComponent("Config/tollfreed.json").path])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertEqual(r.output.components(separatedBy: ": OK").count - 1, files.count + 1, r.output)
    }

    /// Every error of a file (one per failing verb) and every warning, with file, line,
    /// column and verb; errors exit 1, warnings only with --strict.
    func testCheckReportsEveryProblemWithFileLineColumnAndVerb() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-check-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("bad.xml")
        try Data("<Response>\n  <Say>Hi</Say>\n  <Gather numDigits=\"x\"/>\n  <Pause length=\"-1\"/>\n</Response>\n".utf8).write(to: bad)
        let twilio = dir.appendingPathComponent("twilio.xml")
        try Data("<Response>\n  <Pause lenght=\"2\"/>\n  <Say>Hi <break time=\"1s\"/></Say>\n  <Enqueue>q</Enqueue>\n</Response>\n".utf8)
            .write(to: twilio)
        let shipped = flows.appendingPathComponent("healthcare-intake.xml").path
        let r = runProgram(Paths.daemon, ["check", bad.path, twilio.path, shipped])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.output.contains("bad.xml:3:3: <Gather>: attribute 'numDigits'"), r.output)
        XCTAssertTrue(r.output.contains("bad.xml:4:3: <Pause>: attribute 'length'"), "the second error too:\n\(r.output)")
        XCTAssertTrue(r.output.contains("twilio.xml:2:3: warning: <Pause>: attribute 'lenght' is not supported by tollfreed; ignored (did you mean 'length'?)"), r.output)
        XCTAssertTrue(r.output.contains("twilio.xml:4:3: warning: <Enqueue>: not supported by tollfreed; skipped"), r.output)
        XCTAssertTrue(r.output.contains("twilio.xml: OK (2 verbs, 2 warnings)"), r.output)
        XCTAssertTrue(r.output.contains("healthcare-intake.xml: OK"), r.output)

        let lenient = runProgram(Paths.daemon, ["check", twilio.path])
        XCTAssertEqual(lenient.status, 0, "warnings alone pass: \(lenient.output)")
        let strict = runProgram(Paths.daemon, ["check", "--strict", twilio.path])
        XCTAssertEqual(strict.status, 1, "--strict makes warnings fail: \(strict.output)")
    }

    func testCheckRefusesDeeplyNestedDocumentsWithoutCrashing() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-check-deep-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // The reported one: 40,000 levels (440 KB), now refused by size before parsing.
        let huge = dir.appendingPathComponent("huge.xml")
        try Data(("<Response>\n" + String(repeating: "<Say>", count: 40_000) + "x"
                  + String(repeating: "</Say>", count: 40_000) + "</Response>\n").utf8).write(to: huge)
        // Within the size limit: 9,000 levels.
        let deep = dir.appendingPathComponent("deep.xml")
        try Data(("<Response>\n" + String(repeating: "<a>", count: 9000)
                  + String(repeating: "</a>", count: 9000) + "</Response>\n").utf8).write(to: deep)
        let r = runProgram(Paths.daemon, ["check", huge.path, deep.path])
        XCTAssertEqual(r.status, 1, "a refusal, not a crash: \(r.output.prefix(500))")
        XCTAssertTrue(r.output.contains("huge.xml:1:1: the document is longer than the limit of 65536 bytes"),
                      String(r.output.prefix(500)))
        XCTAssertTrue(r.output.contains("deep.xml:2:190: <a>: elements are nested more than 64 levels deep"),
                      String(r.output.prefix(500)))
    }

    func testSimulateRefusesADeepWebhookDocumentWithoutCrashing() throws {
        let levels = 9000
        let server = try WebhookServer(documents: [
            "deep": "<Response>" + String(repeating: "<a>", count: levels) + String(repeating: "</a>", count: levels)
                + "</Response>",
        ])
        defer { server.stop() }
        let r = runProgram(Paths.daemon, ["simulate", "\(server.base)/deep"])
        XCTAssertEqual(r.status, 1, "a refusal, not a crash: \(r.output.prefix(500))")
        XCTAssertTrue(r.output.contains("deep:1:200: <a>: elements are nested more than 64 levels deep"),
                      String(r.output.prefix(500)))
    }

    func testSayWritesThePromptAsAn8kHzWAV() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("tf-say-\(getpid()).wav")
        defer { try? FileManager.default.removeItem(at: out) }
        let r = runProgram(Paths.daemon, ["say", "--out", out.path, "Thank", "you", "for", "calling"])
        XCTAssertEqual(r.status, 0, r.output)
        let bytes = [UInt8](try Data(contentsOf: out))
        XCTAssertEqual(Array(bytes[0..<4]), Array("RIFF".utf8))
        let rate = Int(bytes[24]) | Int(bytes[25]) << 8 | Int(bytes[26]) << 16
        XCTAssertEqual(rate, 8000)
        let seconds = Double(bytes.count - 44) / 16000
        XCTAssertGreaterThan(seconds, 0.5, "a four-word prompt lasts more than half a second")
        XCTAssertTrue(r.output.contains("samples"), r.output)
        XCTAssertEqual(runProgram(Paths.daemon, ["say", "Hello"]).status, 2, "no --out is a usage error")
    }

    func testSimulateGeneralBusinessMenuPressingTwo() {
        let r = runProgram(Paths.daemon, ["simulate", flows.appendingPathComponent("general-business.xml").path,
                                          "--from", "+1 (202) 555-0123", "--to", "2082792555", "--digits", "2"])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("from +12025550123 to +12082792555 pressing 2"), r.output)
        XCTAssertTrue(r.output.contains("say \"For sales, press 1. For support, press 2.\""), r.output)
        XCTAssertTrue(r.output.contains("digit 2"), r.output)
        XCTAssertTrue(r.output.contains("menu-2.xml"), "the support branch is read: \(r.output)")
        XCTAssertTrue(r.output.contains("Connecting you to customer support."), r.output)
        XCTAssertTrue(r.output.contains("beep"), r.output)
        XCTAssertTrue(r.output.contains("the flow hung up"), r.output)
    }

    func testSimulateWithoutInputFallsThrough() {
        let r = runProgram(Paths.daemon, ["simulate", flows.appendingPathComponent("general-business.xml").path, "--digits", "w"])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("timeout"), r.output)
        XCTAssertTrue(r.output.contains("We did not receive your selection."), r.output)
        XCTAssertFalse(r.output.contains("menu-"), "no request without input: \(r.output)")
    }

    func testSimulateAgainstAWebhookServer() throws {
        let server = try WebhookServer(documents: [
            "ivr": "<Response><Gather numDigits=\"1\" action=\"next\"><Say>Press a key.</Say></Gather></Response>",
            "next": "<Response><Say>Got it.</Say></Response>",
        ])
        defer { server.stop() }
        let r = runProgram(Paths.daemon, ["simulate", "\(server.base)/ivr", "--digits", "7"])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("POST \(server.base)/next"), r.output)
        XCTAssertTrue(r.output.contains("Digits=7"), r.output)
        XCTAssertTrue(r.output.contains("Got it."), r.output)
        XCTAssertEqual(server.waitForRequest(path: "/next")?["Digits"], "7")
    }
}
