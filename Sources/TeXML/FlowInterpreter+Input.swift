/// Progress of a running `<Gather>`.
struct GatherRun: Sendable {
    var gather: Gather
    /// Index of the next nested prompt to play.
    var nextPrompt = 0
    /// The prompt playing now, if any.
    var media: FlowToken?
    /// The timeout timer running now, if any.
    var timer: FlowToken?
    /// Digits collected so far (never the finish key).
    var digits = ""
    /// The speech listener, while `input` includes speech and it is running.
    var speech: FlowToken?
    /// The caller has started speaking (the no-input timer no longer applies).
    var speaking = false

    /// Input arrived (a key, or the start of speech): the rest of the prompts is skipped and
    /// the running timer stops.
    mutating func bargeIn() -> [FlowAction] {
        var actions: [FlowAction] = []
        if media != nil {
            actions.append(.stopMedia)
            media = nil
            nextPrompt = gather.prompts.count
        }
        if let timer {
            actions.append(.cancelTimer(timer))
            self.timer = nil
        }
        return actions
    }
}

/// Progress of a running `<Record>`.
struct RecordRun: Sendable {
    enum Phase: Sendable {
        /// Playing nested prompts, then the beep.
        case prompting
        /// Recording; `token` identifies the recording.
        case recording(FlowToken)
        /// `.stopRecording` was sent; waiting for `.recordingFinished`.
        case stopping(FlowToken)
    }

    var record: Record
    var phase = Phase.prompting
    var nextPrompt = 0
    /// The prompt or beep playing now, if any.
    var media: FlowToken?
    /// Whether the beep has been played (or is playing).
    var beeped = false
    /// The finish key that stopped the recording.
    var finishKey: Character?
    /// The caller hung up during the recording.
    var callerHungUp = false
}

extension FlowInterpreter {
    // MARK: Gather

    /// Enters a `<Gather>`: listen for digits and/or speech, then play the first prompt
    /// (or start the timer).
    mutating func startGather(_ gather: Gather) -> [FlowAction] {
        var actions: [FlowAction] = []
        var run = GatherRun(gather: gather)
        if gather.input.contains(.dtmf) { actions.append(.listenForDigits(true)) }
        if gather.input.contains(.speech) {
            let token = newToken()
            run.speech = token
            actions.append(.listenForSpeech(Self.speechInput(gather), token: token))
        }
        actions += playNextPromptOrWait(&run)
        waiting = .gather(run)
        return actions
    }

    /// Twilio's rules: `speechTimeout` is the pause that ends an utterance; `auto` is a
    /// short pause; without it, `timeout` is used.
    static func speechInput(_ gather: Gather) -> SpeechInputRequest {
        let endSilence: Int
        switch gather.speechTimeout {
        case .seconds(let s)? where s > 0: endSilence = s * 1000
        case .auto?, .seconds?: endSilence = SpeechInputRequest.autoEndSilenceMilliseconds
        case nil: endSilence = max(1, gather.timeout) * 1000
        }
        return SpeechInputRequest(hints: gather.hints, language: gather.language,
                                  endSilenceMilliseconds: endSilence, profanityFilter: gather.profanityFilter)
    }

    /// Plays the next prompt, or starts the timeout timer when none is left.
    private mutating func playNextPromptOrWait(_ run: inout GatherRun) -> [FlowAction] {
        let token = newToken()
        if run.nextPrompt < run.gather.prompts.count {
            let prompt = run.gather.prompts[run.nextPrompt]
            run.nextPrompt += 1
            run.media = token
            return [mediaAction(prompt, token: token)]
        }
        guard !run.speaking else { return [] }  // the utterance's own end decides now
        run.timer = token
        return [.startTimer(milliseconds: run.gather.timeout * 1000, token: token)]
    }

    mutating func handleGather(_ event: FlowEvent, _ current: GatherRun) -> [FlowAction] {
        var run = current
        switch event {
        case .mediaFinished(let token) where token == run.media:
            run.media = nil
            let actions = playNextPromptOrWait(&run)
            waiting = .gather(run)
            return actions
        case .timerFired(let token) where token == run.timer:
            run.timer = nil
            return endGather(run)
        case .digit(let digit) where run.gather.input.contains(.dtmf):
            return gatherDigit(digit, &run)
        case .speechStarted(let token) where token == run.speech && !run.speaking:
            return speechStarted(&run)
        case .speechRecognized(let token, let heard) where token == run.speech:
            run.speech = nil
            let stop: [FlowAction] = run.media != nil ? [.stopMedia] : []
            let timer: [FlowAction] = run.timer.map { [.cancelTimer($0)] } ?? []
            return stop + timer + endGather(run, speech: heard)
        case .callerHungUp:
            return finish()
        default:
            return []
        }
    }

    /// Barge-in by voice: the prompts stop and the no-input timer no longer runs.
    private mutating func speechStarted(_ run: inout GatherRun) -> [FlowAction] {
        run.speaking = true
        let actions = run.bargeIn()
        waiting = .gather(run)
        return actions
    }

    private mutating func gatherDigit(_ digit: Character, _ run: inout GatherRun) -> [FlowAction] {
        var actions = run.bargeIn()
        if let speech = run.speech {  // a key press wins over speech (Twilio's dtmf speech)
            actions.append(.stopListeningForSpeech(speech))
            run.speech = nil
            run.speaking = false
        }
        if run.gather.finishOnKey.contains(digit) {
            return actions + endGather(run)
        }
        if let valid = run.gather.validDigits, !valid.contains(digit) {
            return actions + invalidDigit(digit, &run)
        }
        run.digits.append(digit)
        let limit = run.gather.numDigits ?? run.gather.maxDigits
        if run.digits.count >= limit {
            return actions + endGather(run)
        }
        let token = newToken()
        run.timer = token
        waiting = .gather(run)
        return actions + [.startTimer(milliseconds: run.gather.timeout * 1000, token: token)]
    }

    /// Telnyx's `validDigits`: a key outside them ends the Gather at `invalidDigitsAction`
    /// (with the digits so far and that key); without it the key is ignored.
    private mutating func invalidDigit(_ digit: Character, _ run: inout GatherRun) -> [FlowAction] {
        guard let target = run.gather.invalidDigitsAction else {
            let token = newToken()
            run.timer = token
            waiting = .gather(run)
            return [.startTimer(milliseconds: run.gather.timeout * 1000, token: token)]
        }
        var actions: [FlowAction] = run.gather.input.contains(.dtmf) ? [.listenForDigits(false)] : []
        if let token = run.speech { actions.append(.stopListeningForSpeech(token)) }
        return actions + fetch(request(target, run.gather.method, [FormParameter(name: "Digits", value: run.digits + String(digit))]))
    }

    /// Stops listening; requests `action` with the digits or the speech, or continues with
    /// the next verb. Without `action`, a fetched document is requested again (Twilio and
    /// Telnyx post the input to the current document's URL); a local file goes on with its
    /// next verb.
    private mutating func endGather(_ run: GatherRun, speech: SpeechOutcome? = nil) -> [FlowAction] {
        let gather = run.gather
        let digits = run.digits.count >= gather.minDigits ? run.digits : ""
        var actions: [FlowAction] = gather.input.contains(.dtmf) ? [.listenForDigits(false)] : []
        if let token = run.speech { actions.append(.stopListeningForSpeech(token)) }
        var parameters: [FormParameter] = []
        if let speech, !speech.text.isEmpty {
            parameters = [FormParameter(name: "SpeechResult", value: speech.text),
                          FormParameter(name: "Confidence", value: Self.confidenceText(speech.confidence))]
        } else if !digits.isEmpty || !gather.input.contains(.speech) {
            parameters = [FormParameter(name: "Digits", value: digits)]
        }
        let empty = digits.isEmpty && (speech?.text.isEmpty ?? true)
        guard let action = gather.action ?? baseURL, !empty || gather.actionOnEmptyResult else {
            return actions + resume()
        }
        var req = request(action, gather.method, parameters)
        if !req.isRemote { req.url = FlowURL.substitutingDigits(in: req.url, digits: digits) }
        return actions + fetch(req)
    }

    /// `Confidence` as the platforms send it: a decimal between 0 and 1 (e.g. `0.91`).
    public static func confidenceText(_ value: Double) -> String {
        let hundredths = Int((min(1, max(0, value)) * 100).rounded())
        return hundredths == 100 ? "1.0" : "0." + (hundredths < 10 ? "0" : "") + String(hundredths)
    }

    // MARK: Record

    /// Enters a `<Record>`: prompts, then the beep, then the recording.
    mutating func startRecord(_ record: Record) -> [FlowAction] {
        var run = RecordRun(record: record)
        let actions = promptOrRecord(&run)
        waiting = .record(run)
        return actions
    }

    /// Plays the next prompt or the beep, or starts recording when both are done.
    private mutating func promptOrRecord(_ run: inout RecordRun) -> [FlowAction] {
        let token = newToken()
        if run.nextPrompt < run.record.prompts.count {
            let prompt = run.record.prompts[run.nextPrompt]
            run.nextPrompt += 1
            run.media = token
            return [mediaAction(prompt, token: token)]
        }
        if run.record.playBeep, !run.beeped {
            run.beeped = true
            run.media = token
            return [.beep(token: token)]
        }
        run.media = nil
        run.phase = .recording(token)
        let request = RecordingRequest(maxLengthSeconds: run.record.maxLength,
                                       silenceTimeoutSeconds: run.record.timeout,
                                       trimSilence: run.record.trim == .trimSilence, format: run.record.format,
                                       dual: run.record.channels == .dual)
        return [.listenForDigits(true), .startRecording(request, token: token)]
    }

    mutating func handleRecord(_ event: FlowEvent, _ current: RecordRun) -> [FlowAction] {
        var run = current
        switch (run.phase, event) {
        case (.prompting, .mediaFinished(let token)) where token == run.media:
            let actions = promptOrRecord(&run)
            waiting = .record(run)
            return actions
        case (.prompting, .callerHungUp):
            return finish()
        case (.recording(let token), .digit(let digit)) where run.record.finishOnKey.contains(digit):
            run.finishKey = digit
            run.phase = .stopping(token)
            waiting = .record(run)
            return [.stopRecording(token)]
        case (.recording(let token), .callerHungUp):
            run.callerHungUp = true
            run.phase = .stopping(token)
            waiting = .record(run)
            return [.stopRecording(token)]
        case (.stopping, .callerHungUp):
            run.callerHungUp = true
            waiting = .record(run)
            return []
        case (.recording(let expected), .recordingFinished(let token, let outcome)) where token == expected,
             (.stopping(let expected), .recordingFinished(let token, let outcome)) where token == expected:
            if outcome.reason == .hangup { run.callerHungUp = true }
            return endRecord(run, outcome)
        default:
            return []
        }
    }

    /// Stops listening, fires the callbacks and requests `action` (Twilio rules: nothing
    /// at all for an empty recording; after a hang-up `action` is requested but its
    /// document is ignored and the flow ends).
    private mutating func endRecord(_ run: RecordRun, _ outcome: RecordingOutcome) -> [FlowAction] {
        let record = run.record
        var actions: [FlowAction] = run.callerHungUp ? [] : [.listenForDigits(false)]
        guard outcome.durationSeconds > 0 else {
            return actions + (run.callerHungUp ? finish() : resume())
        }
        let recording = [
            FormParameter(name: "RecordingUrl", value: outcome.url),
            FormParameter(name: "RecordingDuration", value: String(outcome.durationSeconds)),
            FormParameter(name: "RecordingSid", value: outcome.sid),
        ]
        if let callback = record.recordingStatusCallback, record.recordingStatusCallbackEvent.contains(.completed) {
            let status = [FormParameter(name: "RecordingStatus", value: "completed")]
            actions.append(.notify(request(callback, record.recordingStatusCallbackMethod, recording + status)))
        }
        if record.wantsTranscription {
            let callback = record.transcribeCallback ?? record.transcriptionCallback
            actions.append(.transcribe(recordingURL: outcome.url,
                                       callback: callback.map { request($0, .post, recording) }))
        }
        // Without `action` a fetched document is requested again, as on the hosted platforms.
        guard let action = record.action ?? baseURL else {
            return actions + (run.callerHungUp ? finish() : resume())
        }
        var parameters = recording
        if let key = run.finishKey {
            parameters.append(FormParameter(name: "Digits", value: String(key)))
        } else if run.callerHungUp {
            parameters.append(FormParameter(name: "Digits", value: "hangup"))
        }
        actions += fetch(request(action, record.method, parameters))
        return run.callerHungUp ? actions + finish() : actions
    }
}
