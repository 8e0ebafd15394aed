import Foundation

/// Loads TeXML call-flow documents into a validated ``FlowDocument``.
///
/// Validation is strict where it matters: unknown verbs, misplaced verbs, bad attribute
/// values and missing content are refused at load time with a ``TeXMLError`` that points
/// at the offending element. Markup the hosted platforms document that tollfreed does not
/// implement (an attribute, a verb, a `<Dial>` noun) is ignored or skipped and listed in
/// ``FlowDocument/warnings``: an app written for them still runs. Attributes in the `urn:tollfreed:texml` namespace are kept as
/// extensions; attributes in any other namespace are refused.
public enum TeXMLParser {
    /// The XML namespace of tollfreed's own extension attributes, e.g.
    /// `<Say xmlns:tf="urn:tollfreed:texml" tf:emergency="true">`. Such attributes are kept
    /// in the verb's `extensions`, keyed by local name.
    public static let extensionNamespace = "urn:tollfreed:texml"

    /// Largest document accepted, in bytes: 64 KiB, as on hosted TeXML platforms (the webhook
    /// client stops reading answers at the same size).
    public static let maxDocumentBytes = 64 << 10
    /// Deepest element nesting accepted; `<Response>` is level 1 (TeXML itself needs 4).
    public static let maxDepth = 64
    /// Most elements one document may hold.
    public static let maxElements = 10_000
    /// Most attributes (namespace declarations included) one element may carry.
    public static let maxAttributes = 32
    /// Longest attribute value accepted, in UTF-8 bytes.
    public static let maxAttributeLength = 8192

    /// Parses a document held in memory.
    /// - Parameters:
    ///   - data: The XML bytes (UTF-8 recommended).
    ///   - source: Name used in error messages and stored in ``FlowDocument/source``,
    ///     typically the file path such as `CallFlows/x.xml`.
    /// - Throws: ``TeXMLError`` for any syntax or validation problem.
    public static func parse(_ data: Data, source: String) throws -> FlowDocument {
        try DocumentGuard.check(data, source: source)
        let root = try XMLTreeBuilder.parse(data, source: source)
        var decoder = VerbDecoder()
        return try decoder.document(root, source: source)
    }

    /// Every problem of a document, for `tollfreed check`: the errors (the XML's first
    /// syntax error, or one per top-level verb that fails) and the warnings (markup ignored
    /// or skipped). `document` is nil when there is an error.
    public static func diagnose(_ data: Data, source: String) -> (document: FlowDocument?, errors: [TeXMLError], warnings: [TeXMLError]) {
        var decoder = VerbDecoder()
        do {
            try DocumentGuard.check(data, source: source)
            let root = try XMLTreeBuilder.parse(data, source: source)
            let document = try decoder.document(root, source: source)
            return (document, [], document.warnings)
        } catch let error as TeXMLError {
            return (nil, decoder.errors.isEmpty ? [error] : decoder.errors, decoder.warnings)
        } catch {
            return (nil, [TeXMLError(kind: .io, location: SourceLocation(file: source, line: 0, column: 0), verb: nil,
                                     message: "\(error)")], decoder.warnings)
        }
    }

    /// Reads and parses a file. The source name is the URL's path as given (relative
    /// paths stay relative); read failures become a ``TeXMLError`` of kind `.io` at line 0.
    /// - Throws: ``TeXMLError``.
    public static func parse(contentsOf url: URL) throws -> FlowDocument {
        let source = url.isFileURL ? url.relativePath : url.absoluteString
        guard url.isFileURL else {
            throw TeXMLError(kind: .io, location: SourceLocation(file: source, line: 0, column: 0), verb: nil,
                             message: "only local files can be loaded, not '\(url.absoluteString)'")
        }
        let data: Data
        do {
            // One byte past the limit is enough for the size check to refuse it.
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            data = try handle.read(upToCount: maxDocumentBytes + 1) ?? Data()
        } catch {
            let reason = (error as NSError).localizedDescription
            throw TeXMLError(kind: .io, location: SourceLocation(file: source, line: 0, column: 0), verb: nil,
                             message: "cannot read file: \(reason)")
        }
        return try parse(data, source: source)
    }
}
