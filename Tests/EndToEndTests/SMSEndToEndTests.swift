import Foundation
import XCTest

/// SMS over SIP: MESSAGE requests to our numbers are answered, counted in segments as
/// carriers count them, stored (without the body), and passed to the messaging webhook.
final class SMSEndToEndTests: XCTestCase {
    private func smsRecords(_ d: DaemonUnderTest) -> [[String: Any]] {
        let r = runProgram(Paths.daemon, ["sms", "export", "--format", "jsonl", "--data", d.dataDir.path])
        return r.output.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    func testMessagesAreAcceptedStoredAndDeliveredToTheWebhook() throws {
        let hooks = try WebhookServer(documents: [:])
        defer { hooks.stop() }
        let d = try DaemonUnderTest(ringMs: 0) { cfg in
            var list = cfg["numbers"] as! [[String: Any]]
            list[0]["messaging_webhook"] = "\(hooks.base)/sms" // +1-800-596-3057
            cfg["numbers"] = list
        }
        defer { d.stop() }
        // sipp: a GSM-7 text with extension characters ({ and € count double).
        let text = "Appointment {confirmed} for 10:30, fee 20€"
        let r = d.sipp("uac_message.xml", dial: "8005963057", tag: "sms-sipp", extra: ["-key", "body", text])
        XCTAssertEqual(r.status, 0, r.output.suffix(1500).description)
        let fields = try XCTUnwrap(hooks.waitForRequest(path: "/sms"), "webhook called")
        XCTAssertEqual(fields["Body"], text)
        XCTAssertEqual(fields["From"], "+15551230000")
        XCTAssertEqual(fields["To"], "+18005963057")
        XCTAssertEqual(fields["NumSegments"], "1")
        XCTAssertTrue(isPlatformSID(fields["AccountSid"], "AC"), "\(fields)")
        XCTAssertTrue(isPlatformSID(fields["MessageSid"], "SM"), "\(fields)")

        // Raw UDP: a long UCS-2 message to a number without webhook (200, 3 parts).
        let caller = RawSIPCaller(daemonPort: d.sipPort)
        let long = String(repeating: "Olá 👋 ", count: 25) // 175 UTF-16 units: each emoji counts 2
        XCTAssertEqual(caller.message(to: "2082792555", body: Array(long.utf8)), 200)
        d.stop()
        let records = smsRecords(d)
        XCTAssertEqual(records.count, 2, "\(records)")
        let first = try XCTUnwrap(records.first { $0["did"] as? String == "+18005963057" })
        XCTAssertEqual(first["encoding"] as? String, "GSM-7")
        XCTAssertEqual(first["segments"] as? Int, 1)
        XCTAssertEqual(first["body_length"] as? Int, text.unicodeScalars.count)
        XCTAssertEqual(first["tenant"] as? String, "healthcare-client-001")
        let second = try XCTUnwrap(records.first { $0["did"] as? String == "+12082792555" })
        XCTAssertEqual(second["encoding"] as? String, "UCS-2")
        XCTAssertEqual(second["segments"] as? Int, 3, "175 UTF-16 units: 67 + 67 + 41")
        XCTAssertFalse(d.logText.contains("confirmed"), "message bodies never reach the log")
        let healthcareLines = d.logText.split(separator: "\n").filter { $0.contains("sms.received") && $0.contains("healthcare-client-001") }
        XCTAssertEqual(healthcareLines.count, 1)
        XCTAssertFalse(healthcareLines.contains { $0.contains("5551230000") }, "healthcare senders are masked in the log")
    }

    func testBadMessagesGetTheRight4xxAndAreNotStored() throws {
        let d = try DaemonUnderTest(ringMs: 0)
        defer { d.stop() }
        let caller = RawSIPCaller(daemonPort: d.sipPort)
        XCTAssertEqual(caller.message(to: "8005550199", body: Array("hi".utf8)), 404, "unknown number")
        XCTAssertEqual(caller.message(to: "8005963057", contentType: "text/html", body: Array("<b>hi</b>".utf8)), 415)
        XCTAssertEqual(caller.message(to: "8005963057", contentType: "text/plain;charset=ISO-8859-1", body: [0x68, 0xE9]), 415)
        XCTAssertEqual(caller.message(to: "8005963057", body: [0x68, 0xC3, 0x28]), 400, "invalid UTF-8")
        XCTAssertEqual(caller.message(to: "8005963057", body: Array(String(repeating: "a", count: 1531).utf8)), 413,
                       "1,531 GSM-7 characters need 11 parts (10 x 153 = 1,530)")
        XCTAssertEqual(caller.message(to: "8005963057", body: Array(String(repeating: "a", count: 1530).utf8)), 200,
                       "exactly 10 parts is accepted")
        let call = d.sipp("uac_caller_bye.xml", dial: "8005963057", tag: "after-sms")
        XCTAssertEqual(call.status, 0, "calls are still served")
        d.stop()
        let records = smsRecords(d)
        XCTAssertEqual(records.count, 1)
        XCTAssertEqual(records.first?["segments"] as? Int, 10)
    }
}
