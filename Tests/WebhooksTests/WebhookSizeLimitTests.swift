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
        XCTAssertLessThanOrEqual(read, limit, "nothing past the limit is kept")
    }

    /// How many bytes the server got to send before the client went away (its SENT line).
    private func bytesSent(_ path: String) throws -> Int {
        let line = try XCTUnwrap(server.requests(to: path, atLeast: 2, timeout: 30).first { $0.method == "SENT" },
                                 "the server logs what it sent")
        return try XCTUnwrap(Int(line.body))
    }

    /// The client stops reading the socket at the limit: a 50 MB answer is not pulled through
    /// (it once was: URLSession on Linux read on until its cancel took effect, 50 MB over
    /// loopback). Loopback socket buffers hold a few MiB, so 8 MiB leaves them room.
    func testFiftyMegabytesAreNotPulledThroughTheSocket() throws {
        for path in ["/big/\(fiftyMB)", "/bigstream/\(fiftyMB)"] {
            XCTAssertEqual(fetch(WebhookRequest(url: server.url(path), method: "GET")).failure, .tooLarge(limit: limit))
            let sent = try bytesSent(path)
            XCTAssertLessThan(sent, 8 << 20, "\(path): the server sent \(sent) bytes")
        }
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
