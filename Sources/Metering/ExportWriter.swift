#if canImport(Formats)
import Formats // (the fuzz targets compile Formats' sources into one module)
#endif

/// Appends CSV or JSON Lines fields straight into a byte buffer: the export's hot loop
/// (a million rows in a few seconds) formats without `Any`, interpolation or
/// intermediate Strings. Text follows the same rules as `CDRExporter.csvField` and
/// `JSONText.quoted`.
struct ExportWriter {
    let format: CDRExportFormat
    var bytes: [UInt8]
    private var fieldCount = 0

    init(format: CDRExportFormat, reserving capacity: Int = 1 << 17) {
        self.format = format
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    mutating func beginRow() {
        fieldCount = 0
        if format == .jsonl { bytes.append(UInt8(ascii: "{")) }
    }

    mutating func endRow() {
        if format == .jsonl { bytes.append(UInt8(ascii: "}")) }
        bytes.append(10)
    }

    private mutating func key(_ name: StaticString) {
        if fieldCount > 0 { bytes.append(UInt8(ascii: ",")) }
        fieldCount += 1
        guard format == .jsonl else { return }
        bytes.append(34)
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(34)
        bytes.append(UInt8(ascii: ":"))
    }

    mutating func text(_ name: StaticString, _ value: String) {
        key(name)
        var v = value
        v.withUTF8 { u in format == .csv ? csvText(u) : jsonText(u) }
    }

    mutating func int(_ name: StaticString, _ value: Int64) {
        key(name)
        appendDecimal(value)
    }

    mutating func bool(_ name: StaticString, _ value: Bool) {
        key(name)
        let s: StaticString = value ? "true" : "false"
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// A whole number; nil is an empty CSV field or JSON null.
    mutating func int(_ name: StaticString, _ value: Int64?) {
        key(name)
        guard let value else { return null() }
        appendDecimal(value)
    }

    /// A number with exactly one decimal (`12.5`, `0.0`, `-3.0`), rounded half away from
    /// zero; no exponent, no locale. Nil, NaN and infinities are an empty CSV field or JSON
    /// null; magnitudes past 10^15 are written as 10^15.
    mutating func tenths(_ name: StaticString, _ value: Double?) {
        key(name)
        guard let value, value.isFinite else { return null() }
        let tenths = Int64((min(max(value, -1e15), 1e15) * 10).rounded())
        if tenths < 0 { bytes.append(UInt8(ascii: "-")) }
        appendDecimal(Int64(tenths.magnitude / 10))
        bytes.append(UInt8(ascii: "."))
        bytes.append(UInt8(48 + tenths.magnitude % 10))
    }

    /// An absent value: nothing in CSV, `null` in JSON.
    private mutating func null() {
        if format == .jsonl { bytes.append(contentsOf: [110, 117, 108, 108]) }
    }

    /// An ISO-8601 time; nil is an empty CSV field or JSON null.
    mutating func time(_ name: StaticString, _ value: Double?) {
        key(name)
        guard let value else { return null() }
        if format == .jsonl { bytes.append(34) }
        CDRTime.append(secondsSince1970: value, to: &bytes)
        if format == .jsonl { bytes.append(34) }
    }

    private mutating func appendDecimal(_ value: Int64) {
        if value == 0 { bytes.append(48); return }
        var v = value.magnitude
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            while v > 0 { d[n] = UInt8(48 + v % 10); v /= 10; n += 1 }
            for i in stride(from: n - 1, through: 0, by: -1) { bytes.append(d[i]) }
        }
    }

    /// RFC 4180 quoting when needed; a formula-looking value (or one starting with `'` and
    /// one of `=+-@'`) gets a leading `'`, which the reader takes away.
    private mutating func csvText(_ u: UnsafeBufferPointer<UInt8>) {
        guard let first = u.first else { return }
        var formula = false
        if first == UInt8(ascii: "=") || first == UInt8(ascii: "@") {
            formula = true
        } else if first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
            // "+15551230000" is a phone number, not a formula.
            formula = u.count == 1 || !u.dropFirst().allSatisfy { $0 >= 48 && $0 <= 57 }
        } else if first == UInt8(ascii: "'"), u.count >= 2, Array("=+-@'".utf8).contains(u[1]) {
            // Already starts as a guarded value would: guard it too, so reading takes one ' away.
            formula = true
        }
        var quote = false
        var i = 0
        while i < u.count {
            let c = u[i]
            if c == 44 || c == 34 || c == 10 || c == 13 || c == 11 || c == 12 { quote = true; break }
            // U+0085, U+2028, U+2029 are newlines too.
            if c == 0xC2, i + 1 < u.count, u[i + 1] == 0x85 { quote = true; break }
            if c == 0xE2, i + 2 < u.count, u[i + 1] == 0x80, u[i + 2] == 0xA8 || u[i + 2] == 0xA9 { quote = true; break }
            i += 1
        }
        if quote { bytes.append(34) }
        if formula { bytes.append(UInt8(ascii: "'")) }
        if quote {
            for c in u { if c == 34 { bytes.append(34) }; bytes.append(c) }
            bytes.append(34)
        } else {
            bytes.append(contentsOf: u)
        }
    }

    private mutating func jsonText(_ u: UnsafeBufferPointer<UInt8>) {
        JSONText.appendQuoted(u, to: &bytes)
    }
}

extension CDRTime {
    /// Appends `2026-11-22T01:02:03.456Z` for a time in seconds since 1970, by civil-date
    /// arithmetic (no libc call per value).
    static func append(secondsSince1970 t: Double, to out: inout [UInt8]) {
        let ms = Int64((t * 1000).rounded())
        let secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
        let frac = Int(ms - secs * 1000)
        var days = secs >= 0 ? secs / 86_400 : (secs - 86_399) / 86_400
        let sod = Int(secs - days * 86_400)
        // Days since 1970-01-01 to year/month/day (H. Hinnant's civil_from_days).
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let doe = days - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = Int(doy - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        let year = Int(yoe + era * 400) + (month <= 2 ? 1 : 0)
        func put(_ v: Int, _ width: Int) {
            var div = 1
            for _ in 1..<width { div *= 10 }
            var v = v
            while div > 0 { out.append(UInt8(48 + (v / div) % 10)); v %= div; div /= 10 }
        }
        put(year, 4); out.append(45); put(month, 2); out.append(45); put(day, 2); out.append(84)
        put(sod / 3600, 2); out.append(58); put(sod / 60 % 60, 2); out.append(58); put(sod % 60, 2)
        out.append(46); put(frac, 3); out.append(90)
    }
}
