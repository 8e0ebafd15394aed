import Foundation
import Metering
import Routing
@testable import CallControl
@testable import Commands
@testable import Configuration
@testable import Daemon
import XCTest

/// The repository root, found from this file's real location.
let repositoryRoot: URL = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
    .deletingLastPathComponent() // UnitTests
    .deletingLastPathComponent() // Tests
    .deletingLastPathComponent()

final class ConfigTests: XCTestCase {
    private var shippedConfig: String { repositoryRoot.appendingPathComponent("Config/tollfreed.json").path }

    /// A small valid config; tests change one thing at a time.
    private func base() -> [String: Any] {
        [
            "sip": ["listen": "0.0.0.0:5070"],
            "tenants": [["id": "t1", "industry": "legal", "time_zone": "Europe/London"]],
            "numbers": [["did": "8005963057", "tenant": "t1", "flow": "f.xml"]],
        ]
    }

    private func parse(_ object: [String: Any]) throws(ConfigError) -> DaemonConfig {
        let data = try! JSONSerialization.data(withJSONObject: object)
        return try ConfigLoader.parse(data, source: "test.json", baseDirectory: "/etc/tollfreed")
    }

    private func parse(json: String) throws(ConfigError) -> DaemonConfig {
        try ConfigLoader.parse(Data(json.utf8), source: "test.json", baseDirectory: "/etc/tollfreed")
    }

    /// Asserts the config is refused with an error that starts with "test.json: <keyPath>: ".
    private func assertError(_ object: [String: Any], keyPath: String, contains fragment: String = "",
                             file: StaticString = #filePath, line: UInt = #line) {
        do {
            let c = try parse(object)
            XCTFail("expected ConfigError at \(keyPath), got \(c)", file: file, line: line)
        } catch {
            XCTAssertTrue(error.description.hasPrefix("test.json: \(keyPath): "), error.description, file: file, line: line)
            XCTAssertTrue(fragment.isEmpty || error.description.contains(fragment), error.description, file: file, line: line)
        }
    }

    // MARK: - Shipped config

    func testShippedConfigLoads() throws {
        let c = try ConfigLoader.load(path: shippedConfig)
        XCTAssertEqual(c.sipHost, "127.0.0.1")
        XCTAssertEqual(c.sipPort, 5060)
        XCTAssertEqual(c.mediaAddress, "127.0.0.1")
        XCTAssertEqual(c.rtpPorts, 20000...29999)
        XCTAssertEqual(c.ringMilliseconds, 0)
        XCTAssertEqual(c.maxConcurrentCalls, 4000)
        XCTAssertEqual(c.maxCallSeconds, 14400)
        XCTAssertEqual(c.dataDirectory, "/var/lib/tollfreed")
        XCTAssertEqual(c.flowsDirectory, repositoryRoot.appendingPathComponent("CallFlows").standardizedFileURL.path,
                       "flows_dir is relative to the config file")
        XCTAssertEqual(c.tenants.map(\.id), ["healthcare-client-001", "fleet-client-001", "backup-general-001"])
        XCTAssertEqual(c.tenants.map(\.industry), [.healthcare, .fleet, .general])
        XCTAssertEqual(c.tenants[1].timeZone, "America/Chicago")
        XCTAssertEqual(c.numbers.map(\.did), ["+18005963057", "+18888046762", "+12082792555"])
        XCTAssertEqual(c.numbers.map(\.emergency), [false, true, false])

        let directory = c.directory()
        let fleet = try XCTUnwrap(directory.route(forDialed: "sip:+1-888-804-6762@127.0.0.1"))
        XCTAssertEqual(fleet.tenant, "fleet-client-001")
        XCTAssertEqual(fleet.industry, .fleet)
        XCTAssertEqual(fleet.flow, "fleet-emergency.xml")
        XCTAssertTrue(fleet.emergency)
    }

    func testLoadConfigurationReturnsTheFlows() throws {
        let (config, flows) = try loadConfiguration(path: shippedConfig)
        XCTAssertEqual(config.numbers.count, 3)
        XCTAssertEqual(Set(flows.keys), ["healthcare-intake.xml", "fleet-emergency.xml", "general-business.xml"])
        XCTAssertFalse(try XCTUnwrap(flows["general-business.xml"]).verbs.isEmpty)
    }

    func testLoadConfigurationAppliesOverrides() throws {
        var o = RunOptions(configPath: shippedConfig)
        o.sip = ("0.0.0.0", 5080)
        o.rtpPorts = 30000...30999
        o.dataDirectory = "/tmp/tf-data/../tf-data2"
        o.logLevel = "debug"
        let (c, _) = try loadConfiguration(path: shippedConfig, overrides: o)
        XCTAssertEqual(c.sipHost, "0.0.0.0")
        XCTAssertEqual(c.sipPort, 5080)
        XCTAssertEqual(c.rtpPorts, 30000...30999)
        XCTAssertEqual(c.dataDirectory, "/tmp/tf-data2")
        XCTAssertEqual(c.logLevel, "debug")
    }

    func testHardeningKeys() throws {
        var o = base()
        o["sip"] = ["listen": "0.0.0.0:5070", "max_message_bytes": 8192]
        o["calls"] = ["rtp_timeout_s": 30]
        o["emergency"] = ["marking_sources": ["198.51.100.0/24"]]
        let c = try parse(o)
        XCTAssertEqual(c.maxSIPMessageBytes, 8192)
        XCTAssertEqual(c.rtpTimeoutSeconds, 30)
        XCTAssertEqual(c.emergencyMarkingSources.map(\.description), ["198.51.100.0/24"])
        let d = try parse(base())
        XCTAssertEqual(d.maxSIPMessageBytes, 16_384)
        XCTAssertEqual(d.emergencyMarkingSources, [CIDR("127.0.0.0/8")!, CIDR("::1/128")!])
        o["emergency"] = ["marking_sources": ["nowhere"]]
        XCTAssertThrowsError(try parse(o)) { XCTAssertTrue("\($0)".contains("emergency.marking_sources[0]"), "\($0)") }
        o["emergency"] = [:]
        o["sip"] = ["max_message_bytes": 100]
        XCTAssertThrowsError(try parse(o)) { XCTAssertTrue("\($0)".contains("sip.max_message_bytes"), "\($0)") }
    }

    func testSpeechBacklogLimit() throws {
        XCTAssertEqual(try parse(base()).ttsBacklogMilliseconds, 1000)
        var o = base()
        o["calls"] = ["tts_backlog_ms": 0]
        XCTAssertEqual(try parse(o).ttsBacklogMilliseconds, 0, "0: never refuse for it")
        o["calls"] = ["tts_backlog_ms": 60_001]
        assertError(o, keyPath: "calls.tts_backlog_ms")
    }

    func testMissingFileAndBadJSON() {
        XCTAssertThrowsError(try ConfigLoader.load(path: "/nonexistent/tollfreed.json")) { e in
            XCTAssertTrue("\(e)".contains("cannot read file"), "\(e)")
        }
        XCTAssertThrowsError(try parse(json: "{ not json")) { e in
            XCTAssertTrue("\(e)".hasPrefix("test.json: not valid JSON"), "\(e)")
        }
        XCTAssertThrowsError(try parse(json: "[]")) { e in
            XCTAssertTrue("\(e)".contains("must be an object"), "\(e)")
        }
    }

    func testDefaultsAndRelativePaths() throws {
        var o = base()
        o["data_dir"] = "data"
        o["flows_dir"] = "../flows"
        let c = try parse(o)
        XCTAssertEqual(c.sipHost, "0.0.0.0")
        XCTAssertEqual(c.sipPort, 5070)
        XCTAssertEqual(c.dataDirectory, "/etc/tollfreed/data")
        XCTAssertEqual(c.flowsDirectory, "/etc/flows")
        XCTAssertEqual(c.numbers.first?.did, "+18005963057")
        XCTAssertEqual(c.numbers.first?.emergency, false)
        XCTAssertEqual(c.tenants.first?.plan, "starter")
        XCTAssertEqual(c.tenants.first?.name, "t1")
        XCTAssertEqual(c.rtpPorts, 20000...29999)
        XCTAssertEqual(c.ringMilliseconds, 0)
    }

    func testIPv6Listen() throws {
        var o = base()
        o["sip"] = ["listen": "[::1]:5062"]
        let c = try parse(o)
        XCTAssertEqual(c.sipHost, "::1")
        XCTAssertEqual(c.sipPort, 5062)
    }

    // MARK: - Errors name the key path

    func testUnknownTopLevelKey() {
        var o = base()
        o["sip_port"] = 5060
        assertError(o, keyPath: "sip_port", contains: "unknown key")
    }

    func testUnknownNestedKey() {
        var o = base()
        o["sip"] = ["listen": "0.0.0.0:5060", "lisen": "x"]
        assertError(o, keyPath: "sip.lisen", contains: "unknown key")
    }

    func testUnknownKeyInTenant() {
        var o = base()
        o["tenants"] = [["id": "t1", "industy": "legal"]]
        assertError(o, keyPath: "tenants[0].industy", contains: "unknown key")
    }

    func testBadIndustry() {
        var o = base()
        o["tenants"] = [["id": "t1", "industry": "retail"]]
        assertError(o, keyPath: "tenants[0].industry", contains: "'retail'")
    }

    func testBadTimeZone() {
        var o = base()
        o["tenants"] = [["id": "t1", "time_zone": "Mars/Olympus_Mons"]]
        assertError(o, keyPath: "tenants[0].time_zone", contains: "Mars/Olympus_Mons")
    }

    func testAuthTokenMustBeALongPrintableSecret() throws {
        var o = base()
        o["tenants"] = [["id": "t1", "auth_token": "short"]]
        assertError(o, keyPath: "tenants[0].auth_token", contains: "16 to 256")
        o["tenants"] = [["id": "t1", "auth_token": "has a space in the middle of it"]]
        assertError(o, keyPath: "tenants[0].auth_token", contains: "without spaces")
    }

    func testDuplicateTenant() {
        var o = base()
        o["tenants"] = [["id": "t1"], ["id": "t1"]]
        assertError(o, keyPath: "tenants[1].id", contains: "duplicate")
    }

    func testTenantsMustBeNonEmpty() {
        var o = base()
        o["tenants"] = [Any]()
        assertError(o, keyPath: "tenants", contains: "non-empty")
    }

    func testDuplicateNumberInAnotherForm() {
        var o = base()
        o["numbers"] = [["did": "8005963057", "tenant": "t1", "flow": "a.xml"],
                        ["did": "+1 (800) 596-3057", "tenant": "t1", "flow": "b.xml"]]
        assertError(o, keyPath: "numbers[1].did", contains: "duplicate number +18005963057")
    }

    func testNumberWithUnknownTenant() {
        var o = base()
        o["numbers"] = [["did": "8005963057", "tenant": "nobody", "flow": "a.xml"]]
        assertError(o, keyPath: "numbers[0].tenant", contains: "'nobody'")
    }

    func testInvalidDID() {
        var o = base()
        o["numbers"] = [["did": "555-1234", "tenant": "t1", "flow": "a.xml"]]
        assertError(o, keyPath: "numbers[0].did", contains: "not a valid telephone number")
    }

    func testNumberMissingFlow() {
        var o = base()
        o["numbers"] = [["did": "8005963057", "tenant": "t1"]]
        assertError(o, keyPath: "numbers[0].flow", contains: "required")
    }

    func testEmergencyMustBeBoolean() {
        var o = base()
        o["numbers"] = [["did": "8005963057", "tenant": "t1", "flow": "a.xml", "emergency": "yes"]]
        assertError(o, keyPath: "numbers[0].emergency")
        XCTAssertThrowsError(try parse(json: """
        {"tenants":[{"id":"t1"}],"numbers":[{"did":"8005963057","tenant":"t1","flow":"a.xml","emergency":1}]}
        """)) { e in XCTAssertTrue("\(e)".contains("numbers[0].emergency"), "\(e)") }
    }

    func testRingMsAsString() {
        var o = base()
        o["calls"] = ["ring_ms": "2000"]
        assertError(o, keyPath: "calls.ring_ms", contains: "integer")
    }

    func testRingMsAsBoolean() {
        XCTAssertThrowsError(try parse(json: """
        {"calls":{"ring_ms":true},"tenants":[{"id":"t1"}],"numbers":[]}
        """)) { e in
            XCTAssertTrue("\(e)".hasPrefix("test.json: calls.ring_ms: "), "\(e)")
        }
    }

    func testRingMsFractionalAndOutOfRange() {
        XCTAssertThrowsError(try parse(json: #"{"calls":{"ring_ms":1.5},"tenants":[{"id":"t1"}],"numbers":[]}"#))
        XCTAssertThrowsError(try parse(json: #"{"calls":{"ring_ms":-1},"tenants":[{"id":"t1"}],"numbers":[]}"#))
        XCTAssertThrowsError(try parse(json: #"{"calls":{"max_duration_s":5},"tenants":[{"id":"t1"}],"numbers":[]}"#))
        XCTAssertEqual(try parse(json: #"{"calls":{"ring_ms":3000},"tenants":[{"id":"t1"}],"numbers":[]}"#).ringMilliseconds, 3000)
    }

    func testListenWithoutPort() {
        var o = base()
        o["sip"] = ["listen": "127.0.0.1"]
        assertError(o, keyPath: "sip.listen", contains: "HOST:PORT")
        o["sip"] = ["listen": "127.0.0.1:99999"]
        assertError(o, keyPath: "sip.listen")
    }

    func testRTPPortsWithoutRange() {
        var o = base()
        o["media"] = ["rtp_ports": "5000"]
        assertError(o, keyPath: "media.rtp_ports", contains: "'5000'")
        o["media"] = ["rtp_ports": "1000-2000"]
        assertError(o, keyPath: "media.rtp_ports", contains: "'1000-2000'")
    }

    func testPacerPriority() throws {
        XCTAssertEqual(try ConfigLoader.load(path: shippedConfig).pacerPriority, 10)
        var o = base()
        o["media"] = ["pacer_priority": 0]
        XCTAssertEqual(try parse(o).pacerPriority, 0)
        o["media"] = ["pacer_priority": 100]
        assertError(o, keyPath: "media.pacer_priority")
    }

    func testEmptyStringValue() {
        var o = base()
        o["data_dir"] = ""
        assertError(o, keyPath: "data_dir", contains: "non-empty string")
    }

    func testBadLogLevel() {
        var o = base()
        o["log_level"] = "verbose"
        assertError(o, keyPath: "log_level")
    }

    func testTrunksTenantTrunkAndEmergencyRouting() throws {
        var o = base()
        o["trunks"] = [["name": "a", "uri": "sip:{number}@192.0.2.10:5060"],
                       ["name": "b", "uri": "sip:{number}@192.0.2.11", "username": "u", "password": "p"]]
        o["tenants"] = [["id": "t1", "trunk": "b"]]
        o["emergency"] = ["failover_timeout_ms": 4000, "last_resort": "sip:supervisor@192.0.2.12"]
        let c = try parse(o)
        XCTAssertEqual(c.trunks.map(\.name), ["a", "b"])
        XCTAssertEqual(c.trunks[1].uri(for: "+12025550123"), "sip:+12025550123@192.0.2.11")
        XCTAssertEqual(c.trunks[1].username, "u")
        XCTAssertEqual(c.tenants[0].trunk, "b")
        XCTAssertEqual(c.emergencyFailoverMilliseconds, 4000)
        XCTAssertEqual(c.emergencyLastResort, "sip:supervisor@192.0.2.12")
    }

    func testMessagingWebhookAndBillingIncrement() throws {
        var o = base()
        o["tenants"] = [["id": "t1", "billing_increment": "6/6"]]
        o["numbers"] = [["did": "8005963057", "tenant": "t1", "flow": "f.xml", "messaging_webhook": "https://app.example/sms"]]
        let c = try parse(o)
        XCTAssertEqual(c.tenants[0].billingIncrement, "6/6")
        XCTAssertEqual(c.numbers[0].messagingWebhook, "https://app.example/sms")
        o["tenants"] = [["id": "t1", "billing_increment": "6"]]
        assertError(o, keyPath: "tenants[0].billing_increment", contains: "FIRST/NEXT")
        o["tenants"] = [["id": "t1"]]
        o["numbers"] = [["did": "8005963057", "tenant": "t1", "flow": "f.xml", "messaging_webhook": "app.example/sms"]]
        assertError(o, keyPath: "numbers[0].messaging_webhook", contains: "http(s) URL")
    }

    func testBadTrunks() {
        var o = base()
        o["trunks"] = [["name": "a", "uri": "sip:gateway@192.0.2.10"]]
        assertError(o, keyPath: "trunks[0].uri", contains: "{number}")
        o["trunks"] = [["name": "a", "uri": "sip:{number}@h", "username": "u"]]
        assertError(o, keyPath: "trunks[0]", contains: "together")
        o["trunks"] = [["name": "a", "uri": "sip:{number}@h"], ["name": "a", "uri": "sip:{number}@h2"]]
        assertError(o, keyPath: "trunks[1].name", contains: "duplicate")
        o["trunks"] = [["name": "a", "uri": "sip:{number}@h"]]
        o["tenants"] = [["id": "t1", "trunk": "nope"]]
        assertError(o, keyPath: "tenants[0].trunk", contains: "unknown trunk")
        var e = base()
        e["emergency"] = ["last_resort": "+12025550123"]
        assertError(e, keyPath: "emergency.last_resort", contains: "SIP URI")
        e["emergency"] = ["failover_timeout_ms": 10]
        assertError(e, keyPath: "emergency.failover_timeout_ms")
    }

    func testHostPortAndPortRangeHelpers() {
        XCTAssertEqual(ConfigLoader.hostPort("example.com:5060").map { "\($0.0)|\($0.1)" }, "example.com|5060")
        XCTAssertNil(ConfigLoader.hostPort(":5060"))
        XCTAssertNil(ConfigLoader.hostPort("[::1]5060"))
        // Regression: an unbracketed IPv6 address was read as host ":" port 1.
        XCTAssertNil(ConfigLoader.hostPort("::1"))
        XCTAssertNil(ConfigLoader.hostPort("2001:db8::1"))
        XCTAssertEqual(ConfigLoader.hostPort("[2001:db8::1]:5060").map { "\($0.0)|\($0.1)" }, "2001:db8::1|5060")
        // Regression: "1024--2000" was accepted as 1024...2000.
        XCTAssertNil(ConfigLoader.portRange("1024--2000"))
        XCTAssertNil(ConfigLoader.portRange("-1024-2000"))
        XCTAssertEqual(ConfigLoader.portRange("1024-1025"), 1024...1025)
        XCTAssertNil(ConfigLoader.portRange("2000-2000"))
        XCTAssertNil(ConfigLoader.portRange("2000-70000"))
    }
}

final class CommandLineParserTests: XCTestCase {
    private func parse(_ args: [String]) throws(UsageError) -> Command {
        try CommandLineParser.parse(args, defaultConfig: "default.json")
    }

    private func assertUsageError(_ args: [String], contains fragment: String,
                                  file: StaticString = #filePath, line: UInt = #line) {
        do {
            let c = try parse(args)
            XCTFail("expected UsageError for \(args), got \(c)", file: file, line: line)
        } catch {
            XCTAssertTrue(error.description.contains(fragment), error.description, file: file, line: line)
        }
    }

    func testRunWithAllOverrides() throws {
        let c = try parse(["run", "--config", "/etc/x.json", "--sip", "0.0.0.0:5080", "--rtp-ports", "30000-30100",
                           "--data", "/srv/tf", "--log-level", "debug"])
        var expected = RunOptions(configPath: "/etc/x.json")
        expected.sip = ("0.0.0.0", 5080)
        expected.rtpPorts = 30000...30100
        expected.dataDirectory = "/srv/tf"
        expected.logLevel = "debug"
        XCTAssertEqual(c, .run(expected))
        guard case .run(let o) = c else { return }
        XCTAssertEqual(o.sip?.host, "0.0.0.0")
        XCTAssertEqual(o.sip?.port, 5080)
    }

    func testRunWithDefaults() throws {
        XCTAssertEqual(try parse(["run"]), .run(RunOptions(configPath: "default.json")))
        XCTAssertNotEqual(try parse(["run", "--log-level", "error"]), .run(RunOptions(configPath: "default.json")))
    }

    func testUnknownFlag() {
        assertUsageError(["run", "--verbose"], contains: "unknown option '--verbose'")
        assertUsageError(["check-config", "--sip", "x"], contains: "unknown option '--sip'")
        assertUsageError(["cdr", "export", "--since", "x"], contains: "unknown option '--since'")
    }

    func testUnknownAndMissingCommand() {
        assertUsageError(["start"], contains: "unknown command 'start'")
        assertUsageError([], contains: "missing command")
        assertUsageError(["cdr"], contains: "expected 'export'")
    }

    func testSipWithoutPort() {
        assertUsageError(["run", "--sip", "127.0.0.1"], contains: "--sip must be HOST:PORT")
    }

    func testFlagWithoutValue() {
        assertUsageError(["run", "--config"], contains: "--config needs a value")
        assertUsageError(["run", "--data", "--log-level", "info"], contains: "--data needs a value")
    }

    func testInvertedRTPPortRange() {
        assertUsageError(["run", "--rtp-ports", "2000-1000"], contains: "--rtp-ports")
    }

    func testBadLogLevel() {
        assertUsageError(["run", "--log-level", "loud"], contains: "--log-level")
    }

    func testCDRExportFormats() throws {
        XCTAssertEqual(try parse(["cdr", "export", "--format", "jsonl"]), .cdrExport(ExportOptions(format: .jsonl)))
        XCTAssertEqual(try parse(["cdr", "export", "--format", "csv", "--config", "c.json", "--data", "/d"]),
                       .cdrExport(ExportOptions(format: .csv, configPath: "c.json", dataDirectory: "/d")))
        XCTAssertEqual(try parse(["cdr", "export"]), .cdrExport(ExportOptions()))
        assertUsageError(["cdr", "export", "--format", "xml"], contains: "--format must be csv or jsonl, got 'xml'")
    }

    func testExportPeriodFiltersAndSMSExport() throws {
        let from = try XCTUnwrap(ExportTime.parse("2026-11-01"))
        let to = try XCTUnwrap(ExportTime.parse("2026-12-01T05:00:00Z"))
        XCTAssertEqual(from.timeIntervalSince1970, 1_793_491_200)
        XCTAssertEqual(to.timeIntervalSince(from), 30 * 86_400 + 5 * 3600)
        XCTAssertEqual(try parse(["sms", "export", "--from", "2026-11-01", "--to", "2026-12-01T05:00:00Z"]),
                       .smsExport(ExportOptions(from: from, to: to)))
        assertUsageError(["cdr", "export", "--from", "yesterday"], contains: "--from must be a date")
        assertUsageError(["sms", "list"], contains: "expected 'export'")
    }

    func testBillOptions() throws {
        XCTAssertEqual(try parse(["bill", "--period", "2026-11", "--tenant", "t1", "--format", "csv", "--cdrs", "c.csv", "--2fa", "u.jsonl"]),
                       .bill(BillOptions(period: "2026-11", tenant: "t1", format: "csv", cdrsPath: "c.csv", twoFactorPath: "u.jsonl")))
        assertUsageError(["bill"], contains: "--period")
        assertUsageError(["bill", "--period", "2026-13"], contains: "--period must be YYYY-MM")
        assertUsageError(["bill", "--period", "2026-11", "--format", "pdf"], contains: "table, csv or json")
    }

    func testSayOptions() throws {
        XCTAssertEqual(try parse(["say", "--out", "p.wav", "Hello", "there"]),
                       .say(text: "Hello there", voice: "alice", language: "en-US", out: "p.wav"))
        XCTAssertEqual(try parse(["say", "--language", "es-MX", "--voice", "man", "--out", "p.wav", "Hola"]),
                       .say(text: "Hola", voice: "man", language: "es-MX", out: "p.wav"))
        assertUsageError(["say", "Hello"], contains: "--out")
        assertUsageError(["say", "--out", "p.wav"], contains: "text to speak")
        assertUsageError(["say", "--speed", "2", "--out", "p.wav", "Hi"], contains: "unknown option '--speed'")
    }

    func testHelpVersionAndCheckConfig() throws {
        for a in ["--help", "-h", "help"] { XCTAssertEqual(try parse([a]), .help) }
        for a in ["--version", "-V", "version"] { XCTAssertEqual(try parse([a]), .version) }
        XCTAssertEqual(try parse(["check-config"]), .checkConfig(configPath: "default.json"))
        XCTAssertEqual(try parse(["check-config", "--config", "/etc/t.json"]), .checkConfig(configPath: "/etc/t.json"))
    }

    func testDefaultConfigPath() {
        XCTAssertEqual(CommandLineParser.defaultConfigPath(fileExists: { _ in true }), "Config/tollfreed.json")
        XCTAssertEqual(CommandLineParser.defaultConfigPath(fileExists: { _ in false }), "/etc/tollfreed/tollfreed.json")
    }
}
