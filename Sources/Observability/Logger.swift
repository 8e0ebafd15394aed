import Formats
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Severity levels, ordered; raw values are syslog priorities (used as journald prefixes).
public enum LogLevel: Int, Sendable, Comparable, CustomStringConvertible {
    case error = 3, warning = 4, notice = 5, info = 6, debug = 7

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue > rhs.rawValue }

    public var description: String {
        switch self {
        case .error: "error"
        case .warning: "warning"
        case .notice: "notice"
        case .info: "info"
        case .debug: "debug"
        }
    }

    /// Parses "error", "warning", "notice", "info" or "debug".
    public init?(name: String) {
        switch name.lowercased() {
        case "error": self = .error
        case "warning", "warn": self = .warning
        case "notice": self = .notice
        case "info": self = .info
        case "debug": self = .debug
        default: return nil
        }
    }
}

/// Where log lines go. The default writes one line per event to standard error.
public protocol LogSink: Sendable {
    func write(_ line: String)
}

/// Writes lines to a file descriptor with one `write(2)` per line, so lines from
/// different threads never interleave.
public struct FileDescriptorSink: LogSink {
    public let fd: Int32
    public init(fd: Int32 = 2) { self.fd = fd }
    public func write(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.append(0x0A)
        bytes.withUnsafeBytes { buf in
            _ = Glibc.write(fd, buf.baseAddress, buf.count)
        }
    }
}

/// A structured logger: `event key=value key=value`, one line per event.
///
/// When standard error is the journal (systemd's `JOURNAL_STREAM` rule, see
/// `JournalStream`) each event goes to journald by its native protocol with structured
/// fields (`CALL_ID=`, `TENANT=`..., see `JournalFields`); otherwise lines carry an
/// ISO-8601 timestamp and the level. Loggers are values: `with(...)` returns a logger that
/// adds fixed fields (for example `call=...`), which libraries use to tag their lines
/// without globals.
public struct Logger: Sendable {
    public var minimumLevel: LogLevel
    /// Whether output is for journald: native journal entries (no `sink` given), or lines
    /// with `<N>` priority prefixes to `sink`. Otherwise timestamped lines.
    public var journald: Bool
    private let sink: any LogSink
    private let journal: JournalSink?
    private var fields: [(String, String)]

    /// A logger writing events at `minimumLevel` and above. With no `sink`, events go to
    /// standard error, or to journald's native protocol when standard error is the journal
    /// (`journald` nil: decided by `JournalStream.standardErrorIsJournal()`) and its socket
    /// exists (else `<N>` lines on standard error). With a `sink`, lines go there,
    /// `<N>`-prefixed when `journald` is true.
    public init(minimumLevel: LogLevel = .info, journald: Bool? = nil, sink: (any LogSink)? = nil) {
        self.minimumLevel = minimumLevel
        self.journald = journald ?? JournalStream.standardErrorIsJournal()
        self.sink = sink ?? FileDescriptorSink()
        self.journal = sink == nil && self.journald && JournalSink.socketExists() ? JournalSink() : nil
        self.fields = []
    }

    /// A logger that appends `extra` to every line.
    public func with(_ extra: KeyValuePairs<String, CustomStringConvertible>) -> Logger {
        var copy = self
        for (k, v) in extra { copy.fields.append((k, v.description)) }
        return copy
    }

    public func isEnabled(_ level: LogLevel) -> Bool { level >= minimumLevel }

    /// Logs `event` with the fixed fields and `values`, if `level` is enabled.
    public func log(_ level: LogLevel, _ event: String,
                    _ values: KeyValuePairs<String, CustomStringConvertible> = [:]) {
        guard isEnabled(level) else { return }
        if journald, let journal {
            var pairs = fields
            pairs.reserveCapacity(fields.count + values.count)
            for (k, v) in values { pairs.append((k, v.description)) }
            var message = event
            for (k, v) in pairs { message += " " + k + "=" + Logger.quote(v) }
            journal.send(level: level, event: event, message: message, pairs: pairs)
            return
        }
        var line = journald ? "<\(level.rawValue)>" : Logger.timestamp() + " " + level.description + " "
        line += event
        for (k, v) in fields { line += " " + k + "=" + Logger.quote(v) }
        for (k, v) in values { line += " " + k + "=" + Logger.quote(v.description) }
        sink.write(line)
    }

    public func error(_ e: String, _ v: KeyValuePairs<String, CustomStringConvertible> = [:]) { log(.error, e, v) }
    public func warning(_ e: String, _ v: KeyValuePairs<String, CustomStringConvertible> = [:]) { log(.warning, e, v) }
    public func notice(_ e: String, _ v: KeyValuePairs<String, CustomStringConvertible> = [:]) { log(.notice, e, v) }
    public func info(_ e: String, _ v: KeyValuePairs<String, CustomStringConvertible> = [:]) { log(.info, e, v) }
    public func debug(_ e: String, _ v: KeyValuePairs<String, CustomStringConvertible> = [:]) { log(.debug, e, v) }

    /// The longest value written; longer ones (a 60,000-character SIP header) are cut and
    /// marked with how much was left out.
    public static let maxValueLength = 512

    /// `value` cut at `maxValueLength` characters (marked with how much was left out, as
    /// `quote` does), otherwise unchanged: for the journal's binary-safe fields.
    public static func capped(_ value: String) -> String {
        guard value.utf8.count > maxValueLength else { return value }
        let scalars = value.unicodeScalars
        let count = scalars.count
        guard count > maxValueLength else { return value }
        var out = String(String.UnicodeScalarView(scalars.prefix(maxValueLength)))
        out += "...(+\(count - maxValueLength) chars)"
        return out
    }

    /// Quotes a value when it contains spaces, quotes or '=' so lines stay parseable.
    /// Control characters (terminal escapes, NUL, CR/LF that would forge a line) are
    /// written as `\xNN` / `\u{N}`, and values are capped at `maxValueLength` characters.
    public static func quote(_ value: String) -> String {
        if value.isEmpty { return "\"\"" }
        let scalars = value.unicodeScalars
        let needs = scalars.contains { $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\\" || isControl($0) }
        guard needs || scalars.count > maxValueLength else { return value }
        var out = needs ? "\"" : ""
        var written = 0
        for u in scalars {
            if written == maxValueLength {
                out += "...(+\(scalars.count - written) chars)"
                break
            }
            written += 1
            if let e = JSONText.shortEscape(u.value) {
                out.unicodeScalars.append("\\")
                out.unicodeScalars.append(Unicode.Scalar(e))
            } else if isControl(u) {
                out += u.value < 0x100 ? String(format: "\\x%02X", u.value) : "\\u{\(String(u.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return needs ? out + "\"" : out
    }

    /// C0, DEL, C1, and the line/paragraph separators some terminals honour.
    private static func isControl(_ u: Unicode.Scalar) -> Bool {
        u.value < 0x20 || (0x7F...0x9F).contains(u.value) || u.value == 0x2028 || u.value == 0x2029
    }

    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = ts.tv_sec
        var tmv = tm()
        gmtime_r(&t, &tmv)
        let ms = ts.tv_nsec / 1_000_000
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                      Int(tmv.tm_year) + 1900, Int(tmv.tm_mon) + 1, Int(tmv.tm_mday),
                      Int(tmv.tm_hour), Int(tmv.tm_min), Int(tmv.tm_sec), ms)
    }
}

/// Collects log lines in memory; for tests.
public final class MemorySink: LogSink, Sendable {
    private let storage = Locked<[String]>([])
    public init() {}
    public func write(_ line: String) { storage.withLock { $0.append(line) } }
    public var lines: [String] { storage.withLock { $0 } }
}
