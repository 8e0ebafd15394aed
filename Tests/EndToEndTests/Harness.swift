import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Paths of the repository and the built daemon.
enum Paths {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let scenarios = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Scenarios")

    /// The tollfreed binary: $TOLLFREED_BIN, else next to the test bundle, else .build/debug.
    static var daemon: String {
        if let env = ProcessInfo.processInfo.environment["TOLLFREED_BIN"] { return env }
        let candidates = [Bundle.main.bundleURL.appendingPathComponent("tollfreed").path,
                          Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("tollfreed").path,
                          repo.appendingPathComponent(".build/debug/tollfreed").path]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates.last!
    }
}

/// Starts `process` with stdin closed and its stdout and stderr appended to `log` as they
/// arrive (a daemon's or a proxy's log, read by the test while it runs); `stderr`, when
/// given, takes standard error instead.
func runCapturingOutput(_ process: Process, into log: Mutex<Data>, stderr: FileHandle? = nil) throws {
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = stderr ?? pipe
    process.standardInput = FileHandle.nullDevice
    pipe.fileHandleForReading.readabilityHandler = { h in
        let d = h.availableData
        log.withLock { $0.append(d) }
    }
    try process.run()
}

/// This month as `bill --period` takes it, in the shipped tenants' first time zone
/// (New York), so calls placed now fall in it.
func currentPeriod() -> String {
    var cal = Calendar(identifier: .gregorian)
    cal.timeZone = TimeZone(identifier: "America/New_York")!
    let c = cal.dateComponents([.year, .month], from: Date())
    return String(format: "%04d-%02d", c.year!, c.month!)
}

/// A port nobody is using right now (UDP and TCP), from the kernel's ephemeral range.
func freePort() -> UInt16 {
    for _ in 0..<50 {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_addr.s_addr = inet_addr("127.0.0.1")
        sa.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        close(fd)
        let port = UInt16(bigEndian: sa.sin_port)
        // Check TCP too (the daemon listens on both).
        let t = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var ta = sa
        let ok = withUnsafeMutablePointer(to: &ta) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(t, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
        close(t)
        if ok && port % 2 == 0 { return port }
    }
    return 0
}

/// True for a Twilio-shaped id: `prefix` (two letters) and 32 lowercase hex digits.
func isPlatformSID(_ sid: String?, _ prefix: String) -> Bool {
    guard let sid else { return false }
    return sid.count == 34 && sid.hasPrefix(prefix) && sid.dropFirst(2).allSatisfy { $0.isHexDigit && !$0.isUppercase }
}

/// A free loopback TCP port below the kernel's ephemeral range (32768-60999), for a server
/// that is stopped and started again on the same port (PostgreSQL in the outage tests):
/// while it is down, an ephemeral port can go to any outgoing connection, including the
/// daemon's own reconnect attempts to that very port (a TCP self-connect), and the restart
/// then fails with "Address already in use".
func freeServerPort() -> UInt16 {
    for _ in 0..<200 {
        let port = UInt16.random(in: 20_000..<32_000)
        let t = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_addr.s_addr = inet_addr("127.0.0.1")
        sa.sin_port = port.bigEndian
        let ok = withUnsafeMutablePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(t, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
        close(t)
        if ok { return port }
    }
    return 0
}

/// An even loopback port below the ephemeral range whose next three UDP ports are free too,
/// for sipp's `-mp` (it binds audio RTP and RTCP there, and video on the next two): from the
/// ephemeral range a daemon's RTP socket or a client's port could take it before sipp does.
func freeSippMediaPort() -> UInt16 {
    for _ in 0..<200 {
        let base = UInt16.random(in: 10_000..<16_000) * 2
        let fds = (0..<4).map { offset -> Int32 in
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_addr.s_addr = inet_addr("127.0.0.1")
            sa.sin_port = (base + UInt16(offset)).bigEndian
            let ok = withUnsafeMutablePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
            if !ok { close(fd); return -1 }
            return fd
        }
        for fd in fds where fd >= 0 { close(fd) }
        if !fds.contains(-1) { return base }
    }
    return 0
}

/// A UDP socket bound to an ephemeral loopback port: the descriptor and the port.
func bindLoopbackUDP() -> (fd: Int32, port: UInt16) {
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    var sa = sockaddr_in()
    sa.sin_family = sa_family_t(AF_INET)
    sa.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
    _ = withUnsafeMutablePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return (fd, UInt16(bigEndian: sa.sin_port))
}

/// A self-signed certificate for 127.0.0.1 and its key (mode 0600) in a new directory
/// named after `prefix`, for the TLS listener.
func selfSignedCertificate(_ prefix: String) throws -> (dir: URL, cert: String, key: String) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let key = dir.appendingPathComponent("key.pem").path, cert = dir.appendingPathComponent("cert.pem").path
    let gen = runProgram("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                                              "-days", "2", "-subj", "/CN=127.0.0.1"])
    guard gen.status == 0 else { throw NSError(domain: "openssl", code: Int(gen.status), userInfo: [NSLocalizedDescriptionKey: gen.output]) }
    chmod(key, 0o600)
    return (dir, cert, key)
}

/// Runs a program to completion, returning its exit status and combined output.
@discardableResult
func runProgram(_ path: String, _ args: [String], timeout: TimeInterval = 60, cwd: URL? = nil) -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    if let cwd { p.currentDirectoryURL = cwd }
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    p.standardInput = FileHandle.nullDevice
    do { try p.run() } catch { return (-1, "cannot run \(path): \(error)") }
    let data = Mutex(Data())
    let reader = Thread {
        let d = pipe.fileHandleForReading.readDataToEndOfFile()
        data.withLock { $0 = d }
    }
    reader.start()
    let deadline = Date().addingTimeInterval(timeout)
    while p.isRunning && Date() < deadline { usleep(20_000) }
    if p.isRunning { p.terminate(); usleep(200_000) }
    p.waitUntilExit()
    while reader.isExecuting { usleep(5_000) }
    return (p.terminationStatus, String(decoding: data.withLock { $0 }, as: UTF8.self))
}

/// A tiny lock-protected box (tests only).
final class Mutex<T>: @unchecked Sendable {
    private var value: T
    private let lock = NSLock()
    init(_ v: T) { value = v }
    func withLock<R>(_ body: (inout T) -> R) -> R { lock.lock(); defer { lock.unlock() }; return body(&value) }
}

/// The daemon under test, on free loopback ports with its own data directory.
final class DaemonUnderTest: @unchecked Sendable {
    /// The loopback address the daemon listens on (SIP, RTP and metrics; "::1": SIP and
    /// RTP over IPv6, metrics on 127.0.0.1, its HTTP server being IPv4 only).
    let host: String
    /// `host` as it stands before a port ("[::1]").
    private var sipHost: String { host.contains(":") ? "[\(host)]" : host }
    /// Where the metrics server listens.
    private var metricsHost: String { host.contains(":") ? "127.0.0.1" : host }
    let sipPort: UInt16
    let dataDir: URL
    let configPath: URL
    private var process = Process()
    private var arguments: [String] = []
    private let environment: [String: String]
    private let stderr: RedirectedStderr?
    private let log = Mutex(Data())

    /// The daemon's standard error somewhere else than `logText` (journald's stream), and
    /// how to tell the daemon is ready then (given its pid), its ready line not being here.
    struct RedirectedStderr {
        let handle: FileHandle
        let isReady: (Int32) -> Bool
    }

    /// Starts tollfreed with the shipped numbers and flows and `ringMs` of ringing;
    /// `configure` may change the JSON config (add numbers, webhooks...) first.
    /// `rtpPorts` sizes the RTP range (half of it are the even ports calls use); `host`
    /// is another loopback address for a cluster node (127.0.0.2...).
    init(ringMs: Int = 1000, environment: [String: String] = [:], rtpPorts: Int = 100, host: String = "127.0.0.1",
         stderr: RedirectedStderr? = nil, configure: ((inout [String: Any]) -> Void)? = nil) throws {
        self.environment = environment
        self.stderr = stderr
        self.host = host
        sipPort = freePort()
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("tollfreed-e2e-\(getpid())-\(sipPort)")
        try? FileManager.default.removeItem(at: base)
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        dataDir = base.appendingPathComponent("data")
        configPath = base.appendingPathComponent("tollfreed.json")
        // The shipped config, with the test's ring time and the repository's flows.
        let shipped = try JSONSerialization.jsonObject(with: Data(contentsOf: Paths.repo.appendingPathComponent("Config/tollfreed.json"))) as! [String: Any]
        var cfg = shipped
        cfg["flows_dir"] = Paths.repo.appendingPathComponent("CallFlows").path
        var calls = cfg["calls"] as? [String: Any] ?? [:]
        calls["ring_ms"] = ringMs
        calls["drain_s"] = 0 // tests that stop the daemon under calls want them ended at once
        cfg["calls"] = calls
        cfg["metrics"] = ["listen": "\(metricsHost):0"] // an ephemeral port: daemons never collide
        cfg["control"] = ["socket": base.appendingPathComponent("control.sock").path] // never the shared /run/tollfreed
        if host != "127.0.0.1" {
            var media = cfg["media"] as? [String: Any] ?? [:]
            media["address"] = host
            cfg["media"] = media
        }
        configure?(&cfg)
        try JSONSerialization.data(withJSONObject: cfg, options: [.prettyPrinted]).write(to: configPath)

        let rtpLow = 40000 + Int(sipPort % 200) * 100
        arguments = ["run", "--config", configPath.path, "--sip", "\(sipHost):\(sipPort)",
                     "--rtp-ports", "\(rtpLow)-\(rtpLow + rtpPorts - 1)", "--data", dataDir.path]
        try launch()
    }

    /// Starts (or restarts) the daemon process and waits until it is ready.
    func launch() throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: Paths.daemon)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let before = logText.components(separatedBy: "daemon.ready").count
        try runCapturingOutput(process, into: log, stderr: stderr?.handle)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let stderr, stderr.isReady(process.processIdentifier) { return }
            if stderr == nil && logText.components(separatedBy: "daemon.ready").count > before { return }
            if !process.isRunning { break }
            usleep(50_000)
        }
        throw NSError(domain: "e2e", code: 1, userInfo: [NSLocalizedDescriptionKey: "daemon did not start: \(logText)"])
    }

    var logText: String { String(decoding: log.withLock { $0 }, as: UTF8.self) }

    /// The running daemon's process id.
    var pid: Int32 { process.processIdentifier }

    /// Whether the daemon's log shows `text` within `timeout`: the log arrives through a
    /// pipe read on another thread, so a line written just before a reply the test has
    /// already seen may not be here yet.
    func logShows(_ text: String, timeout: TimeInterval = 5) -> Bool {
        waitUntil(timeout: timeout) { logText.contains(text) }
    }

    /// The metrics/health HTTP port the daemon bound (from its ready line).
    var metricsPort: UInt16? {
        guard let r = logText.range(of: "metrics=\(metricsHost):") else { return nil }
        return UInt16(logText[r.upperBound...].prefix { $0.isNumber })
    }

    /// GET `path` from the metrics server: status and body.
    func httpGet(_ path: String) -> (status: Int, body: String)? {
        guard let port = metricsPort else { return nil }
        let r = runProgram("/usr/bin/python3", ["-c", """
            import urllib.request, urllib.error, sys
            try:
                r = urllib.request.urlopen("http://\(metricsHost):\(port)\(path)", timeout=5); print(r.status); print(r.read().decode())
            except urllib.error.HTTPError as e:
                print(e.code); print(e.read().decode())
            """], timeout: 10)
        let lines = r.output.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        guard let status = lines.first.flatMap({ Int($0) }) else { return nil }
        return (status, lines.count > 1 ? String(lines[1]) : "")
    }

    /// Sends `sig` (e.g. SIGHUP) to the daemon.
    func send(signal sig: Int32) { kill(process.processIdentifier, sig) }

    /// The config file as JSON, to edit for a reload test.
    func editConfig(_ change: (inout [String: Any]) -> Void) throws {
        var cfg = try JSONSerialization.jsonObject(with: Data(contentsOf: configPath)) as! [String: Any]
        change(&cfg)
        try JSONSerialization.data(withJSONObject: cfg, options: [.prettyPrinted]).write(to: configPath)
    }

    /// SIGKILL: the process dies with no chance to clean up.
    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// A daemon nobody stopped (a test class that only dropped it) is stopped when it goes
    /// away: a leftover daemon holds ports, memory and CPU for the rest of the run.
    deinit { stop() }

    /// SIGTERM and wait; returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        process.terminate()
        let deadline = Date().addingTimeInterval(20)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Runs a sipp scenario against the daemon. `tag` goes into the Call-ID so the test
    /// can find the call's record.
    func sipp(_ scenario: String, dial: String, tag: String, rtpPort: UInt16 = 9, caller: String = "+15551230000",
              timeout: Int = 60, extra: [String] = []) -> (status: Int32, output: String) {
        let local = freePort()
        return runProgram("/usr/bin/sipp", [
            "\(sipHost):\(sipPort)", "-sf", Paths.scenarios.appendingPathComponent(scenario).path,
            "-s", dial, "-m", "1", "-l", "1", "-p", "\(local)", "-i", host.contains(":") ? host : "127.0.0.1",
            "-key", "rtpport", "\(rtpPort)", "-key", "caller", caller,
            "-cid_str", "\(tag)-%u-%p@%s", "-nostdin", "-timeout", "\(timeout)s", "-timeout_error",
        ] + extra, timeout: TimeInterval(timeout + 10))
    }

    /// Runs sipp with extra arguments (media port, DTMF pcaps...).
    func sippRaw(_ scenario: String, dial: String, tag: String, extra: [String], timeout: Int = 60) -> (status: Int32, output: String) {
        let local = freePort()
        return runProgram("/usr/bin/sipp", [
            "\(sipHost):\(sipPort)", "-sf", Paths.scenarios.appendingPathComponent(scenario).path,
            "-s", dial, "-m", "1", "-l", "1", "-p", "\(local)", "-i", host.contains(":") ? host : "127.0.0.1",
            "-cid_str", "\(tag)-%u-%p@%s", "-nostdin", "-timeout", "\(timeout)s", "-timeout_error",
        ] + extra, timeout: TimeInterval(timeout + 10))
    }

    /// Places a call with sipp in the background and, once the daemon's RTP arrives, runs
    /// `talk` with the daemon's RTP port (the caller speaking); returns sipp's result, or
    /// nil when no RTP came.
    func callWhileTalking(_ scenario: String, dial: String, tag: String, peer: RTPPeer,
                          talk: (UInt16) -> Void) -> (status: Int32, output: String)? {
        let result = Mutex<(status: Int32, output: String)>((0, ""))
        let sipp = Thread {
            let r = self.sipp(scenario, dial: dial, tag: tag, rtpPort: peer.port)
            result.withLock { $0 = r }
        }
        sipp.start()
        defer { while sipp.isExecuting { usleep(20_000) } }
        guard peer.waitForPackets(3, timeout: 15), let daemonPort = peer.received.first?.sourcePort else { return nil }
        talk(daemonPort)
        while sipp.isExecuting { usleep(20_000) }
        return result.withLock { $0 }
    }

    /// All records, exported as JSON Lines by `tollfreed cdr export`.
    func records() -> [[String: Any]] {
        let r = runProgram(Paths.daemon, ["cdr", "export", "--format", "jsonl", "--data", dataDir.path])
        return r.output.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// Waits (the writer is asynchronous) for the record whose SIP Call-ID starts with `tag`.
    func record(tag: String, timeout: TimeInterval = 10) -> [String: Any]? {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            if let r = records().first(where: { ($0["sip_call_id"] as? String)?.hasPrefix(tag + "-") == true }) { return r }
            usleep(100_000)
        } while Date() < deadline
        return nil
    }
}

/// Work (a sipp run, a program) on a thread of its own, its result read once it is done:
/// a semaphore and a lock instead of a shared variable polled with sleeps (which
/// ThreadSanitizer rightly reports as a race).
final class Background<Result: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result?
    private let done = DispatchSemaphore(value: 0)

    init(_ work: @escaping @Sendable () -> Result) {
        Thread { [self] in
            let r = work()
            lock.withLock { result = r }
            done.signal()
        }.start()
    }

    /// The result once the work has finished (nil when it has not within `timeout`).
    func wait(timeout: TimeInterval = 120) -> Result? {
        guard done.wait(timeout: .now() + timeout) == .success else { return nil }
        done.signal()  // later waits return at once
        return lock.withLock { result }
    }
}
