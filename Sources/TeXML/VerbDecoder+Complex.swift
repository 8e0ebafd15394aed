extension VerbDecoder {
    static let dtmfKeys = "0123456789*#"
    static let sendDigitKeys = "0123456789*#ABCDwW"

    // MARK: Gather

    mutating func gather(_ element: XMLElementNode) throws -> Gather {
        var a = try AttributeReader(element)
        let action = try a.nonEmpty("action")
        let method = try a.method("method")
        let input = try a.set("input", default: Set([Gather.InputMode.dtmf]))
        let numDigits = try a.integer("numDigits", in: Gather.digitCountRange)
        let minDigits = try a.integer("minDigits", in: Gather.digitCountRange, default: 1)
        let maxDigits = try a.integer("maxDigits", in: Gather.digitCountRange, default: 128)
        let finishOnKey = try a.keys("finishOnKey", allowed: Self.dtmfKeys, allowEmpty: true)
        let timeout = try a.integer("timeout", in: Gather.timeoutRange, default: 5)
        let validDigits = try a.keys("validDigits", allowed: Self.dtmfKeys, allowEmpty: false)
        let invalidDigitsAction = try a.nonEmpty("invalidDigitsAction")
        let language = try a.language("language", default: Say.defaultLanguage)
        let hints = a.string("hints")
        let speechTimeoutText = a.string("speechTimeout")
        let speechModel = try a.nonEmpty("speechModel")
        let profanityFilter = try a.bool("profanityFilter", default: true)
        let actionOnEmptyResult = try a.bool("actionOnEmptyResult", default: false)
        let enhanced = try a.bool("enhanced", default: false)
        let partialResultCallback = try a.nonEmpty("partialResultCallback")
        let partialResultCallbackMethod = try a.method("partialResultCallbackMethod")
        finish(a)

        // Absent: the default '#'; present but empty: no finish key at all; several keys
        // (Telnyx's set of keys): any of them.
        let finishKey = finishOnKey ?? "#"
        if minDigits > maxDigits {
            throw a.invalid("minDigits", "<= maxDigits (\(maxDigits))", String(minDigits))
        }
        var speechTimeout: Gather.SpeechTimeout?
        if let speechTimeoutText {
            if speechTimeoutText == "auto" {
                speechTimeout = .auto
            } else if let seconds = Int(speechTimeoutText), seconds >= 0 {
                speechTimeout = .seconds(seconds)
            } else {
                throw a.invalid("speechTimeout", "'auto' or an integer >= 0", speechTimeoutText)
            }
        }
        if input.contains(.speech) { warnSpeechDifferences(element, language: language) }
        let prompts = try prompts(in: element)
        return Gather(prompts: prompts, action: action, method: method, input: input, numDigits: numDigits,
                      minDigits: minDigits, maxDigits: maxDigits,
                      finishOnKey: finishKey, timeout: timeout,
                      validDigits: validDigits, invalidDigitsAction: invalidDigitsAction, language: language,
                      hints: hints, speechTimeout: speechTimeout, speechModel: speechModel,
                      profanityFilter: profanityFilter, actionOnEmptyResult: actionOnEmptyResult,
                      enhanced: enhanced, partialResultCallback: partialResultCallback,
                      partialResultCallbackMethod: partialResultCallbackMethod, location: element.location,
                      extensions: a.extensions)
    }

    // MARK: Record

    mutating func record(_ element: XMLElementNode) throws -> Record {
        var a = try AttributeReader(element)
        let action = try a.nonEmpty("action")
        let method = try a.method("method")
        let timeout = try a.integer("timeout", in: Record.timeoutRange, default: 5)
        // Telnyx documents 0 as "no limit": the longest recording allowed here.
        let maxLength = try a.integer("maxLength", in: 0...Record.maxLengthRange.upperBound, default: 3600)
        let finishOnKey = try a.keys("finishOnKey", allowed: Self.dtmfKeys, allowEmpty: true)
        let playBeep = try a.bool("playBeep", default: true)
        let trim = try a.choice("trim", default: Record.Trim.trimSilence)
        let statusCallback = try a.nonEmpty("recordingStatusCallback")
        let statusCallbackMethod = try a.method("recordingStatusCallbackMethod")
        let statusCallbackEvent = try a.set("recordingStatusCallbackEvent",
                                            default: Set([RecordingStatusEvent.completed]))
        let transcribe = try a.bool("transcribe", default: false)
        let transcribeCallback = try a.nonEmpty("transcribeCallback")
        let transcription = try a.bool("transcription", default: false)
        let transcriptionCallback = try a.nonEmpty("transcriptionCallback")
        let channels = try a.choice("channels", default: Record.Channels.single)
        let format = try a.choice("format", default: Record.Format.wav)
        finish(a)
        let prompts = try prompts(in: element)
        return Record(prompts: prompts, action: action, method: method, timeout: timeout,
                      maxLength: maxLength == 0 ? Record.maxLengthRange.upperBound : maxLength,
                      finishOnKey: finishOnKey ?? Record.defaultFinishOnKey, playBeep: playBeep, trim: trim,
                      recordingStatusCallback: statusCallback,
                      recordingStatusCallbackMethod: statusCallbackMethod,
                      recordingStatusCallbackEvent: statusCallbackEvent, transcribe: transcribe,
                      transcribeCallback: transcribeCallback, transcription: transcription,
                      transcriptionCallback: transcriptionCallback, channels: channels, format: format,
                      location: element.location, extensions: a.extensions)
    }

    // MARK: Dial

    /// A `<Dial>`; nil (skipped with a warning) when every noun is one tollfreed does not
    /// implement (`<Client>`, `<Conference>`, `<Queue>`...).
    mutating func dial(_ element: XMLElementNode) throws -> Dial? {
        var a = try AttributeReader(element)
        let action = try a.nonEmpty("action")
        let method = try a.method("method")
        let timeout = try a.integer("timeout", in: Dial.timeoutRange, default: 30)
        let callerId = try a.nonEmpty("callerId")
        let timeLimit = try a.integer("timeLimit", in: Dial.timeLimitRange, default: 14400)
        let hangupOnStar = try a.bool("hangupOnStar", default: false)
        let record = try a.choice("record", default: Dial.RecordMode.doNotRecord)
        let statusCallback = try a.nonEmpty("recordingStatusCallback")
        let statusCallbackMethod = try a.method("recordingStatusCallbackMethod")
        let statusCallbackEvent = try a.set("recordingStatusCallbackEvent",
                                            default: Set([RecordingStatusEvent.completed]))
        let ringTone = try a.nonEmpty("ringTone")
        let answerOnBridge = try a.bool("answerOnBridge", default: false)
        let sequential = try a.bool("sequential", default: false)
        finish(a)

        var targets: [Dial.Target] = []
        if element.childElements.isEmpty {
            let text = element.text.trimmed
            guard !text.isEmpty else {
                throw Self.missing(element, "at least one target is required: a number as text, or <Number>/<Sip> nouns")
            }
            targets.append(.number(Dial.Number(number: try Self.phoneNumber(text, in: element),
                                               location: element.location)))
        } else {
            try Self.forEachChild(of: element) { child in
                guard child.namespaceURI.isEmpty else {
                    throw Self.unexpected(child, inside: "Dial", allowed: Self.dialNouns)
                }
                switch child.localName {
                case "Number": targets.append(.number(try number(child)))
                case "Sip": targets.append(.sip(try sip(child)))
                default: try skipUnsupported(child, inside: "Dial", allowed: Self.dialNouns)
                }
            }
            if targets.isEmpty {
                warnings.append(TeXMLError(kind: .missingContent, location: element.location, verb: "Dial",
                                           message: "no target tollfreed can dial; skipped"))
                return nil
            }
        }
        var dial = Dial(targets: targets, action: action, method: method, timeout: timeout, callerId: callerId,
                    timeLimit: timeLimit, hangupOnStar: hangupOnStar, record: record,
                    recordingStatusCallback: statusCallback, recordingStatusCallbackMethod: statusCallbackMethod,
                    recordingStatusCallbackEvent: statusCallbackEvent, ringTone: ringTone,
                    answerOnBridge: answerOnBridge, location: element.location, extensions: a.extensions)
        dial.sequential = sequential
        return dial
    }

    /// The whisper and status-callback attributes `<Number>` and `<Sip>` share.
    /// Telnyx's `amd` and `dtmf` progress events are not sent (warning).
    mutating func legCallbacks(_ a: inout AttributeReader, _ element: XMLElementNode) throws -> Dial.LegCallbacks {
        var unsent: [String] = []
        let events = try a.set("statusCallbackEvent", default: Set([CallStatusEvent.completed]),
                               tolerating: ["amd", "dtmf"], found: &unsent)
        if !unsent.isEmpty {
            warnings.append(TeXMLError(kind: .invalidAttribute, location: element.location, verb: element.localName,
                                       message: "statusCallbackEvent '\(unsent.joined(separator: " "))' is not sent by tollfreed "
                                           + "(no answering-machine detection; keys are not reported)"))
        }
        return Dial.LegCallbacks(url: try a.nonEmpty("url"), method: try a.method("method"),
                                 statusCallback: try a.nonEmpty("statusCallback"), statusCallbackEvent: events,
                                 statusCallbackMethod: try a.method("statusCallbackMethod"))
    }

    mutating func number(_ element: XMLElementNode) throws -> Dial.Number {
        var a = try AttributeReader(element)
        let sendDigits = try a.keys("sendDigits", allowed: Self.sendDigitKeys, allowEmpty: false)
        let callbacks = try legCallbacks(&a, element)
        finish(a)
        try Self.requireNoChildElements(element)
        let text = element.text.trimmed
        guard !text.isEmpty else { throw Self.missing(element, "the telephone number is required") }
        return Dial.Number(number: try Self.phoneNumber(text, in: element), sendDigits: sendDigits, callbacks: callbacks,
                           location: element.location, extensions: a.extensions)
    }

    mutating func sip(_ element: XMLElementNode) throws -> Dial.Sip {
        var a = try AttributeReader(element)
        let username = try a.nonEmpty("username")
        let password = a.string("password")
        let callbacks = try legCallbacks(&a, element)
        finish(a)
        try Self.requireNoChildElements(element)
        let uri = element.text.trimmed
        guard !uri.isEmpty else { throw Self.missing(element, "the SIP URI is required") }
        let lower = uri.lowercased()
        let scheme = lower.hasPrefix("sips:") ? 5 : (lower.hasPrefix("sip:") ? 4 : 0)
        guard scheme > 0, uri.count > scheme, !uri.contains(where: { $0.isWhitespace }) else {
            throw TeXMLError(kind: .invalidContent, location: element.location, verb: element.localName,
                             message: "must be a SIP URI starting with 'sip:' or 'sips:', got '\(Self.excerpt(uri))'")
        }
        return Dial.Sip(uri: uri, username: username, password: password, callbacks: callbacks,
                        location: element.location, extensions: a.extensions)
    }

    /// `text` with separators removed, validated as `+` (optional) and 1 to 15 digits.
    static func phoneNumber(_ text: String, in element: XMLElementNode) throws -> String {
        let separators: Set<Character> = [" ", "-", ".", "(", ")", "\t", "\n", "\r"]
        let compact = String(text.filter { !separators.contains($0) })
        let digits = compact.hasPrefix("+") ? compact.dropFirst() : Substring(compact)
        guard (1...15).contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            var message = "must be a telephone number (optional '+' and 1 to 15 digits), got '\(Self.excerpt(text))'"
            if text.lowercased().hasPrefix("sip:") || text.lowercased().hasPrefix("sips:") {
                message += "; use a <Sip> noun for SIP URIs"
            }
            throw TeXMLError(kind: .invalidContent, location: element.location, verb: element.localName,
                             message: message)
        }
        return compact
    }

    /// Attributes tollfreed reads (their values are checked) but does not act on: each one
    /// present is a warning saying what happens instead, never silently ignored.
    /// What a speech `<Gather>` asks that tollfreed does differently.
    private mutating func warnSpeechDifferences(_ element: XMLElementNode, language: String) {
        warnIgnored(element, ["speechModel", "enhanced"], why: "tollfreed has one speech model (PocketSphinx, US English)")
        warnIgnored(element, ["partialResultCallback", "partialResultCallbackMethod"],
                    why: "partial speech results are not sent; the final result goes to action")
        if language.lowercased() != "en-us" {
            warnings.append(TeXMLError(kind: .invalidAttribute, location: element.location, verb: "Gather",
                                       message: "no speech model for language '\(language)'; speech is recognised as US English"))
        }
    }

    mutating func warnIgnored(_ element: XMLElementNode, _ names: [String], why: String) {
        for name in names where element.attributes[name] != nil {
            warnings.append(TeXMLError(kind: .unknownAttribute, location: element.location, verb: element.localName,
                                       message: "attribute '\(name)' is not supported by tollfreed; ignored (\(why))"))
        }
    }
}
