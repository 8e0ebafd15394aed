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
/// Under systemd (JOURNAL_STREAM set) each line starts with a `<N>` priority prefix that
/// journald understands; otherwise lines carry an ISO-8601 timestamp and the level.
/// Loggers are values: `with(...)` returns a logger that adds fixed fields (for example
/// `call=...`), which libraries use to tag their lines without globals.
public struct Logger: Sendable {
    public var minimumLevel: LogLevel
    public var journald: Bool
    private let sink: any LogSink
    private var fields: [(String, String)]

    public init(minimumLevel: LogLevel = .info, journald: Bool? = nil,
                sink: any LogSink = FileDescriptorSink()) {
        self.minimumLevel = minimumLevel
        self.journald = journald ?? (ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil)
        self.sink = sink
        self.fields = []
    }

    /// A logger that appends `extra` to every line.
    public func with(_ extra: KeyValuePairs<String, CustomStringConvertible>) -> Logger {
        var copy = self
        for (k, v) in extra { copy.fields.append((k, v.description)) }
        return copy
    }

    public func isEnabled(_ level: LogLevel) -> Bool { level >= minimumLevel }

    public func log(_ level: LogLevel, _ event: String,
                    _ values: KeyValuePairs<String, CustomStringConvertible> = [:]) {
        guard isEnabled(level) else { return }
        var line = ""
        if journald {
            line = "<\(level.rawValue)>"
        } else {
            line = Logger.timestamp() + " " + level.description + " "
        }
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
