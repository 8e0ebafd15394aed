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

/// Telnyx's Ed25519 webhook signature, checked against RFC 8032's first test vector.
final class Ed25519SignerTests: XCTestCase {
    private func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            out.append(UInt8(hex[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    func testRFC8032TestVectorOne() throws {
        let signer = try Ed25519Signer(privateKey: bytes("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
        XCTAssertEqual(signer.publicKey, bytes("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"))
        XCTAssertEqual(signer.sign([]), bytes("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"))
    }

    func testHeadersSignTimestampBarBody() throws {
        let signer = try Ed25519Signer(privateKey: bytes("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
        let h = signer.headers(body: Data("CallSid=CA1".utf8), timestamp: 1_800_000_000)
        XCTAssertEqual(h.first, "telnyx-timestamp: 1800000000")
        let expected = Data(signer.sign(Array("1800000000|CallSid=CA1".utf8))).base64EncodedString()
        XCTAssertEqual(h.last, "telnyx-signature-ed25519: \(expected)")
        XCTAssertEqual(Data(base64Encoded: expected)?.count, 64)
    }

    func testBadKeysAreRefusedWithAReason() {
        XCTAssertThrowsError(try Ed25519Signer(privateKey: [1, 2, 3]))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("not-a-key-\(UUID().uuidString).pem").path
        FileManager.default.createFile(atPath: path, contents: Data("-----BEGIN PRIVATE KEY-----\nxx\n-----END PRIVATE KEY-----\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertThrowsError(try Ed25519Signer(pemFile: path)) { XCTAssertTrue("\($0)".contains("not an Ed25519 private key"), "\($0)") }
    }
}
