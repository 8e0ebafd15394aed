import Foundation
import Observability
import Webhooks
import XCTest

/// `fetch` and `notify` against the real Python server on 127.0.0.1.
final class WebhookClientTests: XCTestCase {
    private var server: WebhookServer!
    private let sink = MemorySink()
    private let doc = "<Response><Say>Hello</Say></Response>"

    /// Every tricky character a caller's data may carry.
    private let tricky: [(name: String, value: String)] = [
        ("Plus", "+18005550100"), ("Amp", "a&b"), ("Equals", "k=v"), ("Space", "hello world"),
        ("Accent", "café crème"), ("Emoji", "📞👍"), ("Percent", "100%"), ("Empty", ""),
        ("Dup", "1"), ("Dup", "2"), ("Spaced Name", "x"),
    ]

    override func setUpWithError() throws {
        server = try WebhookServer()
        try server.addDocument("flow.xml", doc)
    }

    override func tearDown() {
        server.stop()
        server = nil
    }

    private func client(timeout: TimeInterval = 5, retryBaseDelay: TimeInterval = 0.5) -> WebhookClient {
        WebhookClient(logger: Logger(minimumLevel: .debug, journald: false, sink: sink), timeout: timeout,
                      userAgent: "tollfreed-test/1", retryBaseDelay: retryBaseDelay)
    }

    private func fetch(_ c: WebhookClient, _ r: WebhookRequest) -> Result<WebhookResponse, WebhookError> {
        let box = Box<Result<WebhookResponse, WebhookError>>()
        let done = expectation(description: "fetched")
        c.fetch(r) { box.value = $0; done.fulfill() }
        wait(for: [done], timeout: 40)
        return box.value!
    }

    // MARK: fetch

    func testPostSendsFormFieldsDecodedExactly() throws {
        let r = fetch(client(), WebhookRequest(url: server.url("/flow.xml"), method: "POST", parameters: tricky))
        let response = try r.get()
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(String(decoding: response.body, as: UTF8.self), doc)
        XCTAssertEqual(response.finalURL, server.url("/flow.xml"))
        XCTAssertEqual(response.contentType, "application/xml")

        let logged = try XCTUnwrap(server.requests().last)
        XCTAssertEqual(logged.method, "POST")
        XCTAssertEqual(logged.path, "/flow.xml")
        XCTAssertEqual(logged.query, "")
        XCTAssertEqual(logged.form, tricky.map { [$0.name, $0.value] })
        XCTAssertEqual(logged.header("Content-Type"), "application/x-www-form-urlencoded")
        XCTAssertEqual(logged.header("User-Agent"), "tollfreed-test/1")
        XCTAssertFalse(logged.body.contains("+"), "spaces and plus signs are percent-encoded: \(logged.body)")
        XCTAssertNil(logged.header("Cookie"))
    }

    func testGetPutsFieldsInQueryAfterExistingOne() throws {
        let url = server.url("/flow.xml?tenant=acme")
        let response = try fetch(client(), WebhookRequest(url: url, method: "GET", parameters: tricky)).get()
        XCTAssertEqual(String(decoding: response.body, as: UTF8.self), doc)
        let logged = try XCTUnwrap(server.requests().last)
        XCTAssertEqual(logged.method, "GET")
        XCTAssertEqual(logged.path, "/flow.xml")
        XCTAssertEqual(logged.queryParams, [["tenant", "acme"]] + tricky.map { [$0.name, $0.value] })
        XCTAssertEqual(logged.form, [])
        XCTAssertEqual(logged.body, "")
    }

    func testRedirectReportsFinalURL() throws {
        let response = try fetch(client(), WebhookRequest(url: server.url("/redirect/flow.xml"), method: "GET")).get()
        XCTAssertEqual(response.finalURL, server.url("/flow.xml"))
        XCTAssertEqual(String(decoding: response.body, as: UTF8.self), doc)
    }

    func testHTTPErrorStatuses() {
        let c = client()
        XCTAssertEqual(fetch(c, WebhookRequest(url: server.url("/fail/flow"))).failure, .httpStatus(500))
        XCTAssertEqual(fetch(c, WebhookRequest(url: server.url("/missing.xml"))).failure, .httpStatus(404))
        XCTAssertEqual(fetch(c, WebhookRequest(url: server.url("/callback"))).failure, .emptyBody(status: 200))
    }

    func testHangingServerTimesOut() {
        let started = Date()
        let r = fetch(client(timeout: 1), WebhookRequest(url: server.url("/hang")))
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertEqual(r.failure, .timeout)
        XCTAssertGreaterThan(elapsed, 0.9)
        XCTAssertLessThan(elapsed, 2.5)
    }

    func testConnectionRefusedIsTransportError() {
        let port = server.port
        server.stop()  // nothing listens on the port any more
        let r = fetch(client(), WebhookRequest(url: URL(string: "http://127.0.0.1:\(port)/flow.xml")!))
        guard case .transport(let message) = r.failure else { return XCTFail("got \(r)") }
        XCTAssertFalse(message.isEmpty)
    }

    func testLocalFilesThroughTheSameAPI() throws {
        let path = server.docs + "/flow.xml"
        let c = client()
        for request in [WebhookRequest(url: URL(fileURLWithPath: path)),
                        WebhookRequest(url: URL(string: path)!),  // scheme-less absolute path
                        try XCTUnwrap(WebhookRequest(location: path, method: "GET", parameters: [("A", "b")]))] {
            let response = try fetch(c, request).get()
            XCTAssertEqual(String(decoding: response.body, as: UTF8.self), doc)
            XCTAssertEqual(response.status, 200)
            XCTAssertEqual(response.finalURL.path, path)
        }
        guard case .localFile = fetch(c, WebhookRequest(url: URL(fileURLWithPath: path + ".gone"))).failure else {
            return XCTFail("missing local file")
        }
        XCTAssertEqual(fetch(c, WebhookRequest(url: URL(string: "ftp://127.0.0.1/x")!)).failure,
                       .unsupportedURL("ftp://127.0.0.1/x"))
        XCTAssertTrue(server.requests().isEmpty, "local fetches must not reach the server")
    }

    // MARK: notify

    func testNotifyRetriesServerErrorsThenGivesUp() {
        let c = client()  // real backoff: 0.5 s, 1 s, 2 s
        let started = Date()
        c.notify(WebhookRequest(url: server.url("/fail/status"), parameters: [("CallStatus", "completed")]))
        XCTAssertLessThan(Date().timeIntervalSince(started), 0.1, "notify must not block")
        XCTAssertEqual(c.statistics.inFlight, 1)
        XCTAssertTrue(c.waitForNotifications(timeout: 15))
        let elapsed = Date().timeIntervalSince(started)

        let hits = server.requests(to: "/fail/status", atLeast: 4)
        XCTAssertEqual(hits.count, 4, "one try and three retries")
        XCTAssertEqual(hits.map { $0.form }, Array(repeating: [["CallStatus", "completed"]], count: 4))
        let gaps = zip(hits.dropFirst(), hits).map { $0.time - $1.time }
        for (gap, expected) in zip(gaps, [0.5, 1.0, 2.0]) {
            XCTAssertEqual(gap, expected, accuracy: 0.4, "backoff gaps \(gaps)")
        }
        XCTAssertGreaterThan(elapsed, 3.4)
        XCTAssertEqual(c.statistics, stats(inFlight: 0, delivered: 0, failed: 1, attempts: 4))
        XCTAssertTrue(sink.lines.contains { $0.contains("webhook.notify.failed") && $0.contains("attempts=4") },
                      sink.lines.joined(separator: "\n"))
    }

    func testNotifyDeliversOnceOn200() {
        let c = client()
        c.notify(WebhookRequest(url: server.url("/callback/status"), parameters: [("CallStatus", "ringing")]))
        XCTAssertTrue(c.waitForNotifications(timeout: 10))
        XCTAssertEqual(server.requests(to: "/callback/status", atLeast: 1).count, 1)
        XCTAssertEqual(c.statistics, stats(inFlight: 0, delivered: 1, failed: 0, attempts: 1))
        XCTAssertFalse(sink.lines.contains { $0.contains("webhook.notify.failed") })
    }

    func testNotifyRecoversAfterTransientErrors() {
        let c = client(retryBaseDelay: 0.05)
        c.notify(WebhookRequest(url: server.url("/flaky/2/recording"), method: "GET", parameters: [("A", "1")]))
        XCTAssertTrue(c.waitForNotifications(timeout: 10))
        let hits = server.requests(to: "/flaky/2/recording", atLeast: 3)
        XCTAssertEqual(hits.count, 3)
        XCTAssertEqual(hits.map(\.method), ["GET", "GET", "GET"])
        XCTAssertEqual(hits.last?.queryParams, [["A", "1"]])
        XCTAssertEqual(c.statistics, stats(inFlight: 0, delivered: 1, failed: 0, attempts: 3))
    }

    func testNotifyDoesNotRetryClientErrors() {
        let c = client(retryBaseDelay: 0.05)
        c.notify(WebhookRequest(url: server.url("/code/404")))
        XCTAssertTrue(c.waitForNotifications(timeout: 10))
        Thread.sleep(forTimeInterval: 0.3)  // no retry may follow
        XCTAssertEqual(server.requests(to: "/code/404", atLeast: 1).count, 1)
        XCTAssertEqual(c.statistics, stats(inFlight: 0, delivered: 0, failed: 1, attempts: 1))
    }

    func testNotifyRetriesRefusedConnections() {
        let port = server.port
        server.stop()
        let c = client(retryBaseDelay: 0.05)
        c.notify(WebhookRequest(url: URL(string: "http://127.0.0.1:\(port)/status")!), retries: 2)
        XCTAssertTrue(c.waitForNotifications(timeout: 10))
        XCTAssertEqual(c.statistics, stats(inFlight: 0, delivered: 0, failed: 1, attempts: 3))
        XCTAssertTrue(sink.lines.contains { $0.contains("webhook.notify.failed") && $0.contains("transport") })
    }

    func testManyConcurrentNotifications() {
        let c = client(retryBaseDelay: 0.05)
        for i in 0..<20 {
            c.notify(WebhookRequest(url: server.url(i % 2 == 0 ? "/callback/many" : "/code/410"),
                                    parameters: [("N", String(i))]))
        }
        XCTAssertTrue(c.waitForNotifications(timeout: 20))
        XCTAssertEqual(c.statistics, stats(inFlight: 0, delivered: 10, failed: 10, attempts: 20))
        let numbers = Set(server.requests(to: "/callback/many", atLeast: 10).compactMap { $0.form.first?[1] })
        XCTAssertEqual(numbers, Set(stride(from: 0, to: 20, by: 2).map(String.init)))
    }

    private func stats(inFlight: Int, delivered: Int, failed: Int, attempts: Int) -> WebhookStatistics {
        var s = WebhookStatistics()
        s.inFlight = inFlight
        s.delivered = delivered
        s.failed = failed
        s.attempts = attempts
        return s
    }
}

/// A value set from a completion handler and read after `wait(for:)`.
final class Box<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T?
    var value: T? {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; lock.unlock() }
    }
}

extension Result {
    var failure: Failure? { if case .failure(let e) = self { e } else { nil } }
}
