import Configuration
import Foundation
import Observability
import Routing
import Signaling
import TeXML
import Webhooks

/// Fetching TeXML documents (URL flows, Redirect, action URLs) with fallback.
extension CallController {
    /// The tenant's `auth_token`: its webhook requests carry `X-Twilio-Signature` with it.
    func signingToken(of tenant: String) -> String? { policy.tenants[tenant]?.authToken }

    /// Converts the interpreter's request to the webhook client's: http(s) URLs as they
    /// are, local paths as file URLs; signed for `tenant`.
    func webhookRequest(_ r: HTTPRequest, tenant: String) -> WebhookRequest? {
        let url: URL?
        if r.url.hasPrefix("http://") || r.url.hasPrefix("https://") {
            url = URL(string: r.url)
        } else if r.url.hasPrefix("file:") || r.url.hasPrefix("/") {
            url = URL(fileURLWithPath: LocalFlowPath.resolve(r))
        } else {
            url = nil
        }
        guard let url else { return nil }
        var request = WebhookRequest(url: url, method: r.method == .get ? "GET" : "POST",
                                     parameters: r.parameters.map { ($0.name, $0.value) })
        request.signingToken = signingToken(of: tenant)
        return request
    }

    /// The first document of a URL flow: POST the flow URL with CallStatus=ringing, fall
    /// back to the number's fallback flow, else let the session apologise.
    func fetchInitialDocument(_ e: Entry) {
        let h = e.handle
        guard let number = e.number, let url = URL(string: number.flow) else {
            perform(e.session.documentFailed("no flow URL", now: stack.currentTime()), on: e)
            return
        }
        let params = e.session.callParameters.filter { $0.name != "CallStatus" }.map { ($0.name, $0.value) }
            + [("CallStatus", "ringing")]
        let token = signingToken(of: e.session.route.tenant)
        var request = WebhookRequest(url: url, method: "POST", parameters: params)
        request.signingToken = token
        let log = e.log
        load(request, log: log) { [self] result in
            switch result {
            case .success(let (doc, base)):
                withCall(h) { $0.session.documentReady(doc, baseURL: base, now: stack.currentTime()) }
            case .failure(let reason):
                loadFallback(number.fallbackFlow, callParameters: params + reason.fallbackParameters, token: token,
                             log: log) { [self] fallback in
                    switch fallback {
                    case .success(let (doc, base)):
                        withCall(h) { $0.session.documentReady(doc, baseURL: base, now: stack.currentTime()) }
                    case .failure(let why):
                        withCall(h) { $0.session.documentFailed("\(reason); fallback: \(why)", now: stack.currentTime()) }
                    }
                }
            }
        }
    }

    /// Fetches a Redirect or action document; on failure tries `fallback`. `completion`
    /// runs on the signaling thread.
    func fetchDocument(_ req: HTTPRequest, tenant: String, fallback: String?, log: Logger,
                       completion: @escaping @Sendable (FetchOutcome) -> Void) {
        guard let request = webhookRequest(req, tenant: tenant) else {
            completion(.failed("unsupported URL '\(req.url)'"))
            return
        }
        let params = request.parameters
        load(request, log: log) { [self] result in
            switch result {
            case .success(let (doc, _)):
                completion(.document(doc))
            case .failure(let reason):
                loadFallback(fallback, callParameters: params + reason.fallbackParameters, token: request.signingToken, log: log) { fb in
                    switch fb {
                    case .success(let (doc, _)): completion(.document(doc))
                    case .failure(let why): completion(.failed("\(reason); fallback: \(why)"))
                    }
                }
            }
        }
    }

    private func loadFallback(_ fallback: String?, callParameters: [(name: String, value: String)], token: String?, log: Logger,
                              completion: @escaping @Sendable (Result<(FlowDocument, String?), FetchFailure>) -> Void) {
        guard let fallback else { return completion(.failure(FetchFailure("none configured"))) }
        if let doc = policy.flows[fallback] {
            log.notice("flow.fallback", ["flow": fallback])
            return completion(.success((doc, nil)))
        }
        guard let url = URL(string: fallback), url.scheme == "http" || url.scheme == "https" else {
            return completion(.failure(FetchFailure("fallback \(fallback) not loaded")))
        }
        log.notice("flow.fallback", ["flow": fallback])
        var request = WebhookRequest(url: url, method: "POST", parameters: callParameters)
        request.signingToken = token
        load(request, log: log, completion: completion)
    }

    /// Fetches and parses a document; `completion` runs on the signaling thread.
    private func load(_ request: WebhookRequest, log: Logger,
                      completion: @escaping @Sendable (Result<(FlowDocument, String?), FetchFailure>) -> Void) {
        let started = Date()
        services.webhooks.fetch(request) { [self] result in
            let outcome: Result<(FlowDocument, String?), FetchFailure>
            switch result {
            case .success(let response):
                let isRemote = response.finalURL.scheme == "http" || response.finalURL.scheme == "https"
                let source = isRemote ? response.finalURL.absoluteString : response.finalURL.path
                do {
                    let doc = try TeXMLParser.parse(response.body, source: source)
                    outcome = .success((doc, isRemote ? source : nil))
                } catch {
                    outcome = .failure(FetchFailure("invalid TeXML: \(error)", errorCode: 12100, url: source))
                }
            case .failure(let err):
                outcome = .failure(FetchFailure("\(err)", errorCode: err.platformErrorCode, url: request.url.absoluteString))
            }
            let ms = Int(Date().timeIntervalSince(started) * 1000)
            switch outcome {
            case .success: log.info("flow.fetched", ["url": request.url.absoluteString, "ms": ms])
            case .failure(let f): log.warning("flow.fetch_failed", ["url": request.url.absoluteString, "ms": ms, "error": f.reason])
            }
            stack.post { [self] in
                if case .success(let (doc, _)) = outcome { noteIgnoredMarkup(doc, log: log) }
                completion(outcome)
            }
        }
    }

    /// Logs what a fetched document holds that tollfreed ignores or skips, once per
    /// document (not per call that fetches it): an app written for Twilio or Telnyx runs,
    /// and its engineers learn what does not apply here.
    func noteIgnoredMarkup(_ doc: FlowDocument, log: Logger) {
        guard !doc.warnings.isEmpty else { return }
        var hasher = Hasher()
        hasher.combine(doc.source)
        hasher.combine(doc.warnings)
        guard warnedDocuments.insert(hasher.finalize()).inserted else { return }
        if warnedDocuments.count > 4096 { warnedDocuments = [] } // bounded: a flood of distinct documents re-logs
        log.warning("flow.unsupported_markup", ["source": doc.source, "count": doc.warnings.count,
                                                "detail": doc.warnings.prefix(3).map(\.description).joined(separator: "; ")])
    }
}

/// A local flow reference as a file system path (`file:` URLs and percent-escapes
/// undone). The interpreter has already put the caller's digits into `{Digits}`.
package enum LocalFlowPath {
    package static func resolve(_ r: HTTPRequest) -> String {
        let path = r.url.hasPrefix("file:") ? (URL(string: r.url)?.path ?? String(r.url.dropFirst(5))) : r.url
        return path.removingPercentEncoding ?? path
    }
}

/// Why a document could not be had: for the log, and for the fallback request's
/// `ErrorCode` (Twilio's codes; 12100 for a document that does not parse) and `ErrorUrl`.
struct FetchFailure: Error, Sendable, CustomStringConvertible {
    var reason: String
    var errorCode = 11200
    var url = ""
    init(_ r: String, errorCode: Int = 11200, url: String = "") {
        reason = r
        self.errorCode = errorCode
        self.url = url
    }
    var description: String { reason }

    /// What the fallback request adds to the call's parameters.
    var fallbackParameters: [(name: String, value: String)] {
        [("ErrorCode", String(errorCode)), ("ErrorUrl", url)]
    }
}
