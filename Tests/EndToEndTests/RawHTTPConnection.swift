import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A TCP connection to a local port that a test drives by hand: send part of a request,
/// then look at whether the server has answered or closed.
final class RawHTTPConnection {
    private let fd: Int32

    /// Connects to 127.0.0.1:`port`; nil when the connection is refused.
    init?(port: UInt16) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = port.bigEndian
        sa.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if ok != 0 {
            close(fd)
            return nil
        }
    }

    deinit { close(fd) }

    /// Writes `text` (all of it).
    func send(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    /// True when the server has neither sent anything nor closed the connection.
    var isOpenAndUnanswered: Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, 0) == 0
    }

    /// Everything the server sends until it closes the connection, waiting at most
    /// `timeout` seconds for the close; nil when it is still open then.
    func waitForClose(timeout: TimeInterval) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        var received = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while Date() < deadline {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let remaining = Int32(max(1, deadline.timeIntervalSinceNow * 1000))
            guard poll(&p, 1, remaining) > 0 else { continue }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return String(decoding: received, as: UTF8.self) }
            received += buffer.prefix(n)
        }
        return nil
    }
}
