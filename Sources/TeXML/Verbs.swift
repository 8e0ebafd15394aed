/// HTTP method used to fetch `action`, `url` or callback documents.
public enum RequestMethod: String, Sendable, Hashable, CaseIterable {
    /// HTTP GET.
    case get = "GET"
    /// HTTP POST (the TeXML default).
    case post = "POST"
}

/// One instruction of a TeXML `<Response>`.
public enum Verb: Sendable, Hashable {
    /// `<Say>`: text-to-speech.
    case say(Say)
    /// `<Play>`: audio file or DTMF.
    case play(Play)
    /// `<Pause>`: silence.
    case pause(Pause)
    /// `<Gather>`: collect input.
    case gather(Gather)
    /// `<Record>`: record the caller.
    case record(Record)
    /// `<Dial>`: connect to another party.
    case dial(Dial)
    /// `<Redirect>`: continue with another document.
    case redirect(Redirect)
    /// `<Hangup>`: end the call.
    case hangup(Hangup)
    /// `<Reject>`: refuse the call.
    case reject(Reject)

    /// The element name, e.g. `"Say"`.
    public var name: String {
        switch self {
        case .say: return "Say"
        case .play: return "Play"
        case .pause: return "Pause"
        case .gather: return "Gather"
        case .record: return "Record"
        case .dial: return "Dial"
        case .redirect: return "Redirect"
        case .hangup: return "Hangup"
        case .reject: return "Reject"
        }
    }

    /// Where the verb's start tag is.
    public var location: SourceLocation {
        switch self {
        case .say(let v): return v.location
        case .play(let v): return v.location
        case .pause(let v): return v.location
        case .gather(let v): return v.location
        case .record(let v): return v.location
        case .dial(let v): return v.location
        case .redirect(let v): return v.location
        case .hangup(let v): return v.location
        case .reject(let v): return v.location
        }
    }

    /// Attributes in the `urn:tollfreed:texml` namespace, keyed by local name.
    public var extensions: [String: String] {
        switch self {
        case .say(let v): return v.extensions
        case .play(let v): return v.extensions
        case .pause(let v): return v.extensions
        case .gather(let v): return v.extensions
        case .record(let v): return v.extensions
        case .dial(let v): return v.extensions
        case .redirect(let v): return v.extensions
        case .hangup(let v): return v.extensions
        case .reject(let v): return v.extensions
        }
    }
}

/// A verb that may be nested inside `<Gather>` or `<Record>` as a prompt.
public enum Prompt: Sendable, Hashable {
    /// A nested `<Say>`.
    case say(Say)
    /// A nested `<Play>`.
    case play(Play)
    /// A nested `<Pause>`.
    case pause(Pause)

    /// The same instruction as a top-level ``Verb``.
    public var verb: Verb {
        switch self {
        case .say(let v): return .say(v)
        case .play(let v): return .play(v)
        case .pause(let v): return .pause(v)
        }
    }
}

/// `<Say>`: speak text with text-to-speech.
public struct Say: Sendable, Hashable {
    /// Default `voice`.
    public static let defaultVoice = "alice"
    /// Default `language`.
    public static let defaultLanguage = "en-US"

    /// Text to speak, trimmed, with runs of whitespace collapsed to single spaces; a
    /// `<speak>` SSML document when `ssml` is true.
    public var text: String
    /// The content was SSML (see `SSMLRenderer`): `text` is SSML for espeak-ng.
    public var ssml: Bool
    /// Voice name exactly as written (e.g. `alice`, `man`, `woman`, `Polly.Joanna`, `Telnyx.…`).
    public var voice: String
    /// BCP-47 style language tag, e.g. `en-US`.
    public var language: String
    /// Number of times to speak the text; 0 means repeat until the call ends.
    public var loop: Int
    /// Position of the start tag.
    public var location: SourceLocation
    /// tollfreed extension attributes (`urn:tollfreed:texml`), keyed by local name.
    public var extensions: [String: String]

    /// Creates a `<Say>` with TeXML defaults.
    public init(text: String, voice: String = Say.defaultVoice, language: String = Say.defaultLanguage,
                loop: Int = 1, location: SourceLocation, extensions: [String: String] = [:], ssml: Bool = false) {
        self.text = text
        self.ssml = ssml
        self.voice = voice
        self.language = language
        self.loop = loop
        self.location = location
        self.extensions = extensions
    }
}

/// `<Play>`: play an audio file or send DTMF digits.
public struct Play: Sendable, Hashable {
    /// URL or local file path of the audio; `nil` when only `digits` is given.
    public var url: String?
    /// DTMF digits to send (`0-9`, `*`, `#`, `A`-`D`, `w`/`W` = pause), if any.
    public var digits: String?
    /// Telnyx's `ringTone`: the country's ringback, played when there is no URL.
    public var ringTone: String?
    /// Number of repetitions; 0 means until the call ends.
    public var loop: Int
    /// Position of the start tag.
    public var location: SourceLocation
    /// tollfreed extension attributes.
    public var extensions: [String: String]

    /// Creates a `<Play>`.
    public init(url: String?, digits: String? = nil, ringTone: String? = nil, loop: Int = 1, location: SourceLocation,
                extensions: [String: String] = [:]) {
        self.url = url
        self.digits = digits
        self.ringTone = ringTone
        self.loop = loop
        self.location = location
        self.extensions = extensions
    }
}

/// `<Pause>`: wait silently.
public struct Pause: Sendable, Hashable {
    /// Allowed values of `length`, in seconds.
    public static let lengthRange = 0...3600

    /// Seconds to wait (default 1).
    public var length: Int
    /// Position of the start tag.
    public var location: SourceLocation
    /// tollfreed extension attributes.
    public var extensions: [String: String]

    /// Creates a `<Pause>`.
    public init(length: Int = 1, location: SourceLocation, extensions: [String: String] = [:]) {
        self.length = length
        self.location = location
        self.extensions = extensions
    }
}

/// `<Redirect>`: continue with another TeXML document.
public struct Redirect: Sendable, Hashable {
    /// URL or local file path of the next document (trimmed text content).
    public var target: String
    /// Method used when `target` is an HTTP(S) URL (default POST).
    public var method: RequestMethod
    /// Position of the start tag.
    public var location: SourceLocation
    /// tollfreed extension attributes.
    public var extensions: [String: String]

    /// Creates a `<Redirect>`.
    public init(target: String, method: RequestMethod = .post, location: SourceLocation,
                extensions: [String: String] = [:]) {
        self.target = target
        self.method = method
        self.location = location
        self.extensions = extensions
    }

    /// True when `target` is an `http://` or `https://` URL rather than a local path.
    public var isRemote: Bool {
        let lower = target.lowercased()
        return lower.hasPrefix("http://") || lower.hasPrefix("https://")
    }
}

/// `<Hangup>`: end the call.
public struct Hangup: Sendable, Hashable {
    /// Position of the start tag.
    public var location: SourceLocation
    /// tollfreed extension attributes.
    public var extensions: [String: String]

    /// Creates a `<Hangup>`.
    public init(location: SourceLocation, extensions: [String: String] = [:]) {
        self.location = location
        self.extensions = extensions
    }
}

/// `<Reject>`: refuse the call without answering it.
public struct Reject: Sendable, Hashable {
    /// Why the call is refused.
    public enum Reason: String, Sendable, Hashable, CaseIterable {
        /// Decline the call (SIP 603).
        case rejected
        /// Signal busy (SIP 486).
        case busy

        /// SIP final response to send: 603 Decline for `rejected`, 486 Busy Here for `busy`.
        public var sipStatusCode: Int {
            switch self {
            case .rejected: return 603
            case .busy: return 486
            }
        }
    }

    /// The reason (default `rejected`).
    public var reason: Reason
    /// Position of the start tag.
    public var location: SourceLocation
    /// tollfreed extension attributes.
    public var extensions: [String: String]

    /// Creates a `<Reject>`.
    public init(reason: Reason = .rejected, location: SourceLocation, extensions: [String: String] = [:]) {
        self.reason = reason
        self.location = location
        self.extensions = extensions
    }
}
