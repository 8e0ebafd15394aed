/// The journal entry of one log event, as journald's native protocol carries it: pure
/// functions (no I/O) so that what goes out is what the unit tests check.
///
/// An entry holds `MESSAGE=` (the human line `event key=value ...`, as on a terminal but
/// without the timestamp), `PRIORITY=`, `SYSLOG_IDENTIFIER=tollfreed`, `TOLLFREED_EVENT=`
/// and one field per logger key: `call` is `CALL_ID`, `leg` is `LEG_ID`, `tenant` is
/// `TENANT`, any other key is upper-cased (see `name(forKey:)`). So
/// `journalctl CALL_ID=CA...` shows one call.
public enum JournalFields {
    /// `SYSLOG_IDENTIFIER` of every entry.
    public static let identifier = "tollfreed"

    /// journald's limit on a field name's length.
    public static let maxNameLength = 64

    /// The prefix that keeps a key off journald's own fields (`TF_MESSAGE`, `TF__PID`).
    public static let safePrefix = "TF_"

    /// The journal field for a logger key. `call`, `leg` and `tenant` have fixed names;
    /// other keys are upper-cased with every character outside `[A-Z0-9_]` written `_`.
    /// A name that journald or this mapping gives a meaning (`MESSAGE`, `PRIORITY`,
    /// `SYSLOG_*`, `CODE_*`, `CALL_ID`, ...), or that starts with `_` (trusted fields) or a
    /// digit, or is empty, gets `TF_` in front; names are cut at 64 characters.
    public static func name(forKey key: String) -> String {
        switch key {
        case "call": return "CALL_ID"
        case "leg": return "LEG_ID"
        case "tenant": return "TENANT"
        default: break
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(key.utf8.count + safePrefix.utf8.count)
        for b in key.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"): bytes.append(b - 0x20)
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
                bytes.append(b)
            case 0x80..<0xC0: continue // a UTF-8 continuation byte: its character is already one `_`
            default: bytes.append(UInt8(ascii: "_"))
            }
        }
        var name = String(decoding: bytes, as: UTF8.self)
        if isReserved(name) { name = safePrefix + name }
        return name.utf8.count > maxNameLength ? String(decoding: name.utf8.prefix(maxNameLength), as: UTF8.self) : name
    }

    /// Names a key may not take: journald's well-known and trusted fields, the ones this
    /// mapping gives `call`, `leg` and `tenant`, and the entry's own `TOLLFREED_EVENT`.
    static func isReserved(_ name: String) -> Bool {
        guard let first = name.utf8.first else { return true }
        if first == UInt8(ascii: "_") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) { return true }
        if reservedNames.contains(name) { return true }
        return reservedPrefixes.contains { name.hasPrefix($0) }
    }

    private static let reservedNames: Set<String> = [
        "MESSAGE", "MESSAGE_ID", "PRIORITY", "ERRNO", "INVOCATION_ID", "USER_INVOCATION_ID",
        "DOCUMENTATION", "TID", "UNIT", "USER_UNIT", "CALL_ID", "LEG_ID", "TENANT", "TOLLFREED_EVENT",
    ]
    private static let reservedPrefixes = ["SYSLOG_", "CODE_", "OBJECT_", "COREDUMP_"]

    /// The fields of one event, in the order they are sent: `MESSAGE` (`message`, the
    /// human line), `PRIORITY`, `SYSLOG_IDENTIFIER`, `TOLLFREED_EVENT`, then `pairs`
    /// (the logger's fixed fields, then the event's) under their journal names. Values
    /// are sent as they are (the protocol is binary-safe: no quoting or escaping), cut at
    /// `Logger.maxValueLength` characters like the terminal line's.
    public static func entry(level: LogLevel, event: String, message: String,
                             pairs: [(String, String)]) -> [(name: String, value: String)] {
        var out: [(name: String, value: String)] = []
        out.reserveCapacity(4 + pairs.count)
        out.append(("MESSAGE", message))
        out.append(("PRIORITY", String(level.rawValue)))
        out.append(("SYSLOG_IDENTIFIER", identifier))
        out.append(("TOLLFREED_EVENT", Logger.capped(event)))
        for (key, value) in pairs { out.append((name(forKey: key), Logger.capped(value))) }
        return out
    }

    /// `NAME=value` for every field, back to back in one buffer, and where each ends: the
    /// iovecs `sd_journal_sendv` takes point into it.
    public static func encode(_ fields: [(name: String, value: String)]) -> (bytes: [UInt8], ends: [Int]) {
        var size = 0
        for f in fields { size += f.name.utf8.count + 1 + f.value.utf8.count }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(size)
        var ends: [Int] = []
        ends.reserveCapacity(fields.count)
        for f in fields {
            bytes.append(contentsOf: f.name.utf8)
            bytes.append(UInt8(ascii: "="))
            bytes.append(contentsOf: f.value.utf8)
            ends.append(bytes.count)
        }
        return (bytes, ends)
    }
}
