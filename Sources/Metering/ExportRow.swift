#if canImport(Glibc)
import Glibc
#endif

/// How a field's value arrived.
enum ValueKind: UInt8 {
    /// No such column or key.
    case missing
    /// JSON `null`.
    case null
    /// A CSV field (always text).
    case text
    /// JSON string, number, `true`/`false`.
    case string, number, boolean
}

/// A field's bytes within the current record.
struct FieldValue {
    var start: Int32
    var count: Int32
    var kind: ValueKind

    init(start: Int, count: Int, kind: ValueKind) {
        self.start = Int32(truncatingIfNeeded: start)
        self.count = Int32(truncatingIfNeeded: count)
        self.kind = kind
    }

    static let missing = FieldValue(start: 0, count: 0, kind: .missing)
}

/// A problem with one field of a record (the reader adds `file:line`).
struct FieldError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// The fields of one kind of export record: names (CSV header / JSON keys), types, which
/// must be present, and which holds the record's id (for duplicates).
/// (`@unchecked Sendable`: every property is set in `init` and never changed; `keys` is
/// owned, read-only memory.)
final class ExportSchema: @unchecked Sendable {
    enum FieldType: Sendable { case text, integer, time, boolean, decimal }

    /// "call", "message", "2FA usage".
    let kind: String
    let names: [String]
    let types: [FieldType]
    /// Must be a column / key (JSON `null` allowed only for `nullable`), by field.
    let required: [Bool]
    let nullable: [Bool]
    /// How many fields are required.
    let requiredCount: Int
    /// Field whose value identifies a record (duplicates are counted once), if any.
    let idField: Int?
    /// The JSON kind each field takes (`.string`, `.number` or `.boolean`).
    let jsonKinds: [ValueKind]
    /// The names' UTF-8, one after another, and where each starts (plus the end).
    private let keys: UnsafeMutablePointer<UInt8>
    private let keyStarts: [Int]

    init(kind: String, fields: [(String, FieldType)], required: [String], nullable: [String] = [], idField: String? = nil) {
        self.kind = kind
        names = fields.map(\.0)
        types = fields.map(\.1)
        let bytes = names.flatMap { Array($0.utf8) }
        keys = .allocate(capacity: bytes.count)
        keys.initialize(from: bytes, count: bytes.count)
        keyStarts = names.reduce(into: [0]) { $0.append($0.last! + $1.utf8.count) }
        jsonKinds = types.map { $0 == .integer || $0 == .decimal ? .number : $0 == .boolean ? .boolean : .string }
        self.required = names.map { required.contains($0) }
        self.nullable = names.map { nullable.contains($0) }
        requiredCount = self.required.filter { $0 }.count
        self.idField = idField.map { n in fields.firstIndex { $0.0 == n }! }
    }

    deinit { keys.deallocate() }

    /// Why JSON value `kind` cannot be field `f`'s value (a JSON type the field does not
    /// take, or null where a value is needed); nil when it can.
    func problem(_ f: Int, _ kind: ValueKind) -> String? {
        switch (kind, types[f]) {
        case (.null, _): return required[f] && !nullable[f] ? "\(names[f]): must not be null" : nil
        case (.string, .text), (.string, .time), (.number, .integer), (.number, .decimal), (.boolean, .boolean): return nil
        case (_, .text), (_, .time): return "\(names[f]): must be a string"
        case (_, .integer): return "\(names[f]): must be a whole number"
        case (_, .decimal): return "\(names[f]): must be a number"
        case (_, .boolean): return "\(names[f]): must be true or false"
        }
    }

    /// When `text` starts with field `f`'s name in quotes, exactly (no escapes), the
    /// length of that; else nil.
    func quotedKeyLength(_ f: Int, at text: UnsafeBufferPointer<UInt8>) -> Int? {
        guard f < names.count else { return nil }
        let n = keyStarts[f + 1] - keyStarts[f]
        guard text.count >= n + 2, text[n + 1] == 34 else { return nil }
        return bytesEqual(keys + keyStarts[f], text.baseAddress! + 1, n) ? n + 2 : nil
    }

    /// The field named by `key`; tries `hint` first (exports write keys in schema order).
    func index(of key: UnsafeBufferPointer<UInt8>, hint: Int) -> Int? {
        func equal(_ f: Int) -> Bool {
            keyStarts[f + 1] - keyStarts[f] == key.count && bytesEqual(keys + keyStarts[f], key.baseAddress!, key.count)
        }
        if hint < names.count, equal(hint) { return hint }
        return (0..<names.count).first(where: equal)
    }
}

/// One record's fields, by schema index, pointing into the reader's buffer (valid until
/// the next record is read). Accessors check each value's type and range.
struct ExportRow {
    let schema: ExportSchema
    var base: UnsafeMutablePointer<UInt8>
    var values: [FieldValue]
    /// The record's first line.
    var line = 0

    init(schema: ExportSchema, base: UnsafeMutablePointer<UInt8>) {
        self.schema = schema
        self.base = base
        values = Array(repeating: .missing, count: schema.names.count)
    }

    /// The field's bytes (empty when missing or null).
    func bytes(_ f: Int) -> UnsafeBufferPointer<UInt8> {
        let v = values[f]
        return UnsafeBufferPointer(start: base + Int(v.start), count: v.kind == .missing || v.kind == .null ? 0 : Int(v.count))
    }

    /// Whether the field holds a value (not missing, not null, not an empty CSV field).
    func has(_ f: Int) -> Bool { values[f].kind != .missing && values[f].kind != .null && values[f].count > 0 }

    /// A text field as a String ("" when missing).
    func text(_ f: Int) -> String { String(decoding: bytes(f), as: UTF8.self) }

    /// A whole number in `range`; `fallback` when missing or null (an empty CSV field is an
    /// error).
    func integer(_ f: Int, in range: ClosedRange<Int>, fallback: Int = 0) throws(FieldError) -> Int {
        guard values[f].kind != .missing && values[f].kind != .null else { return fallback }
        var name: String { schema.names[f] }
        let b = bytes(f)
        let negative = b.first == 45
        var i = negative ? 1 : 0
        guard i < b.count else { throw FieldError("\(name): must be a whole number, not '\(String(decoding: b, as: UTF8.self))'") }
        var v = 0, overflow = false
        while i < b.count {
            let d = b[i] &- 48
            guard d <= 9 else {
                throw FieldError("\(name): must be a whole number, not '\(String(decoding: b.prefix(40), as: UTF8.self))'")
            }
            if !overflow {
                (v, overflow) = v.multipliedReportingOverflow(by: 10)
                if !overflow { (v, overflow) = v.addingReportingOverflow(Int(d)) }
            }
            i += 1
        }
        // Negate only a value that did not overflow (-Int.min traps).
        if negative && !overflow { v = -v }
        guard !overflow, range.contains(v) else {
            throw FieldError("\(name): \(String(decoding: b.prefix(40), as: UTF8.self)) is out of range \(range.lowerBound)...\(range.upperBound)")
        }
        return v
    }

    /// A whole number in `range`; nil when missing, null or an empty CSV field.
    func optionalInteger(_ f: Int, in range: ClosedRange<Int>) throws(FieldError) -> Int? {
        guard has(f) else { return nil }
        return try integer(f, in: range)
    }

    /// The longest decimal number read (digits, sign, point and exponent).
    static let maxDecimalBytes = 32

    /// A decimal number (`-?[0-9]+(.[0-9]+)?([eE][+-]?[0-9]+)?`, as JSON writes them: no
    /// NaN, infinity, `+` or bare point) in `range`; nil when missing, null or an empty
    /// CSV field.
    func decimal(_ f: Int, in range: ClosedRange<Double>) throws(FieldError) -> Double? {
        guard has(f) else { return nil }
        let b = bytes(f)
        var shown: String { String(decoding: b.prefix(40), as: UTF8.self) }
        guard b.count <= Self.maxDecimalBytes, Self.isDecimal(b), let v = Double(String(decoding: b, as: UTF8.self)), v.isFinite else {
            throw FieldError("\(schema.names[f]): must be a number like 12.5, not '\(shown)'")
        }
        guard range.contains(v) else {
            throw FieldError("\(schema.names[f]): \(shown) is out of range \(range.lowerBound)...\(range.upperBound)")
        }
        return v
    }

    /// Whether `b` is `-?[0-9]+(.[0-9]+)?([eE][+-]?[0-9]+)?`.
    private static func isDecimal(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        func digits() -> Bool {
            let s = i
            while i < b.count, b[i] >= 48 && b[i] <= 57 { i += 1 }
            return i > s
        }
        if i < b.count, b[i] == 45 { i += 1 }
        guard digits() else { return false }
        if i < b.count, b[i] == 46 {
            i += 1
            guard digits() else { return false }
        }
        if i < b.count, b[i] == 101 || b[i] == 69 {
            i += 1
            if i < b.count, b[i] == 43 || b[i] == 45 { i += 1 }
            guard digits() else { return false }
        }
        return i == b.count
    }

    /// A time in milliseconds since 1970; nil when missing, null or empty.
    func time(_ f: Int) throws(FieldError) -> Int64? {
        guard has(f) else { return nil }
        guard let ms = CDRTime.parseMilliseconds(bytes: bytes(f)) else {
            throw FieldError("\(schema.names[f]): '\(String(decoding: bytes(f).prefix(40), as: UTF8.self))' is not a valid "
                + "time (YYYY-MM-DDTHH:MM:SS[.fff]Z or ±HH:MM)")
        }
        return ms
    }

    /// A required time.
    func requiredTime(_ f: Int) throws(FieldError) -> Int64 {
        guard let t = try time(f) else { throw FieldError("missing \(schema.names[f])") }
        return t
    }

    /// `true`/`false` (CSV also `1`/`0`); false when missing or null.
    func boolean(_ f: Int) throws(FieldError) -> Bool {
        guard values[f].kind != .missing && values[f].kind != .null else { return false }
        let b = bytes(f)
        if equals(b, "true") || (values[f].kind == .text && equals(b, "1")) { return true }
        if equals(b, "false") || (values[f].kind == .text && equals(b, "0")) { return false }
        throw FieldError("\(schema.names[f]): must be true or false")
    }

    private func equals(_ b: UnsafeBufferPointer<UInt8>, _ word: StaticString) -> Bool {
        b.count == word.utf8CodeUnitCount && memcmp(b.baseAddress!, word.utf8Start, b.count) == 0
    }

    /// One of `table`'s values by its raw bytes; `fallback` when missing or empty.
    func choice<T>(_ f: Int, among table: [([UInt8], T)], fallback: T) throws(FieldError) -> T {
        guard has(f) else { return fallback }
        let b = bytes(f)
        for (raw, value) in table where raw.count == b.count {
            if raw.withUnsafeBufferPointer({ memcmp($0.baseAddress!, b.baseAddress!, b.count) }) == 0 { return value }
        }
        throw FieldError("unknown \(schema.names[f]) '\(String(decoding: b.prefix(40), as: UTF8.self))'")
    }

}
