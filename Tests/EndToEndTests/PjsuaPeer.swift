import Foundation
import XCTest

/// A pjsip peer (`Tests/Support/pjsua_peer.py`, pjsua2 from the PyPI wheel) making or
/// answering one call. The interpreter is `TOLLFREED_PJSUA_PYTHON`, else the venv `make
/// test` makes (`.build/bench-venv`); a missing pjsua2 fails the test (`requireAvailable`).
final class PjsuaPeer: @unchecked Sendable {
    static var python: String {
        ProcessInfo.processInfo.environment["TOLLFREED_PJSUA_PYTHON"]
            ?? Paths.repo.appendingPathComponent(".build/bench-venv/bin/python3").path
    }
    static let script = Paths.repo.appendingPathComponent("Tests/Support/pjsua_peer.py").path

    /// Fails the test (no skip) when the interpreter cannot import pjsua2.
    static func requireAvailable(file: StaticString = #filePath, line: UInt = #line) -> Bool {
        let r = runProgram(python, ["-c", "import pjsua2"], timeout: 30)
        if r.status != 0 {
            XCTFail("pjsua2 is missing (\(python)): run `make test-peers` or set TOLLFREED_PJSUA_PYTHON\n\(r.output.suffix(500))",
                    file: file, line: line)
        }
        return r.status == 0
    }

    private let process = Process()
    private let out = Pipe()
    private let errPath: URL
    private let output = Mutex(Data())
    private var reader: Thread?

    /// Starts the peer with `arguments` (`--call URI` or `--listen PORT`, and the rest).
    init(_ arguments: [String]) throws {
        errPath = FileManager.default.temporaryDirectory.appendingPathComponent("pjsua-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log")
        FileManager.default.createFile(atPath: errPath.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: Self.python)
        process.arguments = [Self.script] + arguments
        process.standardOutput = out
        process.standardError = try FileHandle(forWritingTo: errPath)
        try process.run()
        let handle = out.fileHandleForReading, sink = output
        let t = Thread { let d = handle.readDataToEndOfFile(); sink.withLock { $0 = d } }
        reader = t
        t.start()
    }

    /// What it logged (pjsip's lines and "pjsua_peer ready").
    var log: String { (try? String(contentsOf: errPath, encoding: .utf8)) ?? "" }

    /// Waits until its SIP transport listens.
    func waitReady(timeout: TimeInterval = 20) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            if log.contains("pjsua_peer ready") { return true }
            if !process.isRunning { return false }
            usleep(50_000)
        } while Date() < deadline
        return false
    }

    /// Waits for the peer to end; its exit status and the JSON line it printed.
    func finish(timeout: TimeInterval = 90) -> (status: Int32, result: [String: Any]) {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning { process.terminate(); process.waitUntilExit() }
        while reader?.isExecuting == true { usleep(10_000) }
        let text = String(decoding: output.withLock { $0 }, as: UTF8.self)
        let line = text.split(separator: "\n").last.map(String.init) ?? ""
        let json = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? ["unparsed": text]
        return (process.terminationStatus, json)
    }

    /// Ends a peer still running (a test that failed early).
    func stop() {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
        try? FileManager.default.removeItem(at: errPath)
    }
}
