/// A parsed and validated TeXML `<Response>` document.
public struct FlowDocument: Sendable, Hashable {
    /// Source name the document was loaded from (used in error messages and logs).
    public var source: String
    /// Top-level verbs in document order.
    public var verbs: [Verb]
    /// tollfreed extension attributes on `<Response>` itself, keyed by local name.
    public var extensions: [String: String]
    /// What the parser tolerated: attributes ignored and platform verbs skipped because
    /// tollfreed does not implement them (`tollfreed check` prints them as warnings).
    public var warnings: [TeXMLError]

    /// Creates a document.
    public init(source: String, verbs: [Verb], extensions: [String: String] = [:], warnings: [TeXMLError] = []) {
        self.source = source
        self.verbs = verbs
        self.extensions = extensions
        self.warnings = warnings
    }

    /// Every `<Say>` in the document, top-level and nested (inside `<Gather>` and
    /// `<Record>`), in document order. Used to pre-synthesise prompts at load time.
    public func spokenPrompts() -> [Say] {
        var result: [Say] = []
        for verb in verbs {
            switch verb {
            case .say(let say):
                result.append(say)
            case .gather(let gather):
                result.append(contentsOf: gather.prompts.spokenPrompts)
            case .record(let record):
                result.append(contentsOf: record.prompts.spokenPrompts)
            case .play, .pause, .dial, .redirect, .hangup, .reject:
                break
            }
        }
        return result
    }
}

extension Array where Element == Prompt {
    fileprivate var spokenPrompts: [Say] {
        compactMap { prompt in
            if case .say(let say) = prompt { return say }
            return nil
        }
    }
}

extension Say {
    /// The speech the I/O layer has to produce for this verb.
    public var speechRequest: SpeechRequest {
        SpeechRequest(text: text, voice: voice, language: language, loop: loop, ssml: ssml)
    }
}
