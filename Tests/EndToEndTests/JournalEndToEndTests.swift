import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The daemon's log in the real systemd-journald, as under systemd: its stderr is a
/// connection to journald's stream socket (`JOURNAL_STREAM` names it), so it sends each
/// event by the native protocol with structured fields, and `journalctl CALL_ID=CA...`
/// shows one call. journald is started here when none is running (and stopped again).
final class JournalEndToEndTests: XCTestCase {
    func testEachCallIsFoundByItsCallIDWithItsTenant() throws {
        let since = Int(Date().timeIntervalSince1970) - 1
        let journald = try SystemJournald.ensureRunning()
        defer { journald.stopIfStarted() }
        let stream = try JournalStdoutStream(identifier: "tollfreed")
        let query = JournalQuery(since: since)
        let d: DaemonUnderTest
        do {
            d = try DaemonUnderTest(ringMs: 1000, environment: ["JOURNAL_STREAM": stream.variable], stderr: .init(
                handle: stream.handle,
                isReady: { pid in !query.entries(["_PID=\(pid)", "TOLLFREED_EVENT=daemon.ready"]).isEmpty }))
        } catch {
            let streamed = query.entries(["_PID=\(getpid())", "_TRANSPORT=stdout"]).compactMap { $0["MESSAGE"] as? String }
            throw NSError(domain: "e2e", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(error); its stderr in the journal: \(streamed)"])
        }
        defer { d.stop() }

        // The start line: a native entry from the daemon's pid, with its identifier. Polled like
        // the calls' entries below: one query right after the readiness check once came back
        // empty in CI (0.4 s into the test), though the same query had just found the line.
        var found: [[String: Any]] = []
        _ = waitUntil(timeout: 5) {
            found = query.entries(["_PID=\(d.pid)", "TOLLFREED_EVENT=daemon.ready"])
            return !found.isEmpty
        }
        let ready = try XCTUnwrap(found.first, "daemon.ready of pid \(d.pid) in the journal")
        XCTAssertEqual(ready["SYSLOG_IDENTIFIER"] as? String, "tollfreed")
        XCTAssertEqual(ready["_TRANSPORT"] as? String, "journal", "sent by the native protocol, not as a stderr line")
        XCTAssertEqual(ready["PRIORITY"] as? String, "5")
        XCTAssertTrue((ready["MESSAGE"] as? String)?.hasPrefix("daemon.ready sip=127.0.0.1:\(d.sipPort)") == true, "\(ready)")

        let one = d.sipp("uac_caller_bye.xml", dial: "2082792555", tag: "journal-one", caller: "+15553140001")
        XCTAssertEqual(one.status, 0, one.output.suffix(1500).description)
        let two = d.sipp("uac_caller_bye.xml", dial: "8005963057", tag: "journal-two", caller: "+15553140002")
        XCTAssertEqual(two.status, 0, two.output.suffix(1500).description)
        let sidOne = try XCTUnwrap(d.record(tag: "journal-one")?["call_id"] as? String, "journal-one's record")
        let sidTwo = try XCTUnwrap(d.record(tag: "journal-two")?["call_id"] as? String, "journal-two's record")
        XCTAssertNotEqual(sidOne, sidTwo)

        let callOne = Call(sid: sidOne, tag: "journal-one", tenant: "backup-general-001")
        let callTwo = Call(sid: sidTwo, tag: "journal-two", tenant: "healthcare-client-001")
        checkCall(query, pid: d.pid, callOne, not: callTwo)
        checkCall(query, pid: d.pid, callTwo, not: callOne)

        // Each event went once, natively: none came back as a line on the stream too.
        let streamed = query.entries(["_PID=\(getpid())", "_TRANSPORT=stdout", "SYSLOG_IDENTIFIER=tollfreed"])
        let messages = streamed.compactMap { $0["MESSAGE"] as? String }
        XCTAssertFalse(messages.contains { $0.contains(sidOne) || $0.contains(sidTwo) || $0.contains("daemon.ready") }, "\(messages)")
        XCTAssertEqual(d.stop(), 0)
    }

    /// `journalctl CALL_ID=<sid>` (and the daemon's `_PID`) gives that call's events only,
    /// each tagged with its tenant, `call.invite` included.
    private struct Call { let sid, tag, tenant: String }

    private func checkCall(_ query: JournalQuery, pid: Int32, _ call: Call, not other: Call,
                           file: StaticString = #filePath, line: UInt = #line) {
        let (sid, tag, tenant) = (call.sid, call.tag, call.tenant)
        let filter = ["_PID=\(pid)", "CALL_ID=\(sid)"]
        var entries: [[String: Any]] = []
        _ = waitUntil(timeout: 10) {
            entries = query.entries(filter)
            return entries.contains { $0["TOLLFREED_EVENT"] as? String == "call.end" }
        }
        let events = entries.compactMap { $0["TOLLFREED_EVENT"] as? String }
        for event in ["call.invite", "call.answered", "call.end"] {
            XCTAssertTrue(events.contains(event), "\(sid): \(event) missing from \(events)", file: file, line: line)
        }
        for e in entries {
            let event = e["TOLLFREED_EVENT"] as? String ?? "?"
            let message = e["MESSAGE"] as? String ?? ""
            XCTAssertEqual(e["CALL_ID"] as? String, sid, "\(e)", file: file, line: line)
            XCTAssertEqual(e["SYSLOG_IDENTIFIER"] as? String, "tollfreed", "\(e)", file: file, line: line)
            XCTAssertEqual(e["_TRANSPORT"] as? String, "journal", "\(e)", file: file, line: line)
            XCTAssertTrue(message.hasPrefix(event + " ") && message.contains("call=\(sid)"), message, file: file, line: line)
            XCTAssertFalse(message.contains(other.sid) || message.contains(other.tag), "another call's line: \(message)",
                           file: file, line: line)
            XCTAssertEqual(e["TENANT"] as? String, tenant, "\(event): \(e)", file: file, line: line)
        }
        let invite = entries.first { $0["TOLLFREED_EVENT"] as? String == "call.invite" }
        XCTAssertTrue((invite?["SIP_CALL_ID"] as? String)?.hasPrefix(tag + "-") == true, "\(String(describing: invite))",
                      file: file, line: line)
        XCTAssertTrue(query.entries(filter + ["TENANT=\(other.tenant)"]).isEmpty, "no line of this call has the other tenant",
                      file: file, line: line)
    }
}

/// `journalctl -o json` over the entries since the test began (pids are reused across runs
/// of a persistent journal; call ids are not).
struct JournalQuery: Sendable {
    let since: Int

    /// The entries matching every `FIELD=value` in `matches`, oldest first.
    func entries(_ matches: [String]) -> [[String: Any]] {
        let r = runProgram("/usr/bin/journalctl", ["--no-pager", "-o", "json", "--since", "@\(since)"] + matches, timeout: 20)
        return r.output.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }
}

/// A connection to journald's stream socket, set up as systemd sets up a service's stdout
/// and stderr (the header `sd_journal_stream_fd` sends: identifier, unit, priority, level
/// prefix, forwarding flags), and the `JOURNAL_STREAM` value naming it.
final class JournalStdoutStream: @unchecked Sendable {
    let handle: FileHandle
    let variable: String

    init(identifier: String, path: String = "/run/systemd/journal/stdout") throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0, unixConnect(fd, path) == 0 else {
            let reason = String(cString: strerror(errno))
            if fd >= 0 { close(fd) }
            throw NSError(domain: "e2e", code: 1, userInfo: [NSLocalizedDescriptionKey: "cannot connect to \(path): \(reason)"])
        }
        let header = Array("\(identifier)\n\n6\n1\n0\n0\n0\n".utf8)
        let sent = header.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        shutdown(fd, Int32(SHUT_RD))
        var st = stat()
        guard sent == header.count, fstat(fd, &st) == 0 else {
            close(fd)
            throw NSError(domain: "e2e", code: 1, userInfo: [NSLocalizedDescriptionKey: "journal stream header not sent"])
        }
        handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        variable = "\(st.st_dev):\(st.st_ino)"
    }
}

/// Connects `fd` to the Unix socket at `path`: 0, or -1 with errno set.
func unixConnect(_ fd: Int32, _ path: String) -> Int32 {
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
    return withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
}

/// The machine's systemd-journald: the one running, or one this test starts (journald runs
/// standalone as root without systemd as PID 1) and stops again.
final class SystemJournald: @unchecked Sendable {
    static let socketPath = "/run/systemd/journal/socket"
    static let streamPath = "/run/systemd/journal/stdout"
    private let started: Process?

    private init(started: Process?) { self.started = started }

    /// Whether journald takes datagrams on its native socket and connections on its stream socket.
    static func isAccepting() -> Bool {
        func accepts(_ type: Int32, _ path: String) -> Bool {
            let fd = socket(AF_UNIX, type | Int32(SOCK_CLOEXEC.rawValue), 0)
            defer { if fd >= 0 { close(fd) } }
            return fd >= 0 && unixConnect(fd, path) == 0
        }
        return accepts(Int32(SOCK_DGRAM.rawValue), socketPath) && accepts(Int32(SOCK_STREAM.rawValue), streamPath)
    }

    /// The running journald, or a new one once it accepts; throws why it could not start.
    static func ensureRunning() throws -> SystemJournald {
        if isAccepting() { return SystemJournald(started: nil) }
        let binary = "/lib/systemd/systemd-journald"
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw NSError(domain: "e2e", code: 1, userInfo: [NSLocalizedDescriptionKey:
                "journald is not running and \(binary) is missing (Debian package systemd; make deps installs it)"])
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        let output = Mutex(Data())
        try runCapturingOutput(p, into: output)
        let journald = SystemJournald(started: p)
        if waitUntil(timeout: 15, { !p.isRunning || isAccepting() }) && p.isRunning { return journald }
        journald.stopIfStarted()
        let text = String(decoding: output.withLock { $0 }, as: UTF8.self)
        throw NSError(domain: "e2e", code: 1, userInfo: [NSLocalizedDescriptionKey:
            "journald is not running at \(socketPath) and \(binary) did not start (status \(p.isRunning ? -1 : p.terminationStatus)): \(text)"])
    }

    /// Stops the journald this test started (SIGTERM, then SIGKILL after 10 s); leaves a
    /// journald that was already running alone.
    func stopIfStarted() {
        guard let p = started, p.isRunning else { return }
        p.terminate()
        if !waitUntil(timeout: 10, { !p.isRunning }) { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
    }
}
