import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A real Kamailio running the shipped dispatcher config (`Config/kamailio/kamailio.cfg`)
/// on a free port of 127.0.0.1, in front of the given tollfreed nodes; its list, control
/// socket and log live in a temporary directory.
final class KamailioDispatcher: @unchecked Sendable {
    /// One node in the dispatcher list.
    struct Node {
        var host: String
        var port: UInt16
        /// The node's ordinary capacity as the proxy knows it (nil: unlimited).
        var maxload: Int? = nil
        var uri: String { "sip:\(host):\(port)" }
    }

    /// A dispatch decision from the proxy's log: when, which call, to which node.
    struct Dispatch {
        var time: Double
        var callID: String
        var destination: String
    }

    let port: UInt16
    let dir: URL
    private let process = Process()
    private let log = Mutex(Data())

    /// Renders the list, starts `kamailio -DD -E` and waits until it answers its own OPTIONS.
    init(nodes: [Node], pingInterval: Int = 1, probingThreshold: Int = 1) throws {
        port = freePort()
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("tollfreed-kam-\(getpid())-\(port)")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let list = nodes.enumerated().map { i, n in
            "1 \(n.uri) 0 0 duid=node\(i + 1)" + (n.maxload.map { ";maxload=\($0)" } ?? "")
        }.joined(separator: "\n") + "\n"
        try list.write(to: dir.appendingPathComponent("dispatcher.list"), atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/kamailio")
        process.arguments = ["-f", Paths.repo.appendingPathComponent("Config/kamailio/kamailio.cfg").path,
                             "-DD", "-E", "-m", "64", "-w", dir.path,
                             "-A", "SIP_IP=127.0.0.1", "-A", "SIP_PORT=\(port)", "-A", "CHILDREN=2",
                             "-A", "DS_LIST=\"\(dir.appendingPathComponent("dispatcher.list").path)\"",
                             "-A", "CTL_SOCKET=\"unix:\(controlSocket)\"",
                             "-A", "PING_INTERVAL=\(pingInterval)", "-A", "PROBING_THRESHOLD=\(probingThreshold)",
                             "-A", "FR_INV_RINGING_MS=5000", "-A", "LOG_DISPATCH"]
        try runCapturingOutput(process, into: log)
        guard waitUntil(timeout: 15, { FileManager.default.fileExists(atPath: self.controlSocket) }),
              waitUntil(timeout: 15, { self.options() == 200 }) else {
            stop()
            throw NSError(domain: "e2e", code: 2, userInfo: [NSLocalizedDescriptionKey: "kamailio did not start: \(logText.suffix(3000))"])
        }
    }

    var controlSocket: String { dir.appendingPathComponent("kamailio.ctl").path }
    var logText: String { String(decoding: log.withLock { $0 }, as: UTF8.self) }

    /// Stops Kamailio (SIGTERM, then SIGKILL after 10 s).
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// The proxy's answer to an OPTIONS addressed to it (0 when none came).
    func options() -> Int {
        let c = SIPDialogCaller(daemonPort: port, tag: "kam-options")
        c.send(["OPTIONS sip:127.0.0.1:\(port) SIP/2.0",
                "Via: SIP/2.0/UDP 127.0.0.1:\(c.localPort);branch=z9hG4bK\(UInt32.random(in: 0...UInt32.max));rport",
                "From: <sip:probe@127.0.0.1>;tag=p1", "To: <sip:127.0.0.1:\(port)>", "Call-ID: \(c.callID)",
                "CSeq: 1 OPTIONS", "Max-Forwards: 70", "Content-Length: 0", "", ""].joined(separator: "\r\n"))
        return c.finalResponse(to: "OPTIONS", timeout: 2)?.status ?? 0
    }

    /// Each node's state flags from `kamcmd dispatcher.list` ("AP" active, "IP" inactive...).
    func states() -> [String: String] {
        let out = runProgram("/usr/sbin/kamcmd", ["-s", "unix:\(controlSocket)", "dispatcher.list"], timeout: 10).output
        var result: [String: String] = [:], uri: String?
        for line in out.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if line.hasPrefix("URI: ") { uri = String(line.dropFirst(5)) }
            if line.hasPrefix("FLAGS: "), let u = uri { result[u] = String(line.dropFirst(7)) }
        }
        return result
    }

    /// Every INVITE dispatch and failover, in log order.
    var dispatches: [Dispatch] {
        logText.split(separator: "\n").compactMap { line -> Dispatch? in
            guard line.contains("<script>: dispatch ") || line.contains("<script>: failover "),
                  let open = line.firstIndex(of: "{"), let close = line.firstIndex(of: "}"),
                  let time = Self.field(line, "t="), let du = Self.field(line, "du=") else { return nil }
            let callID = line[line.index(after: open)..<close].split(separator: " ").last.map(String.init) ?? ""
            return Dispatch(time: Double(time) ?? 0, callID: callID, destination: du)
        }
    }

    /// Times (epoch seconds) at which the proxy took `uri` out of rotation.
    func downTimes(of uri: String) -> [Double] {
        logText.split(separator: "\n").filter { $0.contains("node down") && $0.contains(uri) }
            .compactMap { Self.field($0, "t=").flatMap(Double.init) }
    }

    private static func field(_ line: Substring, _ key: String) -> String? {
        guard let r = line.range(of: " " + key) else { return nil }
        return String(line[r.upperBound...].prefix { !$0.isWhitespace })
    }

    /// Runs one call of a sipp scenario through the proxy; `tag` starts its Call-ID.
    func sipp(_ scenario: String, dial: String, tag: String) -> (status: Int32, output: String) {
        runProgram("/usr/bin/sipp", [
            "127.0.0.1:\(port)", "-sf", Paths.scenarios.appendingPathComponent(scenario).path, "-s", dial,
            "-m", "1", "-p", "\(freePort())", "-i", "127.0.0.1", "-key", "rtpport", "9", "-key", "caller", "+15551230000",
            "-cid_str", "\(tag)-%u@tf", "-nostdin", "-timeout", "30s", "-timeout_error",
        ], timeout: 40)
    }

    /// What a sipp load run saw: its exit status and screen, and the Call-IDs it completed.
    struct LoadResult {
        var status: Int32
        var output: String
        var completed: Set<String>
    }

    /// Places `calls` calls through the proxy with `Scenarios/uac_proxy_call.xml` at `rate`
    /// per second, each held `holdMs`; Call-IDs are `tag-N@tf` (N = 1...calls).
    func load(tag: String, calls: Int, rate: Int, holdMs: Int, dial: String = "8005963057",
              priority: String = "normal") -> LoadResult {
        let logFile = dir.appendingPathComponent("\(tag)-calls.log")
        try? FileManager.default.removeItem(at: logFile)
        let r = runProgram("/usr/bin/sipp", [
            "127.0.0.1:\(port)", "-sf", Paths.scenarios.appendingPathComponent("uac_proxy_call.xml").path,
            "-s", dial, "-m", "\(calls)", "-r", "\(rate)", "-recv_timeout", "\(holdMs)", "-p", "\(freePort())", "-i", "127.0.0.1",
            "-key", "priority", priority, "-key", "rtpport", "9", "-cid_str", "\(tag)-%u@tf",
            "-trace_logs", "-log_file", logFile.path, "-nostdin",
            "-timeout", "120s", "-timeout_error",
        ], timeout: 140)
        let logged = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
        let done = logged.split(separator: "\n").compactMap { line -> String? in
            guard let r = line.range(of: "completed ") else { return nil }
            return String(line[r.upperBound...].prefix { !$0.isWhitespace })
        }
        return LoadResult(status: r.status, output: r.output, completed: Set(done))
    }
}

/// Three tollfreed nodes on 127.0.0.2-4 behind a Kamailio dispatcher, sharing one
/// PostgreSQL record store (started here) as `node1`...`node3`, each with its own spool.
final class ClusterUnderTest: @unchecked Sendable {
    let nodes: [DaemonUnderTest]
    let proxy: KamailioDispatcher
    let pg: PostgresServer
    /// The grace after a lease ends before a live node closes the dead node's calls.
    static let leaseGrace = 2

    /// `configure(i, &cfg)` edits node i's config; `maxload(i)` is its limit in the list.
    init(configure: @escaping (Int, inout [String: Any]) -> Void = { _, _ in }, maxload: (Int) -> Int? = { _ in nil }) throws {
        pg = try PostgresServer()
        var started: [DaemonUnderTest] = []
        do {
            for i in 0..<3 {
                let spool = FileManager.default.temporaryDirectory.appendingPathComponent("tf-spool-\(getpid())-\(pg.port)-node\(i + 1)")
                try? FileManager.default.removeItem(at: spool)
                started.append(try DaemonUnderTest(ringMs: 0, rtpPorts: 600, host: "127.0.0.\(i + 2)") { [pg] cfg in
                    ClusterUnderTest.nodeDefaults(&cfg)
                    cfg["storage"] = ["kind": "postgres", "url": pg.url, "spool_dir": spool.path]
                    cfg["node"] = ["id": "node\(i + 1)", "lease_grace_s": ClusterUnderTest.leaseGrace]
                    configure(i, &cfg)
                })
            }
            proxy = try KamailioDispatcher(nodes: started.enumerated().map { i, n in
                KamailioDispatcher.Node(host: n.host, port: n.sipPort, maxload: maxload(i))
            })
        } catch {
            started.forEach { $0.stop() }
            pg.destroy()
            throw error
        }
        nodes = started
    }

    /// What every node behind the dispatcher needs: the dispatcher is the only source, so
    /// the per-source limits are off (the edge rate-limits).
    static func nodeDefaults(_ cfg: inout [String: Any]) {
        var sip = cfg["sip"] as? [String: Any] ?? [:]
        sip["invite_rate_per_source"] = 0
        cfg["sip"] = sip
        cfg["calls"] = ["max_concurrent": 400, "ring_ms": 0, "drain_s": 0, "half_open_per_source": 0]
    }

    func stop() {
        proxy.stop()
        nodes.forEach { $0.stop() }
        pg.destroy()
    }

    /// Every record in PostgreSQL whose SIP Call-ID starts with `tag-`, by the index of the
    /// node that wrote it (the `node` column), as `cdr export` names the fields.
    func records(tag: String) -> [[[String: Any]]] {
        var perNode: [[[String: Any]]] = Array(repeating: [], count: nodes.count)
        for r in (try? rows(tag: tag)) ?? [] {
            guard let node = r["node"] as? String, node.hasPrefix("node"), let n = Int(node.dropFirst(4)),
                  (1...nodes.count).contains(n) else { continue }
            perNode[n - 1].append(r)
        }
        return perNode
    }

    /// The rows of calls `tag-*` (node, ids, disposition, codes) straight from PostgreSQL.
    func rows(tag: String) throws -> [[String: Any]] {
        let out = try pg.psql("""
            SELECT node, call_id, sip_call_id, disposition, sip_code, billable_seconds, emergency FROM calls
            WHERE sip_call_id LIKE '\(tag)-%' ORDER BY seq
            """)
        return out.split(separator: "\n").map { line in
            let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            return ["node": f[0], "call_id": f[1], "sip_call_id": f[2], "disposition": f[3], "sip_code": Int(f[4]) ?? 0,
                    "billable_seconds": Int(f[5]) ?? 0, "emergency": f[6] == "t"]
        }
    }
}
