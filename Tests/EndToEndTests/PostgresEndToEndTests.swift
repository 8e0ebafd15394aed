import Foundation
import XCTest

/// The real daemon with `storage: postgres` against a PostgreSQL the test starts: records
/// land once with their node, `bill` from the database equals `bill` over an export, an
/// outage under sipp load loses and doubles nothing while calls go on being answered,
/// and a full spool refuses ordinary calls but not emergency calls.
final class PostgresEndToEndTests: XCTestCase {
    private func daemon(_ pg: PostgresServer, node: String = "e2e-node-1", spoolMax: Int? = nil, rtpPorts: Int = 100,
                        extra: ((inout [String: Any]) -> Void)? = nil) throws -> DaemonUnderTest {
        try DaemonUnderTest(ringMs: 0, rtpPorts: rtpPorts) { cfg in
            var storage: [String: Any] = ["kind": "postgres", "url": pg.url]
            if let spoolMax { storage["spool_max_bytes"] = spoolMax }
            cfg["storage"] = storage
            cfg["node"] = ["id": node, "lease_grace_s": 30]
            extra?(&cfg)
        }
    }

    /// `tollfreed cdr export` / `sms export` with the daemon's config (so: from PostgreSQL).
    private func export(_ d: DaemonUnderTest, _ what: String = "cdr", format: String = "jsonl") -> (status: Int32, output: String) {
        runProgram(Paths.daemon, [what, "export", "--format", format, "--config", d.configPath.path, "--data", d.dataDir.path])
    }

    /// A gauge's value from the daemon's /metrics.
    private func gauge(_ d: DaemonUnderTest, _ name: String) -> Double? {
        guard let body = d.httpGet("/metrics")?.body else { return nil }
        let line = body.split(separator: "\n").first { $0.hasPrefix(name + " ") }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    func testRecordsLandOnceWithTheirNodeAndBillMatchesTheExport() throws {
        let pg = try PostgresServer()
        defer { pg.destroy() }
        let d = try daemon(pg)
        defer { d.stop() }
        for i in 0..<2 {
            XCTAssertEqual(d.sipp("uac_listen.xml", dial: "8005963057", tag: "pgbill-\(i)", extra: ["-d", "1500"]).status, 0)
        }
        XCTAssertEqual(d.sipp("uac_expect_404.xml", dial: "8005550199", tag: "pgbill-404").status, 0)
        let caller = RawSIPCaller(daemonPort: d.sipPort)
        XCTAssertEqual(caller.message(to: "8005963057", body: Array("Hello".utf8)), 200)
        XCTAssertEqual(d.stop(), 0)
        XCTAssertTrue(d.logShows("cdr.store kind=postgres"), d.logText)

        XCTAssertEqual(try pg.psql("SELECT count(*), count(DISTINCT call_id), count(*) FILTER (WHERE node = 'e2e-node-1') FROM calls"), "3|3|3")
        XCTAssertEqual(try pg.psql("SELECT disposition, count(*) FROM calls GROUP BY 1 ORDER BY 1"), "completed|2\nrejected|1")
        XCTAssertEqual(try pg.psql("SELECT node, segments FROM messages"), "e2e-node-1|1")
        XCTAssertEqual(try pg.psql("SELECT node FROM nodes"), "e2e-node-1", "the node's lease")
        let exported = export(d)
        XCTAssertEqual(exported.status, 0, exported.output)
        XCTAssertEqual(exported.output.split(separator: "\n").count, 3)
        XCTAssertFalse(FileManager.default.fileExists(atPath: d.dataDir.appendingPathComponent("cdr.sqlite").path), "nothing went to SQLite")

        // bill from PostgreSQL equals bill over export files of the same records.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-pgbill-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(export(d, format: "csv").output.utf8).write(to: dir.appendingPathComponent("cdrs.csv"))
        try Data(export(d, "sms").output.utf8).write(to: dir.appendingPathComponent("sms.jsonl"))
        let common = ["bill", "--period", currentPeriod(), "--format", "json", "--config", d.configPath.path,
                      "--plans", Paths.repo.appendingPathComponent("Config/plans.json").path]
        let live = runProgram(Paths.daemon, common + ["--data", d.dataDir.path])
        let offline = runProgram(Paths.daemon, common + ["--cdrs", dir.appendingPathComponent("cdrs.csv").path,
                                                         "--messages", dir.appendingPathComponent("sms.jsonl").path])
        XCTAssertEqual(live.status, 0, live.output)
        XCTAssertEqual(offline.status, 0, offline.output)
        XCTAssertEqual(live.output, offline.output, "the same invoices")
        // Every export is on the database's audit trail (three exports above: cdr jsonl,
        // cdr csv, sms), naming the node's config and the range.
        XCTAssertEqual(try pg.psql("SELECT action, count(*) FROM audit_events GROUP BY 1 ORDER BY 1"),
                       "messages.exported|1\nrecords.exported|2")
        XCTAssertEqual(try pg.psql("SELECT DISTINCT node FROM audit_events"), "e2e-node-1")
        XCTAssertEqual(try pg.psql("SELECT count(*) FROM audit_events WHERE detail LIKE 'from=- to=- format=%' AND actor LIKE 'cli %'"), "3")
        XCTAssertTrue(live.output.contains("\"calls\": 2,"), "the two answered calls are rated: \(live.output)")

        // A reader facing an unreachable database says so (exit 1), naming it.
        try pg.stop()
        let down = export(d)
        XCTAssertEqual(down.status, 1)
        XCTAssertTrue(down.output.contains("cannot connect to postgresql://tollfreed@127.0.0.1:\(pg.port)"), down.output)
    }

    func testADatabaseOutageUnderLoadLosesNothingAndCallsGoOn() throws {
        let pg = try PostgresServer()
        defer { pg.destroy() }
        let d = try daemon(pg, rtpPorts: 400) { cfg in
            cfg["calls"] = ["max_concurrent": 150, "ring_ms": 0, "drain_s": 0]
            var sip = cfg["sip"] as? [String: Any] ?? [:]
            sip["invite_rate_per_source"] = 0
            cfg["sip"] = sip
        }
        defer { d.stop() }
        // 120 calls at 8 per second, 2 s each: about 17 s of traffic.
        let calls = 120
        let load = Mutex<(status: Int32, output: String)>((-1, ""))
        let done = DispatchSemaphore(value: 0)
        Thread {
            let r = runProgram("/usr/bin/sipp", [
                "127.0.0.1:\(d.sipPort)", "-sf", Paths.scenarios.appendingPathComponent("uac_listen.xml").path,
                "-s", "8005963057", "-m", "\(calls)", "-r", "8", "-l", "40", "-d", "2000", "-p", "\(freePort())", "-i", "127.0.0.1",
                "-key", "rtpport", "9", "-key", "caller", "+15551230000", "-cid_str", "pgload-%u-%p@%s",
                "-nostdin", "-timeout", "60s", "-timeout_error"], timeout: 70)
            load.withLock { $0 = r }
            done.signal()
        }.start()
        sleep(3)
        try pg.stop()
        // Calls keep coming while PostgreSQL is away; their records go to the spool.
        XCTAssertTrue(waitUntil(timeout: 8) { self.gauge(d, "tollfreed_record_store_up") == 0 }, "the outage shows in /metrics")
        XCTAssertGreaterThan(gauge(d, "tollfreed_record_spool_bytes") ?? 0, 0)
        sleep(5)
        try pg.start()
        done.wait()
        let sipp = load.withLock { $0 }
        XCTAssertEqual(sipp.status, 0, "every call answered and ended cleanly:\n\(sipp.output.suffix(1500))")
        XCTAssertTrue(waitUntil(timeout: 20) { self.gauge(d, "tollfreed_record_spool_bytes") == 0 && self.gauge(d, "tollfreed_record_store_up") == 1 },
                      "the spool is replayed\n\(d.logText.suffix(2000))")
        XCTAssertEqual(d.stop(), 0)
        XCTAssertTrue(d.logShows("cdr.database_unreachable"))
        XCTAssertTrue(d.logShows("cdr.spool_replayed"))
        let counts = try pg.psql("""
            SELECT count(*), count(DISTINCT sip_call_id), count(*) FILTER (WHERE disposition = 'completed' AND node = 'e2e-node-1')
            FROM calls WHERE sip_call_id LIKE 'pgload-%'
            """)
        XCTAssertEqual(counts, "\(calls)|\(calls)|\(calls)", "every call once, finished, with its node")
    }

    func testAFullSpoolRefusesOrdinaryCallsButNotEmergencies() throws {
        // The daemon starts while PostgreSQL is down: it answers, spooling.
        let pg = try PostgresServer()
        defer { pg.destroy() }
        try pg.stop()
        let d = try daemon(pg, spoolMax: 1024)
        defer { d.stop() }
        XCTAssertTrue(d.logShows("cdr.database_unreachable"), d.logText)
        XCTAssertTrue(d.logShows("cdr.recovery_deferred"), d.logText)
        XCTAssertEqual(d.sipp("uac_listen.xml", dial: "8005963057", tag: "bk-1", extra: ["-d", "300"]).status, 0, "answered while spooling")
        XCTAssertTrue(waitUntil(timeout: 10) { (self.gauge(d, "tollfreed_record_spool_bytes") ?? 0) >= 1024 }, "the spool is past its bound")
        XCTAssertEqual(d.sipp("uac_expect_503.xml", dial: "2082792555", tag: "bk-2").status, 0, "an ordinary call is refused")
        XCTAssertEqual(d.sipp("uac_emergency_listen.xml", dial: "2082792555", tag: "bk-e", extra: ["-d", "300"]).status, 0,
                       "an emergency call is still answered")
        XCTAssertTrue(d.logShows("reason=\"records backlog full\""), d.logText)

        try pg.start()
        XCTAssertTrue(waitUntil(timeout: 20) { self.gauge(d, "tollfreed_record_spool_bytes") == 0 }, "replayed\n\(d.logText.suffix(1500))")
        XCTAssertEqual(d.sipp("uac_listen.xml", dial: "8005963057", tag: "bk-3", extra: ["-d", "300"]).status, 0, "admission reopens")
        XCTAssertEqual(d.stop(), 0)
        let rows = try pg.psql("SELECT split_part(sip_call_id, '-', 1), disposition, emergency FROM calls ORDER BY seq")
        XCTAssertEqual(rows, "bk|completed|f\nbk|completed|t\nbk|completed|f", "each admitted call once; the refused one has no record")
    }
}
