#if canImport(Glibc)
import Glibc
#endif

/// A problem in a JSON line (the message names the key when there is one).
struct JSONSyntaxError: Error {
    var message: String
}

/// A strict JSON parser (RFC 8259) for the flat objects the exports write, one per line:
/// an object whose values are strings, numbers, `true`, `false` or `null`. A nested object
/// or array, a duplicate key, a lone surrogate, invalid UTF-8 or text after the object is
/// an error. Strings are decoded in place (a decoded string is never longer than its
/// escaped form).
enum FlatJSON {
    /// Parses the object in `b` into `values` (indexed by `schema` field; keys the schema
    /// does not know are checked and skipped). `values` must come in all `.missing`.
    static func parse(_ b: UnsafeMutableBufferPointer<UInt8>, schema: ExportSchema,
                      into values: inout [FieldValue]) throws(JSONSyntaxError) {
        // Valid UTF-8 as a whole (the usual case) spares checking each string; decoded
        // escapes are valid by construction.
        var p = Parser(b: b, checkStrings: !UTF8Check.isValid(b.baseAddress!, b.count))
        p.skipSpace()
        guard p.peek == 123 else { throw JSONSyntaxError(message: "not a JSON object") }
        p.i += 1
        p.skipSpace()
        var object = ObjectState()
        if p.peek == 125 { p.i += 1 } else {
            while try p.member(schema: schema, into: &values, &object) {}
        }
        p.skipSpace()
        guard p.i == b.count else { throw JSONSyntaxError(message: "text after the object") }
        if object.required < schema.requiredCount,
           let f = values.indices.first(where: { schema.required[$0] && values[$0].kind == .missing }) {
            throw JSONSyntaxError(message: "missing key '\(schema.names[f])'")
        }
    }
}

/// What an object's members so far have shown.
private struct ObjectState {
    var keys = 0
    var required = 0
    /// Keys the schema does not know (start, count), to refuse them twice too.
    var unknown: [(Int, Int)] = []
    /// The field expected next.
    var hint = 0
}

private struct Parser {
    let b: UnsafeMutableBufferPointer<UInt8>
    /// Check each string's UTF-8 (to name the key of a bad one).
    let checkStrings: Bool
    var i = 0

    init(b: UnsafeMutableBufferPointer<UInt8>, checkStrings: Bool) {
        self.b = b
        self.checkStrings = checkStrings
    }

    /// One `"key": value` member at `i` into `values`, and the `,` after it (true) or the
    /// closing `}` (false).
    mutating func member(schema: ExportSchema, into values: inout [FieldValue], _ o: inout ObjectState) throws(JSONSyntaxError) -> Bool {
        guard peek == 34 else { throw JSONSyntaxError(message: "not a JSON object (expected a key in quotes)") }
        o.keys += 1
        guard o.keys <= ImportLimits.maxFields else { throw JSONSyntaxError(message: "more than \(ImportLimits.maxFields) keys") }
        let key: (start: Int, count: Int)
        let index: Int?
        if let n = schema.quotedKeyLength(o.hint, at: UnsafeBufferPointer(rebasing: b[i...])) {
            // The key the exports write next, verbatim (the usual case).
            (key, index) = ((i + 1, n - 2), o.hint)
            i += n
        } else {
            let keyValue: FieldValue
            do { keyValue = try string() } catch { throw JSONSyntaxError(message: "key: " + error.message) }
            key = (Int(keyValue.start), Int(keyValue.count))
            index = schema.index(of: UnsafeBufferPointer(rebasing: b[key.start..<(key.start + key.count)]), hint: o.hint)
        }
        let b = self.b
        func name() -> String {
            index.map { schema.names[$0] } ?? String(decoding: b[key.start..<(key.start + key.count)].prefix(80), as: UTF8.self)
        }
        skipSpace()
        guard peek == 58 else { throw JSONSyntaxError(message: "\(name()): expected ':'") }
        i += 1
        skipSpace()
        let v: FieldValue
        do { v = try value() } catch { throw JSONSyntaxError(message: "\(name()): " + error.message) }
        if let index {
            guard values[index].kind == .missing else { throw JSONSyntaxError(message: "duplicate key '\(name())'") }
            if v.kind != schema.jsonKinds[index], let problem = schema.problem(index, v.kind) { throw JSONSyntaxError(message: problem) }
            if schema.required[index] { o.required += 1 }
            values[index] = v
            o.hint = index + 1
        } else {
            for (s, n) in o.unknown where n == key.count && b[s..<(s + n)].elementsEqual(b[key.start..<(key.start + key.count)]) {
                throw JSONSyntaxError(message: "duplicate key '\(name())'")
            }
            o.unknown.append((key.start, key.count))
        }
        skipSpace()
        if peek == 44 {
            i += 1
            skipSpace()
            return true
        }
        guard peek == 125 else { throw JSONSyntaxError(message: "\(name()): expected ',' or '}' after the value") }
        i += 1
        return false
    }

    /// The next byte, or 0 at the end.
    var peek: UInt8 { i < b.count ? b[i] : 0 }

    mutating func skipSpace() {
        while i < b.count, b[i] == 32 || b[i] == 9 || b[i] == 13 { i += 1 }
    }

    /// The value at `i` (errors without the key's name: the caller adds it).
    mutating func value() throws(JSONSyntaxError) -> FieldValue {
        switch peek {
        case 34: return try string()
        case 45, 48...57: return try number()
        case 116: return try literal("true", .boolean)
        case 102: return try literal("false", .boolean)
        case 110: return try literal("null", .null)
        case 123: throw JSONSyntaxError(message: "nested object (export records are flat)")
        case 91: throw JSONSyntaxError(message: "nested array (export records are flat)")
        default: throw JSONSyntaxError(message: "not a JSON value")
        }
    }

    mutating func literal(_ word: StaticString, _ kind: ValueKind) throws(JSONSyntaxError) -> FieldValue {
        let n = word.utf8CodeUnitCount
        guard i + n <= b.count, memcmp(b.baseAddress! + i, word.utf8Start, n) == 0 else {
            throw JSONSyntaxError(message: "not a JSON value")
        }
        defer { i += n }
        return FieldValue(start: i, count: n, kind: kind)
    }

    mutating func number() throws(JSONSyntaxError) -> FieldValue {
        let s = i
        func digits() -> Int {
            let d = i
            while i < b.count, b[i] >= 48 && b[i] <= 57 { i += 1 }
            return i - d
        }
        if peek == 45 { i += 1 }
        let bad = JSONSyntaxError(message: "malformed number")
        if peek == 48 { i += 1 } else if digits() == 0 { throw bad }
        if peek == 46 {
            i += 1
            guard digits() > 0 else { throw bad }
        }
        if peek == 101 || peek == 69 {
            i += 1
            if peek == 43 || peek == 45 { i += 1 }
            guard digits() > 0 else { throw bad }
        }
        return FieldValue(start: s, count: i - s, kind: .number)
    }

    /// The string at `i` (on its opening quote), decoded in place.
    mutating func string() throws(JSONSyntaxError) -> FieldValue {
        i += 1
        let start = i
        // Most strings have no escape: find the end without copying, 8 bytes at a time
        // while no byte is '"', '\\' or below 0x20.
        let ones: UInt64 = 0x0101_0101_0101_0101, high: UInt64 = 0x8080_8080_8080_8080
        while i + 8 <= b.count {
            let x = UnsafeRawPointer(b.baseAddress! + i).loadUnaligned(as: UInt64.self)
            let q = x ^ (ones &* 34), e = x ^ (ones &* 92)
            if ((q &- ones) & ~q | (e &- ones) & ~e | (x &- ones &* 0x20) & ~x) & high != 0 { break }
            i += 8
        }
        while i < b.count, b[i] != 34 && b[i] != 92 && b[i] >= 0x20 { i += 1 }
        var w = i
        while true {
            guard i < b.count else { throw JSONSyntaxError(message: "unterminated string") }
            let c = b[i]
            if c == 34 { break }
            if c < 0x20 { throw JSONSyntaxError(message: "control character in a string (escape it)") }
            if c != 92 {
                b[w] = c
                w += 1
                i += 1
                continue
            }
            guard i + 1 < b.count else { throw JSONSyntaxError(message: "unterminated string") }
            let e = b[i + 1]
            i += 2
            switch e {
            case 34, 92, 47: b[w] = e
            case 98: b[w] = 8
            case 102: b[w] = 12
            case 110: b[w] = 10
            case 114: b[w] = 13
            case 116: b[w] = 9
            case 117:
                w = try unicodeEscape(writingAt: w)
                continue
            default: throw JSONSyntaxError(message: "unknown escape '\\\(Character(Unicode.Scalar(e)))'")
            }
            w += 1
        }
        i += 1
        guard !checkStrings || UTF8Check.isValid(b.baseAddress! + start, w - start) else {
            throw JSONSyntaxError(message: "not valid UTF-8")
        }
        return FieldValue(start: start, count: w - start, kind: .string)
    }

    /// Decodes `XXXX` (after `\u`, at `i`), with its low surrogate when it is a high one,
    /// as UTF-8 at `w`; returns the new write position.
    mutating func unicodeEscape(writingAt w: Int) throws(JSONSyntaxError) -> Int {
        var scalar = try hex4()
        if (0xD800...0xDBFF).contains(scalar) {
            guard i + 1 < b.count, b[i] == 92, b[i + 1] == 117 else { throw JSONSyntaxError(message: "lone surrogate") }
            i += 2
            let low = try hex4()
            guard (0xDC00...0xDFFF).contains(low) else { throw JSONSyntaxError(message: "lone surrogate") }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00...0xDFFF).contains(scalar) {
            throw JSONSyntaxError(message: "lone surrogate")
        }
        let n = scalar < 0x80 ? 1 : scalar < 0x800 ? 2 : scalar < 0x10000 ? 3 : 4
        if n == 1 { b[w] = UInt8(scalar); return w + 1 }
        // Lead byte: n high bits set; then 6 bits per continuation byte.
        b[w] = UInt8(truncatingIfNeeded: (0xF00 >> n) & 0xFF) | UInt8(scalar >> (6 * UInt32(n - 1)))
        for k in 1..<n { b[w + k] = 0x80 | UInt8((scalar >> (6 * UInt32(n - 1 - k))) & 0x3F) }
        return w + n
    }

    mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        guard i + 4 <= b.count else { throw JSONSyntaxError(message: "short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = b[i]
            let d: UInt8
            switch c {
            case 48...57: d = c - 48
            case 97...102: d = c - 87
            case 65...70: d = c - 55
            default: throw JSONSyntaxError(message: "bad \\u escape")
            }
            v = v << 4 | UInt32(d)
            i += 1
        }
        return v
    }
}
