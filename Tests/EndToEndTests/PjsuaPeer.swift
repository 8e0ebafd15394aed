import Foundation
import Media
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A pjsip peer (`Tests/Support/pjsua_peer.py`, the pjsua2 wheel from PyPI) making or
/// answering one call in a process of its own. Its Python: $TOLLFREED_PJSUA_PYTHON, else
/// the venv `make test` makes in `.build/bench-venv`. A missing pjsua2 fails the test.
struct PjsuaPeer {
    static var python: String {
        ProcessInfo.processInfo.environment["TOLLFREED_PJSUA_PYTHON"]
            ?? Paths.repo.appendingPathComponent(".build/bench-venv/bin/python3").path
    }
    static let script = Paths.repo.appendingPathComponent("Tests/Support/pjsua_peer.py").path

    /// What the peer printed last: its JSON result (nil when there was none) and its output.
    struct Outcome: @unchecked Sendable {
        var status: Int32
        var output: String
        var result: [String: Any]?
    }

    /// Runs the peer with `arguments` in the background.
    static func start(_ arguments: [String], timeout: TimeInterval = 60) -> Background<Outcome> {
        let python = python
        return Background {
            let r = runProgram(python, [script] + arguments, timeout: timeout)
            let json = r.output.split(separator: "\n").last { $0.hasPrefix("{") }
            let result = json.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            return Outcome(status: r.status, output: r.output, result: result)
        }
    }

    /// Fails the test unless the pjsua2 module imports.
    static func requireInstalled(file: StaticString = #filePath, line: UInt = #line) {
        let r = runProgram(python, ["-c", "import pjsua2"], timeout: 30)
        XCTAssertEqual(r.status, 0, "pjsua2 is not importable by \(python) (make test-peers installs it): \(r.output)", file: file, line: line)
    }

    /// Waits until something holds UDP `port` on 127.0.0.1 (the peer listening): true when it does.
    static func waitUntilBound(udp port: UInt16, timeout: TimeInterval = 20) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = port.bigEndian
            sa.sin_addr.s_addr = inet_addr("127.0.0.1")
            let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            close(fd)
            if rc != 0 { return true }
            usleep(50_000)
        } while Date() < deadline
        return false
    }

    /// A mono 16-bit WAV of a `frequency` Hz tone at `rate`, for the peer to play.
    static func writeTone(_ frequency: Double, seconds: Double, rate: Int = 8000, to path: String) throws {
        let samples = (0..<Int(seconds * Double(rate))).map { Int16(8000 * sin(2 * Double.pi * frequency * Double($0) / Double(rate))) }
        try samples.withUnsafeBufferPointer { try WAVFile.write($0, sampleRate: rate, to: path) }
    }
}
