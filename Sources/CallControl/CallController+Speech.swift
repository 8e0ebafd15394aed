import Foundation
import Media
import Observability
import Signaling
import TeXML
import Transcription

/// `<Gather input="speech">`: the media layer end-points the caller's utterance, the
/// speech pool recognises it off the signaling thread, and the result goes to the flow.
extension CallController {
    func listenForSpeech(_ request: SpeechInputRequest, token: FlowToken, on e: Entry) {
        e.speech = (token, request)
        let spec = SpeechListenSpec(endSilenceSeconds: Double(request.endSilenceMilliseconds) / 1000,
                                    maxSeconds: Double(SpeechInputRequest.maxUtteranceMilliseconds) / 1000)
        media.listenForSpeech(e.media, spec: spec, token: token)
    }

    func stopListeningForSpeech(_ token: FlowToken, on e: Entry) {
        guard e.speech?.token == token else { return }
        e.speech = nil
        media.stopListeningForSpeech(e.media)
    }

    /// The caller started talking: the flow stops its prompts (barge-in).
    func speechStarted(_ h: SIPCallHandle, token: UInt64) {
        guard let e = calls[h], e.speech?.token == token else { return }
        withCall(h) { $0.session.flowEvent(.speechStarted(token), now: stack.currentTime()) }
    }

    /// The utterance is over: recognise it, then report the words to the flow.
    func speechCaptured(_ h: SIPCallHandle, token: UInt64, samples: [Int16]) {
        guard let e = calls[h], let listening = e.speech, listening.token == token else { return }
        let log = e.log, request = listening.request
        let masked = e.session.route.industry == .healthcare
        let started = stack.currentTime()
        services.transcription.recognize(samples, hints: request.hints) { [self] result in
            let heard: SpeechRecognition
            let outcome: String
            switch result {
            case .success(let r): heard = r; outcome = r.text.isEmpty ? "empty" : "recognized"
            case .failure(let error):
                log.warning("call.speech_failed", ["error": "\(error)"])
                heard = SpeechRecognition(text: "", confidence: 0)
                outcome = "failed"
            }
            stack.post { [self] in
                metrics.increment("tollfreed_speech_utterances_total", [("outcome", outcome)])
                metrics.observe("tollfreed_speech_recognize_seconds", stack.currentTime().timeIntervalSince(started),
                                buckets: DaemonMetrics.latencyBuckets)
                guard let e = calls[h], e.speech?.token == token else { return }
                e.speech = nil
                if !heard.droppedHints.isEmpty {
                    log.warning("call.speech_hints_dropped", ["hints": heard.droppedHints.joined(separator: "; ")])
                }
                let text = request.profanityFilter ? ProfanityFilter.mask(heard.text) : heard.text
                log.info("call.speech_result", ["words": text.split(separator: " ").count,
                                                "text": masked ? "(masked)" : text,
                                                "confidence": FlowInterpreter.confidenceText(heard.confidence),
                                                "audio_ms": samples.count / 8,
                                                "recognize_ms": Int(stack.currentTime().timeIntervalSince(started) * 1000)])
                withCall(h) {
                    $0.session.flowEvent(.speechRecognized(token, SpeechOutcome(text: text, confidence: heard.confidence)),
                                         now: stack.currentTime())
                }
            }
        }
    }
}
