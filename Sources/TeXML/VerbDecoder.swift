/// Turns a raw ``XMLElementNode`` tree into a validated ``FlowDocument``.
///
/// Structure rules live here; attribute rules for each verb are in the `decode…`
/// functions (see also `VerbDecoder+Complex.swift` for Gather, Record and Dial).
enum VerbDecoder {
    static let topLevelVerbs = ["Say", "Play", "Pause", "Gather", "Record", "Dial", "Redirect", "Hangup", "Reject"]
    static let promptVerbs = ["Say", "Play", "Pause"]
    static let dialNouns = ["Number", "Sip"]
    /// TwiML/TeXML elements that exist on hosted platforms but that tollfreed does not accept.
    static let unsupportedElements = [
        "AIAssistant", "AIGather", "Application", "Client", "Conference", "Connect", "ConversationRelay",
        "Echo", "Enqueue", "HttpRequest", "Identity", "Leave", "Message", "Parameter", "Pay", "Prompt",
        "Queue", "Recording", "Refer", "Siprec", "Sms", "Start", "Stop", "Stream", "Suppression",
        "Task", "Transcription", "VirtualAgent",
    ]

    // MARK: Document

    static func document(_ root: XMLElementNode, source: String) throws -> FlowDocument {
        guard root.localName == "Response" else {
            throw TeXMLError(kind: .unknownElement, location: root.location, verb: root.qualifiedName,
                             message: "the root element must be <Response>")
        }
        guard root.namespaceURI.isEmpty else {
            throw TeXMLError(kind: .unknownElement, location: root.location, verb: root.qualifiedName,
                             message: "TeXML elements must not be in a namespace, found '\(root.namespaceURI)'")
        }
        let attributes = try AttributeReader(root)
        try attributes.finish()
        var verbs: [Verb] = []
        try forEachChild(of: root) { verbs.append(try verb($0)) }
        return FlowDocument(source: source, verbs: verbs, extensions: attributes.extensions)
    }

    static func verb(_ element: XMLElementNode) throws -> Verb {
        guard element.namespaceURI.isEmpty else {
            throw unexpected(element, inside: "Response", allowed: topLevelVerbs)
        }
        switch element.localName {
        case "Say": return .say(try say(element))
        case "Play": return .play(try play(element))
        case "Pause": return .pause(try pause(element))
        case "Gather": return .gather(try gather(element))
        case "Record": return .record(try record(element))
        case "Dial": return .dial(try dial(element))
        case "Redirect": return .redirect(try redirect(element))
        case "Hangup": return .hangup(try hangup(element))
        case "Reject": return .reject(try reject(element))
        default: throw unexpected(element, inside: "Response", allowed: topLevelVerbs)
        }
    }

    /// The `<Say>`, `<Play>` and `<Pause>` prompts nested in `parent`; anything else is an error.
    static func prompts(in parent: XMLElementNode) throws -> [Prompt] {
        var result: [Prompt] = []
        try forEachChild(of: parent) { child in
            guard child.namespaceURI.isEmpty else {
                throw unexpected(child, inside: parent.localName, allowed: promptVerbs)
            }
            switch child.localName {
            case "Say": result.append(.say(try say(child)))
            case "Play": result.append(.play(try play(child)))
            case "Pause": result.append(.pause(try pause(child)))
            default: throw unexpected(child, inside: parent.localName, allowed: promptVerbs)
            }
        }
        return result
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
                                        + "found '\(excerpt(text))'")
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

    /// Fails if `element` has any content at all.
    static func requireEmpty(_ element: XMLElementNode) throws {
        try requireNoChildElements(element)
        if let text = element.firstSignificantText {
            throw TeXMLError(kind: .unexpectedContent, location: text.location, verb: element.localName,
                             message: "must be empty, found text '\(excerpt(text.text))'")
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
        if topLevelVerbs.contains(name) || dialNouns.contains(name) {
            var message = "not allowed inside <\(parent)> (allowed: \(allowedList))"
            if dialNouns.contains(name) { message += "; <\(name)> must be nested in <Dial>" }
            return make(.misplacedElement, message)
        }
        if name == "Response" {
            return make(.misplacedElement, "<Response> may only be the root element")
        }
        if unsupportedElements.contains(name) {
            return make(.unknownElement, "not supported by tollfreed (allowed inside <\(parent)>: \(allowedList))")
        }
        let candidates = topLevelVerbs + dialNouns + ["Response"]
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

    static func say(_ element: XMLElementNode) throws -> Say {
        var attributes = try AttributeReader(element)
        let voice = try attributes.nonEmpty("voice") ?? Say.defaultVoice
        let language = try attributes.language("language", default: Say.defaultLanguage)
        let loop = try attributes.integer("loop", in: 0...Int.max, default: 1)
        try attributes.finish()
        try requireNoChildElements(element)
        let text = element.text.collapsedWhitespace
        guard !text.isEmpty else { throw missing(element, "text to speak is required") }
        return Say(text: text, voice: voice, language: language, loop: loop, location: element.location,
                   extensions: attributes.extensions)
    }

    static func play(_ element: XMLElementNode) throws -> Play {
        var attributes = try AttributeReader(element)
        let loop = try attributes.integer("loop", in: 0...Int.max, default: 1)
        let digits = try attributes.keys("digits", allowed: "0123456789*#wW", allowEmpty: false)
        try attributes.finish()
        try requireNoChildElements(element)
        let url = element.text.trimmed
        if url.isEmpty, digits == nil {
            throw missing(element, "a URL or file path to play is required (or a 'digits' attribute)")
        }
        if !url.isEmpty, digits != nil {
            throw TeXMLError(kind: .unexpectedContent, location: element.location, verb: element.localName,
                             message: "give either a URL/path to play or a 'digits' attribute, not both")
        }
        return Play(url: url.isEmpty ? nil : url, digits: digits, loop: loop, location: element.location,
                    extensions: attributes.extensions)
    }

    static func pause(_ element: XMLElementNode) throws -> Pause {
        var attributes = try AttributeReader(element)
        let length = try attributes.integer("length", in: Pause.lengthRange, default: 1)
        try attributes.finish()
        try requireEmpty(element)
        return Pause(length: length, location: element.location, extensions: attributes.extensions)
    }

    static func redirect(_ element: XMLElementNode) throws -> Redirect {
        var attributes = try AttributeReader(element)
        let method = try attributes.method("method")
        try attributes.finish()
        try requireNoChildElements(element)
        let target = element.text.trimmed
        guard !target.isEmpty else { throw missing(element, "the URL or file path of the next document is required") }
        return Redirect(target: target, method: method, location: element.location, extensions: attributes.extensions)
    }

    static func hangup(_ element: XMLElementNode) throws -> Hangup {
        let attributes = try AttributeReader(element)
        try attributes.finish()
        try requireEmpty(element)
        return Hangup(location: element.location, extensions: attributes.extensions)
    }

    static func reject(_ element: XMLElementNode) throws -> Reject {
        var attributes = try AttributeReader(element)
        let reason = try attributes.choice("reason", default: Reject.Reason.rejected)
        try attributes.finish()
        try requireEmpty(element)
        return Reject(reason: reason, location: element.location, extensions: attributes.extensions)
    }
}
