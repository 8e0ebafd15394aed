/// A position inside a TeXML source document.
///
/// `line` and `column` are 1-based and count characters (Unicode scalars), the way
/// editors and compilers report them. For elements the position is that of the
/// opening `<` of the start tag. A `line` of 0 means "no position" (for example when
/// the file could not be read at all).
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    /// The source name given to the parser, usually a path such as `CallFlows/x.xml`.
    public var file: String
    /// 1-based line number, or 0 when unknown.
    public var line: Int
    /// 1-based column number, or 0 when unknown.
    public var column: Int

    /// Creates a location.
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `"file:line:column"`.
    public var description: String { "\(file):\(line):\(column)" }
}

/// An error found while loading a TeXML document.
///
/// Every problem (XML syntax, unknown or misplaced verb, unknown attribute, bad attribute
/// value, missing or unexpected content, unreadable file) is reported with the position
/// and the element at fault so operators can fix call flows quickly:
///
///     CallFlows/x.xml:4:3: <Say>: attribute 'loop' must be an integer >= 0, got 'abc'
public struct TeXMLError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Broad classification of the problem, for programmatic handling and tests.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// The file could not be read.
        case io
        /// The document is not well-formed XML (or is empty).
        case syntax
        /// An element name that is not a TeXML verb or noun this parser accepts.
        case unknownElement
        /// A known verb or noun in a place where it is not allowed.
        case misplacedElement
        /// An attribute that the element does not define.
        case unknownAttribute
        /// An attribute whose value fails validation.
        case invalidAttribute
        /// An attribute in an XML namespace other than the tollfreed extension namespace.
        case foreignNamespace
        /// Required text content is missing or empty.
        case missingContent
        /// Text content that fails validation (e.g. a malformed phone number or SIP URI).
        case invalidContent
        /// Text or child elements where none are allowed.
        case unexpectedContent
        /// The document passes one of the parser's limits (size, nesting depth, element count,
        /// attribute count or length); see ``TeXMLParser/maxDepth`` and its neighbours.
        case limitExceeded
    }

    /// What kind of problem this is.
    public var kind: Kind
    /// Where the problem is.
    public var location: SourceLocation
    /// The element (verb or noun) at fault, e.g. `"Say"`; `nil` for file-level problems.
    public var verb: String?
    /// Human-readable explanation.
    public var message: String

    /// Creates an error.
    public init(kind: Kind, location: SourceLocation, verb: String?, message: String) {
        self.kind = kind
        self.location = location
        self.verb = verb
        self.message = message
    }

    /// The source name the document was loaded from.
    public var file: String { location.file }
    /// 1-based line, or 0 when the file could not be read.
    public var line: Int { location.line }
    /// 1-based column, or 0 when the file could not be read.
    public var column: Int { location.column }

    /// `"file:line:column: <Verb>: message"`, or `"file:line:column: message"` without a verb.
    public var description: String {
        if let verb {
            return "\(location): <\(verb)>: \(message)"
        }
        return "\(location): \(message)"
    }
}

extension TeXMLError {
    /// Human-readable text for the libxml2 error codes that XMLParser reports (it gives
    /// no message of its own on Linux). Codes follow libxml2's `xmlParserErrors`.
    static func syntaxMessage(forCode code: Int, insideElement: String?, sawRoot: Bool) -> String {
        switch code {
        case 4: return "document is empty; expected a <Response> root element"
        case 5:
            if insideElement != nil {
                return "unexpected end of document: element is not closed"
            }
            if !sawRoot {
                return "document is empty; expected a <Response> root element"
            }
            return "unexpected content after the root element"
        case 6, 7, 8: return "invalid character reference"
        case 9: return "invalid character in document"
        case 22, 23: return "malformed entity reference (use &amp; for a literal '&')"
        case 26, 27: return "undefined entity (only &amp; &lt; &gt; &quot; &apos; are predefined)"
        case 31, 32: return "unsupported document encoding"
        case 38: return "'<' is not allowed inside an attribute value (use &lt;)"
        case 39: return "attribute value must be quoted"
        case 40: return "attribute value is not terminated"
        case 41: return "attribute has no value"
        case 42, 203: return "duplicate attribute"
        case 45: return "comment is not terminated"
        case 63: return "CDATA section is not terminated"
        case 64: return "reserved XML name"
        case 65: return "whitespace required between attributes"
        case 68: return "element name expected"
        case 73: return "'>' expected"
        case 74: return "'</' expected"
        case 75: return "'=' expected after attribute name"
        case 76: return "closing tag does not match opening tag"
        case 77: return "element is not closed before the end of the document"
        case 80: return "'--' is not allowed inside a comment"
        case 81: return "document is not valid in its declared encoding"
        case 85: return "document is not well-balanced"
        case 86: return "extra content at the end of the document"
        case 201: return "undeclared namespace prefix"
        case 202: return "invalid qualified name"
        default: return "XML syntax error (libxml2 code \(code))"
        }
    }
}
