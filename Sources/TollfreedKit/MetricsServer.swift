import Foundation
import Observability
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.0 server for Prometheus scrapes and health probes, on its own thread
/// (never the SIP or media threads): `GET /metrics`, `/healthz` (the signaling loop is
/// alive), `/readyz` (listening and not draining).
final class MetricsServer: @unchecked Sendable {
    private let fd: Int32
    private let metrics: () -> String
    private let healthy: () -> Bool
    private let ready: () -> Bool
    private let running = Atomic<Bool>(true)
    private let done = DispatchSemaphore(value: 0)
    let port: UInt16

    /// Binds `host:port` (IPv4); throws a StartupError when it cannot.
    init(host: String, port: Int, metrics: @escaping () -> String, healthy: @escaping () -> Bool,
         ready: @escaping () -> Bool) throws(StartupError) {
        self.metrics = metrics
        self.healthy = healthy
        self.ready = ready
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = UInt16(port).bigEndian
        guard inet_pton(AF_INET, host, &sa.sin_addr) == 1 else { close(s); throw StartupError("metrics: '\(host)' is not an IPv4 address", status: 2) }
        let bound = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(s, 16) == 0 else {
            let why = String(cString: strerror(errno))
            close(s)
            throw StartupError("metrics: cannot listen on \(host):\(port): \(why)", status: 1)
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
        self.port = UInt16(bigEndian: sa.sin_port)
        fd = s
        var tv = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let t = Thread { [self] in serve() }
        t.name = "metrics-http"
        t.start()
    }

    func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        done.wait()
        close(fd)
    }

    private func serve() {
        while running.load(ordering: .acquiring) {
            let c = accept(fd, nil, nil)
            if c < 0 { continue } // timeout: check running again
            var tv = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            var buf = [UInt8](repeating: 0, count: 4096)
            let n = recv(c, &buf, buf.count, 0)
            let line = n > 0 ? String(decoding: buf.prefix(n), as: UTF8.self).split(separator: "\r\n").first.map(String.init) ?? "" : ""
            let parts = line.split(separator: " ")
            let path = parts.count >= 2 ? String(parts[1].split(separator: "?").first ?? "") : ""
            let (status, type, body): (String, String, String)
            switch (parts.first.map(String.init), path) {
            case ("GET", "/metrics"): (status, type, body) = ("200 OK", "text/plain; version=0.0.4", metrics())
            case ("GET", "/healthz"): (status, type, body) = healthy() ? ("200 OK", "text/plain", "ok\n") : ("503 Service Unavailable", "text/plain", "signaling loop stalled\n")
            case ("GET", "/readyz"): (status, type, body) = ready() ? ("200 OK", "text/plain", "ready\n") : ("503 Service Unavailable", "text/plain", "not ready\n")
            case ("GET", _): (status, type, body) = ("404 Not Found", "text/plain", "try /metrics, /healthz or /readyz\n")
            default: (status, type, body) = ("405 Method Not Allowed", "text/plain", "GET only\n")
            }
            let response = Array("HTTP/1.0 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)".utf8)
            var off = 0
            while off < response.count {
                let w = response.withUnsafeBytes { send(c, $0.baseAddress! + off, response.count - off, Int32(MSG_NOSIGNAL)) }
                if w <= 0 { break }
                off += w
            }
            close(c)
        }
        done.signal()
    }
}
