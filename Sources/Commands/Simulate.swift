import CallControl
import Configuration
import Daemon
import Foundation
import Media
import Observability
import Routing
import TeXML
import Webhooks

/// `tollfreed simulate`: runs a flow with no SIP and prints what the caller would hear.
/// Says take their real synthesised length; fetches are real requests (so a local test
/// server answers them) and a failed one plays the apology, exactly as in a call.
func simulate(_ o: SimulateOptions, out: FileDescriptorSink, err: FileDescriptorSink) -> Int32 {
    let quiet = Logger(minimumLevel: .error)
    let client = WebhookClient(logger: quiet, timeout: 5, userAgent: "tollfreed-simulate/\(tollfreedVersion)")
    let from = PhoneNumber.e164(o.from) ?? o.from
    let to = PhoneNumber.e164(o.to) ?? o.to
    let params = [FormParameter(name: "CallSid", value: "CAsimulated"), FormParameter(name: "AccountSid", value: "simulated"),
                  FormParameter(name: "From", value: from), FormParameter(name: "To", value: to),
                  FormParameter(name: "CallStatus", value: "in-progress"), FormParameter(name: "Direction", value: "inbound")]
    let load = { (request: HTTPRequest) in loadDocument(request, client: client) }
    let isURL = o.flow.hasPrefix("http://") || o.flow.hasPrefix("https://")
    let first = load(HTTPRequest(url: isURL ? o.flow : URL(fileURLWithPath: o.flow).path, method: .post,
                                 parameters: params.filter { $0.name != "CallStatus" } + [FormParameter(name: "CallStatus", value: "ringing")]))
    guard case .document(let document) = first else {
        if case .failed(let why) = first { err.write("tollfreed: \(o.flow): \(why)") }
        return 1
    }
    let base = o.webhookBase ?? (isURL ? o.flow : nil)
    let result = FlowSimulator(document: document, baseURL: base, callParameters: params, digits: o.digits,
                               promptDuration: promptDurations(logger: quiet), fetch: load).run()
    out.write("simulating \(document.source) from \(from) to \(to)" + (o.digits.isEmpty ? "" : " pressing \(o.digits)"))
    for event in result.timeline { out.write(event.description) }
    out.write(String(format: "call ends after %.1fs: ", result.duration) + describe(result.ending))
    if !result.unusedDigits.isEmpty { out.write("keys never used: \(result.unusedDigits)") }
    return 0
}

/// Fetches or reads a document synchronously.
private func loadDocument(_ request: HTTPRequest, client: WebhookClient) -> FetchOutcome {
    let url: URL? = request.isRemote ? URL(string: request.url) : URL(fileURLWithPath: LocalFlowPath.resolve(request))
    guard let url else { return .failed("bad URL \(request.url)") }
    let done = DispatchSemaphore(value: 0)
    let outcome = Locked(FetchOutcome.failed("no answer"))
    client.fetch(WebhookRequest(url: url, method: request.method == .get ? "GET" : "POST",
                                parameters: request.parameters.map { ($0.name, $0.value) })) { result in
        switch result {
        case .success(let r):
            let source = request.isRemote ? r.finalURL.absoluteString : r.finalURL.path
            do { try outcome.withLock { $0 = .document(try TeXMLParser.parse(r.body, source: source)) } } catch {
                outcome.withLock { $0 = .failed("invalid TeXML: \(error)") }
            }
        case .failure(let e): outcome.withLock { $0 = .failed("\(e)") }
        }
        done.signal()
    }
    done.wait()
    return outcome.withLock { $0 }
}

/// How long each prompt plays: a Say its synthesised length (estimated when there is no
/// synthesiser), a local Play its file's, beeps and digits their tones'.
private func promptDurations(logger: Logger) -> (FlowAction) -> Double {
    let synthesizer = try? SpeechSynthesizer(logger: logger)
    var cache: [SpeechRequest: Double] = [:]
    return { action in
        switch action {
        case .say(let req, _):
            if let d = cache[req] { return d }
            let key = SpeechKey(text: req.text, voice: req.voice, language: req.language, ssml: req.ssml)
            let d = Double((try? synthesizer?.synthesize(key))??.count ?? req.text.count * 600) / 8000 * Double(max(1, req.loop))
            cache[req] = d
            return d
        case .play(let req, _):
            guard !req.source.hasPrefix("http"), let a = try? EncodedAudio(audioAt: req.source) else { return 0 }
            return Double(a.durationMilliseconds * max(1, req.loop)) / 1000
        case .beep: return Double(Tones.beep().durationMilliseconds) / 1000
        case .sendDigits(let d, _): return Double(Tones.dtmf(d).durationMilliseconds) / 1000
        default: return 0
        }
    }
}

/// The last line's account of how the simulated call ended.
private func describe(_ ending: SimulationEnding) -> String {
    switch ending {
    case .rejected(let r): "rejected (\(r)) without answering"
    case .hungUp: "the flow hung up"
    case .finished: "the flow ran out of verbs; the daemon hangs up"
    case .applicationError(let why): "application error (\(why)); the caller heard the apology"
    case .incomplete(let why): "incomplete: \(why)"
    }
}
