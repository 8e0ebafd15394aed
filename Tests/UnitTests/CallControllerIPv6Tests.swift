import Compliance
import Foundation
@testable import Media
import Metering
import Observability
import Signaling
import TeXML
import Webhooks
import XCTest
@testable import CallControl
@testable import Configuration
@testable import Daemon

/// The family of a call's media, through the controller over in-memory ports: the offer's
/// `c=` picks the session's local address, an offer in a family we have no address of gets
/// 488 with `Warning: 301` (and its record), a re-INVITE cannot move a call to the other
/// family, and our own offers use `media.address`. No sockets, no sleeps.
final class CallControllerIPv6Tests: XCTestCase {
    private var dir = ""
    private var port: FakeSignalingPort!
    private var media: FakeMediaPort!
    private var store: SQLiteCDRStore!
    private var writer: CDRWriter!
    private var serial = 0

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("controller-v6-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        writer?.flush()
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// A controller whose `media` section is `mediaJSON`, one number with a pause flow.
    private func controller(media mediaJSON: String) throws -> CallController {
        // Not a leading <Pause>, which would be spent ringing.
        let flow = #"<Response><Play digits="w"/><Pause length="2"/><Hangup/></Response>"#
        try flow.write(toFile: "\(dir)/pause.xml", atomically: true, encoding: .utf8)
        let json = """
        {"data_dir": "\(dir)", "flows_dir": "\(dir)", "media": \(mediaJSON), "calls": {"ring_ms": 1000},
         "tenants": [{"id": "t1", "name": "Tenant", "industry": "general", "plan": "starter", "time_zone": "UTC"}],
         "numbers": [{"did": "+1-833-555-0151", "tenant": "t1", "flow": "pause.xml"}]}
        """
        let config = try ConfigLoader.parse(Data(json.utf8), source: "test.json", baseDirectory: dir)
        let logger = Logger(minimumLevel: .error, journald: false, sink: MemorySink())
        port = FakeSignalingPort()
        media = FakeMediaPort()
        store = try SQLiteCDRStore(directory: dir)
        writer = CDRWriter(store: store, logger: logger)
        let key = RecordingKey(bytes: [UInt8](repeating: 7, count: 32))
        let webhooks = WebhookClient(logger: logger)
        let services = CallServices(
            media: media, prompts: PromptCache(synthesizer: try SpeechSynthesizer(logger: logger), logger: logger),
            audio: AudioSourceCache(webhooks: webhooks, logger: logger),
            writer: writer, webhooks: webhooks, transcription: TranscriptionService(logger: logger),
            compliance: ComplianceServices(keys: [key], encryptIndustries: [], audit: try AuditLog(path: "\(dir)/audit.log", key: key)),
            metrics: MetricsRegistry())
        let flows = ["pause.xml": try TeXMLParser.parse(Data(flow.utf8), source: "pause.xml")]
        return CallController(stack: port, services: services, logger: logger, policy: CallPolicy(config: config, flows: flows))
    }

    private static func sdp(_ type: String, _ address: String) -> String {
        "v=0\r\no=- 1 1 IN \(type) \(address)\r\ns=-\r\nc=IN \(type) \(address)\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n"
    }

    /// An INVITE over IPv4 SIP (the source) with `body` as its offer (nil: late offer).
    private func invite(_ c: CallController, body: String?) -> SIPCallHandle {
        let h = port.newHandle()
        serial += 1
        c.receive(.invite(IncomingInvite(
            handle: h, callID: "v6-\(serial)@test", requestUser: "8335550151", fromUser: "+15551230000",
            contentType: body == nil ? nil : "application/sdp", body: body, priority: nil, resourcePriority: nil,
            contactUsable: true, source: "127.0.0.1:5070", overTLS: false)))
        return h
    }

    private func headers(_ h: SIPCallHandle, status: Int) -> [String]? {
        for case .respond(h, status, _, let headers) in port.sent { return headers }
        return nil
    }

    func testEachCallOfADualStackDaemonIsAnsweredInItsOffersFamily() throws {
        let c = try controller(media: #"{"address": "127.0.0.1", "secondary_address": "::1"}"#)
        let six = invite(c, body: Self.sdp("IP6", "::1"))
        let four = invite(c, body: Self.sdp("IP4", "127.0.0.1"))
        XCTAssertEqual(media.openedFamilies, [.ipv6, .ipv4])
        port.advance(by: 1000)
        XCTAssertEqual(port.statuses(six).last, 200)
        XCTAssertEqual(port.statuses(four).last, 200)
        let answers = port.sdpAnswers
        XCTAssertEqual(answers.count, 2)
        XCTAssertTrue(answers[0].contains("c=IN IP6 ::1\r\n") && answers[0].contains(" IN IP6 ::1\r\n"), answers[0])
        XCTAssertTrue(answers[1].contains("c=IN IP4 127.0.0.1\r\n"), answers[1])
        XCTAssertEqual(c.activeCalls, 2)
    }

    func testAnIPv6OfferToAnIPv4OnlyDaemonGets488WithWarning301AndOneRecord() throws {
        let c = try controller(media: #"{"address": "127.0.0.1"}"#)
        let h = invite(c, body: Self.sdp("IP6", "2001:db8::7"))
        XCTAssertEqual(media.openedFamilies, [.ipv4], "opened on what we have, refused by offer/answer")
        XCTAssertEqual(port.statuses(h), [488])
        XCTAssertEqual(headers(h, status: 488), ["Warning: 301 tollfreed \"Incompatible network address format\""])
        XCTAssertTrue(media.open.isEmpty, "its port given back")
        writer.flush()
        var records: [CallDetailRecord] = []
        try store.forEach(from: nil, to: nil) { records.append($0) }
        XCTAssertEqual(records.map(\.sipCode), [488])
        XCTAssertEqual(records.first?.disposition, .rejected)
        XCTAssertEqual(c.activeCalls, 0)
    }

    func testAReInviteToTheOtherFamilyIsRefusedAndTheCallGoesOn() throws {
        let c = try controller(media: #"{"address": "127.0.0.1", "secondary_address": "::1"}"#)
        let h = invite(c, body: Self.sdp("IP4", "127.0.0.1"))
        port.advance(by: 1000)
        c.receive(.ack(h, contentType: nil, body: nil))
        c.receive(.reInvite(h, contentType: "application/sdp", body: Self.sdp("IP6", "::1")))
        XCTAssertEqual(port.statuses(h).last, 488)
        XCTAssertEqual(headers(h, status: 488), ["Warning: 301 tollfreed \"Incompatible network address format\""])
        XCTAssertEqual(c.activeCalls, 1, "the call keeps its IPv4 media (RFC 3261 14.2)")
        c.receive(.reInvite(h, contentType: "application/sdp", body: Self.sdp("IP4", "127.0.0.2")))
        XCTAssertEqual(port.statuses(h).last, 200, "a move within the family is answered")
    }

    func testALateOfferIsOfferedOnThePrimaryAddressAndAnAnswerOfTheOtherFamilyEndsIt() throws {
        let c = try controller(media: #"{"address": "::1", "secondary_address": "127.0.0.1"}"#)
        let h = invite(c, body: nil)
        XCTAssertEqual(media.openedFamilies, [.ipv6])
        port.advance(by: 1000)
        XCTAssertTrue(port.sdpAnswers.last?.contains("c=IN IP6 ::1\r\n") == true, port.sdpAnswers.last ?? "")
        c.receive(.ack(h, contentType: "application/sdp", body: Self.sdp("IP4", "127.0.0.1")))
        XCTAssertTrue(port.sent.contains(.bye(h)), "our offer was IPv6: an IPv4 answer cannot be used, the call is hung up")
        XCTAssertFalse(media.calls.contains { if case .configure = $0 { return true } else { return false } }, "no peer of the other family")
    }

    func testDialTargetsPickTheFamilyOfAnIPLiteralWeHave() throws {
        let rest = #""tenants": [{"id": "t1", "industry": "general", "time_zone": "UTC"}], "numbers": [{"did": "8335550152", "tenant": "t1", "flow": "f.xml"}]"#
        let json = #"{"data_dir": "/tmp", "media": {"address": "192.0.2.1", "secondary_address": "2001:db8::1"}, "# + rest + "}"
        let dual = CallPolicy(config: try ConfigLoader.parse(Data(json.utf8), source: "t.json", baseDirectory: "/tmp"), flows: [:])
        XCTAssertEqual(dual.mediaFamily(forDialTarget: "sip:+18335550152@[2001:db8::9]:5060"), .ipv6)
        XCTAssertEqual(dual.mediaFamily(forDialTarget: "sip:[2001:db8::9]"), .ipv6)
        XCTAssertEqual(dual.mediaFamily(forDialTarget: "sip:+18335550152@198.51.100.4:5060;transport=udp"), .ipv4)
        XCTAssertEqual(dual.mediaFamily(forDialTarget: "sip:+18335550152@trunk.example.net"), .ipv4, "a name: the primary")
        XCTAssertEqual(dual.mediaAddress(of: .ipv6), "2001:db8::1")
        XCTAssertEqual(dual.mediaAddress(of: nil), "192.0.2.1")
        let v4 = #"{"data_dir": "/tmp", "media": {"address": "192.0.2.1"}, "# + rest + "}"
        let single = CallPolicy(config: try ConfigLoader.parse(Data(v4.utf8), source: "t.json", baseDirectory: "/tmp"), flows: [:])
        XCTAssertEqual(single.mediaFamily(forDialTarget: "sip:x@[2001:db8::9]"), .ipv4, "no IPv6 address: the primary")
        XCTAssertNil(single.mediaAddress(of: .ipv6))
    }
}
