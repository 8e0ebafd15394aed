import Foundation

/// Checks made on a document's raw bytes before libxml2 sees them: its size, that it is
/// UTF-8, and that its prolog holds no DOCTYPE.
///
/// Refusing every DTD is what keeps entity attacks out: without one, no entity other than
/// the five predefined ones can exist, so nothing can expand (billion laughs, quadratic
/// blowup) and no external entity or DTD can be fetched. libxml2 would otherwise substitute
/// entities (XMLParser turns on `XML_PARSE_NOENT`). A DOCTYPE may only appear in the prolog,
/// before the root element; anywhere else libxml2 reports it as a syntax error. The prolog
/// can be scanned byte by byte because the document is required to be UTF-8.
enum DocumentGuard {
    /// Encoding names an XML declaration may give (compared case-insensitively).
    static let acceptedEncodings: Set<String> = ["utf-8", "utf8", "us-ascii", "ascii"]

    /// Throws a ``TeXMLError`` when `data` is too large, not UTF-8, or declares a DTD.
    static func check(_ data: Data, source: String) throws {
        guard data.count <= TeXMLParser.maxDocumentBytes else {
            throw TeXMLError(kind: .limitExceeded, location: SourceLocation(file: source, line: 1, column: 1),
                             verb: nil, message: "the document is longer than the limit of "
                                + "\(TeXMLParser.maxDocumentBytes) bytes")
        }
        let bytes = [UInt8](data)
        guard !bytes.contains(0), String(validating: bytes, as: UTF8.self) != nil else {
            throw syntax("the document is not UTF-8 (TeXML must be UTF-8)", source: source, line: 1, column: 1)
        }
        let scanner = PrologScanner(bytes: bytes)
        if let encoding = scanner.declaredEncoding(), !acceptedEncodings.contains(encoding.lowercased()) {
            throw syntax("unsupported document encoding '\(encoding)' (TeXML must be UTF-8)",
                         source: source, line: 1, column: 1)
        }
        if let offset = scanner.doctypeOffset() {
            let (line, column) = scanner.position(of: offset)
            throw syntax("a DOCTYPE is not allowed in TeXML (no DTDs or entity declarations; "
                         + "use &amp; &lt; &gt; &quot; &apos; only)", source: source, line: line, column: column)
        }
    }

    private static func syntax(_ message: String, source: String, line: Int, column: Int) -> TeXMLError {
        TeXMLError(kind: .syntax, location: SourceLocation(file: source, line: line, column: column),
                   verb: nil, message: message)
    }
}

/// Walks the prolog of a UTF-8 document: the XML declaration, comments, processing
/// instructions and whitespace before the root element.
struct PrologScanner {
    private let bytes: [UInt8]
    /// Offset of the first byte after a UTF-8 byte order mark (libxml2 does not count it).
    private let start: Int

    init(bytes: [UInt8]) {
        self.bytes = bytes
        self.start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
    }

    private func has(_ prefix: String, at index: Int) -> Bool {
        var i = index
        for byte in prefix.utf8 {
            guard i < bytes.count, bytes[i] == byte else { return false }
            i += 1
        }
        return true
    }

    private func find(_ needle: String, from index: Int) -> Int? {
        var i = index
        while i < bytes.count {
            if has(needle, at: i) { return i }
            i += 1
        }
        return nil
    }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }

    /// The `encoding` pseudo-attribute of the XML declaration, if there is one.
    func declaredEncoding() -> String? {
        guard has("<?xml", at: start), start + 5 < bytes.count, Self.isSpace(bytes[start + 5]),
              let end = find("?>", from: start) else { return nil }
        let declaration = String(decoding: bytes[start..<end], as: UTF8.self)
        guard let name = declaration.range(of: "encoding") else { return nil }
        var rest = declaration[name.upperBound...].drop { $0.isWhitespace }
        guard rest.first == "=" else { return nil }
        rest = rest.dropFirst().drop { $0.isWhitespace }
        guard let quote = rest.first, quote == "\"" || quote == "'" else { return nil }
        return String(rest.dropFirst().prefix { $0 != quote })
    }

    /// The offset of a `<!DOCTYPE` in the prolog, or nil when the prolog has none.
    func doctypeOffset() -> Int? {
        var i = start
        while i < bytes.count {
            if Self.isSpace(bytes[i]) {
                i += 1
            } else if has("<?", at: i) {
                guard let end = find("?>", from: i + 2) else { return nil }
                i = end + 2
            } else if has("<!--", at: i) {
                guard let end = find("-->", from: i + 4) else { return nil }
                i = end + 3
            } else {
                return has("<!DOCTYPE", at: i) ? i : nil
            }
        }
        return nil
    }

    /// 1-based line and column (in Unicode scalars) of a byte offset.
    func position(of offset: Int) -> (line: Int, column: Int) {
        var line = 1
        var column = 1
        for byte in bytes[start..<offset] {
            if byte == 0x0A {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return (line, column)
    }
}
