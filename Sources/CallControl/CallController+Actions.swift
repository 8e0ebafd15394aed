import Compliance
import Configuration
import Foundation
import Media
import Metering
import Observability
import Signaling
import TeXML
import Transcription
import Webhooks

/// Carrying out `CallAction`s: SIP responses, timers, media, webhooks, records.
extension CallController {
    func perform(_ actions: [CallAction], on e: Entry) {
        for a in actions {
            switch a {
            case .respond(let status, let sdp, let headers):
                stack.respond(e.handle, status: status, sdp: sdp, headers: headers)
                if status == 200 && e.session.phase == .answered {
                    // The record has no codec column: the log says which one the call uses.
                    e.log.info("call.answered", ["codec": e.session.negotiated.map { $0.codec.rawValue } ?? "late-offer",
                                                  "srtp": e.session.negotiated?.crypto?.suite ?? "off"])
                    metrics.observe("tollfreed_invite_to_answer_seconds", stack.currentTime().timeIntervalSince(e.session.startTime),
                                    buckets: DaemonMetrics.latencyBuckets)
                }
            case .configureMedia(var peer):
                peer.latch = e.latch
                media.configure(e.media, peer: peer)
            case .startRingTimer, .cancelRingTimer, .startDurationTimer, .startAckTimer, .cancelAckTimer, .startCloseTimer:
                performTimer(a, on: e)
            case .fetchInitialDocument:
                fetchInitialDocument(e)
            case .flow(let action):
                performFlow(action, on: e)
            case .sendBye:
                stack.bye(e.handle)
            case .resolveDial(let dial, let token):
                resolveDial(dial, token: token, on: e)
            case .dial(let action):
                performDial(action, on: e)
            case .promoteEmergency:
                admission.promote(e.handle)
            case .log(let level, let event, let detail):
                e.log.log(LogLevel(name: level) ?? .info, event, ["detail": detail])
            case .finish(let record):
                finish(e, record: record)
            }
        }
    }

    /// The call's own timers (ring, duration, ACK, close): each fires into the session.
    private func performTimer(_ action: CallAction, on e: Entry) {
        let h = e.handle
        switch action {
        case .startRingTimer(let ms):
            if ms == 0 {
                withCall(h) { $0.session.ringTimerFired(now: stack.currentTime()) }
            } else {
                e.ringTimer = stack.schedule(afterMilliseconds: ms) { [self] in
                    calls[h]?.ringTimer = nil
                    withCall(h) { $0.session.ringTimerFired(now: stack.currentTime()) }
                }
            }
        case .cancelRingTimer:
            if let t = e.ringTimer { stack.cancel(t); e.ringTimer = nil }
        case .startDurationTimer(let seconds):
            e.durationTimer = stack.schedule(afterMilliseconds: seconds * 1000) { [self] in
                calls[h]?.durationTimer = nil
                withCall(h) { $0.session.durationExceeded(now: stack.currentTime()) }
            }
        case .startAckTimer(let ms):
            e.halfOpenSource = halfOpen.open(source: e.source)
            e.ackTimer = stack.schedule(afterMilliseconds: ms) { [self] in
                calls[h]?.ackTimer = nil
                withCall(h) { $0.session.ackTimerFired(now: stack.currentTime()) }
            }
        case .cancelAckTimer:
            if let t = e.ackTimer { stack.cancel(t); e.ackTimer = nil }
            halfOpen.close(e.halfOpenSource)
            e.halfOpenSource = nil
            e.rtpSeen = (0, stack.currentTime())
        case .startCloseTimer(let ms):
            e.closeTimer = stack.schedule(afterMilliseconds: ms) { [self] in
                calls[h]?.closeTimer = nil
                withCall(h) { $0.session.closeTimerFired(now: stack.currentTime()) }
            }
        default:
            assertionFailure("not a timer action: \(action)")
        }
    }

    /// The call is over for us, but its dialog may not be for Sofia: a BYE to a caller who
    /// never ACKed our 200 (or whose Contact does not answer) can leave the dialog in
    /// "terminating" for good, holding its handle and the INVITE's memory. When it is still
    /// there after `dialogReleaseMilliseconds`, it is freed by force (as a leg's is).
    private func releaseDialogLater(_ e: Entry) {
        guard stack.isAlive(e.handle) else { return }
        let handle = e.handle, log = e.log
        stack.schedule(afterMilliseconds: policy.dialogReleaseMilliseconds) { [self] in
            guard stack.isAlive(handle), calls[handle] == nil else { return }
            log.notice("call.dialog_forced_end", ["detail": "dialog still open \(policy.dialogReleaseMilliseconds) ms after the call ended"])
            stack.abandon(handle)
        }
    }

    private func finish(_ e: Entry, record ended: CallDetailRecord) {
        for t in [e.ringTimer, e.durationTimer, e.closeTimer, e.ackTimer].compactMap({ $0 }) { stack.cancel(t) }
        halfOpen.close(e.halfOpenSource)
        e.halfOpenSource = nil
        for t in e.flowTimers.values { stack.cancel(t) }
        e.flowTimers.removeAll()
        for t in e.dialTimers.values { stack.cancel(t) }
        e.dialTimers.removeAll()
        // Recordings still being written report to the call by token after media closes.
        for token in e.recordings.keys { pendingRecordingCalls[token] = e.handle }
        let record = e.session.closed(media: media.close(e.media) ?? e.closedMediaStats) ?? ended
        for lh in e.legs.values { if let leg = legs[lh] { endLegUnconditionally(leg) } }
        calls[e.handle] = nil
        releaseDialogLater(e)
        byMedia[e.media] = nil
        admission.release(e.handle)
        services.writer.finish(record)
        countFinished(record)
        e.log.info("call.end", ["disposition": record.disposition.rawValue, "sip_code": record.sipCode,
                                "hangup_by": record.hangupBy.rawValue, "billable_s": record.billableSeconds,
                                "rtp_sent": record.rtpSent, "rtp_received": record.rtpReceived,
                                "rtp_dropped": record.rtpDropped, "recording_s": record.recordingSeconds,
                                "rtp_lost": record.quality.packetsLost, "mos": record.quality.mos.map { "\($0)" } ?? "-"])
        reportQuality(record, log: e.log)
        if let url = e.number?.statusCallback.flatMap(URL.init(string:)) {
            let status: String = switch record.disposition {
            case .completed, .preempted: "completed"
            case .busy: "busy"
            case .canceled: "canceled"
            case .rejected, .failed, .active, .interrupted: record.sipCode == 486 ? "busy" : "failed"
            }
            var params = e.session.callParameters.filter { $0.name != "CallStatus" }.map { ($0.name, $0.value) }
            params += [("CallStatus", status), ("CallDuration", String(record.billableSeconds)),
                       ("SipResponseCode", String(record.sipCode))]
            var request = WebhookRequest(url: url, method: "POST", parameters: params)
            request.signingToken = signingToken(of: e.session.route.tenant)
            services.webhooks.notify(request)
        }
    }

    // MARK: Flow actions

    private func performFlow(_ action: FlowAction, on e: Entry) {
        let h = e.handle
        switch action {
        case .say(let req, let token):
            var key = SpeechKey(text: req.text, voice: req.voice, language: req.language, ssml: req.ssml)
            key.wideband = e.session.negotiated?.codec == .g722
            if let audio = cachedPrompt(key, tenant: e.session.route.tenant) {
                media.play(e.media, audio: audio, loops: req.loop, token: token)
            } else {
                services.prompts.request(key, tenant: e.session.route.tenant) { [self] result in
                    stack.post { [self] in self.deliver(result, loops: req.loop, token: token, to: h) }
                }
            }
        case .play(let req, let token):
            play(req, token: token, on: e)
        case .sendDigits(let digits, let token):
            media.sendDigits(e.media, digits: digits, token: token)
        case .beep(let token):
            media.play(e.media, audio: services.audio.beep, loops: 1, token: token)
        case .pause(let ms, let token):
            media.playSilence(e.media, milliseconds: ms, token: token)
        case .stopMedia:
            media.stopPlayback(e.media)
        case .listenForDigits(let on):
            media.setDTMFDetection(e.media, enabled: on)
        case .startTimer(let ms, let token):
            e.flowTimers[token] = stack.schedule(afterMilliseconds: ms) { [self] in
                calls[h]?.flowTimers[token] = nil
                withCall(h) { $0.session.flowTimerFired(token: token, now: stack.currentTime()) }
            }
        case .cancelTimer(let token):
            if let t = e.flowTimers.removeValue(forKey: token) { stack.cancel(t) }
        case .listenForSpeech(let request, let token):
            listenForSpeech(request, token: token, on: e)
        case .stopListeningForSpeech(let token):
            stopListeningForSpeech(token, on: e)
        case .startRecording(let req, let token):
            startRecording(req, token: token, on: e)
        case .stopRecording(let token):
            let reason: Media.RecordingEndReason = e.session.phase == .closing ? .hangup : .finishKey
            _ = token
            media.stopRecording(e.media, reason: reason)
        case .fetch(let req, let token):
            if let digits = req.parameters.first(where: { $0.name == "Digits" })?.value {
                let masked = e.session.route.industry == .healthcare && digits != "hangup"
                e.log.info("call.gather_result", ["digits": masked ? String(repeating: "*", count: digits.count) : digits])
            }
            fetchDocument(req, tenant: e.session.route.tenant, fallback: e.number?.fallbackFlow, log: e.log) { [self] outcome in
                withCall(h) { $0.session.fetched(token: token, outcome: outcome, now: stack.currentTime()) }
            }
        case .notify(let req):
            if let r = webhookRequest(req, tenant: e.session.route.tenant) { services.webhooks.notify(r) }
        case .transcribe(let recordingURL, let callback):
            transcribe(recordingURL: recordingURL, callback: callback, on: e)
        case .reject, .hangup, .finished, .skip, .dial, .markEmergency:
            break // handled by CallSession
        }
    }

    /// `<Play>`: a file or URL (fetched and cached), or a ringTone's ringback.
    private func play(_ req: PlayRequest, token: FlowToken, on e: Entry) {
        if req.ringTone != nil { return media.play(e.media, audio: RingTones.ringback(req.ringTone), loops: req.loop, token: token) }
        let h = e.handle
        services.audio.load(req.source, signingToken: signingToken(of: e.session.route.tenant),
                            wideband: e.session.negotiated?.codec == .g722) { [self] result in
            stack.post { [self] in self.deliver(result, loops: req.loop, token: token, to: h) }
        }
    }

    private func deliver(_ result: Result<EncodedAudio, MediaError>, loops: Int, token: FlowToken, to h: SIPCallHandle) {
        guard let e = calls[h] else { return }
        switch result {
        case .success(let audio): media.play(e.media, audio: audio, loops: loops, token: token)
        case .failure(let err): perform(e.session.promptFailed(token: token, error: err.description, now: stack.currentTime()), on: e)
        }
    }

    // MARK: Recording

    private func startRecording(_ req: RecordingRequest, token: FlowToken, on e: Entry) {
        let (sid, path) = newRecording(on: e, mp3: req.format == .mp3)
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        e.recordings[token] = (sid, path)
        var spec = RecordingSpec(path: path, maxLengthSeconds: req.maxLengthSeconds,
                                 silenceTimeoutSeconds: req.silenceTimeoutSeconds, trimSilence: req.trimSilence)
        spec.mp3 = req.format == .mp3
        spec.dual = req.dual
        spec.seal = services.compliance.sealer(for: e.session.route.industry)
        media.startRecording(e.media, spec: spec, token: token)
        e.log.info("call.recording_started", ["sid": sid, "max_s": req.maxLengthSeconds])
    }

    /// A new recording of the call (`<Record>` or `<Dial record>`): a random sid and its file,
    /// `<recordings>/<tenant>/<node>-<call id>-<sid>.wav` (`.mp3` when asked; `.enc` added
    /// when the tenant's industry seals recordings). The call id is unique only within a process's run, the
    /// sid is random; the node id (when set) keeps names apart on a directory nodes share.
    func newRecording(on e: Entry, mp3: Bool = false) -> (sid: String, path: String) {
        let sid = PlatformSID.random("RE")
        let callID = e.session.callID
        let name = policy.nodeID.isEmpty ? "\(callID)-\(sid)" : "\(policy.nodeID)-\(callID)-\(sid)"
        let suffix = (mp3 ? ".mp3" : ".wav") + (services.compliance.seals(e.session.route.industry) ? ".enc" : "")
        let directory = (recordingsRoot as NSString).appendingPathComponent(e.session.route.tenant)
        return (sid, (directory as NSString).appendingPathComponent(name + suffix))
    }

    /// The recordings directory in force.
    var recordingsRoot: String {
        policy.recordingsDirectory.isEmpty ? RecordingLocation.defaultDirectory(dataDirectory: policy.dataDirectory) : policy.recordingsDirectory
    }

    /// `file://` URL of the file, or `recording_url_base` + `recordings/<tenant>/<file>`.
    func recordingURL(forPath path: String) -> String {
        guard !policy.recordingURLBase.isEmpty else { return URL(fileURLWithPath: path).absoluteString }
        let relative = RecordingLocation.relativePath(path)
        return policy.recordingURLBase.hasSuffix("/") ? policy.recordingURLBase + relative : policy.recordingURLBase + "/" + relative
    }

    func recordingFinished(_ h: SIPCallHandle, token: FlowToken, file: RecordingFile) {
        guard let e = calls[h], let info = e.recordings.removeValue(forKey: token) else { return }
        let reason: TeXML.RecordingEndReason = switch file.reason {
        case .silence: .silence
        case .maxLength: .maxLength
        case .finishKey: .finishKey
        case .hangup: .hangup
        case .stopped: .stopped
        }
        // A <Record> that heard no sound is an empty recording to the flow, as Twilio treats
        // it (warning 16102, "recording is silent"): no action request, the flow goes on.
        // The file (silence of the recorded length) stays, audited, under retention like any
        // other; a <Dial record> is reported whatever was said.
        let silent = !file.heardSound && e.session.activeDial?.token != token
        let outcome = RecordingOutcome(url: recordingURL(forPath: file.path),
                                       durationSeconds: silent ? 0 : (file.durationMilliseconds + 500) / 1000, sid: info.sid, reason: reason)
        e.log.info("call.recording_finished", ["sid": info.sid, "duration_ms": file.durationMilliseconds, "reason": "\(file.reason)",
                                               "silent": silent])
        if file.durationMilliseconds > 0 {
            services.compliance.record("recording.created", subject: info.sid,
                                       detail: "call=\(e.session.callID) tenant=\(e.session.route.tenant) file=\(URL(fileURLWithPath: file.path).lastPathComponent) sealed=\(file.path.hasSuffix(".enc"))",
                                       logger: e.log)
        }
        if e.session.activeDial?.token == token {
            return perform(e.session.dialRecordingFinished(outcome, now: stack.currentTime()), on: e)
        }
        perform(e.session.recordingFinished(token: token, outcome: outcome, now: stack.currentTime()), on: e)
    }

    /// A recording's audio as a WAV image for the transcriber: opened when sealed, decoded
    /// when MP3.
    static func recordingAsWAV(path: String, keys: [RecordingKey]) throws -> [UInt8] {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        if path.hasSuffix(".enc") { bytes = try SealedFile.open(bytes, keys: keys) }
        guard MP3Decoder.looksLikeMP3(bytes) else { return bytes }
        let (samples, rate) = try MP3Decoder.decode(bytes)
        return try Resampler.resample(samples, from: rate, to: 8000).withUnsafeBufferPointer { WAVFile.encode($0) }
    }

    private func transcribe(recordingURL: String, callback: HTTPRequest?, on e: Entry) {
        guard let path = e.session.recordings.first(where: { $0.url == recordingURL }).flatMap({ r in
            URL(string: r.url).flatMap { $0.isFileURL ? $0.path : nil } ?? localPath(forRecordingURL: r.url)
        }) else { return }
        let log = e.log
        let hooks = services.webhooks
        let request = callback.flatMap { webhookRequest($0, tenant: e.session.route.tenant) }
        let sid = e.session.recordings.first { $0.url == recordingURL }?.sid ?? ""
        let sealed = path.hasSuffix(".enc")
        let keys = services.compliance.keys
        let seal = services.compliance.sealer(for: e.session.route.industry)
        let source: TranscriptionService.Source = sealed || path.contains(".mp3")
            ? .data { try WAVAudio(wavData: Data(Self.recordingAsWAV(path: path, keys: keys))) }
            : .file(path)
        services.transcription.transcribe(source) { result in
            let text: String
            let status: String
            switch result {
            case .success(let t): text = t; status = "completed"
            case .failure(let err): text = ""; status = "failed"; log.warning("call.transcription_failed", ["error": "\(err)"])
            }
            // A sealed recording's transcript is sealed too (it is the same content).
            if sealed, let seal {
                let out = String(path.dropLast(4)) + ".txt.enc"
                if let bytes = try? seal(Array(text.utf8)) { try? Data(bytes).write(to: URL(fileURLWithPath: out)) }
            } else {
                try? Data(text.utf8).write(to: URL(fileURLWithPath: path + ".txt"))
            }
            log.info("call.transcribed", ["sid": sid, "status": status, "chars": text.count])
            if var r = request {
                r.parameters += [("TranscriptionText", text), ("TranscriptionStatus", status),
                                 ("RecordingUrl", recordingURL), ("RecordingSid", sid)]
                hooks.notify(r)
            }
        }
    }

    private func localPath(forRecordingURL url: String) -> String? {
        RecordingLocation.localPath(url, base: policy.recordingURLBase,
                                    directory: recordingsRoot)
    }
}
