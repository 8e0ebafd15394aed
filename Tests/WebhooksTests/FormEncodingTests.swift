import Foundation
import Webhooks
import XCTest

/// Form encoding and URL building, without a network.
final class FormEncodingTests: XCTestCase {
    func testPercentEncodesEverythingOutsideUnreserved() {
        XCTAssertEqual(FormEncoding.percentEncode("AZaz09-._~"), "AZaz09-._~")
        XCTAssertEqual(FormEncoding.percentEncode("a b+c&d=e/f?g#h%"), "a%20b%2Bc%26d%3De%2Ff%3Fg%23h%25")
        XCTAssertEqual(FormEncoding.percentEncode("café"), "caf%C3%A9")
        XCTAssertEqual(FormEncoding.percentEncode("📞"), "%F0%9F%93%9E")
        XCTAssertEqual(FormEncoding.percentEncode(""), "")
        XCTAssertFalse(FormEncoding.percentEncode("a b+c").contains("+"))
    }

    func testEncodeKeepsOrderDuplicatesAndEmptyValues() {
        let form = FormEncoding.encode([("To", "+18005550100"), ("Digits", ""), ("Digits", "1 2")])
        XCTAssertEqual(form, "To=%2B18005550100&Digits=&Digits=1%202")
        let back = FormEncoding.decode(form)
        XCTAssertEqual(back.map(\.name), ["To", "Digits", "Digits"])
        XCTAssertEqual(back.map(\.value), ["+18005550100", "", "1 2"])
    }

    func testDecodeReadsPlusAsSpace() {
        let fields = FormEncoding.decode("a=x+y&b=%2B&c")
        XCTAssertEqual(fields.map(\.value), ["x y", "+", ""])
    }

    func testAppendingQuery() {
        func append(_ url: String, _ q: String) -> String {
            FormEncoding.appendingQuery(q, to: URL(string: url)!).absoluteString
        }
        XCTAssertEqual(append("http://h/flow.xml", "a=1"), "http://h/flow.xml?a=1")
        XCTAssertEqual(append("http://h/flow.xml?x=2", "a=1"), "http://h/flow.xml?x=2&a=1")
        XCTAssertEqual(append("http://h/flow.xml?", "a=1"), "http://h/flow.xml?a=1")
        XCTAssertEqual(append("http://h/flow.xml?x=2&", "a=1"), "http://h/flow.xml?x=2&a=1")
        XCTAssertEqual(append("http://h/flow.xml?x=2#top", "a=1"), "http://h/flow.xml?x=2&a=1#top")
        XCTAssertEqual(append("http://h/flow.xml", ""), "http://h/flow.xml")
    }

    func testRequestBodyAndEffectiveURL() {
        let url = URL(string: "http://h/hook?tenant=7")!
        let post = WebhookRequest(url: url, method: "post", parameters: [("A", "1 2")])
        XCTAssertEqual(post.method, "POST")
        XCTAssertEqual(post.effectiveURL, url)
        XCTAssertEqual(post.body, Data("A=1%202".utf8))

        let get = WebhookRequest(url: url, method: "get", parameters: [("A", "1 2")])
        XCTAssertEqual(get.method, "GET")
        XCTAssertNil(get.body)
        XCTAssertEqual(get.effectiveURL.absoluteString, "http://h/hook?tenant=7&A=1%202")
        XCTAssertEqual(WebhookRequest(url: url, method: "PUT").method, "POST")
    }

    func testLocations() {
        XCTAssertEqual(WebhookRequest(location: "/etc/tollfreed/flows/main.xml")?.url,
                       URL(fileURLWithPath: "/etc/tollfreed/flows/main.xml"))
        XCTAssertEqual(WebhookRequest(location: " https://example.com/x ")?.url.absoluteString, "https://example.com/x")
        XCTAssertEqual(WebhookRequest(location: "file:///tmp/a.xml")?.url.path, "/tmp/a.xml")
        XCTAssertNil(WebhookRequest(location: "flows/relative.xml"))
        XCTAssertNil(WebhookRequest(location: "ftp://example.com/x"))
    }

    func testRetryableErrors() {
        XCTAssertTrue(WebhookError.httpStatus(500).isRetryable)
        XCTAssertTrue(WebhookError.httpStatus(503).isRetryable)
        XCTAssertTrue(WebhookError.timeout.isRetryable)
        XCTAssertTrue(WebhookError.transport("refused").isRetryable)
        XCTAssertFalse(WebhookError.httpStatus(404).isRetryable)
        XCTAssertFalse(WebhookError.unsupportedURL("x").isRetryable)
    }
}
