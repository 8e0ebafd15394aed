import Foundation
import XCTest

/// The cluster: a real Kamailio (the shipped dispatcher config) in front of three real
/// tollfreed nodes on 127.0.0.2-4, driven by sipp through the proxy. Calls spread over
/// the nodes, survive a node's `kill -9` (a live node closes its calls) and SIGTERM, and a
/// PostgreSQL outage; emergency calls reach the node with room. The nodes share one real
/// PostgreSQL (node1...node3): every call has exactly one record in it, with its node.
final class ClusterEndToEndTests: XCTestCase {
    func testTwoHundredCallsSpreadOverThreeNodesWithOneRecordEach() throws {
        let c = try ClusterUnderTest()
        defer { c.stop() }
        let run = c.proxy.load(tag: "spread", calls: 200, rate: 40, holdMs: 1000)
        XCTAssertEqual(run.status, 0, "no call failed:\n\(run.output.suffix(2500))")
        XCTAssertEqual(run.completed.count, 200)
        XCTAssertTrue(waitUntil(timeout: 15) { c.records(tag: "spread").joined().count(where: Self.isCompleted) == 200 },
                      "every record is written")
        let perNode = c.records(tag: "spread")
        print("cluster: 200 calls per node: \(perNode.map(\.count))")
        XCTAssertTrue(perNode.allSatisfy { !$0.isEmpty }, "each node answered some calls: \(perNode.map(\.count))")
        let ids = Self.callIDs(perNode.joined())
        XCTAssertEqual(run.completed.subtracting(ids).sorted(), [], "every completed call has a record")
        XCTAssertEqual(ids.count, 200, "and only one")
        XCTAssertTrue(perNode.joined().allSatisfy(Self.isCompleted))
        for (i, n) in c.nodes.enumerated() {
            let sent = c.proxy.dispatches.filter { $0.destination == "sip:\(n.host):\(n.sipPort)" }.count
            XCTAssertEqual(sent, perNode[i].count, "node \(i + 1) answered every call the proxy sent it")
        }
        // In the one shared database: each call exactly once, with the node that handled it.
        XCTAssertEqual(try c.pg.psql("""
            SELECT count(*), count(DISTINCT call_id), count(DISTINCT sip_call_id), count(DISTINCT node)
            FROM calls WHERE sip_call_id LIKE 'spread-%'
            """), "200|200|200|3")
        XCTAssertEqual(try c.pg.psql("SELECT string_agg(node, ',' ORDER BY node) FROM nodes"), "node1,node2,node3", "each node's lease")

        // bill reading PostgreSQL (any node's config) equals bill over `cdr export` files.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-clusterbill-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let node = c.nodes[1]
        func export(_ what: String, _ format: String) throws -> String {
            let r = runProgram(Paths.daemon, [what, "export", "--format", format, "--config", node.configPath.path, "--data", node.dataDir.path])
            XCTAssertEqual(r.status, 0, r.output)
            return r.output
        }
        let csv = try export("cdr", "csv")
        XCTAssertEqual(csv.split(separator: "\n").count, 201, "a header and the 200 records")
        try Data(csv.utf8).write(to: dir.appendingPathComponent("cdrs.csv"))
        try Data(try export("sms", "jsonl").utf8).write(to: dir.appendingPathComponent("sms.jsonl"))
        for format in ["json", "table"] {
            let common = ["bill", "--period", currentPeriod(), "--format", format,
                          "--plans", Paths.repo.appendingPathComponent("Config/plans.json").path]
            let live = runProgram(Paths.daemon, common + ["--config", node.configPath.path, "--data", node.dataDir.path])
            let offline = runProgram(Paths.daemon, common + ["--cdrs", dir.appendingPathComponent("cdrs.csv").path,
                                                             "--messages", dir.appendingPathComponent("sms.jsonl").path])
            XCTAssertEqual(live.status, 0, live.output)
            XCTAssertEqual(offline.status, 0, offline.output)
            XCTAssertEqual(live.output, offline.output, "the same \(format) invoices from PostgreSQL and from the export")
            if format == "json" { XCTAssertTrue(live.output.contains("\"calls\": 200,"), "the 200 calls are rated: \(live.output.prefix(1500))") }
        }
    }

    func testKillNineUnderLoadFailsOverAndLosesNoCall() throws {
        let c = try ClusterUnderTest()
        defer { c.stop() }
        let victim = c.nodes[0], victimURI = "sip:\(victim.host):\(victim.sipPort)"
        let result = Mutex<KamailioDispatcher.LoadResult?>(nil)
        let load = Thread { let r = c.proxy.load(tag: "kill", calls: 200, rate: 20, holdMs: 2000); result.withLock { $0 = r } }
        load.start()
        XCTAssertTrue(waitUntil(timeout: 30) { c.proxy.dispatches.count(where: { $0.destination == victimURI }) >= 15 })
        let killTime = Date().timeIntervalSince1970
        victim.kill9()
        while load.isExecuting { usleep(50_000) }
        let run = try XCTUnwrap(result.withLock { $0 })
        // The dead node stays dead: a live node closes its calls in flight once its lease
        // (15 s after its last write) has been over for lease_grace_s.
        let active = { try? c.pg.psql("SELECT count(*) FROM calls WHERE node = 'node1' AND disposition = 'active'") }
        XCTAssertTrue(waitUntil(timeout: 40) { active() == "0" }, "the dead node's active calls are closed: \(active() ?? "?")")
        let closedAfter = Date().timeIntervalSince1970 - killTime
        let takers = c.nodes.dropFirst().filter { $0.logText.contains("cdr.taken_over") }
        print(String(format: "cluster: kill -9 -> the dead node's active records closed interrupted by a live node after %.1f s (lease 15 s + grace %d s)",
                     closedAfter, ClusterUnderTest.leaseGrace))
        XCTAssertFalse(takers.isEmpty, "a live node logged cdr.taken_over")
        XCTAssertGreaterThan(Int(try c.pg.psql("SELECT count(*) FROM calls WHERE node = 'node1' AND sip_call_id LIKE 'kill-%' AND disposition = 'interrupted'")) ?? 0, 0,
                             "calls were up on the node when it died")

        let dispatches = c.proxy.dispatches
        let down = try XCTUnwrap(c.proxy.downTimes(of: victimURI).first { $0 >= killTime }, "the proxy took the node out")
        let sentToDead = dispatches.filter { $0.destination == victimURI && $0.time >= killTime }
        print(String(format: "cluster: kill -9 -> node out of rotation after %.0f ms; %d INVITEs reached the dead node first and failed over",
                     (down - killTime) * 1000, sentToDead.count))
        XCTAssertFalse(sentToDead.contains { $0.time > down + 0.05 }, "nothing is sent to the node once it is out")
        var firstDispatch: [String: Double] = [:]
        for d in dispatches where firstDispatch[d.callID] == nil { firstDispatch[d.callID] = d.time }
        let startedAfterKill = firstDispatch.filter { $0.value > killTime }.map(\.key)
        XCTAssertFalse(startedAfterKill.isEmpty)
        XCTAssertEqual(Set(startedAfterKill).subtracting(run.completed), [], "every call placed after the kill succeeded")

        try checkRecordsAfterKill(c, run: run, victimURI: victimURI, killTime: killTime)
    }

    /// After the kill: one record per call, none twice; the calls that failed were up on the
    /// killed node (closed `interrupted` by a live node); completed calls are completed.
    private func checkRecordsAfterKill(_ c: ClusterUnderTest, run: KamailioDispatcher.LoadResult,
                                       victimURI: String, killTime: Double) throws {
        let all = (1...200).map { "kill-\($0)@tf" }
        let byID = Dictionary(grouping: c.records(tag: "kill").enumerated().flatMap { i, rs in rs.map { (i, $0) } }) {
            $0.1["sip_call_id"] as? String ?? ""
        }
        XCTAssertEqual(try c.pg.psql("SELECT count(*) - count(DISTINCT call_id) FROM calls WHERE sip_call_id LIKE 'kill-%'"), "0")
        XCTAssertTrue(byID.values.allSatisfy { $0.count == 1 }, "no call has two records: \(byID.filter { $0.value.count > 1 }.keys.sorted())")
        // The node sends its 200 before the writer has committed the call's first record, so
        // a call it answered in the last moment before dying can have none (see docs/operations.md, Cluster).
        let lastSent = Dictionary(c.proxy.dispatches.filter { $0.destination == victimURI }.map { ($0.callID, $0.time) },
                                  uniquingKeysWith: max)
        let unrecorded = Set(all).subtracting(byID.keys)
        let inCommitWindow = unrecorded.filter { (lastSent[$0] ?? 0) > killTime - 0.2 }
        XCTAssertEqual(unrecorded.subtracting(inCommitWindow).sorted(), [], "every call has a record")
        if !inCommitWindow.isEmpty { print("cluster: \(inCommitWindow.count) call(s) answered just before the kill have no record") }
        let failed = Set(all).subtracting(run.completed).subtracting(inCommitWindow)
        print("cluster: \(run.completed.count) calls completed, \(failed.count) were up on the killed node")
        for id in failed {
            XCTAssertEqual(byID[id]?.first?.0, 0, "\(id) failed only because its node died")
            XCTAssertEqual(byID[id]?.first?.1["disposition"] as? String, "interrupted", id)
        }
        for id in run.completed {
            let (node, r) = try XCTUnwrap(byID[id]?.first, id)
            XCTAssertTrue(Self.isCompleted(r) || (node == 0 && r["disposition"] as? String == "interrupted"), "\(id): \(r)")
        }
    }

    /// PostgreSQL goes away for `outage` seconds under a sipp load through the dispatcher:
    /// every node keeps answering (its records go to its own spool), and once the database
    /// is back every call is in it once, finished, with its node; no live node takes the
    /// others' calls over although every lease ran out during the outage.
    func testDatabaseOutageUnderLoadThroughTheDispatcherLosesAndDoublesNothing() throws {
        let c = try ClusterUnderTest()
        defer { c.stop() }
        let outage: UInt32 = 30, rate = 8, calls = 8 * (3 + Int(outage) + 5)
        let result = Mutex<KamailioDispatcher.LoadResult?>(nil)
        let load = Thread { let r = c.proxy.load(tag: "pgout", calls: calls, rate: rate, holdMs: 1000); result.withLock { $0 = r } }
        load.start()
        sleep(3)
        let before = Int(try c.pg.psql("SELECT count(*) FROM calls WHERE sip_call_id LIKE 'pgout-%'")) ?? 0
        try c.pg.stop()
        let stopped = Date()
        XCTAssertTrue(waitUntil(timeout: 10) { c.nodes.allSatisfy { Self.gauge($0, "tollfreed_record_store_up") == 0 } },
                      "every node sees the outage")
        while Date().timeIntervalSince(stopped) < Double(outage) { usleep(100_000) }
        let spooled = c.nodes.map { Self.gauge($0, "tollfreed_record_spool_bytes") ?? 0 }
        try c.pg.start()
        let restarted = Date()
        print(String(format: "cluster: PostgreSQL down %.1f s under load (%d records in before); spools then %@ bytes",
                     restarted.timeIntervalSince(stopped), before, spooled.map { String(Int($0)) }.joined(separator: "/")))
        XCTAssertTrue(spooled.allSatisfy { $0 > 0 }, "each node spooled its records: \(spooled)")
        while load.isExecuting { usleep(50_000) }
        let run = try XCTUnwrap(result.withLock { $0 })
        XCTAssertEqual(run.status, 0, "every call answered and ended cleanly:\n\(run.output.suffix(2500))")
        XCTAssertEqual(run.completed.count, calls)
        XCTAssertTrue(waitUntil(timeout: 30) {
            c.nodes.allSatisfy { Self.gauge($0, "tollfreed_record_spool_bytes") == 0 && Self.gauge($0, "tollfreed_record_store_up") == 1 }
        }, "the spools are replayed")
        print(String(format: "cluster: spools replayed %.1f s after PostgreSQL came back", Date().timeIntervalSince(restarted)))
        XCTAssertTrue(waitUntil(timeout: 10) {
            (try? c.pg.psql("SELECT count(*) FROM calls WHERE sip_call_id LIKE 'pgout-%' AND disposition = 'completed'")) == "\(calls)"
        })
        let counts = try c.pg.psql("""
            SELECT count(*), count(DISTINCT call_id), count(DISTINCT sip_call_id), count(DISTINCT node),
                   count(*) FILTER (WHERE disposition = 'completed' AND sip_code = 200)
            FROM calls WHERE sip_call_id LIKE 'pgout-%'
            """)
        print("cluster: after the outage records (all|distinct call_id|distinct sip_call_id|nodes|completed) = \(counts)")
        XCTAssertEqual(counts, "\(calls)|\(calls)|\(calls)|3|\(calls)", "every call once, finished, with its node")
        let ids = Set(try c.pg.psql("SELECT sip_call_id FROM calls WHERE sip_call_id LIKE 'pgout-%'").split(separator: "\n").map(String.init))
        XCTAssertEqual(run.completed.subtracting(ids).sorted(), [], "every completed call has its record")
        XCTAssertTrue(c.nodes.allSatisfy { $0.logText.contains("cdr.spool_replayed") })
        XCTAssertFalse(c.nodes.contains { $0.logText.contains("cdr.taken_over") }, "no live node's calls were taken over")
    }

    /// A gauge from a node's /metrics.
    static func gauge(_ d: DaemonUnderTest, _ name: String) -> Double? {
        guard let body = d.httpGet("/metrics")?.body else { return nil }
        let line = body.split(separator: "\n").first { $0.hasPrefix(name + " ") }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    func testSIGTERMUnderLoadRefusesNoCallAtTheDispatcher() throws {
        let c = try ClusterUnderTest(configure: { i, cfg in
            guard i == 1 else { return }
            var calls = cfg["calls"] as? [String: Any] ?? [:]
            calls["drain_s"] = 20 // calls in progress end on their own
            cfg["calls"] = calls
        })
        defer { c.stop() }
        let drained = c.nodes[1], drainedURI = "sip:\(drained.host):\(drained.sipPort)"
        let result = Mutex<KamailioDispatcher.LoadResult?>(nil)
        let load = Thread { let r = c.proxy.load(tag: "term", calls: 150, rate: 20, holdMs: 1500); result.withLock { $0 = r } }
        load.start()
        XCTAssertTrue(waitUntil(timeout: 30) { c.proxy.dispatches.count(where: { $0.destination == drainedURI }) >= 15 })
        let termTime = Date().timeIntervalSince1970
        drained.send(signal: SIGTERM)
        while load.isExecuting { usleep(50_000) }
        let run = try XCTUnwrap(result.withLock { $0 })
        XCTAssertEqual(run.status, 0, "sipp saw no failed call:\n\(run.output.suffix(2500))")
        XCTAssertEqual(run.completed.count, 150)
        XCTAssertEqual(drained.stop(), 0, "the drained node exited cleanly")
        if let down = c.proxy.downTimes(of: drainedURI).first(where: { $0 >= termTime }) {
            print(String(format: "cluster: SIGTERM -> node out of rotation after %.0f ms", (down - termTime) * 1000))
        }
        XCTAssertTrue(waitUntil(timeout: 15) { c.records(tag: "term").joined().count(where: Self.isCompleted) == 150 })
        let records = Array(c.records(tag: "term").joined())
        let answered = records.filter(Self.isCompleted)
        XCTAssertEqual(run.completed.subtracting(Self.callIDs(answered)).sorted(), [], "every call has its answered record")
        XCTAssertEqual(answered.count, 150, "and only one")
        let refusals = records.filter { !Self.isCompleted($0) }
        print("cluster: \(refusals.count) INVITEs refused by the draining node and failed over")
        XCTAssertTrue(refusals.allSatisfy { $0["sip_code"] as? Int == 503 && $0["billable_seconds"] as? Int == 0 },
                      "other records are the draining node's unbilled refusals: \(refusals.prefix(3))")
    }

    func testEmergencyCallsReachTheNodeWithRoomWhenTwoAreFull() throws {
        // Nodes 1 and 2 hold two ordinary calls each (one place kept for emergencies), and
        // the proxy knows it (maxload 2); node 3 has room.
        let c = try ClusterUnderTest(configure: { i, cfg in
            guard i < 2 else { return }
            cfg["calls"] = ["max_concurrent": 3, "emergency_reserve": 1, "ring_ms": 0, "drain_s": 0, "half_open_per_source": 0]
        }, maxload: { $0 < 2 ? 2 : nil })
        defer { c.stop() }
        let fill = Mutex<KamailioDispatcher.LoadResult?>(nil)
        let filler = Thread { let r = c.proxy.load(tag: "fill", calls: 6, rate: 10, holdMs: 12_000); fill.withLock { $0 = r } }
        filler.start()
        XCTAssertTrue(waitUntil(timeout: 15) { c.records(tag: "fill").map(\.count) == [2, 2, 2] },
                      "six calls spread two per node: \(c.records(tag: "fill").map(\.count))")
        XCTAssertEqual(c.nodes[0].sipp("uac_expect_503.xml", dial: "2082792555", tag: "direct").status, 0, "node 1 is full")

        let marked = c.proxy.load(tag: "emerg", calls: 2, rate: 5, holdMs: 500, dial: "2082792555", priority: "emergency")
        XCTAssertEqual(marked.status, 0, "Priority: emergency calls answered:\n\(marked.output.suffix(2000))")
        let did = c.proxy.load(tag: "emergdid", calls: 1, rate: 5, holdMs: 500, dial: "8888046762")
        XCTAssertEqual(did.status, 0, "a call to the emergency DID answered:\n\(did.output.suffix(2000))")
        for tag in ["emerg", "emergdid"] {
            XCTAssertTrue(waitUntil(timeout: 10) { c.records(tag: tag)[2].allSatisfy(Self.isCompleted) && !c.records(tag: tag)[2].isEmpty })
            let perNode = c.records(tag: tag)
            XCTAssertEqual(perNode.map(\.count), [0, 0, tag == "emerg" ? 2 : 1], "\(tag): answered by the node with room")
            XCTAssertTrue(perNode[2].allSatisfy { $0["emergency"] as? Bool == true }, "\(tag) is marked an emergency")
        }
        while filler.isExecuting { usleep(50_000) }
        XCTAssertEqual(fill.withLock { $0 }?.status, 0, "the ordinary calls were not disturbed")
    }

    /// A CANCEL while the node rings goes through the proxy's transaction: 200 for the
    /// CANCEL, 487 for the INVITE, and the node's record says canceled.
    func testCancelWhileRingingThroughTheDispatcher() throws {
        let c = try ClusterUnderTest(configure: { _, cfg in
            var calls = cfg["calls"] as? [String: Any] ?? [:]
            calls["ring_ms"] = 5000
            cfg["calls"] = calls
        })
        defer { c.stop() }
        let r = c.proxy.sipp("uac_proxy_cancel.xml", dial: "2082792555", tag: "cancel")
        XCTAssertEqual(r.status, 0, "200 for the CANCEL, 487 for the INVITE:\n\(r.output.suffix(2000))\n\(c.proxy.logText.suffix(3000))")
        XCTAssertTrue(waitUntil(timeout: 10) { c.records(tag: "cancel").joined().count == 1 })
        let record = try XCTUnwrap(c.records(tag: "cancel").joined().first)
        XCTAssertEqual(record["disposition"] as? String, "canceled")
        XCTAssertEqual(record["billable_seconds"] as? Int, 0)
    }

    /// Behind a dispatcher every INVITE and probe comes from one address: the probes have
    /// their own rate bucket, so a busy dispatcher never gets its node reported down.
    func testProbesAreNotRefusedForTheDispatchersCallVolume() throws {
        let d = try DaemonUnderTest(ringMs: 0) { cfg in
            var sip = cfg["sip"] as? [String: Any] ?? [:]
            sip["invite_rate_per_source"] = 2
            sip["invite_burst_per_source"] = 3
            cfg["sip"] = sip
        }
        defer { d.stop() }
        var statuses: [Int] = []
        for i in 0..<6 {
            let caller = SIPDialogCaller(daemonPort: d.sipPort, tag: "busy\(i)")
            statuses.append(caller.invite(dial: "8005550000")?.status ?? 0) // unknown number: 404, no call
        }
        XCTAssertTrue(statuses.contains(503), "the INVITE rate is used up: \(statuses)")
        XCTAssertEqual(d.sipp("options.xml", dial: "8005963057", tag: "probe").status, 0, "the probe still gets 200")
    }

    static func isCompleted(_ r: [String: Any]) -> Bool {
        r["disposition"] as? String == "completed" && r["sip_code"] as? Int == 200
    }

    static func callIDs<S: Sequence>(_ records: S) -> [String] where S.Element == [String: Any] {
        records.compactMap { $0["sip_call_id"] as? String }
    }
}
