import Foundation
import XCTest
@testable import Webhooks

/// Twilio's request signature, checked against the example of Twilio's helper libraries'
/// tests (auth token 12345).
final class RequestSignatureTests: XCTestCase {
    private let url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    private let form: [(name: String, value: String)] = [
        ("To", "+18005551212"), ("From", "+14158675309"), ("Digits", "1234"), ("Caller", "+14158675309"),
        ("CallSid", "CA1234567890ABCDE"),
    ]

    func testTheDocumentedExample() {
        XCTAssertEqual(RequestSignature.twilio(url: url, form: form, token: "12345"), "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    }

    func testFieldOrderDoesNotMatterButEveryByteDoes() {
        let signature = RequestSignature.twilio(url: url, form: form.reversed(), token: "12345")
        XCTAssertEqual(signature, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
        XCTAssertNotEqual(RequestSignature.twilio(url: url, form: form, token: "12346"), signature)
        XCTAssertNotEqual(RequestSignature.twilio(url: url + "&x", form: form, token: "12345"), signature)
    }

    func testAPostRequestIsSignedOverItsURLAndForm() throws {
        var r = try XCTUnwrap(WebhookRequest(location: url, method: "POST", parameters: form))
        XCTAssertNil(r.signatureHeader, "no token: unsigned")
        r.signingToken = "12345"
        XCTAssertEqual(r.signatureHeader, "X-Twilio-Signature: RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    }

    func testAGetRequestIsSignedOverTheURLItRequests() throws {
        var r = try XCTUnwrap(WebhookRequest(location: "https://app.example/voice", method: "GET", parameters: [("Digits", "1 2")]))
        r.signingToken = "12345"
        let requested = r.effectiveURL.absoluteString
        XCTAssertEqual(requested, "https://app.example/voice?Digits=1%202")
        XCTAssertEqual(r.signatureHeader, "X-Twilio-Signature: " + RequestSignature.twilio(url: requested, form: [], token: "12345"))
    }
}
