import Dispatch
import Foundation
import Observability

/// A successful webhook answer.
public struct WebhookResponse: Sendable {
    /// HTTP status (200 for a local file).
    public var status: Int
    /// The response body (a TeXML document for `fetch`).
    public var body: Data
    /// The URL the body came from, after redirects (relative TeXML URLs resolve against it).
    public var finalURL: URL
    /// The `Content-Type` header, if any.
    public var contentType: String?

    /// A response; for tests and for callers that synthesise one.
    public init(status: Int, body: Data, finalURL: URL, contentType: String? = nil) {
        self.status = status
        self.body = body
        self.finalURL = finalURL
        self.contentType = contentType
    }
}

/// Why a webhook request failed.
public enum WebhookError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server answered with a non-2xx status.
    case httpStatus(Int)
    /// No complete answer within the client's timeout.
    case timeout
    /// The connection failed (refused, reset, DNS, TLS...).
    case transport(String)
    /// A 2xx answer without a body where a document was expected (`fetch` only).
    case emptyBody(status: Int)
    /// A local document could not be read.
    case localFile(String)
    /// The URL is neither `http(s):`, `file:` nor an absolute path.
    case unsupportedURL(String)
    /// The answer (or local file) is longer than the client's limit of `limit` bytes; the
    /// transfer was stopped there.
    case tooLarge(limit: Int)

    /// Twilio's error code for this failure, sent to a fallback URL as `ErrorCode`: 11200
    /// HTTP retrieval failure (a status, an empty body, a file), 11205 connection failure or
    /// timeout, 11210 a host name that does not resolve, 11750 an answer too large.
    public var platformErrorCode: Int {
        switch self {
        case .httpStatus, .emptyBody, .localFile, .unsupportedURL: 11200
        case .timeout: 11205
        case .transport(let message): message.lowercased().contains("resolve") ? 11210 : 11205
        case .tooLarge: 11750
        }
    }

    /// A short explanation, fit for a log line.
    public var description: String {
        switch self {
        case .httpStatus(let code): "HTTP status \(code)"
        case .timeout: "timed out"
        case .transport(let message): "transport error: \(message)"
        case .emptyBody(let status): "empty body (HTTP \(status))"
        case .localFile(let message): "local file: \(message)"
        case .unsupportedURL(let url): "unsupported URL \(url)"
        case .tooLarge(let limit): "answer longer than \(limit) bytes"
        }
    }

    /// Whether a notification that failed this way is worth another try: transport
    /// errors, timeouts and 5xx answers.
    public var isRetryable: Bool {
        switch self {
        case .timeout, .transport: true
        case .httpStatus(let code): code >= 500
        default: false
        }
    }
}

/// Counters of fire-and-forget notifications since the client was created.
public struct WebhookStatistics: Sendable, Equatable {
    /// Notifications not yet delivered nor given up on (including ones waiting to retry).
    public var inFlight = 0
    /// Notifications answered with 2xx.
    public var delivered = 0
    /// Notifications given up on (after the last retry, or on a non-retryable error).
    public var failed = 0
    /// HTTP requests made for notifications, retries included.
    public var attempts = 0

    /// All zero.
    public init() {}
}

/// Makes the HTTP requests of call flows: fetching TeXML documents and delivering status
/// and recording callbacks.
///
/// HTTP goes through libcurl (``CurlTransport``: one I/O thread for every request, no
/// cache, no cookies, connections kept alive between requests). Completions run on
/// background threads; nothing here blocks the caller.
public final class WebhookClient: Sendable {
    private let transport: CurlTransport
    private let logger: Logger
    /// Per-request time limit (connect + answer), in seconds.
    public let timeout: TimeInterval
    /// The `User-Agent` header sent with every request.
    public let userAgent: String
    /// Longest answer body read, in bytes; past it the transfer is stopped and the request
    /// fails with ``WebhookError/tooLarge(limit:)``.
    public let maxBodyBytes: Int
    /// The default ``maxBodyBytes``: 64 KiB, the limit hosted TeXML platforms apply.
    public static let defaultMaxBodyBytes = 64 << 10
    private let retryBaseDelay: TimeInterval
    private let stats = Locked(WebhookStatistics())
    private let pending = DispatchGroup()
    /// Told about every HTTP request: seconds taken and whether it succeeded (metrics).
    private let observer: (@Sendable (Double, Bool) -> Void)?
    /// Signs every request as Telnyx does (Ed25519), when set.
    public let telnyxSigner: Ed25519Signer?

    /// A client whose requests give up after `timeout` seconds. Notification retries wait
    /// `retryBaseDelay`, then twice that, then four times... (0.5 s, 1 s, 2 s by default).
    public init(logger: Logger, timeout: TimeInterval = 5, userAgent: String = "tollfreed",
                retryBaseDelay: TimeInterval = 0.5, maxBodyBytes: Int = WebhookClient.defaultMaxBodyBytes,
                telnyxSigner: Ed25519Signer? = nil, observer: (@Sendable (Double, Bool) -> Void)? = nil) {
        self.observer = observer
        self.telnyxSigner = telnyxSigner
        self.maxBodyBytes = maxBodyBytes
        self.logger = logger
        self.timeout = timeout
        self.userAgent = userAgent
        self.retryBaseDelay = retryBaseDelay
        transport = CurlTransport(logger: logger)
    }

    deinit {
        transport.finishAndStop()
    }

    /// The notification counters now.
    public var statistics: WebhookStatistics { stats.withLock { $0 } }

    /// Fetches a document (a TeXML flow). 2xx with a non-empty body succeeds; local files
    /// (`file:` URLs, absolute paths) are read from disk. A body or file longer than
    /// ``maxBodyBytes`` is not read past the limit and fails with ``WebhookError/tooLarge(limit:)``.
    /// `completion` runs on a background thread.
    public func fetch(_ request: WebhookRequest,
                      completion: @escaping @Sendable (Result<WebhookResponse, WebhookError>) -> Void) {
        if let path = Self.localPath(request.url) {
            let limit = maxBodyBytes
            DispatchQueue.global(qos: .userInitiated).async {
                completion(Self.readLocal(path, limit: limit))
            }
            return
        }
        perform(request, requireBody: true, completion: completion)
    }

    /// Delivers a callback without waiting for it: retried after transport errors, timeouts
    /// and 5xx answers up to `retries` more times with exponential backoff, then logged as
    /// failed. Other answers (2xx, 4xx) end it at once.
    public func notify(_ request: WebhookRequest, retries: Int = 3) {
        stats.withLock { $0.inFlight += 1 }
        pending.enter()
        guard Self.localPath(request.url) == nil else {
            finish(request, attempts: 0, error: .unsupportedURL(request.url.absoluteString))
            return
        }
        attempt(request, number: 0, retries: max(0, retries))
    }

    /// Waits until every notification has been delivered or given up on, at most `timeout`
    /// seconds (for an orderly shutdown and for tests). True when none is left.
    @discardableResult
    public func waitForNotifications(timeout: TimeInterval) -> Bool {
        pending.wait(timeout: .now() + timeout) == .success
    }

    // MARK: - Internals

    private func attempt(_ request: WebhookRequest, number: Int, retries: Int) {
        stats.withLock { $0.attempts += 1 }
        perform(request, requireBody: false) { result in
            switch result {
            case .success:
                self.stats.withLock { $0.delivered += 1; $0.inFlight -= 1 }
                self.logger.debug("webhook.notify.delivered", ["url": Self.redacted(request.url), "attempts": number + 1])
                self.pending.leave()
            case .failure(let error) where error.isRetryable && number < retries:
                let delay = self.retryBaseDelay * Double(1 << min(number, 16))
                self.logger.debug("webhook.notify.retry", ["url": Self.redacted(request.url), "error": error,
                                                           "delay": delay])
                DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + delay) {
                    self.attempt(request, number: number + 1, retries: retries)
                }
            case .failure(let error):
                self.finish(request, attempts: number + 1, error: error)
            }
        }
    }

    private func finish(_ request: WebhookRequest, attempts: Int, error: WebhookError) {
        stats.withLock { $0.failed += 1; $0.inFlight -= 1 }
        logger.warning("webhook.notify.failed", ["url": Self.redacted(request.url), "method": request.method,
                                                 "attempts": attempts, "error": error])
        pending.leave()
    }

    private func perform(_ request: WebhookRequest, requireBody: Bool,
                         completion: @escaping @Sendable (Result<WebhookResponse, WebhookError>) -> Void) {
        guard let scheme = request.url.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            let url = request.url.absoluteString
            DispatchQueue.global().async { completion(.failure(.unsupportedURL(url))) }
            return
        }
        var headers = ["User-Agent: \(Self.headerValue(userAgent))", "Accept: application/xml, text/xml, */*;q=0.5",
                       "Expect:"]
        if request.body != nil { headers.append("Content-Type: application/x-www-form-urlencoded") }
        if let signature = request.signatureHeader { headers.append(signature) }
        if let telnyxSigner {
            headers += telnyxSigner.headers(body: request.body ?? Data(), timestamp: Int(Date().timeIntervalSince1970))
        }
        let started = DispatchTime.now().uptimeNanoseconds
        let requestURL = request.effectiveURL
        let limit = maxBodyBytes
        let transfer = CurlTransport.Transfer(
            url: requestURL.absoluteString, method: request.method, headers: headers, body: request.body,
            timeoutMs: max(1, Int(timeout * 1000)), limit: limit) { [logger, observer] outcome in
            let result = Self.classify(outcome, requestURL: requestURL, limit: limit, requireBody: requireBody)
            let elapsed = DispatchTime.now().uptimeNanoseconds - started
            observer?(Double(elapsed) / 1e9, (try? result.get()) != nil)
            let url = Self.redacted(request.url)
            let ms = elapsed / 1_000_000
            switch result {
            case .success(let r):
                logger.debug("webhook.response", ["url": url, "status": r.status, "ms": ms, "bytes": r.body.count])
            case .failure(let e):
                logger.debug("webhook.error", ["url": url, "error": e, "ms": ms, "bytes": outcome.body.count])
            }
            completion(result)
        }
        transport.start(transfer)
    }

    /// A header value without line breaks (a configured User-Agent cannot add headers).
    static func headerValue(_ text: String) -> String {
        String(text.unicodeScalars.filter { $0 != "\r" && $0 != "\n" })
    }

    static func classify(_ outcome: TransferOutcome, requestURL: URL, limit: Int,
                         requireBody: Bool) -> Result<WebhookResponse, WebhookError> {
        if outcome.tooLarge { return .failure(.tooLarge(limit: limit)) }
        switch outcome.failure {
        case .timeout: return .failure(.timeout)
        case .transport(let message): return .failure(.transport(message))
        case nil: break
        }
        guard outcome.status > 0 else { return .failure(.transport("no HTTP response")) }
        guard (200..<300).contains(outcome.status) else { return .failure(.httpStatus(outcome.status)) }
        if requireBody && outcome.body.isEmpty { return .failure(.emptyBody(status: outcome.status)) }
        return .success(WebhookResponse(status: outcome.status, body: outcome.body,
                                        finalURL: outcome.finalURL ?? requestURL, contentType: outcome.contentType))
    }

    /// The filesystem path a request URL names, or nil when it is not local.
    static func localPath(_ url: URL) -> String? {
        if url.isFileURL { return url.path }
        if url.scheme == nil, url.path.hasPrefix("/") { return url.path }
        return nil
    }

    static func readLocal(_ path: String, limit: Int) -> Result<WebhookResponse, WebhookError> {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            return .failure(.localFile("no such file: \(path)"))
        }
        guard !isDirectory.boolValue else { return .failure(.localFile("is a directory: \(path)")) }
        // One byte past the limit tells a file that is too long (or endless, like /dev/zero).
        guard let handle = FileHandle(forReadingAtPath: path),
              let data = try? handle.read(upToCount: limit + 1) ?? Data() else {
            return .failure(.localFile("cannot read \(path)"))
        }
        try? handle.close()
        guard data.count <= limit else { return .failure(.tooLarge(limit: limit)) }
        guard !data.isEmpty else { return .failure(.emptyBody(status: 200)) }
        let type = path.hasSuffix(".xml") ? "application/xml" : nil
        return .success(WebhookResponse(status: 200, body: data, finalURL: URL(fileURLWithPath: path),
                                        contentType: type))
    }

    /// The URL for log lines: without query or credentials (they may carry caller data).
    static func redacted(_ url: URL) -> String {
        guard var parts = URLComponents(url: url, resolvingAgainstBaseURL: false) else { return "?" }
        parts.query = nil
        parts.fragment = nil
        parts.user = nil
        parts.password = nil
        return parts.string ?? "?"
    }
}
