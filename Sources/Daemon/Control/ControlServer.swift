import Configuration
import Dispatch
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Who is on the other end of a control connection (`SO_PEERCRED`).
package struct ControlPeer: Sendable, Equatable {
    package var uid: UInt32
    package var pid: Int32
    /// The audit log's actor for this peer's actions.
    package var actor: String { "control uid=\(uid) pid=\(pid)" }
}

/// The control socket: a Unix stream socket, mode 0600 in a directory the daemon owns,
/// served by one thread of its own (never the SIP or media threads). Only root and the
/// daemon's own user may use it: each peer's uid is checked (`SO_PEERCRED`), beyond the
/// file mode. Connections are taken one at a time: a request is one line of at most
/// ``ControlRequest/maxRequestBytes``, which must arrive within 2 s; the answer is
/// written within 5 s, then the connection is closed. An operator's tool is the only
/// client, so one at a time is enough, and a stuck client holds the socket 7 s at most.
final class ControlServer: @unchecked Sendable {
    typealias Handler = @Sendable (ControlRequest, ControlPeer) -> [String: Any]

    let path: String
    private let fd: Int32
    private let wake: (read: Int32, write: Int32)
    private let handler: Handler
    private let stopped = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)

    /// Binds `path` (making its directory, mode 0750, if missing). A socket file left by a
    /// process that died is replaced; one a live daemon still answers on is an error.
    init(path: String, handler: @escaping Handler) throws(StartupError) {
        self.path = path
        self.handler = handler
        fd = try Self.listen(path: path)
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else {
            close(fd)
            throw StartupError("control: pipe: \(String(cString: strerror(errno)))", status: 1)
        }
        wake = (pipeFDs[0], pipeFDs[1])
        let t = Thread { [self] in serve() }
        t.name = "control"
        t.start()
    }

    /// Stops serving, waits for the thread, and removes the socket file.
    func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        var b: UInt8 = 1
        _ = write(wake.write, &b, 1)
        done.wait()
        close(fd)
        close(wake.read)
        close(wake.write)
        unlink(path)
    }

    private static func listen(path: String) throws(StartupError) -> Int32 {
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty && access(dir, F_OK) != 0 && mkdir(dir, 0o750) != 0 && errno != EEXIST {
            throw StartupError("control: cannot make \(dir): \(String(cString: strerror(errno)))", status: 1)
        }
        var addr = try address(path)
        if ControlSocketAddress.answers(&addr) {
            throw StartupError("control: another daemon answers on \(path)", status: 1)
        }
        unlink(path)  // a socket file left behind by a process that died
        let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { throw StartupError("control: socket: \(String(cString: strerror(errno)))", status: 1) }
        let old = umask(0o177)  // the file is made 0600: never a moment with more
        let bound = ControlSocketAddress.withSockaddr(&addr) { bind(s, $0, $1) }
        umask(old)
        guard bound == 0, chmod(path, 0o600) == 0, Glibc.listen(s, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            close(s)
            throw StartupError("control: cannot listen on \(path): \(reason)", status: 1)
        }
        return s
    }

    private static func address(_ path: String) throws(StartupError) -> sockaddr_un {
        guard let a = ControlSocketAddress.make(path) else {
            throw StartupError("control: socket path longer than 107 bytes: \(path)", status: 2)
        }
        return a
    }

    private func serve() {
        defer { done.signal() }
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
        while !stopped.load(ordering: .relaxed) {
            guard poll(&fds, 2, -1) > 0 else { continue }
            if fds[1].revents != 0 { return }
            let c = accept(fd, nil, nil)
            if c >= 0 {
                _ = fcntl(c, F_SETFD, FD_CLOEXEC)
                answer(c)
            }
        }
    }

    /// Reads the request, answers it and closes the connection.
    private func answer(_ c: Int32) {
        defer { close(c) }
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        tv.tv_sec = 5
        setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        // The request is read first in every case, so a refused client reads its answer
        // rather than a reset connection.
        let line = readLine(c)
        let reply: [String: Any]
        if let peer = Self.peer(c), peer.uid == 0 || peer.uid == geteuid() {
            switch line {
            case .success(let line):
                do { reply = handler(try ControlRequest(line: line), peer) } catch { reply = ControlJSON.failure(error.description) }
            case .failure(let e):
                reply = ControlJSON.failure(e.description)
            }
        } else {
            reply = ControlJSON.failure("permission denied: only root and the daemon's user may use the control socket")
        }
        var bytes = Array(ControlJSON.text(reply).utf8)
        bytes.append(0x0A)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { send(c, $0.baseAddress! + off, $0.count - off, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { if n < 0 && errno == EINTR { continue }; return }
            off += n
        }
    }

    /// The request line, up to its newline (or the end of the stream).
    private func readLine(_ c: Int32) -> Result<[UInt8], ControlProtocolError> {
        var line: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 1024)
        while true {
            let n = recv(c, &buf, buf.count, 0)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return .failure(ControlProtocolError("no complete request within 2 s")) }
            if n == 0 { return line.isEmpty ? .failure(ControlProtocolError("empty request")) : .success(line) }
            if let nl = buf[0..<n].firstIndex(of: 0x0A) {
                line += buf[0..<nl]
                return line.count > ControlRequest.maxRequestBytes
                    ? .failure(ControlProtocolError("request longer than \(ControlRequest.maxRequestBytes) bytes")) : .success(line)
            }
            line += buf[0..<n]
            if line.count > ControlRequest.maxRequestBytes {
                return .failure(ControlProtocolError("request longer than \(ControlRequest.maxRequestBytes) bytes"))
            }
        }
    }

    private static func peer(_ c: Int32) -> ControlPeer? {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; } (hidden behind _GNU_SOURCE in
        // the C headers Swift sees; SO_PEERCRED is 17 on Linux).
        var cred: (pid: Int32, uid: UInt32, gid: UInt32) = (0, 0, 0)
        var len = socklen_t(MemoryLayout<(Int32, UInt32, UInt32)>.size)
        guard getsockopt(c, SOL_SOCKET, 17, &cred, &len) == 0, Int(len) == MemoryLayout<(Int32, UInt32, UInt32)>.size else { return nil }
        return ControlPeer(uid: cred.uid, pid: cred.pid)
    }
}

/// `sockaddr_un` for a path, shared by the server and the `tollfreed` client commands.
package enum ControlSocketAddress {
    /// Nil when the path does not fit `sun_path`.
    package static func make(_ path: String) -> sockaddr_un? {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        return addr
    }

    package static func withSockaddr<R>(_ addr: inout sockaddr_un, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    /// True when something accepts connections on the socket at `addr`.
    static func answers(_ addr: inout sockaddr_un) -> Bool {
        let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { return false }
        defer { close(s) }
        return withSockaddr(&addr) { connect(s, $0, $1) } == 0
    }
}
