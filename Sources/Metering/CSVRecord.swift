/// One field of a CSV record: `count` bytes at `start` (relative to the record), between
/// the quotes of a quoted field; `escaped` when it holds doubled quotes still to undo.
struct CSVField {
    var start: Int
    var count: Int
    var escaped: Bool
}

/// A problem in a CSV record, `lineOffset` lines after the record's first line: `message`
/// about field number `field` (1-based; nil for the record), then `advice`.
struct CSVSyntaxError: Error {
    var message: String
    var field: Int?
    var advice = ""
    var lineOffset: Int
}

/// Strict RFC 4180 records: a field is either unquoted (no `"`, CR or LF in it) or quoted
/// from its first byte to a closing quote followed by `,` or the end of the record, with
/// `""` for a quote and line breaks allowed inside. Records end with LF or CRLF.
enum CSVRecord {
    /// Splits the record at the start of `b` into `fields` (at most `fields.count`; `count`
    /// says how many). Returns the bytes it takes (with its line end) and how many line
    /// feeds they hold, or nil when `b` ends inside it and more of the file is to come
    /// (`atEOF` false); at end of file the record ends where `b` does.
    static func scan(_ b: UnsafeMutableBufferPointer<UInt8>, atEOF: Bool, into fields: UnsafeMutableBufferPointer<CSVField>,
                     count: inout Int) throws(CSVSyntaxError) -> (consumed: Int, newlines: Int)? {
        count = 0
        let n = b.count
        var i = 0
        var newlines = 0
        while true {
            guard count < fields.count else {
                throw CSVSyntaxError(message: "more than \(fields.count) fields", lineOffset: newlines)
            }
            let stop: Int
            if i < n && b[i] == 34 {
                guard let (close, escaped) = try closingQuote(b, open: i, atEOF: atEOF, field: count + 1, newlines: &newlines) else {
                    return nil
                }
                fields[count] = CSVField(start: i + 1, count: close - i - 1, escaped: escaped)
                count += 1
                stop = close + 1
                if stop < n && b[stop] != 44 && b[stop] != 10 && b[stop] != 13 {
                    throw CSVSyntaxError(message: "text after the closing quote of field", field: count, lineOffset: newlines)
                }
            } else {
                guard let end = try endOfUnquoted(b, from: i, atEOF: atEOF, field: count + 1, newlines: newlines) else { return nil }
                fields[count] = CSVField(start: i, count: end - i, escaped: false)
                count += 1
                stop = end
            }
            if stop == n { return (n, newlines) }
            switch b[stop] {
            case 44: i = stop + 1
            case 10: return (stop + 1, newlines + 1)
            default:   // CR: only as part of CRLF
                if stop + 1 < n && b[stop + 1] == 10 { return (stop + 2, newlines + 1) }
                if stop + 1 == n && !atEOF { return nil }
                throw CSVSyntaxError(message: "carriage return inside unquoted field", field: count,
                                     advice: "; quote the field", lineOffset: newlines)
            }
        }
    }

    /// The closing quote of the quoted field (number `field`) opening at `open`, and whether
    /// it holds doubled quotes; counts the line feeds inside it. Nil when `b` ends before the
    /// quote's meaning is known and more is to come.
    @inline(__always)
    private static func closingQuote(_ b: UnsafeMutableBufferPointer<UInt8>, open: Int, atEOF: Bool, field: Int,
                                     newlines: inout Int) throws(CSVSyntaxError) -> (close: Int, escaped: Bool)? {
        let n = b.count, openLine = newlines
        var i = open + 1
        var escaped = false
        while true {
            while i < n && b[i] != 34 {
                if b[i] == 10 { newlines += 1 }
                i += 1
            }
            if i + 1 >= n && !atEOF { return nil }   // the quote's meaning depends on the next byte
            guard i < n else {
                throw CSVSyntaxError(message: "unterminated quoted field", field: field, lineOffset: openLine)
            }
            if i + 1 < n && b[i + 1] == 34 { escaped = true; i += 2; continue }
            return (i, escaped)
        }
    }

    /// Where the unquoted field (number `field`) starting at `first` ends: at a comma, CR,
    /// LF or the end of `b`. Nil when `b` ends and more is to come; a quote in it is an error.
    @inline(__always)
    private static func endOfUnquoted(_ b: UnsafeMutableBufferPointer<UInt8>, from first: Int, atEOF: Bool, field: Int,
                                      newlines: Int) throws(CSVSyntaxError) -> Int? {
        let n = b.count
        var i = first
        while i < n {
            let c = b[i]
            if c == 44 || c == 10 || c == 13 || c == 34 { break }
            i += 1
        }
        if i == n && !atEOF { return nil }
        if i < n && b[i] == 34 {
            throw CSVSyntaxError(message: "quote inside unquoted field", field: field,
                                 advice: "; quote the whole field and double the quote", lineOffset: newlines)
        }
        return i
    }

    /// Undoes the doubled quotes of an escaped field in place; returns its new length.
    static func unescape(_ p: UnsafeMutablePointer<UInt8>, count: Int) -> Int {
        var r = 0, w = 0
        while r < count {
            p[w] = p[r]
            r += p[r] == 34 ? 2 : 1
            w += 1
        }
        return w
    }
}
