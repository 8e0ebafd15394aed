import Foundation

/// Identifies one media operation, timer, recording or fetch started by the interpreter.
///
/// Every action that starts work carries a fresh token, and the I/O layer reports the
/// outcome with the same token. Completions for tokens the interpreter no longer waits
/// for (a prompt cut short by barge-in, a cancelled timer, an abandoned fetch) are ignored.
public typealias FlowToken = UInt64

/// One `name=value` pair of a form-encoded request body or query string.
public struct FormParameter: Sendable, Hashable {
    /// Parameter name, e.g. `Digits`.
    public var name: String
    /// Parameter value (not yet percent-encoded).
    public var value: String

    /// Creates a parameter.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// A request to an application URL (a `<Redirect>`, an `action`, or a status callback).
///
/// For `POST` the I/O layer sends the parameters as an
/// `application/x-www-form-urlencoded` body; for `GET` it appends them to the query string.
/// When `url` is a local path or a `file:` URL (flows loaded from disk), the I/O layer reads
/// that file instead and ignores the method and parameters.
public struct HTTPRequest: Sendable, Hashable {
    /// Absolute `http(s)` URL, `file:` URL or absolute local path.
    public var url: String
    /// HTTP method.
    public var method: RequestMethod
    /// Parameters in order: the call parameters first, then the verb's own.
    public var parameters: [FormParameter]

    /// Creates a request.
    public init(url: String, method: RequestMethod, parameters: [FormParameter]) {
        self.url = url
        self.method = method
        self.parameters = parameters
    }

    /// The value of the last parameter called `name`, if any.
    public func value(of name: String) -> String? {
        parameters.last(where: { $0.name == name })?.value
    }

    /// True when `url` is an `http://` or `https://` URL (rather than a local file).
    public var isRemote: Bool { FlowURL.isHTTP(url) }
}

/// Audio playback work for the I/O layer (from `<Play>`).
public struct PlayRequest: Sendable, Hashable {
    /// Absolute `http(s)` URL, or an absolute local path resolved against the flow's directory.
    public var source: String
    /// Number of times to play; 0 means repeat until stopped or the call ends.
    public var loop: Int
    /// Play this country's ringback (one cadence per loop) instead of `source` (empty).
    public var ringTone: String?

    /// Creates a request.
    public init(source: String, loop: Int, ringTone: String? = nil) {
        self.source = source
        self.loop = loop
        self.ringTone = ringTone
    }
}

/// Recording work for the I/O layer (from `<Record>`).
public struct RecordingRequest: Sendable, Hashable {
    /// The recording ends after this many seconds.
    public var maxLengthSeconds: Int
    /// The recording ends after this many seconds of silence; 0 disables silence detection.
    public var silenceTimeoutSeconds: Int
    /// Whether to trim leading and trailing silence from the file.
    public var trimSilence: Bool
    /// The file's format (`<Record format>`).
    public var format: Record.Format
    /// Two channels (`<Record channels="dual">`).
    public var dual: Bool

    /// Creates a request.
    public init(maxLengthSeconds: Int, silenceTimeoutSeconds: Int, trimSilence: Bool, format: Record.Format = .wav,
                dual: Bool = false) {
        self.maxLengthSeconds = maxLengthSeconds
        self.silenceTimeoutSeconds = silenceTimeoutSeconds
        self.trimSilence = trimSilence
        self.format = format
        self.dual = dual
    }
}

/// Speech input work for the I/O layer (from `<Gather input="speech">`).
public struct SpeechInputRequest: Sendable, Hashable {
    /// The longest utterance Twilio accepts; the I/O layer ends one there.
    public static let maxUtteranceMilliseconds = 60_000
    /// The end of speech the platforms' `speechTimeout="auto"` detects, as a pause length.
    public static let autoEndSilenceMilliseconds = 1_000

    /// The `hints` attribute as written (phrases, class tokens or a JSGF grammar).
    public var hints: String?
    /// The `language` attribute (only US English is recognised).
    public var language: String
    /// The utterance ends after this much silence following speech.
    public var endSilenceMilliseconds: Int
    /// Mask profanity in the result (`profanityFilter`, default true).
    public var profanityFilter: Bool

    /// Creates a request.
    public init(hints: String?, language: String, endSilenceMilliseconds: Int, profanityFilter: Bool) {
        self.hints = hints
        self.language = language
        self.endSilenceMilliseconds = endSilenceMilliseconds
        self.profanityFilter = profanityFilter
    }
}

/// What the I/O layer heard (``FlowEvent/speechRecognized(_:_:)``).
public struct SpeechOutcome: Sendable, Hashable {
    /// The words recognised (sent as `SpeechResult`); empty when none were.
    public var text: String
    /// 0...1 (sent as `Confidence`).
    public var confidence: Double

    /// Creates an outcome.
    public init(text: String, confidence: Double) {
        self.text = text
        self.confidence = confidence
    }
}

/// Why a recording ended.
public enum RecordingEndReason: String, Sendable, Hashable, CaseIterable {
    /// The caller was silent for the silence timeout.
    case silence
    /// The maximum length was reached.
    case maxLength
    /// The interpreter asked to stop because the caller pressed a finish key.
    case finishKey
    /// The caller hung up.
    case hangup
    /// Stopped for another reason (e.g. the daemon shutting down).
    case stopped
}

/// A finished recording, as reported by the I/O layer.
public struct RecordingOutcome: Sendable, Hashable {
    /// Where the recording can be fetched (sent as `RecordingUrl`).
    public var url: String
    /// Length in whole seconds (sent as `RecordingDuration`); 0 means nothing was recorded.
    public var durationSeconds: Int
    /// Recording identifier (sent as `RecordingSid`).
    public var sid: String
    /// Why it ended.
    public var reason: RecordingEndReason

    /// Creates an outcome.
    public init(url: String, durationSeconds: Int, sid: String, reason: RecordingEndReason) {
        self.url = url
        self.durationSeconds = durationSeconds
        self.sid = sid
        self.reason = reason
    }
}

/// The result of a ``FlowAction/fetch(_:token:)``.
public enum FetchOutcome: Sendable, Hashable {
    /// The application returned (or the file held) a valid document.
    case document(FlowDocument)
    /// The request failed, or the document did not parse; the text says why (for logs).
    case failed(String)
}

/// URL resolution for the references found in documents.
enum FlowURL {
    /// True for `http://` and `https://` URLs (case-insensitive scheme).
    static func isHTTP(_ string: String) -> Bool {
        let lower = string.lowercased()
        return lower.hasPrefix("http://") || lower.hasPrefix("https://")
    }

    /// Resolves `reference` the way hosted TeXML does: absolute `http(s)` and `file:` URLs
    /// stay; a relative reference resolves against `baseURL` (RFC 3986); without a base URL
    /// it is a path relative to the directory of `documentSource` and becomes absolute.
    /// tollfreed extension for flows kept as local files, which have no server to branch
    /// on `Digits`: `{Digits}` in a local action path becomes the digits pressed
    /// (`menu-{Digits}.xml` -> `menu-1.xml`; no digits -> `none`). Only keypad characters
    /// reach the file system.
    public static func substitutingDigits(in path: String, digits: String) -> String {
        let keys = digits.filter { "0123456789*#ABCD".contains($0) }
        let value = keys.isEmpty ? "none" : keys
        return path.replacingOccurrences(of: "{Digits}", with: value)
            .replacingOccurrences(of: "%7BDigits%7D", with: value)
            .replacingOccurrences(of: "%7Bdigits%7D", with: value)
    }

    static func resolve(_ reference: String, baseURL: String?, documentSource: String) -> String {
        let reference = reference.trimmed
        if isHTTP(reference) || reference.lowercased().hasPrefix("file:") { return reference }
        if let baseURL, let base = URL(string: baseURL) {
            let escaped = reference.addingPercentEncoding(withAllowedCharacters: urlCharacters) ?? reference
            if let url = URL(string: escaped, relativeTo: base) { return url.absoluteString }
            return reference
        }
        if reference.hasPrefix("/") { return URL(fileURLWithPath: reference).standardized.path }
        let directory = URL(fileURLWithPath: documentSource).deletingLastPathComponent()
        return directory.appendingPathComponent(reference).standardized.path
    }

    /// Characters left alone when a reference is escaped before resolution (everything
    /// that may appear in a URL, including `%` so existing escapes survive).
    private static let urlCharacters: CharacterSet = {
        var set = CharacterSet.urlQueryAllowed
        set.formUnion(.urlPathAllowed)
        set.insert(charactersIn: "%#?/:@!$&'()*+,;=")
        return set
    }()
}

/// How a `<Dial>` ended, reported with ``FlowEvent/dialFinished(_:_:)``.
public struct DialOutcome: Sendable, Hashable {
    /// `DialCallStatus`: completed, busy, no-answer, failed or canceled.
    public var status: String
    /// `DialCallSid`: the outbound leg that answered (or the last one tried).
    public var callSid: String
    /// `DialCallDuration`: seconds the parties were connected.
    public var durationSeconds: Int
    /// The recording of the bridged call, when `record` asked for one.
    public var recording: RecordingOutcome?

    /// Creates an outcome.
    public init(status: String, callSid: String, durationSeconds: Int, recording: RecordingOutcome? = nil) {
        self.status = status
        self.callSid = callSid
        self.durationSeconds = durationSeconds
        self.recording = recording
    }

    /// The parameters sent to the `<Dial action>` URL (Twilio/Telnyx names).
    public var parameters: [FormParameter] {
        var p = [FormParameter(name: "DialCallStatus", value: status),
                 FormParameter(name: "DialCallSid", value: callSid),
                 FormParameter(name: "DialCallDuration", value: String(durationSeconds)),
                 FormParameter(name: "DialBridged", value: durationSeconds > 0 || status == "completed" ? "true" : "false")]
        if let r = recording {
            p += [FormParameter(name: "RecordingUrl", value: r.url), FormParameter(name: "RecordingSid", value: r.sid),
                  FormParameter(name: "RecordingDuration", value: String(r.durationSeconds))]
        }
        return p
    }
}
