import Foundation
import XCTest

/// Prometheus's own checker on what ops load into Prometheus: the alert rules
/// (`promtool check rules`), their unit tests (`promtool test rules`,
/// `Config/alerts.test.yml`: a firing case per alert), the daemon's `/metrics` text after
/// real calls (`promtool check metrics`), and the Grafana dashboard's queries.
final class PromtoolTests: XCTestCase {
    private let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    private let promtool = "/usr/bin/promtool"

    func testAlertRulesPassPromtoolAndTheirUnitTests() throws {
        let config = repo.appendingPathComponent("Config")
        let check = runProgram(promtool, ["check", "rules", config.appendingPathComponent("alerts.yml").path])
        XCTAssertEqual(check.status, 0, check.output)
        XCTAssertTrue(check.output.contains("SUCCESS: 12 rules found"), check.output)
        let tests = runProgram(promtool, ["test", "rules", "alerts.test.yml", "alerts-weekly.test.yml"], cwd: config)
        XCTAssertEqual(tests.status, 0, tests.output)
        XCTAssertTrue(tests.output.contains("SUCCESS"), tests.output)
    }

    /// Every alert has at least one test, and the tests can fail: the same tests against
    /// rules with their thresholds moved must report the alerts that no longer fire.
    func testEveryAlertIsTestedAndTheTestsCanFail() throws {
        let rules = try String(contentsOf: repo.appendingPathComponent("Config/alerts.yml"), encoding: .utf8)
        let files = ["alerts.test.yml", "alerts-weekly.test.yml"]
        let texts = try files.map { try String(contentsOf: repo.appendingPathComponent("Config/\($0)"), encoding: .utf8) }
        let tests = texts.joined(separator: "\n")
        let alerts = rules.split(separator: "\n").compactMap { line -> String? in
            let t = line.trimmingCharacters(in: .whitespaces)
            return t.hasPrefix("- alert: ") ? String(t.dropFirst("- alert: ".count)) : nil
        }
        XCTAssertEqual(alerts.count, 12)
        for a in alerts { XCTAssertTrue(tests.contains("alertname: \(a)\n"), "no test for \(a)") }

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("promtool-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let moved = rules.replacingOccurrences(of: "> 0.01\n", with: "> 0.5\n")
            .replacingOccurrences(of: "> 0.2\n", with: "> 0.9\n")
            .replacingOccurrences(of: "offset 1w)) > 10\n", with: "offset 1w)) > 100\n")
        XCTAssertNotEqual(moved, rules)
        try moved.write(to: dir.appendingPathComponent("alerts.yml"), atomically: true, encoding: .utf8)
        for (name, text) in zip(files, texts) { try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        let run = runProgram(promtool, ["test", "rules"] + files, cwd: dir)
        XCTAssertNotEqual(run.status, 0, run.output)
        for a in ["TollfreedCallErrorRateOver1Percent", "TollfreedAnswerLatencyOver200ms", "TollfreedMediaClockLate", "TollfreedCallVolumeDropPerNumber"] {
            XCTAssertTrue(run.output.contains("alertname: \(a)"), "moving \(a)'s threshold must fail its test: \(run.output)")
        }
    }

    func testMetricsTextPassesPromtoolAfterCalls() throws {
        let d = try DaemonUnderTest(ringMs: 0)
        defer { d.stop() }
        XCTAssertEqual(d.sipp("uac_caller_bye.xml", dial: "8005963057", tag: "promtool-1").status, 0)
        XCTAssertEqual(d.sipp("uac_expect_404.xml", dial: "8005550199", tag: "promtool-404").status, 0)
        XCTAssertTrue(waitUntil(timeout: 10) { d.metric("tollfreed_calls_active") == 0 }, "the calls have ended")
        let scrape = try XCTUnwrap(d.httpGet("/metrics"))
        XCTAssertEqual(scrape.status, 200)
        XCTAssertTrue(scrape.body.contains("tollfreed_calls_total{"), "the scrape carries the calls' labels")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID().uuidString).txt")
        try scrape.body.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        // promtool reads the exposition from stdin; it prints each problem and exits 1.
        let check = runProgram("/bin/sh", ["-c", "\(promtool) check metrics < '\(file.path)'"])
        XCTAssertEqual(check.status, 0, check.output)
        XCTAssertEqual(check.output.trimmingCharacters(in: .whitespacesAndNewlines), "", check.output)
        try checkDashboard(againstScrape: scrape.body)
    }

    /// Config/grafana/tollfreed.json: every query is PromQL promtool accepts (as recording
    /// rules) and names only metrics the daemon exports.
    private func checkDashboard(againstScrape scrape: String) throws {
        let data = try Data(contentsOf: repo.appendingPathComponent("Config/grafana/tollfreed.json"))
        let dashboard = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let panels = try XCTUnwrap(dashboard["panels"] as? [[String: Any]])
        let exprs = panels.flatMap { ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String } }
        XCTAssertGreaterThanOrEqual(exprs.count, 10)
        let exported = Set(scrape.split(separator: "\n").compactMap { line -> String? in
            line.hasPrefix("# TYPE ") ? String(line.split(separator: " ")[2]) : nil
        })
        let name = try NSRegularExpression(pattern: "tollfreed_[a-z0-9_]+")
        var rules = "groups:\n  - name: dashboard\n    rules:\n"
        for (k, expr) in exprs.enumerated() {
            let concrete = expr.replacingOccurrences(of: "$instance", with: ".*")
            rules += "      - record: dashboard:query\(k)\n        expr: '\(concrete.replacingOccurrences(of: "'", with: "''"))'\n"
            for m in name.matches(in: expr, range: NSRange(expr.startIndex..., in: expr)) {
                var metric = String(expr[Range(m.range, in: expr)!])
                for suffix in ["_bucket", "_count", "_sum"] where metric.hasSuffix(suffix) && !exported.contains(metric) {
                    metric = String(metric.dropLast(suffix.count))
                }
                XCTAssertTrue(exported.contains(metric), "the dashboard queries \(metric), which the daemon does not export")
            }
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("dashboard-\(UUID().uuidString).yml")
        try rules.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let check = runProgram(promtool, ["check", "rules", file.path])
        XCTAssertEqual(check.status, 0, check.output)
    }
}
