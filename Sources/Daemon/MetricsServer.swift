import Configuration
import Dispatch
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.0 server for Prometheus scrapes and health probes, on its own thread
/// (never the SIP or media threads): `GET /metrics`, `/healthz` (the signaling loop is
/// alive), `/readyz` (listening and not draining).
///
/// One `poll(2)` loop serves every client at once, so a slow client holds nobody else up.
/// Limits (``Limits``): at most 64 connections (past that the oldest one still sending its
/// request is dropped with `408`, or, when every one is being answered, the newcomer gets
/// `503`); 5 s to send the request head (then `408`); heads of at most 8 KiB (past that
/// `431`); 10 s to take the answer. The answers are computed on this thread (a `/metrics`
/// scrape waits up to 1 s for the signaling thread's media counters).
/// (`@unchecked Sendable`: its socket and clients are touched only on its own thread; the
/// registry it reads is locked.)
final class MetricsServer: @unchecked Sendable {
    /// The server's limits; the defaults are the documented ones.
    struct Limits {
        var maxConnections = 64
        var headTimeout: TimeInterval = 5
        var writeTimeout: TimeInterval = 10
        var maxHeadBytes = 8192
    }

    /// One client: its request so far, then its answer being written.
    private struct Connection {
        let fd: Int32
        var input: [UInt8] = []
        var output: [UInt8] = []
        var sent = 0
        var deadline: UInt64
        var answering: Bool { !output.isEmpty }
    }

    private let fd: Int32
    private let wake: (read: Int32, write: Int32)
    private let handlers: MetricsHTTP.Handlers
    private let limits: Limits
    private let done = DispatchSemaphore(value: 0)
    private let stopped = Atomic<Bool>(false)
    /// In accept order; touched by the server thread only.
    private var connections: [Connection] = []
    let port: UInt16

    /// Binds `host:port` (IPv4); throws a StartupError when it cannot.
    init(host: String, port: Int, limits: Limits = Limits(), metrics: @escaping () -> String,
         healthy: @escaping () -> Bool, ready: @escaping () -> Bool) throws(StartupError) {
        handlers = MetricsHTTP.Handlers(metrics: metrics, healthy: healthy, ready: ready)
        self.limits = limits
        (fd, self.port) = try Self.listen(host: host, port: port)
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else {
            close(fd)
            throw StartupError("metrics: pipe: \(String(cString: strerror(errno)))", status: 1)
        }
        wake = (pipeFDs[0], pipeFDs[1])
        let t = Thread { [self] in serve() }
        t.name = "metrics-http"
        t.start()
    }

    private static func listen(host: String, port: Int) throws(StartupError) -> (Int32, UInt16) {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = UInt16(port).bigEndian
        guard inet_pton(AF_INET, host, &sa.sin_addr) == 1 else {
            close(s)
            throw StartupError("metrics: '\(host)' is not an IPv4 address", status: 2)
        }
        let bound = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(s, 128) == 0 else {
            let why = String(cString: strerror(errno))
            close(s)
            throw StartupError("metrics: cannot listen on \(host):\(port): \(why)", status: 1)
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
        _ = fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK)
        return (s, UInt16(bigEndian: sa.sin_port))
    }

    /// Stops the server thread and closes every connection.
    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
        done.wait()
        close(fd)
        close(wake.read)
        close(wake.write)
    }

    // MARK: - The loop (server thread only)

    private func serve() {
        while true {
            var polled = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
                          pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
            polled += connections.map { pollfd(fd: $0.fd, events: Int16($0.answering ? POLLOUT : POLLIN), revents: 0) }
            let ready = poll(&polled, nfds_t(polled.count), pollTimeout())
            if ready < 0 && errno != EINTR { break }
            if polled[1].revents != 0 { break }
            // Connections first (indices match `polled` before accepting adds more).
            for index in stride(from: connections.count - 1, through: 0, by: -1) {
                let events = Int32(polled[index + 2].revents)
                if events & Int32(POLLIN | POLLHUP | POLLERR) != 0, !connections[index].answering {
                    read(at: index)
                } else if events & Int32(POLLOUT | POLLHUP | POLLERR) != 0, connections[index].answering {
                    writeSome(at: index)
                }
            }
            expire()
            if polled[0].revents != 0 { acceptAll() }
        }
        for connection in connections { close(connection.fd) }
        connections.removeAll()
        done.signal()
    }

    private static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    private static func deadline(after seconds: TimeInterval) -> UInt64 {
        now() + UInt64(max(0, seconds) * 1e9)
    }

    /// Milliseconds until the nearest deadline (-1: none).
    private func pollTimeout() -> Int32 {
        guard let nearest = connections.map(\.deadline).min() else { return -1 }
        let now = Self.now()
        return nearest <= now ? 0 : Int32(min((nearest - now) / 1_000_000 + 1, 60_000))
    }

    private func acceptAll() {
        while true {
            let c = accept(fd, nil, nil)
            guard c >= 0 else { return }  // EAGAIN: none left (or a transient error)
            _ = fcntl(c, F_SETFL, fcntl(c, F_GETFL) | O_NONBLOCK)
            if connections.count >= limits.maxConnections, !dropOldestStalled() {
                Self.sendOnce(c, MetricsHTTP.response("503 Service Unavailable", body: "too many connections\n"))
                close(c)
                continue
            }
            connections.append(Connection(fd: c, deadline: Self.deadline(after: limits.headTimeout)))
        }
    }

    /// Makes room by dropping the longest-waiting connection still sending its request.
    private func dropOldestStalled() -> Bool {
        guard let oldest = connections.firstIndex(where: { !$0.answering }) else { return false }
        timeOut(at: oldest)
        return true
    }

    private func read(at index: Int) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(connections[index].fd, &buffer, buffer.count, 0)
        if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) { return }
        guard n > 0 else { return drop(at: index) }  // closed or failed before asking anything
        connections[index].input += buffer.prefix(n)
        let input = connections[index].input
        if let length = MetricsHTTP.headLength(input), length <= limits.maxHeadBytes {
            answer(at: index, MetricsHTTP.answer(head: input.prefix(length), handlers: handlers))
        } else if input.count > limits.maxHeadBytes {
            answer(at: index, MetricsHTTP.response("431 Request Header Fields Too Large",
                                                   body: "request head over \(limits.maxHeadBytes) bytes\n"))
        }
    }

    private func answer(at index: Int, _ response: [UInt8]) {
        connections[index].output = response
        connections[index].input = []
        connections[index].deadline = Self.deadline(after: limits.writeTimeout)
        writeSome(at: index)
    }

    private func writeSome(at index: Int) {
        let c = connections[index]
        let n = c.output.withUnsafeBytes { send(c.fd, $0.baseAddress! + c.sent, c.output.count - c.sent, Int32(MSG_NOSIGNAL)) }
        if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) { return }
        guard n > 0 else { return drop(at: index) }
        connections[index].sent += n
        if connections[index].sent == c.output.count { drop(at: index) }
    }

    /// Ends connections past their deadline: `408` to one still sending its request.
    private func expire() {
        let now = Self.now()
        for index in stride(from: connections.count - 1, through: 0, by: -1) where connections[index].deadline <= now {
            if connections[index].answering { drop(at: index) } else { timeOut(at: index) }
        }
    }

    private func timeOut(at index: Int) {
        Self.sendOnce(connections[index].fd, MetricsHTTP.response("408 Request Timeout", body: "request head too slow\n"))
        drop(at: index)
    }

    private func drop(at index: Int) {
        close(connections[index].fd)
        connections.remove(at: index)
    }

    /// One non-blocking attempt to send a short answer before closing.
    private static func sendOnce(_ c: Int32, _ response: [UInt8]) {
        _ = response.withUnsafeBytes { send(c, $0.baseAddress!, response.count, Int32(MSG_NOSIGNAL)) }
    }
}
