/// `<Gather>`: collect DTMF digits (or speech) while playing nested prompts.
public struct Gather: Sendable, Hashable {
    /// A kind of caller input.
    public enum InputMode: String, Sendable, Hashable, CaseIterable {
        /// Touch-tone digits.
        case dtmf
        /// Speech recognition.
        case speech
    }

    /// How long to wait after speech ends.
    public enum SpeechTimeout: Sendable, Hashable {
        /// Let the recogniser decide.
        case auto
        /// A fixed number of seconds.
        case seconds(Int)
    }

    /// Allowed number of digits for `numDigits`, `minDigits`, `maxDigits`.
    public static let digitCountRange = 1...128
    /// Allowed `timeout` values, in seconds.
    public static let timeoutRange = 0...3600

    /// Prompts played while gathering (only `<Say>`, `<Play>`, `<Pause>`).
    public var prompts: [Prompt]
    /// URL or path of the document to fetch with the result; `nil` = continue with the next verb.
    public var action: String?
    /// Method for `action` (default POST).
    public var method: RequestMethod
    /// Accepted inputs (default `[.dtmf]`).
    public var input: Set<InputMode>
    /// Exact number of digits to collect, if set.
    public var numDigits: Int?
    /// Minimum number of digits (Telnyx default 1).
    public var minDigits: Int
    /// Maximum number of digits (Telnyx default 128).
    public var maxDigits: Int
    /// Keys that end input (Telnyx allows several, Twilio one); empty for none
    /// (attribute `finishOnKey=""`); default `#`.
    public var finishOnKey: String
    /// Seconds to wait for input (default 5).
    public var timeout: Int
    /// Digits accepted as valid, if restricted.
    public var validDigits: String?
    /// URL or path fetched when invalid digits are entered (Telnyx `invalidDigitsAction`).
    public var invalidDigitsAction: String?
    /// Speech recognition language (default `en-US`).
    public var language: String
    /// Speech recognition hints, as written.
    public var hints: String?
    /// Speech end timeout, if set.
    public var speechTimeout: SpeechTimeout?
    /// Speech model name, as written.
    public var speechModel: String?
    /// Whether to mask profanity in speech results (default true).
    public var profanityFilter: Bool
    /// Whether to fetch `action` even when nothing was entered (default false).
    public var actionOnEmptyResult: Bool
    /// Whether to use the enhanced speech model (default false).
    public var enhanced: Bool
    /// URL receiving partial speech results.
    public var partialResultCallback: String?
    /// Method for `partialResultCallback` (default POST).
    public var partialResultCallbackMethod: RequestMethod
    /// Position of the start tag.
    public var location: SourceLocation
    /// tollfreed extension attributes.
    public var extensions: [String: String]

    /// Creates a `<Gather>` with TeXML defaults.
    public init(prompts: [Prompt] = [], action: String? = nil, method: RequestMethod = .post,
                input: Set<InputMode> = [.dtmf], numDigits: Int? = nil, minDigits: Int = 1,
                maxDigits: Int = 128, finishOnKey: String = "#", timeout: Int = 5,
                validDigits: String? = nil, invalidDigitsAction: String? = nil,
                language: String = Say.defaultLanguage, hints: String? = nil,
                speechTimeout: SpeechTimeout? = nil, speechModel: String? = nil,
                profanityFilter: Bool = true, actionOnEmptyResult: Bool = false, enhanced: Bool = false,
                partialResultCallback: String? = nil, partialResultCallbackMethod: RequestMethod = .post,
                location: SourceLocation, extensions: [String: String] = [:]) {
        self.prompts = prompts
        self.action = action
        self.method = method
        self.input = input
        self.numDigits = numDigits
        self.minDigits = minDigits
        self.maxDigits = maxDigits
        self.finishOnKey = finishOnKey
        self.timeout = timeout
        self.validDigits = validDigits
        self.invalidDigitsAction = invalidDigitsAction
        self.language = language
        self.hints = hints
        self.speechTimeout = speechTimeout
        self.speechModel = speechModel
        self.profanityFilter = profanityFilter
        self.actionOnEmptyResult = actionOnEmptyResult
        self.enhanced = enhanced
        self.partialResultCallback = partialResultCallback
        self.partialResultCallbackMethod = partialResultCallbackMethod
        self.location = location
        self.extensions = extensions
    }
}

/// `<Record>`: record the caller, optionally after nested prompts.
///
/// Twilio does not allow children here; tollfreed accepts nested `<Say>`, `<Play>` and
/// `<Pause>` as the prompt played before the beep.
public struct Record: Sendable, Hashable {
    /// Silence trimming.
    public enum Trim: String, Sendable, Hashable, CaseIterable {
        /// Remove leading and trailing silence (default).
        case trimSilence = "trim-silence"
        /// Keep the recording as captured.
        case doNotTrim = "do-not-trim"
    }

    /// Recording channel layout.
    public enum Channels: String, Sendable, Hashable, CaseIterable {
        /// Both directions mixed into one channel.
        case single
        /// One channel per direction.
        case dual
    }

    /// Recording file format.
    public enum Format: String, Sendable, Hashable, CaseIterable {
        /// WAV (PCM).
        case wav
        /// MP3.
        case mp3
    }

    /// Allowed `maxLength` values, in seconds.
    public static let maxLengthRange = 1...14400
    /// Allowed `timeout` values, in seconds.
    public static let timeoutRange = 0...3600
    /// Default `finishOnKey`.
    public static let defaultFinishOnKey = "1234567890*#"

    /// Prompts played before recording starts.
    public var prompts: [Prompt]
    /// URL or path of the document to fetch when recording ends; `nil` = next verb.
    public var action: String?
    /// Method for `action` (default POST).
    public var method: RequestMethod
    /// Seconds of silence that end the recording (default 5, 0 = never).
    public var timeout: Int
    /// Maximum recording length in seconds (default 3600).
    public var maxLength: Int
    /// Keys that end the recording; empty = none (default `1234567890*#`).
    public var finishOnKey: String
    /// Whether to play a beep before recording (default true).
    public var playBeep: Bool
    /// Silence trimming (default `trim-silence`).
    public var trim: Trim
    /// URL notified about recording status.
    public var recordingStatusCallback: String?
    /// Method for `recordingStatusCallback` (default POST).
    public var recordingStatusCallbackMethod: RequestMethod
    /// Events reported to `recordingStatusCallback` (default `[.completed]`).
    public var recordingStatusCallbackEvent: Set<RecordingStatusEvent>
    /// Twilio-style transcription switch (default false).
    public var transcribe: Bool
    /// URL receiving the transcription (Twilio `transcribeCallback`).
    public var transcribeCallback: String?
    /// Telnyx-style transcription switch (default false).
    public var transcription: Bool
    /// URL receiving the transcription (Telnyx `transcriptionCallback`).
    public var transcriptionCallback: String?
    /// Channel layout (default `single`, the Twilio behaviour; Telnyx uses `dual`).
    public var channels: Channels
    /// File format (default `wav`, which tollfreed writes natively; Telnyx defaults to mp3).
    public var format: Format
    /// Position of the start tag.
    public var location: SourceLocation
    /// tollfreed extension attributes.
    public var extensions: [String: String]

    /// True when either `transcribe` or `transcription` asks for a transcript.
    public var wantsTranscription: Bool { transcribe || transcription }

    /// Creates a `<Record>` with TeXML defaults.
    public init(prompts: [Prompt] = [], action: String? = nil, method: RequestMethod = .post,
                timeout: Int = 5, maxLength: Int = 3600, finishOnKey: String = Record.defaultFinishOnKey,
                playBeep: Bool = true, trim: Trim = .trimSilence, recordingStatusCallback: String? = nil,
                recordingStatusCallbackMethod: RequestMethod = .post,
                recordingStatusCallbackEvent: Set<RecordingStatusEvent> = [.completed],
                transcribe: Bool = false, transcribeCallback: String? = nil, transcription: Bool = false,
                transcriptionCallback: String? = nil, channels: Channels = .single, format: Format = .wav,
                location: SourceLocation, extensions: [String: String] = [:]) {
        self.prompts = prompts
        self.action = action
        self.method = method
        self.timeout = timeout
        self.maxLength = maxLength
        self.finishOnKey = finishOnKey
        self.playBeep = playBeep
        self.trim = trim
        self.recordingStatusCallback = recordingStatusCallback
        self.recordingStatusCallbackMethod = recordingStatusCallbackMethod
        self.recordingStatusCallbackEvent = recordingStatusCallbackEvent
        self.transcribe = transcribe
        self.transcribeCallback = transcribeCallback
        self.transcription = transcription
        self.transcriptionCallback = transcriptionCallback
        self.channels = channels
        self.format = format
        self.location = location
        self.extensions = extensions
    }
}

/// Events that can be reported to a `recordingStatusCallback`.
public enum RecordingStatusEvent: String, Sendable, Hashable, CaseIterable {
    /// Recording started.
    case inProgress = "in-progress"
    /// Recording finished and is available.
    case completed
    /// Recording failed or was not created.
    case absent
}
