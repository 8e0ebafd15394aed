import CCurl
import CCurlBridge
import Foundation
import Observability

/// What one HTTP transfer returned.
struct TransferOutcome: Sendable {
    /// The body read (never more than the transfer's limit).
    var body: Data
    /// The last response's status (0 if none arrived).
    var status: Int
    /// The URL after redirects.
    var finalURL: URL?
    var contentType: String?
    /// True when the body limit stopped the transfer.
    var tooLarge: Bool
    /// libcurl's verdict: nil when the transfer completed.
    var failure: TransferFailure?
}

/// Why a transfer did not complete.
enum TransferFailure: Sendable, Equatable {
    case timeout
    case transport(String)
}

/// HTTP(S) transfers on libcurl's multi interface, all driven by one thread.
///
/// The body limit is enforced inside libcurl's write callback, on the thread that reads the
/// socket: the transfer stops at the first byte past the limit, and an announced
/// Content-Length past it is refused before the body. (URLSession on Linux hands bodies to
/// its delegate asynchronously and keeps reading until a cancel arrives, so a fast server
/// could push a 50 MB answer through before it took effect.)
/// (`@unchecked Sendable`: the multi handle and transfers are touched only on the I/O
/// thread; `start` hands work over through a locked list.)
final class CurlTransport: @unchecked Sendable {
    /// One transfer in flight; owned by the I/O thread once started.
    final class Transfer: @unchecked Sendable {
        let url: String
        let method: String
        let headers: [String]
        let body: Data?
        let timeoutMs: Int
        let limit: Int
        let completion: @Sendable (TransferOutcome) -> Void
        var received = Data()
        var tooLarge = false
        var headerList: UnsafeMutablePointer<curl_slist>?
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)

        init(url: String, method: String, headers: [String], body: Data?, timeoutMs: Int, limit: Int,
             completion: @escaping @Sendable (TransferOutcome) -> Void) {
            self.url = url
            self.method = method
            self.headers = headers
            self.body = body
            self.timeoutMs = timeoutMs
            self.limit = limit
            self.completion = completion
            errorBuffer.initialize(to: 0)
        }

        deinit {
            curl_slist_free_all(headerList)
            errorBuffer.deallocate()
        }
    }

    private let multi: UnsafeMutableRawPointer
    private let incoming = Locked<[Transfer]>([])
    private let stopping = Locked(false)
    /// Transfers added to the multi handle, by easy handle (I/O thread only).
    private var active: [UnsafeMutableRawPointer: Transfer] = [:]
    private let logger: Logger

    /// CURL_GLOBAL_ALL (3): a macro Swift does not import. Once per process.
    private static let globalInit: Void = { _ = curl_global_init(3) }()

    init(logger: Logger, name: String = "webhook-io") {
        _ = Self.globalInit
        self.logger = logger
        multi = curl_multi_init()
        let thread = Thread { [self] in run() }
        thread.name = name
        thread.start()
    }

    /// Starts a transfer; `completion` runs once, on a background queue.
    func start(_ transfer: Transfer) {
        incoming.withLock { $0.append(transfer) }
        curl_multi_wakeup(multi)
    }

    /// Lets the transfers in flight finish, then ends the I/O thread.
    func finishAndStop() {
        stopping.withLock { $0 = true }
        curl_multi_wakeup(multi)
    }

    private func run() {
        while true {
            let added = incoming.withLock { list -> [Transfer] in let l = list; list.removeAll(); return l }
            for transfer in added { add(transfer) }
            var running: Int32 = 0
            curl_multi_perform(multi, &running)
            collectFinished()
            if active.isEmpty, incoming.withLock({ $0.isEmpty }), stopping.withLock({ $0 }) { break }
            curl_multi_poll(multi, nil, 0, 1000, nil)
        }
        curl_multi_cleanup(multi)
    }

    private func add(_ transfer: Transfer) {
        guard let easy = curl_easy_init() else {
            return complete(transfer, easy: nil, failure: .transport("cannot create a transfer"))
        }
        for header in transfer.headers { transfer.headerList = curl_slist_append(transfer.headerList, header) }
        let context = Unmanaged.passUnretained(transfer).toOpaque()
        let code: CURLcode = transfer.url.withCString { url in
            transfer.method.withCString { method in
                withBody(transfer.body) { body, length in
                    var request = tf_curl_request(url: url, method: method, headers: transfer.headerList, body: body,
                                                  body_length: length, timeout_ms: transfer.timeoutMs,
                                                  max_body_bytes: Int64(transfer.limit), on_body: onBody,
                                                  context: context, error_buffer: transfer.errorBuffer)
                    return tf_curl_configure(easy, &request)
                }
            }
        }
        guard code == CURLE_OK else {
            curl_easy_cleanup(easy)
            return complete(transfer, easy: nil, failure: .transport(String(cString: curl_easy_strerror(code))))
        }
        active[easy] = transfer
        curl_multi_add_handle(multi, easy)
    }

    private func withBody<R>(_ body: Data?, _ use: (UnsafePointer<CChar>?, Int) -> R) -> R {
        guard let body else { return use(nil, 0) }
        return body.withUnsafeBytes { use($0.bindMemory(to: CChar.self).baseAddress, body.count) }
    }

    private func collectFinished() {
        var left: Int32 = 0
        while let message = curl_multi_info_read(multi, &left) {
            var easy: UnsafeMutableRawPointer?
            var result = CURLE_OK
            guard tf_curl_done(message, &easy, &result) != 0, let easy, let transfer = active.removeValue(forKey: easy) else {
                continue
            }
            curl_multi_remove_handle(multi, easy)
            complete(transfer, easy: easy, failure: Self.failure(result, transfer: transfer))
            curl_easy_cleanup(easy)
        }
    }

    private static func failure(_ result: CURLcode, transfer: Transfer) -> TransferFailure? {
        switch result {
        case CURLE_OK: return nil
        case CURLE_OPERATION_TIMEDOUT: return .timeout
        case CURLE_FILESIZE_EXCEEDED:
            transfer.tooLarge = true
            return .transport("answer longer than \(transfer.limit) bytes")
        default:
            let detail = String(cString: transfer.errorBuffer)
            let text = detail.isEmpty ? String(cString: curl_easy_strerror(result)) : detail
            return .transport("\(text) (curl \(result.rawValue))")
        }
    }

    private func complete(_ transfer: Transfer, easy: UnsafeMutableRawPointer?, failure: TransferFailure?) {
        var outcome = TransferOutcome(body: transfer.received, status: 0, finalURL: nil, contentType: nil,
                                      tooLarge: transfer.tooLarge, failure: failure)
        if let easy {
            outcome.status = tf_curl_status(easy)
            outcome.finalURL = tf_curl_effective_url(easy).flatMap { URL(string: String(cString: $0)) }
            outcome.contentType = tf_curl_content_type(easy).map { String(cString: $0) }
        }
        let completion = transfer.completion
        let result = outcome
        DispatchQueue.global(qos: .userInitiated).async { completion(result) }
    }
}

/// libcurl's write callback: keeps the body up to the transfer's limit and stops the
/// transfer at the first byte past it.
private let onBody: tf_curl_body_cb = { data, size, count, context in
    let transfer = Unmanaged<CurlTransport.Transfer>.fromOpaque(context!).takeUnretainedValue()
    let bytes = size * count
    guard transfer.received.count + bytes <= transfer.limit else {
        transfer.tooLarge = true
        return 0
    }
    if let data, bytes > 0 { transfer.received.append(UnsafeRawPointer(data).assumingMemoryBound(to: UInt8.self), count: bytes) }
    return bytes
}
