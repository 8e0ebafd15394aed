#if canImport(Glibc)
import Glibc
#endif

/// Reads one export file as rows of a schema's fields: CSV with a header row (RFC 4180)
/// or JSON Lines, told by the first non-blank byte. Blank lines are skipped; a record
/// repeating an earlier record's id with the same text is skipped and counted in
/// `report`, with other text it is an error. Every error names `file:line`.
struct ExportRecordReader {
    let schema: ExportSchema
    private let scanner: ExportScanner
    private var isJSON: Bool?
    /// CSV column -> schema field (-1: a column the schema does not know).
    private var columns: [Int]?
    private var columnNames: [String] = []
    private var fields = [CSVField](repeating: CSVField(start: 0, count: 0, escaped: false), count: ImportLimits.maxFields)
    private var fieldCount = 0
    private var pending = (bytes: 0, newlines: 0)
    private var seen = DuplicateFilter()
    private let countingRepeats: Bool
    /// The current record's text hash (for telling repeats apart).
    private var content: UInt64 = 0
    /// Records read and repeats skipped so far.
    private(set) var report: ImportReport
    /// The current record (valid until `next()` is called again).
    private(set) var row: ExportRow

    var path: String { scanner.path }

    /// A reader of `path`; `countingRepeats` false passes repeated ids on.
    init(path: String, schema: ExportSchema, countingRepeats: Bool = true) throws {
        self.schema = schema
        self.countingRepeats = countingRepeats
        scanner = try ExportScanner(path: path)
        try scanner.skipByteOrderMark()
        report = ImportReport(idField: schema.idField.map { schema.names[$0] } ?? "")
        row = ExportRow(schema: schema, base: UnsafeMutablePointer(bitPattern: 1)!)
    }

    private func fail(_ message: String, lineOffset: Int = 0) -> ImportError {
        ImportError("\(scanner.path):\(scanner.line + lineOffset): \(message)")
    }

    /// Reads the next record into `row`; false at the end of the file.
    mutating func next() throws -> Bool {
        while true {
            scanner.consume(pending.bytes, newlines: pending.newlines)
            pending = (0, 0)
            while scanner.available.isEmpty { guard try scanner.fill() else { return false } }
            guard let blank = try blankLine() else { continue }
            if blank > 0 { pending = (blank, 1); continue }
            if isJSON == nil { isJSON = scanner.available.first { $0 != 32 && $0 != 9 && $0 != 13 } == 123 }
            guard try isJSON == true ? readJSON() : readCSV() else { continue }
            if try isRepeat() { continue }
            report.records += 1
            return true
        }
    }

    /// 0 when the next line is not blank; else its length with the line feed (sets pending
    /// at the end of the file); nil when more bytes must be read first.
    private mutating func blankLine() throws -> Int? {
        let b = scanner.available
        var k = 0
        while k < b.count, b[k] == 32 || b[k] == 9 || b[k] == 13 { k += 1 }
        if k < b.count { return b[k] == 10 ? k + 1 : 0 }
        if scanner.atEOF {
            pending = (k, 0)
            return nil
        }
        _ = try scanner.fill()
        return nil
    }

    /// One JSON line into `row`; false when more bytes had to be read first.
    private mutating func readJSON() throws -> Bool {
        let b = scanner.available
        let found = memchr(b.baseAddress!, 10, b.count)
        if found == nil && !scanner.atEOF {
            _ = try scanner.fill()
            return false
        }
        let length = found.map { UnsafeMutableRawPointer($0) - UnsafeMutableRawPointer(b.baseAddress!) } ?? b.count
        guard length <= ImportLimits.maxRecordBytes else { throw fail("record longer than \(ImportLimits.maxRecordBytes) bytes") }
        pending = (found == nil ? length : length + 1, found == nil ? 0 : 1)
        content = ByteHash.hash(b.baseAddress!, length, seed: 3)
        startRow(at: b.baseAddress!)
        do {
            try FlatJSON.parse(UnsafeMutableBufferPointer(rebasing: b[0..<length]), schema: schema, into: &row.values)
        } catch {
            throw fail(error.message)
        }
        return true
    }

    private mutating func startRow(at base: UnsafeMutablePointer<UInt8>) {
        row.base = base
        row.line = scanner.line
        for i in row.values.indices { row.values[i] = .missing }
    }

    /// One CSV record into `row` (the header when none was read yet: then false); false
    /// also when more bytes had to be read first.
    private mutating func readCSV() throws -> Bool {
        let b = scanner.available
        guard let scanned = try scanCSV(b) else { return false }
        var length = scanned.consumed
        if length > 0 && b[length - 1] == 10 { length -= 1 }
        if length > 0 && b[length - 1] == 13 { length -= 1 }
        guard length <= ImportLimits.maxRecordBytes else { throw fail("record longer than \(ImportLimits.maxRecordBytes) bytes") }
        pending = (scanned.consumed, scanned.newlines)
        guard let columns else {
            try readHeader(b.baseAddress!)
            return false
        }
        guard fieldCount == columns.count else { throw fail("\(fieldCount) fields, the header has \(columns.count)") }
        content = ByteHash.hash(b.baseAddress!, length, seed: 3)
        // Valid as a whole (the usual case) means every field is; else find the field.
        let valid = UTF8Check.isValid(b.baseAddress!, length)
        startRow(at: b.baseAddress!)
        try fillRow(b.baseAddress!, columns: columns, checkFields: !valid)
        return true
    }

    /// Splits the record at the start of `b` into `fields`; nil after reading more of the file.
    private mutating func scanCSV(_ b: UnsafeMutableBufferPointer<UInt8>) throws -> (consumed: Int, newlines: Int)? {
        let scanned: (consumed: Int, newlines: Int)?
        do {
            scanned = try fields.withUnsafeMutableBufferPointer { f throws(CSVSyntaxError) in
                try CSVRecord.scan(b, atEOF: scanner.atEOF, into: f, count: &fieldCount)
            }
        } catch {
            var message = error.message
            if let f = error.field {
                message += " \(f)" + (columnNames.indices.contains(f - 1) ? " (\(columnNames[f - 1]))" : "")
            }
            throw fail(message + error.advice, lineOffset: error.lineOffset)
        }
        if scanned == nil {
            if b.count >= ImportLimits.maxRecordBytes {
                throw fail("record longer than \(ImportLimits.maxRecordBytes) bytes (a quoted field that never ends?)")
            }
            _ = try scanner.fill()
        }
        return scanned
    }

    /// The fields of a CSV record into `row`, unescaped in place.
    private mutating func fillRow(_ base: UnsafeMutablePointer<UInt8>, columns: [Int], checkFields: Bool) throws {
        let types = schema.types, fields = self.fields, fieldCount = self.fieldCount
        var bad: Int?
        row.values.withUnsafeMutableBufferPointer { values in
            for column in 0..<fieldCount {
                let field = fields[column]
                var start = field.start, count = field.count
                if field.escaped { count = CSVRecord.unescape(base + start, count: count) }
                if checkFields && bad == nil && !UTF8Check.isValid(base + start, count) { bad = column }
                let f = columns[column]
                guard f >= 0 else { continue }
                // The exporter prefixes a formula-looking text with ' (spreadsheet safety),
                // and text starting with ' and one of =+-@'.
                let second = count >= 2 ? base[start + 1] : 0
                if types[f] == .text, count >= 2, base[start] == 39,
                   second == 61 || second == 43 || second == 45 || second == 64 || second == 39 {
                    start += 1
                    count -= 1
                }
                values[f] = FieldValue(start: start, count: count, kind: .text)
            }
        }
        if let bad { throw fail("\(columnNames[bad]): not valid UTF-8") }
    }

    private mutating func readHeader(_ base: UnsafeMutablePointer<UInt8>) throws {
        var names: [String] = []
        for field in fields[0..<fieldCount] {
            var count = field.count
            if field.escaped { count = CSVRecord.unescape(base + field.start, count: count) }
            guard UTF8Check.isValid(base + field.start, count) else { throw fail("header: not valid UTF-8") }
            let name = String(decoding: UnsafeBufferPointer(start: base + field.start, count: count), as: UTF8.self)
            names.append(name.trimmingSpaces)
        }
        var map: [Int] = []
        for name in names {
            let f = schema.names.firstIndex(of: name) ?? -1
            if f >= 0 && map.contains(f) { throw fail("header: column '\(name)' appears twice") }
            map.append(f)
        }
        let lacking = schema.names.indices.filter { schema.required[$0] && !map.contains($0) }.map { schema.names[$0] }
        guard lacking.isEmpty else {
            throw fail("not a \(schema.kind) export: the header lacks \(lacking.joined(separator: ", "))")
        }
        columnNames = names
        columns = map
    }

    /// Whether the current record repeats an earlier one's id with the same text (then it
    /// is counted in `report`); throws when the text differs.
    private mutating func isRepeat() throws -> Bool {
        guard countingRepeats, let idField = schema.idField, row.has(idField) else { return false }
        let id = row.bytes(idField)
        switch seen.insert(id: id, content: content) {
        case .new:
            return false
        case .repeated:
            report.duplicates += 1
            if report.duplicateIDs.count < ImportReport.idsKept { report.duplicateIDs.append(row.text(idField)) }
            return true
        case .conflict:
            let first = try Self.firstLine(of: Array(id), path: scanner.path, schema: schema).map { " at line \($0)" } ?? ""
            throw fail("\(schema.names[idField]) '\(String(decoding: id.prefix(80), as: UTF8.self))' already seen\(first) "
                       + "with different content")
        }
    }

    /// The line of the first record with `id` (read again: only after a conflict).
    private static func firstLine(of id: [UInt8], path: String, schema: ExportSchema) throws -> Int? {
        var again = try ExportRecordReader(path: path, schema: schema, countingRepeats: false)
        while try again.next() {
            if again.row.bytes(schema.idField!).elementsEqual(id) { return again.row.line }
        }
        return nil
    }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    fileprivate var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return String(s)
    }
}
