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
@testable import Commands
@testable import Configuration
@testable import Daemon

/// The call controller driven through in-memory ports: SIP events in, what it sends and
/// records out, timers on a manual clock. No sockets, no sleeps.
final class CallControllerTests: XCTestCase {
    private var dir = ""
    private var port: FakeSignalingPort!
    private var media: FakeMediaPort!
    private var store: SQLiteCDRStore!
    private var writer: CDRWriter!
    private var controller: CallController!
    private var nextSerial = 0

    /// Not a leading `<Pause>` (that would be spent ringing): a half-second digit wait first.
    private static let pauseFlow = #"<Response><Play digits="w"/><Pause length="2"/><Hangup/></Response>"#

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("controller-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Self.pauseFlow.write(toFile: "\(dir)/pause.xml", atomically: true, encoding: .utf8)
        controller = try makeController(configure: { _ in })
    }

    override func tearDownWithError() throws {
        writer?.flush()
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// A controller over the fake ports for a config with one number (+1 800 555 0100,
    /// the pause flow, an ordinary tenant) and `configure`'s changes.
    private func makeController(flow: String = pauseFlow, configure: (inout DaemonConfig) -> Void) throws -> CallController {
        try flow.write(toFile: "\(dir)/pause.xml", atomically: true, encoding: .utf8)
        let json = """
        {"data_dir": "\(dir)", "flows_dir": "\(dir)", "media": {"address": "127.0.0.1"},
         "calls": {"ring_ms": 1000, "ack_timeout_ms": 2000, "max_concurrent": 2, "emergency_reserve": 1},
         "trunks": [{"name": "carrier", "uri": "sip:{number}@192.0.2.9:5060"}],
         "tenants": [{"id": "t1", "name": "Tenant", "industry": "general", "plan": "starter", "time_zone": "UTC"}],
         "numbers": [{"did": "+1-800-555-0100", "tenant": "t1", "flow": "pause.xml"}]}
        """
        var config = try ConfigLoader.parse(Data(json.utf8), source: "test.json", baseDirectory: dir)
        configure(&config)
        let flows = ["pause.xml": try TeXMLParser.parse(Data(flow.utf8), source: "pause.xml")]
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
        return CallController(stack: port, services: services, logger: logger, policy: CallPolicy(config: config, flows: flows))
    }

    private func invite(to dialed: String = "8005550100", sdp: Bool = true, priority: String? = nil) -> SIPCallHandle {
        let h = port.newHandle()
        nextSerial += 1
        let offer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
        controller.receive(.invite(IncomingInvite(
            handle: h, callID: "c\(nextSerial)@test", requestUser: dialed, fromUser: "+15551230000",
            contentType: sdp ? "application/sdp" : nil, body: sdp ? offer : nil, priority: priority, resourcePriority: nil,
            contactUsable: true, source: "127.0.0.1:5070", overTLS: false)))
        return h
    }

    /// The records as the store has them once the writer has written.
    private func records() throws -> [CallDetailRecord] {
        writer.flush()
        var out: [CallDetailRecord] = []
        try store.forEach(from: nil, to: nil) { out.append($0) }
        return out
    }

    func testAnUnknownNumberIsRefused404WithARecordAndNoMedia() throws {
        let h = invite(to: "8005550199")
        XCTAssertEqual(port.statuses(h), [404])
        XCTAssertTrue(media.calls.isEmpty, "no port taken")
        let r = try XCTUnwrap(try records().first)
        XCTAssertEqual(r.sipCode, 404)
        XCTAssertEqual(r.disposition, .rejected)
        XCTAssertEqual(r.sipCallID, "c1@test")
        XCTAssertEqual(controller.activeCalls, 0)
    }

    /// A refusal's record is made from the INVITE alone: never answered, never billed.
    func testARefusalRecordIsMadeFromTheInviteAlone() throws {
        let h = port.newHandle()
        let invite = IncomingInvite(handle: h, callID: "r@test", requestUser: "8005550100", fromUser: "+15551230000",
                                    contentType: nil, body: nil, priority: nil, resourcePriority: nil, contactUsable: true,
                                    source: "127.0.0.1:5070", overTLS: false)
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let ctx = InviteContext(invite: invite, callID: "CAx", now: start, fromNumber: "+15551230000", route: nil,
                                emergency: true, log: Logger(minimumLevel: .error, journald: false, sink: MemorySink()))
        let r = ctx.refusalRecord(status: 503, disposition: .busy, at: start.addingTimeInterval(0.2))
        XCTAssertEqual(r.sipCode, 503)
        XCTAssertEqual(r.disposition, .busy)
        XCTAssertNil(r.answerTime)
        XCTAssertEqual(r.billableSeconds, 0)
        XCTAssertEqual(r.hangupBy, HangupSide.none)
        XCTAssertTrue(r.emergency)
        XCTAssertEqual(r.sipCallID, "r@test")
        XCTAssertEqual(r.did, "", "no route: no number")
        XCTAssertEqual(r.endTime, start.addingTimeInterval(0.2))
    }

    /// INVITE, ring time on the manual clock, 200 with SDP, ACK, the flow's pause, its
    /// hangup, the caller's dialog ending: one completed record and the port freed.
    func testACallRingsAnswersRunsItsFlowAndEndsWithOneRecord() throws {
        let h = invite()
        XCTAssertEqual(port.statuses(h), [180], "ringing until ring_ms has passed")
        port.advance(by: 999)
        XCTAssertEqual(port.statuses(h), [180])
        port.advance(by: 1)
        XCTAssertEqual(port.statuses(h), [180, 200])
        XCTAssertTrue(port.sdpAnswers.last?.contains("m=audio 20002 RTP/AVP 0") == true, port.sdpAnswers.last ?? "")
        let session = try XCTUnwrap(media.open.first)
        controller.receive(.ack(h, contentType: nil, body: nil))
        guard case .digits(session, "w", let wait) = try XCTUnwrap(media.calls.last) else { return XCTFail("\(media.calls)") }
        controller.mediaEvent(.playbackFinished(session, token: wait))
        guard case .silence(session, let ms, let token) = try XCTUnwrap(media.calls.last) else {
            return XCTFail("the flow's Pause plays silence: \(media.calls)")
        }
        XCTAssertEqual(ms, 2000)
        port.advance(by: 2000)
        controller.mediaEvent(.playbackFinished(session, token: token))
        XCTAssertEqual(port.sent.last, .bye(h), "<Hangup/> sends BYE")
        port.end(h)
        controller.receive(.terminated(h, status: 200))
        XCTAssertEqual(media.calls.last, .close(session), "the port is freed")
        XCTAssertEqual(controller.activeCalls, 0)
        let all = try records()
        XCTAssertEqual(all.count, 1, "one record per call")
        XCTAssertEqual(all.first?.disposition, .completed)
        XCTAssertEqual(all.first?.hangupBy, .daemon)
        // Every time in the record is the port's clock, not the machine's.
        XCTAssertEqual(all.first?.startTime, port.start)
        XCTAssertEqual(all.first?.answerTime, port.start.addingTimeInterval(1))
        XCTAssertEqual(all.first?.endTime, port.start.addingTimeInterval(3))
        XCTAssertEqual(all.first?.billableSeconds, 2)
    }

    /// A 200 never ACKed: the call ends at the ACK timeout unbilled (the stack ends the
    /// dialog: no BYE of ours before an ACK, RFC 3261 15), and its dialog, when still open
    /// in the stack `dialog_release_ms` later, is freed by force.
    func testAnUnacknowledgedAnswerEndsAndItsDialogIsReleased() throws {
        let h = invite()
        port.advance(by: 1000)
        XCTAssertEqual(port.statuses(h), [180, 200])
        port.advance(by: 1999)
        XCTAssertEqual(controller.activeCalls, 1)
        port.advance(by: 1)
        XCTAssertEqual(controller.activeCalls, 0, "ended at ack_timeout_ms")
        XCTAssertFalse(port.sent.contains(.bye(h)))
        let r = try XCTUnwrap(try records().first)
        XCTAssertEqual(r.hangupBy, .ackTimeout)
        XCTAssertEqual(r.endTime, port.start.addingTimeInterval(3), "ended at the ACK timeout on the port's clock")
        XCTAssertEqual(r.billableSeconds, 0)
        XCTAssertTrue(port.isAlive(h), "the stack still holds the dialog")
        port.advance(by: 39_999)
        XCTAssertTrue(port.isAlive(h))
        port.advance(by: 1)
        XCTAssertFalse(port.isAlive(h), "freed by force")
        XCTAssertEqual(port.sent.last, .abandon(h))
    }

    /// At capacity an ordinary call gets 503 + Retry-After; the reserved place still takes
    /// an emergency call.
    func testCapacityRefusesOrdinaryCallsButAdmitsAnEmergency() throws {
        let first = invite()
        XCTAssertEqual(port.statuses(first), [180])
        let second = invite()
        guard case .respond(_, 503, _, let headers) = try XCTUnwrap(port.sent.last) else { return XCTFail("\(port.sent)") }
        XCTAssertEqual(port.statuses(second), [503])
        XCTAssertTrue(headers.contains { $0.hasPrefix("Retry-After:") }, "\(headers)")
        // Loopback is among the networks whose emergency markings are honoured by default.
        let emergency = invite(priority: "emergency")
        XCTAssertEqual(port.statuses(emergency), [180], "the emergency reserve admits it")
    }

    /// While draining, new calls get 503 with a Retry-After; the drain's waiter is told
    /// once the last call is gone.
    func testDrainRefusesNewCallsAndReportsIdle() throws {
        let h = invite()
        controller.beginDrain()
        let refused = invite()
        XCTAssertEqual(port.statuses(refused), [503])
        let idle = Locked(false)
        controller.whenIdle { idle.withLock { $0 = true } }
        XCTAssertFalse(idle.withLock { $0 })
        controller.receive(.cancel(h))
        port.end(h)
        controller.receive(.terminated(h, status: 487))
        XCTAssertTrue(idle.withLock { $0 }, "told when the last call ended")
    }

    /// A `<Dial>`: the leg's INVITE goes to the tenant's trunk, its 200 bridges the caller,
    /// the callee's BYE ends the leg with a record of its own (linked to the call, billed
    /// from the leg's answer on the port's clock), and the flow goes on to its `<Hangup/>`.
    func testADialPlacesALegBridgesItAndRecordsIt() throws {
        controller = try makeController(flow: #"<Response><Dial><Number>+12025550123</Number></Dial><Hangup/></Response>"#) { _ in }
        let h = invite()
        port.advance(by: 1000)
        controller.receive(.ack(h, contentType: nil, body: nil))
        guard case .invite(let leg, let uri)? = port.sent.last else { return XCTFail("no leg placed: \(port.sent)") }
        XCTAssertEqual(uri, "sip:+12025550123@192.0.2.9:5060")
        port.advance(by: 500)
        controller.receive(.inviteResponse(leg, InviteResponse(status: 180)))
        port.advance(by: 1500)
        let answer = "v=0\r\no=- 2 2 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0\r\n"
        controller.receive(.inviteResponse(leg, InviteResponse(status: 200, contentType: "application/sdp", body: answer)))
        XCTAssertTrue(media.calls.contains { if case .bridge = $0 { true } else { false } }, "\(media.calls)")
        port.advance(by: 30_000)
        controller.receive(.bye(leg))
        port.end(leg)
        controller.receive(.terminated(leg, status: 200))
        XCTAssertEqual(port.sent.last, .bye(h), "the flow went on to its <Hangup/>")
        port.end(h)
        controller.receive(.terminated(h, status: 200))
        XCTAssertEqual(controller.activeCalls, 0)
        let all = try records()
        XCTAssertEqual(all.count, 2)
        let call = try XCTUnwrap(all.first { $0.direction != .outbound })
        let legRecord = try XCTUnwrap(all.first { $0.direction == .outbound })
        XCTAssertEqual(legRecord.parentCallID, call.callID)
        XCTAssertEqual(legRecord.disposition, .completed)
        XCTAssertEqual(legRecord.hangupBy, .caller, "the callee hung up")
        XCTAssertEqual(legRecord.answerTime, port.start.addingTimeInterval(3))
        XCTAssertEqual(legRecord.endTime, port.start.addingTimeInterval(33))
        XCTAssertEqual(legRecord.billableSeconds, 30)
        XCTAssertEqual(legRecord.toNumber, "+12025550123")
        XCTAssertEqual(call.disposition, .completed)
    }

    /// The control socket's view of the calls and `calls hangup`: a ringing call is listed
    /// with its state and ended with 480 and a record; `endDrain` admits calls again.
    func testAnOperatorListsCallsHangsUpARingingOneAndUndrains() throws {
        let h = invite()
        let rows = controller.controlCalls()
        XCTAssertEqual(rows.map(\.state), ["ringing"])
        XCTAssertEqual(rows.first?.number, "+18005550100")
        XCTAssertEqual(rows.first?.party, "+15551230000", "an ordinary tenant's caller is shown")
        XCTAssertEqual(rows.first?.verb, "Play", "the flow's first verb")
        XCTAssertEqual(controller.operatorHangup("CAnothing"), .notFound)
        XCTAssertEqual(controller.operatorHangup(try XCTUnwrap(rows.first?.id)), .ending)
        XCTAssertEqual(port.statuses(h), [180, 480])
        port.end(h)
        controller.receive(.terminated(h, status: 480))
        XCTAssertEqual(controller.activeCalls, 0)
        let r = try XCTUnwrap(try records().first)
        XCTAssertEqual(r.sipCode, 480)
        XCTAssertEqual(r.hangupBy, .daemon)

        controller.beginDrain()
        XCTAssertTrue(controller.controlStatus().draining)
        XCTAssertEqual(port.statuses(invite()), [503])
        controller.endDrain()
        XCTAssertFalse(controller.controlStatus().draining)
        XCTAssertEqual(port.statuses(invite()), [180], "admitted again")
    }

    /// An answered call hung up by an operator gets BYE (by its SIP Call-ID too); asking
    /// again while it ends says so. A healthcare caller is masked in the list.
    func testAnOperatorHangsUpAnAnsweredCallWithBYE() throws {
        controller = try makeController { $0.tenants[0].industry = .healthcare }
        let h = invite()
        port.advance(by: 1000)
        controller.receive(.ack(h, contentType: nil, body: nil))
        let status = controller.controlStatus()
        XCTAssertEqual(status.calls, 1)
        XCTAssertEqual(status.capacity, 2)
        XCTAssertEqual(status.emergencyReserve, 1)
        XCTAssertEqual(status.reserveUsed, 0, "one ordinary call leaves the reserve free")
        let row = try XCTUnwrap(controller.controlCalls().first)
        XCTAssertEqual(row.state, "active")
        XCTAssertEqual(row.party, "********0000", "a healthcare caller is masked")
        XCTAssertEqual(controller.operatorHangup("c1@test"), .ending, "found by its SIP Call-ID")
        XCTAssertEqual(port.sent.last, .bye(h))
        XCTAssertEqual(controller.operatorHangup(row.id), .alreadyEnding)
        port.end(h)
        controller.receive(.terminated(h, status: 200))
        XCTAssertEqual(try records().first?.disposition, .completed)
    }
}
