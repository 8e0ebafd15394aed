import Foundation
import Media
import Observability
import Routing
import Signaling
import TeXML

/// `<Number url>` / `<Sip url>`: a document played to the callee once it answers, before
/// the bridge (a "whisper"). Until it ends the dial machine still sees the leg ringing (so
/// the caller hears ringback and other targets keep ringing). Running out of verbs accepts
/// the call (bridge); `<Hangup/>` or `<Reject/>` refuses it: the leg is hung up and counts
/// as not answered (`no-answer`), as on Twilio. Say, Play, Pause, Gather (RFC 4733 keys)
/// and Redirect run; any other verb ends the whisper as if the document ended there.
final class Whisper {
    let leg: Leg
    let url: String
    var flow: FlowInterpreter?
    var timers: [FlowToken: SIPTimer] = [:]

    init(leg: Leg, url: String) {
        self.leg = leg
        self.url = url
    }
}

extension CallController {
    /// Fetches the whisper document for a leg that just answered.
    func startWhisper(_ leg: Leg, url: String, method: RequestMethod, now: Date) {
        let resolved = calls[leg.parent]?.session.interpreter?.resolve(url) ?? url
        let w = Whisper(leg: leg, url: resolved)
        whispers[leg.media] = w
        let params = whisperParameters(leg)
        leg.log.info("dial.whisper", ["url": resolved])
        let request = HTTPRequest(url: resolved, method: method, parameters: params)
        let id = leg.media
        fetchDocument(request, tenant: leg.state.placement.tenant, fallback: nil, log: leg.log) { [self] outcome in
            guard let w = whispers[id] else { return }
            switch outcome {
            case .document(let doc):
                var flow = FlowInterpreter(document: doc, baseURL: w.url, callParameters: params)
                let first = flow.start()
                w.flow = flow
                runWhisper(w, first)
            case .failed(let reason):
                w.leg.log.warning("dial.whisper_failed", ["reason": reason])
                endWhisper(w, accepted: false)
            }
        }
    }

    /// The parameters of the whisper's requests: the leg's, as its progress events have them.
    private func whisperParameters(_ leg: Leg) -> [FormParameter] {
        let p = leg.state.placement
        return [("CallSid", p.callID), ("ParentCallSid", p.parentCallID), ("AccountSid", accountSID(of: p.tenant)),
                ("From", p.presentedNumber), ("To", p.target.label), ("Direction", "outbound-dial"),
                ("CallStatus", "in-progress"), ("ApiVersion", "2010-04-01"), ("SipCallId", p.sipCallID)]
            .map { FormParameter(name: $0.0, value: $0.1) }
    }

    /// A media or key event of a leg whose whisper runs; false when no whisper runs on it.
    func whisperEvent(_ id: MediaSessionID, _ event: FlowEvent) -> Bool {
        guard let w = whispers[id], var flow = w.flow else { return whispers[id] != nil }
        let next = flow.handle(event)
        w.flow = flow
        runWhisper(w, next)
        return true
    }

    private func runWhisper(_ w: Whisper, _ actions: [FlowAction]) {
        let leg = w.leg, id = leg.media
        for action in actions {
            guard whispers[id] === w else { return }
            switch action {
            case .say(let req, let token):
                let key = SpeechKey(text: req.text, voice: req.voice, language: req.language, ssml: req.ssml)
                services.prompts.request(key, tenant: leg.state.placement.tenant) { [self] result in
                    stack.post { [self] in whisperAudio(result, loops: req.loop, token: token, on: id) }
                }
            case .play(let req, let token):
                services.audio.load(req.source, signingToken: signingToken(of: leg.state.placement.tenant)) { [self] result in
                    stack.post { [self] in whisperAudio(result, loops: req.loop, token: token, on: id) }
                }
            case .pause(let ms, let token): media.playSilence(id, milliseconds: ms, token: token)
            case .sendDigits(let digits, let token): media.sendDigits(id, digits: digits, token: token)
            case .stopMedia: media.stopPlayback(id)
            case .startTimer(let ms, let token):
                w.timers[token] = stack.schedule(afterMilliseconds: ms) { [self] in
                    whispers[id]?.timers[token] = nil
                    _ = whisperEvent(id, .timerFired(token))
                }
            case .cancelTimer(let token):
                if let t = w.timers.removeValue(forKey: token) { stack.cancel(t) }
            case .fetch(let req, let token):
                fetchDocument(req, tenant: leg.state.placement.tenant, fallback: nil, log: leg.log) { [self] outcome in
                    _ = whisperEvent(id, .fetched(token, outcome))
                }
            case .notify(let req):
                if let r = webhookRequest(req, tenant: leg.state.placement.tenant) { services.webhooks.notify(r) }
            case .listenForDigits, .skip, .markEmergency:
                break
            case .hangup, .reject:
                return endWhisper(w, accepted: false)
            case .finished:
                return endWhisper(w, accepted: true)
            case .beep, .startRecording, .stopRecording, .transcribe, .dial, .listenForSpeech, .stopListeningForSpeech:
                leg.log.warning("dial.whisper_verb_unsupported", ["action": "\(action)".prefix(40)])
                return endWhisper(w, accepted: true)
            }
        }
    }

    private func whisperAudio(_ result: Result<EncodedAudio, MediaError>, loops: Int, token: FlowToken, on id: MediaSessionID) {
        guard whispers[id] != nil else { return }
        switch result {
        case .success(let audio): media.play(id, audio: audio, loops: loops, token: token)
        case .failure(let err):
            whispers[id]?.leg.log.error("dial.whisper_prompt_failed", ["error": err.description])
            _ = whisperEvent(id, .mediaFinished(token))
        }
    }

    /// Ends the whisper: accepted, the dial machine hears the answer (and bridges);
    /// refused, the leg is hung up and reported as not answered.
    func endWhisper(_ w: Whisper, accepted: Bool) {
        let leg = w.leg, now = stack.currentTime()
        guard whispers[leg.media] === w else { return }
        whispers[leg.media] = nil
        for t in w.timers.values { stack.cancel(t) }
        media.stopPlayback(leg.media)
        leg.log.info("dial.whisper_end", ["accepted": accepted])
        if accepted {
            legAccepted(leg, reported: false, now: now)
        } else {
            perform(leg.state.whisperRefused(now: now), on: leg, now: now)
        }
    }

    /// Drops a leg's whisper without a verdict (the leg or its call is ending).
    func dropWhisper(_ id: MediaSessionID) {
        guard let w = whispers.removeValue(forKey: id) else { return }
        for t in w.timers.values { stack.cancel(t) }
    }
}
