/// `<Dial>`: connect the caller to one or more other parties.
public struct Dial: Sendable, Hashable {
    /// Call recording mode for the bridged call.
    public enum RecordMode: String, Sendable, Hashable, CaseIterable {
        /// No recording (default).
        case doNotRecord = "do-not-record"
        /// Mono recording starting when the callee answers.
        case recordFromAnswer = "record-from-answer"
        /// Mono recording starting when ringing starts.
        case recordFromRinging = "record-from-ringing"
        /// Two-channel recording (one leg per channel) starting at answer.
        case recordFromAnswerDual = "record-from-answer-dual"
        /// Two-channel recording (one leg per channel) starting at ringing.
        case recordFromRingingDual = "record-from-ringing-dual"
    }

    /// Something to dial.
    public enum Target: Sendable, Hashable {
        /// A telephone number (from `<Number>` or from the text of `<Dial>`).
        case number(Number)
        /// A SIP URI (from `<Sip>`).
        case sip(Sip)
    }

    /// What `<Number>` and `<Sip>` share: a document played to the callee before
    /// bridging ("whisper") and the outbound leg's status callback.
    public struct LegCallbacks: Sendable, Hashable {
        /// URL of a document played to the callee before bridging.
        public var url: String?
        /// Method for `url` (default POST).
        public var method: RequestMethod
        /// URL notified about the outbound leg's progress.
        public var statusCallback: String?
        /// Events reported to `statusCallback` (default `[.completed]`).
        public var statusCallbackEvent: Set<CallStatusEvent>
        /// Method for `statusCallback` (default POST).
        public var statusCallbackMethod: RequestMethod

        /// Creates the shared attributes (TeXML defaults).
        public init(url: String? = nil, method: RequestMethod = .post, statusCallback: String? = nil,
                    statusCallbackEvent: Set<CallStatusEvent> = [.completed], statusCallbackMethod: RequestMethod = .post) {
            self.url = url
            self.method = method
            self.statusCallback = statusCallback
            self.statusCallbackEvent = statusCallbackEvent
            self.statusCallbackMethod = statusCallbackMethod
        }
    }

    /// `<Number>` noun: a telephone number.
    public struct Number: Sendable, Hashable {
        /// The number with separators (space, `-`, `.`, `(`, `)`) removed: an optional
        /// leading `+` followed by 1 to 15 digits.
        public var number: String
        /// DTMF digits to send once the callee answers (`0-9 * # w W`).
        public var sendDigits: String?
        /// Whisper document and status callback.
        public var callbacks: LegCallbacks
        /// Position of the start tag (of `<Dial>` when given as its text).
        public var location: SourceLocation
        /// tollfreed extension attributes.
        public var extensions: [String: String]

        /// Creates a `<Number>`.
        public init(number: String, sendDigits: String? = nil, callbacks: LegCallbacks = LegCallbacks(),
                    location: SourceLocation, extensions: [String: String] = [:]) {
            self.number = number
            self.sendDigits = sendDigits
            self.callbacks = callbacks
            self.location = location
            self.extensions = extensions
        }
    }

    /// `<Sip>` noun: a SIP endpoint.
    public struct Sip: Sendable, Hashable {
        /// The SIP URI as written (starts with `sip:` or `sips:`).
        public var uri: String
        /// Digest authentication user name.
        public var username: String?
        /// Digest authentication password.
        public var password: String?
        /// Whisper document and status callback.
        public var callbacks: LegCallbacks
        /// Position of the start tag.
        public var location: SourceLocation
        /// tollfreed extension attributes.
        public var extensions: [String: String]

        /// Creates a `<Sip>`.
        public init(uri: String, username: String? = nil, password: String? = nil,
                    callbacks: LegCallbacks = LegCallbacks(), location: SourceLocation,
                    extensions: [String: String] = [:]) {
            self.uri = uri
            self.username = username
            self.password = password
            self.callbacks = callbacks
            self.location = location
            self.extensions = extensions
        }
    }

    /// Allowed `timeout` (ring time) values, in seconds.
    public static let timeoutRange = 1...600
    /// Allowed `timeLimit` values, in seconds.
    public static let timeLimitRange = 1...14400

    /// Parties to dial, in document order; never empty.
    public var targets: [Target]
    /// URL or path of the document to fetch when the dialed call ends; `nil` = next verb.
    public var action: String?
    /// Method for `action` (default POST).
    public var method: RequestMethod
    /// Seconds to ring before giving up (default 30).
    public var timeout: Int
    /// Caller ID presented to the callee, as written.
    public var callerId: String?
    /// Maximum call duration in seconds (default 14400).
    public var timeLimit: Int
    /// Whether the caller can press `*` to end the bridged leg (default false).
    public var hangupOnStar: Bool
    /// Recording mode (default `do-not-record`).
    public var record: RecordMode
    /// URL notified about recording status.
    public var recordingStatusCallback: String?
    /// Method for `recordingStatusCallback` (default POST).
    public var recordingStatusCallbackMethod: RequestMethod
    /// Events reported to `recordingStatusCallback` (default `[.completed]`).
    public var recordingStatusCallbackEvent: Set<RecordingStatusEvent>
    /// Ringback tone to play to the caller, as written (e.g. a country code).
    public var ringTone: String?
    /// Keep the caller's leg unanswered until the callee answers (default false).
    public var answerOnBridge: Bool
    /// `sequential="true"`: the targets are tried one at a time, in order, each ringing at
    /// most `timeout` (the next on busy, failure or no answer), instead of all at once.
    public var sequential = false
    /// Position of the start tag.
    public var location: SourceLocation
    /// tollfreed extension attributes.
    public var extensions: [String: String]

    /// Creates a `<Dial>` with TeXML defaults.
    public init(targets: [Target], action: String? = nil, method: RequestMethod = .post, timeout: Int = 30,
                callerId: String? = nil, timeLimit: Int = 14400, hangupOnStar: Bool = false,
                record: RecordMode = .doNotRecord, recordingStatusCallback: String? = nil,
                recordingStatusCallbackMethod: RequestMethod = .post,
                recordingStatusCallbackEvent: Set<RecordingStatusEvent> = [.completed],
                ringTone: String? = nil, answerOnBridge: Bool = false, location: SourceLocation,
                extensions: [String: String] = [:]) {
        self.targets = targets
        self.action = action
        self.method = method
        self.timeout = timeout
        self.callerId = callerId
        self.timeLimit = timeLimit
        self.hangupOnStar = hangupOnStar
        self.record = record
        self.recordingStatusCallback = recordingStatusCallback
        self.recordingStatusCallbackMethod = recordingStatusCallbackMethod
        self.recordingStatusCallbackEvent = recordingStatusCallbackEvent
        self.ringTone = ringTone
        self.answerOnBridge = answerOnBridge
        self.location = location
        self.extensions = extensions
    }
}

/// Call progress events that can be reported to a `<Number>`/`<Sip>` `statusCallback`.
public enum CallStatusEvent: String, Sendable, Hashable, CaseIterable {
    /// The outbound leg was created.
    case initiated
    /// The callee is ringing.
    case ringing
    /// The callee answered.
    case answered
    /// The outbound leg ended.
    case completed
}
