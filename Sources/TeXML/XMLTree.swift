import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// An element as read from the XML, before any TeXML validation.
struct XMLElementNode: Sendable {
    /// Content of an element, in document order.
    enum Child: Sendable {
        case element(XMLElementNode)
        /// A run of character data (text, entities, CDATA) and where its first
        /// non-whitespace character is.
        case text(String, SourceLocation)
    }

    var localName: String
    /// Namespace URI of the element; empty when it is in no namespace.
    var namespaceURI: String
    var qualifiedName: String
    /// Attributes keyed by qualified name (`loop`, `tf:emergency`); `xmlns` declarations excluded.
    var attributes: [String: String]
    /// Prefix to namespace URI mappings in scope at this element.
    var namespaces: [String: String]
    var location: SourceLocation
    var children: [Child] = []

    var childElements: [XMLElementNode] {
        children.compactMap { child in
            if case .element(let element) = child { return element }
            return nil
        }
    }

    /// All character data of the element concatenated (child elements excluded).
    var text: String {
        children.reduce(into: "") { result, child in
            if case .text(let text, _) = child { result += text }
        }
    }

    /// The first text run that is not only whitespace, if any.
    var firstSignificantText: (text: String, location: SourceLocation)? {
        for child in children {
            if case .text(let text, let location) = child, !text.isBlank {
                return (text, location)
            }
        }
        return nil
    }
}

extension String {
    var isBlank: Bool { unicodeScalars.allSatisfy { CharacterSet.whitespacesAndNewlines.contains($0) } }
    var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
    /// Trimmed, with every run of whitespace collapsed into a single space.
    var collapsedWhitespace: String {
        split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }
}

/// Maps libxml2's reported positions back to the source text so that errors point at the
/// `<` of a start tag (libxml2 reports the end of the tag) or at the first character of a text run.
struct SourceText {
    private let scalars: [Unicode.Scalar]
    private let lineStarts: [Int]

    init(data: Data) {
        var scalars = Array(String(decoding: data, as: UTF8.self).unicodeScalars)
        if scalars.first == "\u{FEFF}" { scalars.removeFirst() }  // libxml2 does not count the BOM
        var starts = [0]
        for (index, scalar) in scalars.enumerated() where scalar == "\n" {
            starts.append(index + 1)
        }
        self.scalars = scalars
        self.lineStarts = starts
    }

    private func offset(line: Int, column: Int) -> Int? {
        guard line >= 1, line <= lineStarts.count, column >= 1, !scalars.isEmpty else { return nil }
        return min(lineStarts[line - 1] + column - 1, scalars.count - 1)
    }

    private func position(of offset: Int) -> (line: Int, column: Int) {
        var low = 0
        var high = lineStarts.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if lineStarts[mid] <= offset { low = mid } else { high = mid - 1 }
        }
        return (low + 1, offset - lineStarts[low] + 1)
    }

    /// The position of `<qualifiedName` for a start tag whose end libxml2 reported at
    /// `line:column`. Attribute values cannot contain a literal `<`, so the nearest `<`
    /// before the reported position is the tag's start.
    func elementStart(reportedLine line: Int, column: Int, qualifiedName: String) -> (line: Int, column: Int)? {
        guard var index = offset(line: line, column: column) else { return nil }
        while index >= 0, scalars[index] != "<" { index -= 1 }
        guard index >= 0 else { return nil }
        let name = Array(qualifiedName.unicodeScalars)
        guard index + name.count < scalars.count,
              Array(scalars[(index + 1)...(index + name.count)]) == name else { return nil }
        return position(of: index)
    }

    /// The position of the first non-whitespace character of a text run that libxml2
    /// reported as ending at `line:column`.
    func textStart(reportedLine line: Int, column: Int) -> (line: Int, column: Int)? {
        guard let end = offset(line: line, column: column) else { return nil }
        var index = end - 1
        while index >= 0, scalars[index] != ">" { index -= 1 }
        var start = index + 1
        while start < end, CharacterSet.whitespacesAndNewlines.contains(scalars[start]) { start += 1 }
        return position(of: start)
    }
}

/// XMLParser delegate building an ``XMLElementNode`` tree; it keeps only the first error.
final class XMLTreeBuilder: NSObject, XMLParserDelegate {
    static let xmlNamespace = "http://www.w3.org/XML/1998/namespace"

    private let source: String
    private let sourceText: SourceText
    private var stack: [XMLElementNode] = []
    private var scopes: [[String: String]] = [["xml": XMLTreeBuilder.xmlNamespace]]
    private var pendingNamespaces: [String: String] = [:]
    private var elementCount = 0
    private(set) var root: XMLElementNode?
    private(set) var error: TeXMLError?

    init(source: String, data: Data) {
        self.source = source
        self.sourceText = SourceText(data: data)
    }

    /// Parses `data` into a tree, throwing the first XML syntax error.
    static func parse(_ data: Data, source: String) throws -> XMLElementNode {
        let parser = XMLParser(data: data)
        parser.shouldProcessNamespaces = true
        parser.shouldReportNamespacePrefixes = true
        parser.shouldResolveExternalEntities = false
        let builder = XMLTreeBuilder(source: source, data: data)
        parser.delegate = builder
        let succeeded = withExtendedLifetime(builder) { parser.parse() }
        if let error = builder.error { throw error }
        if !succeeded || parser.parserError != nil {
            let code = (parser.parserError as NSError?)?.code ?? -1
            throw builder.syntaxError(code: code, line: parser.lineNumber, column: parser.columnNumber)
        }
        guard let root = builder.root else {
            throw TeXMLError(kind: .syntax, location: SourceLocation(file: source, line: 1, column: 1),
                             verb: nil, message: "document is empty; expected a <Response> root element")
        }
        return root
    }

    private func syntaxError(code: Int, line: Int, column: Int) -> TeXMLError {
        let open = stack.last?.qualifiedName
        return TeXMLError(kind: .syntax,
                          location: SourceLocation(file: source, line: max(line, 1), column: max(column, 1)),
                          verb: open,
                          message: TeXMLError.syntaxMessage(forCode: code, insideElement: open, sawRoot: root != nil))
    }

    func parser(_ parser: XMLParser, didStartMappingPrefix prefix: String, toURI namespaceURI: String) {
        pendingNamespaces[prefix] = namespaceURI
    }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
        guard error == nil else { return }
        var scope = scopes.last ?? [:]
        scope.merge(pendingNamespaces) { _, new in new }
        let declared = pendingNamespaces
        pendingNamespaces = [:]
        scopes.append(scope)
        let qualified = qName ?? elementName
        let reportedLine = parser.lineNumber
        let reportedColumn = parser.columnNumber
        let start = sourceText.elementStart(reportedLine: reportedLine, column: reportedColumn,
                                            qualifiedName: qualified)
        let location = SourceLocation(file: source, line: start?.line ?? reportedLine,
                                      column: start?.column ?? reportedColumn)
        elementCount += 1
        if let message = limitViolation(attributes: attributeDict, declarations: declared) {
            error = TeXMLError(kind: .limitExceeded, location: location, verb: qualified, message: message)
            parser.abortParsing()
            return
        }
        stack.append(XMLElementNode(localName: elementName, namespaceURI: namespaceURI ?? "",
                                    qualifiedName: qualified, attributes: attributeDict,
                                    namespaces: scope, location: location))
    }

    /// Why the element being started passes one of ``TeXMLParser``'s limits, if it does.
    /// Keeping the tree at most ``TeXMLParser/maxDepth`` deep is what keeps its recursive
    /// teardown (and every recursive walk over it) far from the end of the stack.
    private func limitViolation(attributes: [String: String], declarations: [String: String]) -> String? {
        if stack.count + 1 > TeXMLParser.maxDepth {
            return "elements are nested more than \(TeXMLParser.maxDepth) levels deep"
        }
        if elementCount > TeXMLParser.maxElements {
            return "the document has more than \(TeXMLParser.maxElements) elements"
        }
        if attributes.count + declarations.count > TeXMLParser.maxAttributes {
            return "more than \(TeXMLParser.maxAttributes) attributes on one element"
        }
        let declarationValues = declarations.map { ($0.key.isEmpty ? "xmlns" : "xmlns:\($0.key)", $0.value) }
        let values = attributes.merging(declarationValues) { value, _ in value }
        if let (name, _) = values.sorted(by: { $0.key < $1.key })
            .first(where: { $0.value.utf8.count > TeXMLParser.maxAttributeLength }) {
            return "attribute '\(name)' is longer than \(TeXMLParser.maxAttributeLength) bytes"
        }
        return nil
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?) {
        guard error == nil, let node = stack.popLast() else { return }
        scopes.removeLast()
        if stack.isEmpty {
            root = node
        } else {
            stack[stack.count - 1].children.append(.element(node))
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        appendText(string, parser: parser)
    }

    func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) {
        appendText(String(decoding: CDATABlock, as: UTF8.self), parser: parser)
    }

    private func appendText(_ string: String, parser: XMLParser) {
        guard error == nil, !stack.isEmpty else { return }
        let top = stack.count - 1
        if case .text(let previous, let location)? = stack[top].children.last {
            let newLocation = previous.isBlank && !string.isBlank ? textLocation(parser) : location
            stack[top].children[stack[top].children.count - 1] = .text(previous + string, newLocation)
        } else {
            let location = string.isBlank ? stack[top].location : textLocation(parser)
            stack[top].children.append(.text(string, location))
        }
    }

    private func textLocation(_ parser: XMLParser) -> SourceLocation {
        let line = parser.lineNumber
        let column = parser.columnNumber
        let start = sourceText.textStart(reportedLine: line, column: column)
        return SourceLocation(file: source, line: start?.line ?? line, column: start?.column ?? column)
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) {
        guard error == nil else { return }
        error = syntaxError(code: (parseError as NSError).code, line: parser.lineNumber,
                            column: parser.columnNumber)
        parser.abortParsing()
    }
}
