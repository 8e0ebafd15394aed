/// Turns a raw ``XMLElementNode`` tree into a validated ``FlowDocument``.
///
/// Structure rules live here; attribute rules for each verb are in the `decode…`
/// functions (see also `VerbDecoder+Complex.swift` for Gather, Record and Dial).
struct VerbDecoder {
    /// Tolerated problems: markup the platforms document that tollfreed does not implement
    /// (an attribute, a verb, a noun), ignored or skipped.
    var warnings: [TeXMLError] = []
    /// Problems of the top-level verbs: each verb that fails is reported and decoding goes
    /// on with the next, so `tollfreed check` lists them all.
    private(set) var errors: [TeXMLError] = []

    static let topLevelVerbs = ["Say", "Play", "Pause", "Gather", "Record", "Dial", "Redirect", "Hangup", "Reject"]
    static let promptVerbs = ["Say", "Play", "Pause"]
    static let dialNouns = ["Number", "Sip"]
    /// TwiML/TeXML elements (verbs and `<Dial>` nouns) that exist on hosted platforms but
    /// that tollfreed does not implement: skipped with a warning, never a reason to refuse.
    static let unsupportedElements = [
        "AIAssistant", "AIGather", "Application", "Client", "Conference", "Connect", "ConversationRelay",
        "Echo", "Enqueue", "HttpRequest", "Identity", "Leave", "Message", "Parameter", "Pay", "Prompt",
        "Queue", "Recording", "Refer", "Sim", "Siprec", "Sms", "Start", "Stop", "Stream", "Suppression",
        "Task", "Transcription", "VirtualAgent", "WhatsApp",
    ]

    // MARK: Document

    /// The document, or the first error; every other error is in `errors`, and what was
    /// tolerated in `warnings` (kept in the document too).
    mutating func document(_ root: XMLElementNode, source: String) throws -> FlowDocument {
        guard root.localName == "Response" else {
            throw TeXMLError(kind: .unknownElement, location: root.location, verb: root.qualifiedName,
                             message: "the root element must be <Response>")
        }
        guard root.namespaceURI.isEmpty else {
            throw TeXMLError(kind: .unknownElement, location: root.location, verb: root.qualifiedName,
                             message: "TeXML elements must not be in a namespace, found '\(root.namespaceURI)'")
        }
        let attributes = try AttributeReader(root)
        finish(attributes)
        var verbs: [Verb] = []
        try Self.forEachChild(of: root) { child in
            do {
                if let v = try verb(child) { verbs.append(v) }
            } catch let e as TeXMLError {
                errors.append(e)
            }
        }
        if let first = errors.first { throw first }
        return FlowDocument(source: source, verbs: verbs, extensions: attributes.extensions, warnings: warnings)
    }

    /// A top-level verb; nil when it is one tollfreed skips (see `unsupportedElements`).
    mutating func verb(_ element: XMLElementNode) throws -> Verb? {
        guard element.namespaceURI.isEmpty else {
            throw Self.unexpected(element, inside: "Response", allowed: Self.topLevelVerbs)
        }
        switch element.localName {
        case "Say": return .say(try say(element))
        case "Play": return .play(try play(element))
        case "Pause": return .pause(try pause(element))
        case "Gather": return .gather(try gather(element))
        case "Record": return .record(try record(element))
        case "Dial": return try dial(element).map(Verb.dial)
        case "Redirect": return .redirect(try redirect(element))
        case "Hangup": return .hangup(try hangup(element))
        case "Reject": return .reject(try reject(element))
        default:
            try skipUnsupported(element, inside: "Response", allowed: Self.topLevelVerbs)
            return nil
        }
    }

    /// The `<Say>`, `<Play>` and `<Pause>` prompts nested in `parent`; a verb the platforms
    /// document but tollfreed does not implement is skipped with a warning; anything else
    /// is an error.
    mutating func prompts(in parent: XMLElementNode) throws -> [Prompt] {
        var result: [Prompt] = []
        try Self.forEachChild(of: parent) { child in
            guard child.namespaceURI.isEmpty else {
                throw Self.unexpected(child, inside: parent.localName, allowed: Self.promptVerbs)
            }
            switch child.localName {
            case "Say": result.append(.say(try say(child)))
            case "Play": result.append(.play(try play(child)))
            case "Pause": result.append(.pause(try pause(child)))
            default: try skipUnsupported(child, inside: parent.localName, allowed: Self.promptVerbs)
            }
        }
        return result
    }

    /// A platform verb or noun tollfreed does not implement: a warning, and it is skipped.
    /// Anything else that is not allowed here stays an error.
    mutating func skipUnsupported(_ element: XMLElementNode, inside parent: String, allowed: [String]) throws {
        guard element.namespaceURI.isEmpty, Self.unsupportedElements.contains(element.localName) else {
            throw Self.unexpected(element, inside: parent, allowed: allowed)
        }
        warnings.append(TeXMLError(kind: .unknownElement, location: element.location, verb: element.qualifiedName,
                                   message: "not supported by tollfreed; skipped"))
    }

    /// Records the attributes `a`'s element carries that tollfreed does not read.
    mutating func finish(_ a: AttributeReader) {
        warnings += a.ignoredAttributes()
    }

    // MARK: Structure helpers

    /// Calls `body` for each child element in document order; non-whitespace text is an error.
    static func forEachChild(of parent: XMLElementNode, _ body: (XMLElementNode) throws -> Void) throws {
        for child in parent.children {
            switch child {
            case .element(let element):
                try body(element)
            case .text(let text, let location):
                guard text.isBlank else {
                    throw TeXMLError(kind: .unexpectedContent, location: location, verb: parent.localName,
                                     message: "text is not allowed directly inside <\(parent.localName)>, "
                                        + "found '\(Self.excerpt(text))'")
                }
            }
        }
    }

    /// Fails if `element` has any child element (it may only contain text).
    static func requireNoChildElements(_ element: XMLElementNode) throws {
        if let child = element.childElements.first {
            throw TeXMLError(kind: .unexpectedContent, location: child.location, verb: child.qualifiedName,
                             message: "not allowed inside <\(element.localName)>, which may only contain text")
        }
    }

    /// `<Hangup>` and `<Reject>` are empty, except for Twilio's `<Parameter>` children
    /// (values handed to a Studio flow or a Connect app), which are skipped with a warning.
    mutating func skipParameters(_ element: XMLElementNode) throws {
        let children = element.childElements
        guard !children.isEmpty, children.allSatisfy({ $0.namespaceURI.isEmpty && $0.localName == "Parameter" }),
              element.firstSignificantText == nil else { return try Self.requireEmpty(element) }
        for child in children { try skipUnsupported(child, inside: element.localName, allowed: []) }
    }

    /// Fails if `element` has any content at all.
    static func requireEmpty(_ element: XMLElementNode) throws {
        try Self.requireNoChildElements(element)
        if let text = element.firstSignificantText {
            throw TeXMLError(kind: .unexpectedContent, location: text.location, verb: element.localName,
                             message: "must be empty, found text '\(Self.excerpt(text.text))'")
        }
    }

    /// The error for an element that is not allowed where it is.
    static func unexpected(_ element: XMLElementNode, inside parent: String, allowed: [String]) -> TeXMLError {
        let name = element.localName
        let allowedList = allowed.map { "<\($0)>" }.joined(separator: ", ")
        func make(_ kind: TeXMLError.Kind, _ message: String) -> TeXMLError {
            TeXMLError(kind: kind, location: element.location, verb: element.qualifiedName, message: message)
        }
        if !element.namespaceURI.isEmpty {
            return make(.unknownElement, "elements in namespace '\(element.namespaceURI)' are not supported")
        }
        if Self.topLevelVerbs.contains(name) || Self.dialNouns.contains(name) {
            var message = "not allowed inside <\(parent)> (allowed: \(allowedList))"
            if Self.dialNouns.contains(name) { message += "; <\(name)> must be nested in <Dial>" }
            return make(.misplacedElement, message)
        }
        if name == "Response" {
            return make(.misplacedElement, "<Response> may only be the root element")
        }
        if unsupportedElements.contains(name) {
            return make(.unknownElement, "not supported by tollfreed (allowed inside <\(parent)>: \(allowedList))")
        }
        let candidates = Self.topLevelVerbs + Self.dialNouns + ["Response"]
        let kindName = parent == "Dial" ? "noun" : "verb"
        if let suggestion = AttributeReader.suggestion(for: name, among: candidates) {
            return make(.unknownElement, "unknown \(kindName) (did you mean <\(suggestion)>?)")
        }
        return make(.unknownElement, "unknown \(kindName) (allowed inside <\(parent)>: \(allowedList))")
    }

    /// A short, single-line quote of `text` for messages.
    static func excerpt(_ text: String) -> String {
        let collapsed = text.collapsedWhitespace
        return collapsed.count > 40 ? String(collapsed.prefix(40)) + "…" : collapsed
    }

    static func missing(_ element: XMLElementNode, _ message: String) -> TeXMLError {
        TeXMLError(kind: .missingContent, location: element.location, verb: element.localName, message: message)
    }

    // MARK: Simple verbs

    mutating func say(_ element: XMLElementNode) throws -> Say {
        var attributes = try AttributeReader(element)
        let voice = try attributes.nonEmpty("voice") ?? Say.defaultVoice
        let language = try attributes.language("language", default: Say.defaultLanguage)
        let loop = try attributes.integer("loop", in: 0...Int.max, default: 1)
        finish(attributes)
        guard !element.childElements.isEmpty else {
            let text = element.text.collapsedWhitespace
            guard !text.isEmpty else { throw Self.missing(element, "text to speak is required") }
            return Say(text: text, voice: voice, language: language, loop: loop, location: element.location,
                       extensions: attributes.extensions)
        }
        // SSML (`<break>`, `<prosody>`, `<say-as>`...): spoken by espeak-ng as SSML.
        let (ssml, ssmlWarnings) = SSMLRenderer.render(element)
        warnings += ssmlWarnings
        return Say(text: ssml, voice: voice, language: language, loop: loop, location: element.location,
                   extensions: attributes.extensions, ssml: true)
    }

    mutating func play(_ element: XMLElementNode) throws -> Play {
        var attributes = try AttributeReader(element)
        let loop = try attributes.integer("loop", in: 0...Int.max, default: 1)
        let digits = try attributes.keys("digits", allowed: Self.sendDigitKeys, allowEmpty: false)
        let ringTone = try attributes.nonEmpty("ringTone")
        finish(attributes)
        try Self.requireNoChildElements(element)
        let url = element.text.trimmed
        if url.isEmpty, digits == nil, ringTone == nil {
            throw Self.missing(element, "a URL or file path to play is required (or a 'digits' or 'ringTone' attribute)")
        }
        if !url.isEmpty, digits != nil {
            throw TeXMLError(kind: .unexpectedContent, location: element.location, verb: element.localName,
                             message: "give either a URL/path to play or a 'digits' attribute, not both")
        }
        return Play(url: url.isEmpty ? nil : url, digits: digits, ringTone: ringTone, loop: loop, location: element.location,
                    extensions: attributes.extensions)
    }

    mutating func pause(_ element: XMLElementNode) throws -> Pause {
        var attributes = try AttributeReader(element)
        let length = try attributes.integer("length", in: Pause.lengthRange, default: 1)
        finish(attributes)
        try Self.requireEmpty(element)
        return Pause(length: length, location: element.location, extensions: attributes.extensions)
    }

    mutating func redirect(_ element: XMLElementNode) throws -> Redirect {
        var attributes = try AttributeReader(element)
        let method = try attributes.method("method")
        finish(attributes)
        try Self.requireNoChildElements(element)
        let target = element.text.trimmed
        guard !target.isEmpty else { throw Self.missing(element, "the URL or file path of the next document is required") }
        return Redirect(target: target, method: method, location: element.location, extensions: attributes.extensions)
    }

    mutating func hangup(_ element: XMLElementNode) throws -> Hangup {
        let attributes = try AttributeReader(element)
        finish(attributes)
        try skipParameters(element)
        return Hangup(location: element.location, extensions: attributes.extensions)
    }

    mutating func reject(_ element: XMLElementNode) throws -> Reject {
        var attributes = try AttributeReader(element)
        let reason = try attributes.choice("reason", default: Reject.Reason.rejected)
        finish(attributes)
        try skipParameters(element)
        return Reject(reason: reason, location: element.location, extensions: attributes.extensions)
    }
}
