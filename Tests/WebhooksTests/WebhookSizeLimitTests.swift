import Foundation
import Observability
import Webhooks
import XCTest

/// Answers longer than the client's limit are refused without being read (`/big/N` and
/// `/bigstream/N` of the Python server send N bytes, with and without Content-Length).
final class WebhookSizeLimitTests: XCTestCase {
    private var server: WebhookServer!
    private let sink = MemorySink()
    private let limit = WebhookClient.defaultMaxBodyBytes
    private let fiftyMB = 50 << 20

    override func setUpWithError() throws {
        server = try WebhookServer()
    }

    override func tearDown() {
        server.stop()
        server = nil
    }

    private func fetch(_ request: WebhookRequest, limit: Int? = nil) -> Result<WebhookResponse, WebhookError> {
        let client = WebhookClient(logger: Logger(minimumLevel: .debug, journald: false, sink: sink), timeout: 30,
                                   maxBodyBytes: limit ?? self.limit)
        let box = Box<Result<WebhookResponse, WebhookError>>()
        let done = expectation(description: "fetched")
        client.fetch(request) { box.value = $0; done.fulfill() }
        wait(for: [done], timeout: 60)
        return box.value!
    }

    /// The `bytes=` of the client's `webhook.error` log line: how much of the body it kept.
    /// (How far the socket is read past that is up to URLSession: its cancel takes effect
    /// asynchronously, and what arrives meanwhile is dropped, not kept.)
    private func bytesRead() -> Int? {
        let line = sink.lines.last { $0.contains("webhook.error") }
        let field = line?.split(separator: " ").first { $0.hasPrefix("bytes=") }
        return field.flatMap { Int($0.dropFirst(6)) }
    }

    func testFiftyMegabytesWithContentLengthAreRefusedUnread() throws {
        let path = "/big/\(fiftyMB)"
        XCTAssertEqual(fetch(WebhookRequest(url: server.url(path))).failure, .tooLarge(limit: limit))
        let read = try XCTUnwrap(bytesRead(), sink.lines.joined(separator: "\n"))
        XCTAssertEqual(read, 0, "a Content-Length past the limit is refused before the body")
    }

    func testFiftyMegabytesWithoutContentLengthAreCutOffAtTheLimit() throws {
        let path = "/bigstream/\(fiftyMB)"
        XCTAssertEqual(fetch(WebhookRequest(url: server.url(path), method: "GET")).failure, .tooLarge(limit: limit))
        let read = try XCTUnwrap(bytesRead(), sink.lines.joined(separator: "\n"))
        XCTAssertGreaterThan(read, limit)
        XCTAssertLessThanOrEqual(read, limit + (256 << 10), "the body is kept up to one read past the limit")
    }

    func testAnAnswerOfExactlyTheLimitIsRead() throws {
        for path in ["/big/\(limit)", "/bigstream/\(limit)"] {
            let response = try fetch(WebhookRequest(url: server.url(path))).get()
            XCTAssertEqual(response.body.count, limit, path)
        }
    }

    func testTheLimitIsConfigurable() {
        XCTAssertEqual(fetch(WebhookRequest(url: server.url("/bigstream/2000")), limit: 1000).failure,
                       .tooLarge(limit: 1000))
    }

    func testLocalFilesObeyTheLimitToo() throws {
        let path = server.docs + "/large.xml"
        try Data(repeating: 0x20, count: limit + 1).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(fetch(WebhookRequest(url: URL(fileURLWithPath: path))).failure, .tooLarge(limit: limit))
        XCTAssertFalse(WebhookError.tooLarge(limit: limit).isRetryable)
    }

    func testAnEndlessLocalFileIsCutOff() {
        XCTAssertEqual(fetch(WebhookRequest(url: URL(fileURLWithPath: "/dev/zero"))).failure, .tooLarge(limit: limit))
    }
}
