import CSystemd
#if canImport(Glibc)
import Glibc
#endif

/// Whether standard error is the journal, by systemd's documented rule (systemd.exec(5),
/// `$JOURNAL_STREAM`): the variable holds the device and inode numbers ("DEV:INODE", in
/// decimal) of the stream systemd connected to journald, and they must equal those
/// fstat(2) gives for the descriptor. A child whose stderr was redirected (a pipe, a
/// terminal, a file) inherits the variable but no longer matches.
public enum JournalStream {
    /// The rule itself: `variable` ("DEV:INODE" or nil) against fstat's `device` and `inode`.
    public static func matches(_ variable: String?, device: UInt64, inode: UInt64) -> Bool {
        guard let variable, let colon = variable.firstIndex(of: ":"),
              let dev = UInt64(variable[..<colon]),
              let ino = UInt64(variable[variable.index(after: colon)...]) else { return false }
        return dev == device && ino == inode
    }

    /// Whether this process's standard error is the journal's stream now.
    public static func standardErrorIsJournal() -> Bool {
        guard let raw = getenv("JOURNAL_STREAM") else { return false }
        var st = stat()
        guard fstat(2, &st) == 0 else { return false }
        return matches(String(cString: raw), device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }
}

/// Sends log events to journald by its native protocol: one `sd_journal_sendv` (one
/// datagram) per event, with the fields `JournalFields.entry` lists. When journald does
/// not take an entry (it is gone), the line goes to `fallback` instead, with its `<N>`
/// priority prefix: under systemd that is standard error, the journal's stream.
///
/// libsystemd reports success without sending when the socket file does not exist
/// (ENOENT, and it restores errno), so `Logger` only uses this sink when
/// `socketExists()`; under systemd the socket unit keeps that file while journald
/// restarts (datagrams then wait in its queue, or fail and fall back).
public struct JournalSink: Sendable {
    /// journald's native-protocol socket, the one `sd_journal_sendv` sends to.
    public static let socketPath = "/run/systemd/journal/socket"

    /// Where a line goes when journald refuses its entry.
    public let fallback: any LogSink

    /// A sink whose fallback is `fallback` (standard error unless a test says otherwise).
    public init(fallback: any LogSink = FileDescriptorSink(fd: 2)) {
        self.fallback = fallback
    }

    /// Sends one event: `message` is its human line, `pairs` its keys and values.
    public func send(level: LogLevel, event: String, message: String, pairs: [(String, String)]) {
        send(JournalFields.entry(level: level, event: event, message: message, pairs: pairs), level: level, message: message)
    }

    /// Sends `fields` as one entry; when journald does not take it, writes
    /// `<priority>message` to the fallback. Returns whether journald took it.
    @discardableResult
    public func send(_ fields: [(name: String, value: String)], level: LogLevel, message: String) -> Bool {
        if Self.submit(fields) { return true }
        fallback.write("<\(level.rawValue)>" + message)
        return false
    }

    /// Whether `path` is a socket (journald's, by default): checked once when a logger is made.
    public static func socketExists(at path: String = socketPath) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFSOCK
    }

    /// `sd_journal_sendv` over the encoded fields, the iovecs on the stack.
    static func submit(_ fields: [(name: String, value: String)]) -> Bool {
        var (bytes, ends) = JournalFields.encode(fields)
        guard !ends.isEmpty else { return false }
        return bytes.withUnsafeMutableBytes { raw in
            withUnsafeTemporaryAllocation(of: iovec.self, capacity: ends.count) { iov in
                var start = 0
                for (i, end) in ends.enumerated() {
                    iov[i] = iovec(iov_base: raw.baseAddress! + start, iov_len: end - start)
                    start = end
                }
                return sd_journal_sendv(iov.baseAddress, Int32(ends.count)) == 0
            }
        }
    }
}
