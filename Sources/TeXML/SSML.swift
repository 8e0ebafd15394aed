/// SSML inside `<Say>`, as Twilio and Telnyx accept it, turned into the SSML espeak-ng
/// speaks. Tags espeak-ng reads (`break`, `prosody`, `emphasis`, `p`, `s`, `sub`) keep their
/// attributes that it understands; `say-as` for digits, telephone numbers and spelling
/// becomes `say-as interpret-as="characters"` (one character at a time); tags it has no
/// equivalent for (`phoneme`, `lang`, `w`, `voice`, `mark`, `amazon:*`, other `say-as`
/// kinds) are dropped and their text is spoken. Anything else is not SSML: a warning, and its
/// text is spoken.
enum SSMLRenderer {
    /// Tags passed through, with the attributes kept for each.
    static let passThrough: [String: [String]] = [
        "break": ["time", "strength"], "prosody": ["rate", "pitch", "volume"], "emphasis": ["level"],
        "p": [], "s": [], "sub": ["alias"],
    ]
    /// `say-as` kinds read one character at a time.
    static let spelled: Set<String> = ["characters", "spell-out", "digits", "telephone", "tts:char", "verbatim"]
    /// SSML tags whose text is spoken without them.
    static let contentOnly: Set<String> = ["say-as", "phoneme", "lang", "w", "voice", "mark", "speak", "effect",
                                           "audio", "desc", "token"]

    /// The `<speak>` document for `say`'s content, and the warnings for what is not SSML.
    static func render(_ say: XMLElementNode) -> (ssml: String, warnings: [TeXMLError]) {
        var warnings: [TeXMLError] = []
        let body = content(of: say, warnings: &warnings)
        return ("<speak>" + body + "</speak>", warnings)
    }

    private static func content(of element: XMLElementNode, warnings: inout [TeXMLError]) -> String {
        var out = ""
        for child in element.children {
            switch child {
            case .text(let text, _):
                let words = text.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
                if let first = text.first, first.isWhitespace, !out.hasSuffix(" ") { out += " " }
                out += escape(words)
                if let last = text.last, last.isWhitespace, !words.isEmpty { out += " " }
            case .element(let e):
                out += render(e, warnings: &warnings)
            }
        }
        return out
    }

    private static func render(_ e: XMLElementNode, warnings: inout [TeXMLError]) -> String {
        let name = e.localName
        let inner = content(of: e, warnings: &warnings)
        if name == "say-as", spelled.contains(e.attributes["interpret-as"]?.lowercased() ?? "") {
            return "<say-as interpret-as=\"characters\">" + inner + "</say-as>"
        }
        if let kept = passThrough[name], e.namespaceURI.isEmpty {
            let attributes = kept.compactMap { key in e.attributes[key].map { " \(key)=\"\(escape($0))\"" } }.joined()
            return inner.isEmpty ? "<\(name)\(attributes)/>" : "<\(name)\(attributes)>\(inner)</\(name)>"
        }
        if !contentOnly.contains(name) {
            warnings.append(TeXMLError(kind: .unknownElement, location: e.location, verb: e.qualifiedName,
                                       message: "not SSML tollfreed speaks; its text is spoken"))
        }
        return inner
    }

    /// `text` safe inside SSML text or a quoted attribute.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}
