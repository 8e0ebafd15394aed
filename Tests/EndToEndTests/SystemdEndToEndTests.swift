import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The daemon speaks systemd's notify protocol: READY=1 once listening, WATCHDOG=1 from
/// its event loop at half of WatchdogSec, RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on
/// SIGTERM.
final class SystemdEndToEndTests: XCTestCase {
    func testNotifySocketGetsReadyWatchdogAndStopping() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tf-notify-\(getpid()).sock").path
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd); unlink(path) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(bound, 0)
        var tv = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        func drain(for seconds: Double) -> [String] {
            var out: [String] = []
            let deadline = Date().addingTimeInterval(seconds)
            var buf = [UInt8](repeating: 0, count: 4096)
            while Date() < deadline {
                let n = recv(fd, &buf, buf.count, 0)
                if n > 0 { out.append(String(decoding: buf[0..<n], as: UTF8.self)) }
            }
            return out
        }

        let d = try DaemonUnderTest(ringMs: 0, environment: ["NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"])
        let first = drain(for: 1.5)
        XCTAssertTrue(first.first?.hasPrefix("READY=1") == true, "\(first)")
        XCTAssertTrue(first.first?.contains("STATUS=answering on 127.0.0.1:\(d.sipPort)") == true, "\(first)")
        XCTAssertGreaterThanOrEqual(first.filter { $0 == "WATCHDOG=1" }.count, 4, "fed every 0.2 s: \(first)")
        d.send(signal: SIGHUP)
        let reload = drain(for: 1.0).filter { $0 != "WATCHDOG=1" }
        XCTAssertTrue(reload.first?.hasPrefix("RELOADING=1") == true, "\(reload)")
        XCTAssertTrue(reload.dropFirst().first?.hasPrefix("READY=1") == true, "ready again after the reload: \(reload)")
        XCTAssertEqual(d.stop(), 0)
        let last = drain(for: 0.5)
        XCTAssertTrue(last.contains { $0.hasPrefix("STOPPING=1") }, "\(last)")
    }

    /// `systemd-analyze verify` accepts the shipped units (the binary path is pointed at the
    /// build, since verify checks that ExecStart exists).
    func testShippedUnitsVerify() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze") else {
            return XCTFail("systemd-analyze is not installed (Debian package systemd; make deps installs it)")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-units-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var paths: [String] = []
        for unit in ["tollfreed.service", "tollfreed-retention.service", "tollfreed-retention.timer"] {
            let text = try String(contentsOf: Paths.repo.appendingPathComponent("systemd/\(unit)"), encoding: .utf8)
                .replacingOccurrences(of: "/usr/local/bin/tollfreed", with: Paths.daemon)
            let out = dir.appendingPathComponent(unit)
            try text.write(to: out, atomically: true, encoding: .utf8)
            paths.append(out.path)
        }
        let r = runProgram("/usr/bin/systemd-analyze", ["verify", "--man=no"] + paths)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertFalse(r.output.contains("Unknown key") || r.output.contains("Unknown section"), r.output)
    }
}
