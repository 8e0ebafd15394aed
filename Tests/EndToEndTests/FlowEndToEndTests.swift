import Foundation
import Media
import TeXML
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// End-to-end TeXML: flows served by a loopback webhook server, DTMF from sipp (RFC 4733
/// from a pcap, SIP INFO), recording of audio the test sends, and webhook fallbacks.
final class FlowEndToEndTests: XCTestCase {
    nonisolated(unsafe) static var server: WebhookServer?
    nonisolated(unsafe) static var daemon: DaemonUnderTest?

    static let documents: [String: String] = [
        "menu.xml": """
            <Response>
              <Gather numDigits="1" action="/choice" timeout="8">
                <Say>Press one for sales or two for support.</Say>
              </Gather>
              <Say>We did not receive your choice.</Say>
            </Response>
            """,
        "choice": "<Response><Say>Connecting you now.</Say><Hangup/></Response>",
        "record.xml": """
            <Response>
              <Record maxLength="3" timeout="10" playBeep="true" trim="do-not-trim"
                      action="/recorded" recordingStatusCallback="/recstatus"/>
            </Response>
            """,
        "recorded": "<Response><Say>Thank you.</Say><Hangup/></Response>",
        "record-mp3.xml": #"<Response><Record maxLength="3" timeout="10" playBeep="false" trim="do-not-trim" format="mp3" action="/recorded-mp3"/></Response>"#,
        "recorded-mp3": "<Response><Say>Thank you.</Say><Hangup/></Response>",
        "record-dual.xml": #"<Response><Record maxLength="3" timeout="10" playBeep="false" trim="do-not-trim" channels="dual" action="/recorded-dual"/></Response>"#,
        "recorded-dual": "<Response><Hangup/></Response>",
        // Telnyx's published Gather example, unchanged (no action: the same URL gets Digits).
        "telnyx-gather.xml": """
            <?xml version="1.0" encoding="UTF-8"?>
            <Response>
            <Gather timeout="5" numDigits="1" finishOnKey="#">
            <Say>Press 1 for sales, press 2 for support.</Say>
            </Gather>
            </Response>
            """,
        "telnyx-gather.xml@Digits=1": "<Response><Say>Sales.</Say><Hangup/></Response>",
        // Telnyx: <Play> without a URL plays the ringTone's ringback.
        "ringtone.xml": #"<Response><Play ringTone="de"/><Hangup/></Response>"#,
        "recstatus": "<Response/>",
        "play.xml": "<Response><Play>/tone.wav</Play><Hangup/></Response>",
        "transcribe.xml": """
            <Response>
              <Record maxLength="4" timeout="10" playBeep="false" trim="do-not-trim"
                      transcribe="true" transcribeCallback="/transcribed"/>
              <Hangup/>
            </Response>
            """,
        "transcribed": "<Response/>",
        // Twilio's Gather quickstart: no action; the same URL answers the digits.
        "quickstart.xml": """
            <Response>
              <Gather numDigits="1" timeout="8"><Say>For sales, press 1. For support, press 2.</Say></Gather>
              <Say>We did not receive any input. Goodbye!</Say>
            </Response>
            """,
        "quickstart.xml@Digits=1": "<Response><Say>You selected sales. Good for you!</Say><Hangup/></Response>",
        // A voicemail without action: the same URL answers the recording.
        "voicemail.xml": #"<Response><Record maxLength="2" timeout="10" playBeep="false" trim="do-not-trim"/></Response>"#,
        "voicemail.xml@RecordingUrl": "<Response><Say>Thank you.</Say><Hangup/></Response>",
        "redirect-get.xml": #"<Response><Redirect method="GET">/choice?from=redirect&amp;x=a%20b</Redirect></Response>"#,
        // Twilio's SSML example shapes, and markup tollfreed skips: the call still runs.
        "ssml.xml": """
            <Response>
              <Say voice="Polly.Joanna">One. <break time="2s"/> <prosody rate="slow">Two.</prosody></Say>
              <Enqueue waitUrl="/wait">support</Enqueue>
              <Hangup/>
            </Response>
            """,
        "mp3.xml": "<Response><Play>/hold.mp3</Play><Hangup/></Response>",
        "digits.xml": #"<Response><Say>Connecting.</Say><Play digits="w12#"/><Hangup/></Response>"#,
        "pause-first.xml": #"<Response><Pause length="2"/><Say>Thanks for waiting.</Say><Hangup/></Response>"#,
        "pause-reject.xml": #"<Response><Pause length="1"/><Reject reason="busy"/></Response>"#,
        "deep.xml": nested(9000, "a"),
        "huge.xml": nested(40_000, "Say"),
    ]

    /// `levels` nested `<name>` elements in a `<Response>`: 9,000 `<a>` fit in 63 KB (under the
    /// size limit, past the depth limit); 40,000 `<Say>` (440 KB) crashed the daemon as it tore
    /// the tree down.
    static func nested(_ levels: Int, _ name: String) -> String {
        "<Response>" + String(repeating: "<\(name)>", count: levels) + String(repeating: "</\(name)>", count: levels)
            + "</Response>"
    }

    /// `seconds` of 600 Hz at 16 kHz stereo: the daemon must mix and resample it.
    static func toneWAV(seconds: Int = 1) -> Data {
        let samples = (0..<(16000 * seconds)).flatMap { i -> [Int16] in
            let v = Int16(12000 * sin(2 * Double.pi * 600 * Double(i) / 16000))
            return [v, v]
        }
        var d = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        d.append(contentsOf: Array("RIFF".utf8)); u32(UInt32(36 + samples.count * 2)); d.append(contentsOf: Array("WAVE".utf8))
        d.append(contentsOf: Array("fmt ".utf8)); u32(16); u16(1); u16(2); u32(16000); u32(16000 * 4); u16(4); u16(16)
        d.append(contentsOf: Array("data".utf8)); u32(UInt32(samples.count * 2))
        for v in samples { u16(UInt16(bitPattern: v)) }
        return d
    }

    /// Five seconds of the tone as a 128 kbit/s MP3 made by `lame`: 80 KB, more than a TeXML
    /// document may be, as hold music is.
    static func holdMP3() throws -> Data {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-mp3-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let wav = dir.appendingPathComponent("hold.wav"), mp3 = dir.appendingPathComponent("hold.mp3")
        try toneWAV(seconds: 5).write(to: wav)
        let r = runProgram("/usr/bin/lame", ["--quiet", "-b", "128", wav.path, mp3.path])
        guard r.status == 0 else { throw NSError(domain: "e2e", code: 3, userInfo: [NSLocalizedDescriptionKey: "lame: \(r.output)"]) }
        return try Data(contentsOf: mp3)
    }

    override class func setUp() {
        super.setUp()
        let s: WebhookServer
        do {
            signingKey = try makeSigningKey()
            s = try WebhookServer(documents: documents, files: ["tone.wav": toneWAV(), "hold.mp3": try holdMP3()],
                                  authToken: authToken, ed25519PublicKey: signingKey?.publicPEM)
        } catch {
            startError = error
            return
        }
        server = s
        do { daemon = try DaemonUnderTest(ringMs: 0) { cfg in
            var numbers = cfg["numbers"] as? [[String: Any]] ?? []
            let t = "backup-general-001"
            numbers += [
                ["did": "+18335550101", "tenant": t, "flow": "\(s.base)/menu.xml"],
                ["did": "+18335550102", "tenant": t, "flow": "\(s.base)/record.xml"],
                ["did": "+18335550103", "tenant": t, "flow": "\(s.base)/fail/menu.xml", "fallback_flow": "general-business.xml"],
                ["did": "+18335550104", "tenant": t, "flow": "\(s.base)/hang", "fallback_flow": "\(s.base)/menu.xml"],
                ["did": "+18335550105", "tenant": t, "flow": "\(s.base)/fail/nothing"],
            ]
            numbers += [
                ["did": "+18335550106", "tenant": "legal-client-001", "flow": "legal-intake.xml"],
                ["did": "+18335550107", "tenant": t, "flow": "\(s.base)/play.xml", "status_callback": "\(s.base)/callback/status"],
                ["did": "+18335550108", "tenant": t, "flow": "\(s.base)/transcribe.xml"],
                ["did": "+18335550109", "tenant": t, "flow": "\(s.base)/deep.xml", "fallback_flow": "general-business.xml"],
                ["did": "+18335550110", "tenant": t, "flow": "\(s.base)/bigstream/\(50 << 20)",
                 "fallback_flow": "general-business.xml"],
                ["did": "+18335550111", "tenant": t, "flow": "\(s.base)/huge.xml", "fallback_flow": "general-business.xml"],
                ["did": "+18335550112", "tenant": t, "flow": "\(s.base)/quickstart.xml"],
                ["did": "+18335550113", "tenant": t, "flow": "\(s.base)/voicemail.xml"],
                ["did": "+18335550114", "tenant": t, "flow": "\(s.base)/pause-first.xml"],
                ["did": "+18335550115", "tenant": t, "flow": "\(s.base)/pause-reject.xml"],
                ["did": "+18335550116", "tenant": t, "flow": "\(s.base)/redirect-get.xml"],
                ["did": "+18335550117", "tenant": t, "flow": "\(s.base)/ssml.xml"],
                ["did": "+18335550118", "tenant": t, "flow": "\(s.base)/mp3.xml"],
                ["did": "+18335550119", "tenant": t, "flow": "\(s.base)/digits.xml"],
                ["did": "+18335550120", "tenant": t, "flow": "\(s.base)/record-mp3.xml"],
                ["did": "+18335550121", "tenant": t, "flow": "\(s.base)/record-dual.xml"],
                ["did": "+18335550122", "tenant": t, "flow": "\(s.base)/ringtone.xml"],
                ["did": "+18335550123", "tenant": t, "flow": "\(s.base)/telnyx-gather.xml"],
            ]
            cfg["numbers"] = numbers
            var tenants = cfg["tenants"] as? [[String: Any]] ?? []
            for i in tenants.indices where tenants[i]["id"] as? String == t { tenants[i]["auth_token"] = authToken }
            tenants.append(["id": "legal-client-001", "name": "Legal Client", "industry": "legal", "plan": "starter"])
            cfg["tenants"] = tenants
            cfg["webhooks"] = ["timeout_ms": 1500, "ed25519_key_file": signingKey?.privatePEM ?? ""]
        } } catch { startError = error }
    }

    /// The Ed25519 key pair (PEM files, made by the openssl command) that signs requests as
    /// Telnyx does.
    nonisolated(unsafe) static var signingKey: (privatePEM: String, publicPEM: String)?

    static func makeSigningKey() throws -> (privatePEM: String, publicPEM: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-ed25519-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let key = dir.appendingPathComponent("key.pem").path, pub = dir.appendingPathComponent("pub.pem").path
        for args in [["genpkey", "-algorithm", "ed25519", "-out", key], ["pkey", "-in", key, "-pubout", "-out", pub]] {
            let r = runProgram("/usr/bin/openssl", args)
            guard r.status == 0 else { throw NSError(domain: "e2e", code: 4, userInfo: [NSLocalizedDescriptionKey: "openssl: \(r.output)"]) }
        }
        return (key, pub)
    }

    /// The `auth_token` of the tenant the webhook numbers belong to: its requests are signed.
    static let authToken = "9c3f1e0a7b5d4c2e8f6a1b3c5d7e9f20"

    /// Why the daemon or the webhook server did not start: every test then fails with it.
    nonisolated(unsafe) static var startError: Error?

    override class func tearDown() {
        daemon?.stop()
        server?.stop()
        daemon = nil
        server = nil
        super.tearDown()
    }

    private func env() throws -> (DaemonUnderTest, WebhookServer) {
        if let e = Self.startError { throw e }
        guard let d = Self.daemon, let s = Self.server else { throw NSError(domain: "e2e", code: 1, userInfo: [NSLocalizedDescriptionKey: "daemon or webhook server did not start"]) }
        return (d, s)
    }

    func testRFC4733DigitDrivesGatherToItsAction() throws {
        let (d, s) = try env()
        let r = d.sippRaw("uac_dtmf_2833.xml", dial: "8335550101", tag: "dtmf2833", extra: ["-mp", "\(freeSippMediaPort())", "-key", "caller", "+15551230000"])
        XCTAssertEqual(r.status, 0, "sipp:\n\(r.output.suffix(1500))\n\(d.logText.suffix(2500))")
        let first = try XCTUnwrap(s.waitForRequest(path: "/menu.xml") { $0["To"] == "+18335550101" && $0["CallStatus"] == "ringing" })
        XCTAssertEqual(first["CallStatus"], "ringing")
        XCTAssertEqual(first["To"], "+18335550101")
        XCTAssertEqual(first["From"], "+15551230000")
        XCTAssertTrue(isPlatformSID(first["AccountSid"], "AC"), "\(first)")
        XCTAssertEqual(first["Direction"], "inbound")
        let choice = try XCTUnwrap(s.waitForRequest(path: "/choice") { $0["CallSid"] == first["CallSid"] }, "\(s.requests)")
        XCTAssertEqual(choice["Digits"], "1")
        XCTAssertEqual(choice["CallSid"], first["CallSid"])
        XCTAssertEqual(choice["CallStatus"], "in-progress")
    }

    /// Twilio's Gather quickstart runs unchanged: without `action` the digits are posted
    /// to the document's own URL, which answers them (it used to fall through, and the
    /// menu looped).
    func testGatherWithoutActionPostsTheDigitsToTheSameURL() throws {
        let (d, s) = try env()
        let r = d.sippRaw("uac_dtmf_2833.xml", dial: "8335550112", tag: "quickstart", extra: ["-mp", "\(freeSippMediaPort())", "-key", "caller", "+15551230000"])
        XCTAssertEqual(r.status, 0, "sipp (the daemon hangs up after the answer):\n\(r.output.suffix(1500))\n\(d.logText.suffix(2500))")
        let first = try XCTUnwrap(s.waitForRequest(path: "/quickstart.xml") { $0["Digits"] == nil })
        let again = try XCTUnwrap(s.waitForRequest(path: "/quickstart.xml") { $0["Digits"] != nil }, "\(s.requests)")
        XCTAssertEqual(again["Digits"], "1")
        XCTAssertEqual(again["CallSid"], first["CallSid"])
        XCTAssertEqual(s.requests.filter { ($0["path"] as? String) == "/quickstart.xml" && ($0["method"] as? String) == "POST" }
                        .map(WebhookServer.fields).filter { $0["CallSid"] == first["CallSid"] }.count, 2,
                       "requested twice: the call, then the digits")
    }

    /// `<Record>` without `action` posts the recording to the document's own URL.
    func testRecordWithoutActionPostsTheRecordingToTheSameURL() throws {
        let (d, s) = try env()
        let peer = RTPPeer()
        defer { peer.stop() }
        let result = try XCTUnwrap(d.callWhileTalking("uac_daemon_bye.xml", dial: "8335550113", tag: "vm-noaction", peer: peer) {
            peer.send(count: 150, toPort: $0, stray: false, tone: true) // 3 s of tone; maxLength is 2
        }, "no RTP from the daemon\n\(String(d.logText.suffix(2000)))")
        XCTAssertEqual(result.status, 0, "sipp:\n\(result.output.suffix(1500))\n\(String(d.logText.suffix(2000)))")
        let again = try XCTUnwrap(s.waitForRequest(path: "/voicemail.xml") { $0["RecordingUrl"] != nil }, "\(s.requests)")
        XCTAssertEqual(again["RecordingDuration"], "2")
        XCTAssertNotNil(again["RecordingSid"])
    }

    /// Every request carries what Twilio's and Telnyx's do: Twilio-shaped sids, ApiVersion,
    /// Caller and Called, SipCallId, the caller's name and who forwarded the call.
    func testRequestsCarryThePlatformParameters() throws {
        let (d, s) = try env()
        let c = SIPDialogCaller(daemonPort: d.sipPort, tag: "params")
        c.fromDisplay = #""Jane \"JJ\" Roe""#
        let diversion = "Diversion: \"Office\" <sip:+18005551212@carrier.example;user=phone>;reason=unconditional;counter=1"
        XCTAssertEqual(c.invite(dial: "8335550101", headers: [diversion])?.status, 200)
        c.ack()
        let f = try XCTUnwrap(s.waitForRequest(path: "/menu.xml") { $0["SipCallId"] == c.callID }, "\(s.requests.suffix(2))")
        XCTAssertTrue(isPlatformSID(f["CallSid"], "CA"), "\(f)")
        XCTAssertTrue(isPlatformSID(f["AccountSid"], "AC"), "\(f)")
        XCTAssertEqual(f["ApiVersion"], "2010-04-01")
        XCTAssertEqual(f["Caller"], "+15551230000")
        XCTAssertEqual(f["Called"], "+18335550101")
        XCTAssertEqual(f["CallerName"], #"Jane "JJ" Roe"#)
        XCTAssertEqual(f["ForwardedFrom"], "+18005551212")
        XCTAssertEqual(c.bye()?.status, 200)
        let record = try XCTUnwrap(d.record(tag: "params"))
        XCTAssertEqual(record["call_id"] as? String, f["CallSid"], "the record's id is the CallSid apps saw")
    }

    /// A leading `<Pause>` delays the answer (the caller hears ringing), as on Twilio; a
    /// `<Reject>` after one still refuses the call unanswered.
    func testALeadingPauseDelaysTheAnswerAndARejectAfterItStillRejects() throws {
        let (d, _) = try env()
        let c = SIPDialogCaller(daemonPort: d.sipPort, tag: "pausefirst")
        let sent = Date()
        XCTAssertEqual(c.invite(dial: "8335550114")?.status, 200)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(sent), 1.9, "answered only after the 2 s pause")
        c.ack()
        XCTAssertTrue(c.awaitBye(timeout: 15), "the flow speaks and hangs up")
        let answered = try XCTUnwrap(d.record(tag: "pausefirst"))
        XCTAssertEqual(answered["disposition"] as? String, "completed")

        let r = SIPDialogCaller(daemonPort: d.sipPort, tag: "pausereject")
        XCTAssertEqual(r.invite(dial: "8335550115")?.status, 486, "rejected (busy) after the pause, never answered")
        let rejected = try XCTUnwrap(d.record(tag: "pausereject"))
        XCTAssertEqual(rejected["disposition"] as? String, "rejected")
        XCTAssertEqual(rejected["billable_seconds"] as? Int, 0)
    }

    /// Every request to the app is signed as Twilio signs it (X-Twilio-Signature with the
    /// tenant's auth_token), POST forms and GET queries alike, so validation middleware
    /// accepts it: the test server checks each one with a reference implementation.
    func testEveryRequestCarriesAValidTwilioSignature() throws {
        let (d, s) = try env()
        let c = SIPDialogCaller(daemonPort: d.sipPort, tag: "signed")
        XCTAssertEqual(c.invite(dial: "8335550116")?.status, 200)
        c.ack()
        XCTAssertTrue(c.awaitBye(timeout: 15), "the redirected document hangs up")
        let get = try XCTUnwrap(s.requests.last { ($0["method"] as? String) == "GET" && ($0["path"] as? String) == "/choice" },
                                "\(s.requests.suffix(3))")
        XCTAssertTrue((get["query"] as? String)?.contains("CallSid=") == true, "GET carries the parameters in its query")
        XCTAssertEqual(get["signature"] as? String, "valid")
        XCTAssertEqual(get["telnyx_signature"] as? String, "valid", "Telnyx's Ed25519 signature too (empty body)")
        XCTAssertTrue(d.logShows("webhooks.signing ed25519_public_key="), "the public key is logged for the apps")
        let signed = s.requests.filter { ($0["method"] as? String) != "SENT" }
        XCTAssertGreaterThanOrEqual(signed.count, 2)
        let bad = signed.filter { ($0["signature"] as? String) != "valid" || ($0["telnyx_signature"] as? String) != "valid" }
        XCTAssertTrue(bad.isEmpty, "unsigned or badly signed: \(bad.map { "\($0["method"] ?? "") \($0["path"] ?? "") \($0["signature"] ?? "")" })")
    }

    /// SSML in a `<Say>` is spoken (the `<break>` is a real pause), and a verb tollfreed does
    /// not implement is skipped with one warning, instead of "an application error".
    func testSSMLIsSpokenAndUnsupportedVerbsAreSkipped() throws {
        let (d, _) = try env()
        let peer = RTPPeer()
        defer { peer.stop() }
        let r = d.sipp("uac_daemon_bye.xml", dial: "8335550117", tag: "ssml", rtpPort: peer.port)
        XCTAssertEqual(r.status, 0, "sipp:\n\(r.output.suffix(1500))\n\(d.logText.suffix(1500))")
        let speech = SpeechMeasure(peer.received, law: .ulaw)
        let first = SpeechMeasure.firstTalkspurt(peer.received, law: .ulaw)
        XCTAssertLessThan(first, 1.5, "\"One.\" alone, then the break")
        XCTAssertGreaterThan(speech.speechSpan, first + 2.0, "the 2 s break separates the words")
        XCTAssertTrue(d.logShows("flow.unsupported_markup"), d.logText.suffix(1500).description)
        let record = try XCTUnwrap(d.record(tag: "ssml"))
        XCTAssertEqual(record["disposition"] as? String, "completed")
        let call = try XCTUnwrap(record["call_id"] as? String)
        XCTAssertTrue(d.logText.split(separator: "\n").contains { $0.contains("call=\(call)") && $0.contains("call.answered") },
                      "the log names the call")
        XCTAssertFalse(d.logText.split(separator: "\n").contains { $0.contains("call=\(call)") && $0.contains("flow.fetch_failed") },
                       "the document was not refused (the caller never hears the application error)")
    }

    /// `<Play>` of an MP3 URL larger than a TeXML document may be (hold music): fetched,
    /// decoded and played whole.
    func testPlayOfALargeMP3PlaysItWhole() throws {
        let (d, s) = try env()
        let peer = RTPPeer()
        defer { peer.stop() }
        let r = d.sipp("uac_daemon_bye.xml", dial: "8335550118", tag: "mp3", rtpPort: peer.port)
        XCTAssertEqual(r.status, 0, "sipp:\n\(r.output.suffix(1500))\n\(d.logText.suffix(1500))")
        let loud = SpeechMeasure(peer.received, law: .ulaw)
        XCTAssertEqual(Double(loud.loudFrames) * 0.02, 5.0, accuracy: 0.3, "five seconds of tone:\n\(d.logText.suffix(1500))")
        XCTAssertEqual(s.requests.filter { ($0["path"] as? String) == "/hold.mp3" }.count, 1)
    }

    /// `<Play digits>` reaches a caller that offered telephone-event as RFC 4733 events (one
    /// key per event, three end packets), as Twilio and Telnyx send them.
    func testPlayDigitsSendsRFC4733Events() throws {
        let (d, _) = try env()
        let peer = RTPPeer()
        defer { peer.stop() }
        let r = d.sipp("uac_daemon_bye.xml", dial: "8335550119", tag: "playdigits", rtpPort: peer.port)
        XCTAssertEqual(r.status, 0, "sipp:\n\(r.output.suffix(1500))\n\(d.logText.suffix(1500))")
        let events = peer.received.filter { $0.payloadType == 101 }
        let keys = events.filter(\.marker).map { $0.payload[0] }
        XCTAssertEqual(keys, [1, 2, 11], "1, 2, # as events 1, 2 and 11")
        XCTAssertEqual(events.filter { $0.payload[1] & 0x80 != 0 }.count, 9, "three end packets per key")
    }

    /// `<Record format="mp3">` writes an MP3 (LAME) holding the caller's audio.
    func testRecordAsMP3() throws {
        let (d, s) = try env()
        let peer = RTPPeer()
        defer { peer.stop() }
        let result = try XCTUnwrap(d.callWhileTalking("uac_daemon_bye.xml", dial: "8335550120", tag: "mp3rec", peer: peer) {
            peer.send(count: 250, toPort: $0, stray: false, tone: true)
        }, "no RTP from the daemon\n\(String(d.logText.suffix(2000)))")
        XCTAssertEqual(result.status, 0, "sipp:\n\(result.output.suffix(1500))")
        let recorded = try XCTUnwrap(s.waitForRequest(path: "/recorded-mp3") { $0["RecordingUrl"]?.hasSuffix(".mp3") == true },
                                     "\(s.requests.suffix(3))")
        let url = try XCTUnwrap(recorded["RecordingUrl"].flatMap(URL.init(string:)))
        let (samples, rate) = try MP3Decoder.decode([UInt8](try Data(contentsOf: url)))
        XCTAssertEqual(rate, 8000)
        XCTAssertEqual(Double(samples.count) / 8000, 3, accuracy: 0.3, "the three seconds recorded")
        XCTAssertGreaterThan(samples.filter { abs(Int($0)) > 4000 }.count, samples.count / 4, "the caller's tone, not silence")
    }

    func testSIPInfoDigitDrivesGather() throws {
        let (d, s) = try env()
        let before = s.requests.filter { ($0["path"] as? String) == "/choice" }.count
        let r = d.sipp("uac_info_dtmf.xml", dial: "8335550101", tag: "infodtmf")
        XCTAssertEqual(r.status, 0, "sipp:\n\(r.output.suffix(1500))\n\(d.logText.suffix(2500))")
        let choices = s.requests.filter { ($0["path"] as? String) == "/choice" }
        XCTAssertEqual(choices.count, before + 1)
        XCTAssertEqual(choices.last.map(WebhookServer.fields)?["Digits"], "2")
    }

    func testRecordWritesTheCallersAudioAndPostsTheAction() throws {
        let (d, s) = try env()
        let peer = RTPPeer()
        defer { peer.stop() }
        let result = try XCTUnwrap(d.callWhileTalking("uac_daemon_bye.xml", dial: "8335550102", tag: "record", peer: peer) {
            peer.send(count: 250, toPort: $0, stray: false, tone: true) // 5 s of tone; maxLength is 3
        }, "no RTP from the daemon\n\(String(d.logText.suffix(2000)))")
        XCTAssertEqual(result.status, 0, "sipp:\n\(result.output.suffix(1500))\n\(String(d.logText.suffix(2000)))")
        let recorded = try XCTUnwrap(s.waitForRequest(path: "/recorded"), "\(s.requests)")
        XCTAssertEqual(recorded["RecordingDuration"], "3")
        XCTAssertNotNil(recorded["RecordingSid"])
        let url = try XCTUnwrap(recorded["RecordingUrl"].flatMap(URL.init(string:)))
        XCTAssertTrue(url.isFileURL)
        let samples = try WAVFile.read(path: url.path)
        XCTAssertEqual(Double(samples.count) / 8000, 3, accuracy: 0.3, "WAV length")
        let loud = samples.filter { abs(Int($0)) > 4000 }.count
        XCTAssertGreaterThan(loud, samples.count / 4, "the recording holds the caller's tone, not silence")
        let status = try XCTUnwrap(s.waitForRequest(path: "/recstatus"))
        XCTAssertEqual(status["RecordingStatus"], "completed")
        let cdr = try XCTUnwrap(d.record(tag: "record"))
        XCTAssertEqual(cdr["recording_seconds"] as? Int, 3)
        XCTAssertEqual(cdr["recording_url"] as? String, url.absoluteString)
    }

    /// `<Record channels="dual">`: a two-channel WAV, the caller on the first channel.
    func testDualChannelRecord() throws {
        let (d, s) = try env()
        let peer = RTPPeer()
        defer { peer.stop() }
        let result = try XCTUnwrap(d.callWhileTalking("uac_daemon_bye.xml", dial: "8335550121", tag: "dualrec", peer: peer) {
            peer.send(count: 200, toPort: $0, stray: false, tone: true)
        }, "no RTP from the daemon\n\(String(d.logText.suffix(2000)))")
        XCTAssertEqual(result.status, 0, "sipp:\n\(result.output.suffix(1500))")
        let recorded = try XCTUnwrap(s.waitForRequest(path: "/recorded-dual"), "\(s.requests.suffix(3))")
        let url = try XCTUnwrap(recorded["RecordingUrl"].flatMap(URL.init(string:)))
        let image = [UInt8](try Data(contentsOf: url))
        let (format, data) = try WAVFile.parse(image)
        XCTAssertEqual(format.channels, 2)
        let samples = image[data].withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
        let left = stride(from: 0, to: samples.count, by: 2).map { samples[$0] }
        let right = stride(from: 1, to: samples.count, by: 2).map { samples[$0] }
        XCTAssertEqual(Double(left.count) / 8000, 3, accuracy: 0.3)
        XCTAssertGreaterThan(left.filter { abs(Int($0)) > 4000 }.count, left.count / 4, "the caller's tone on the first channel")
        XCTAssertTrue(right.allSatisfy { $0 == 0 }, "nothing was played during the recording")
    }

    /// Telnyx's Gather example from its TeXML reference runs unchanged.
    func testTelnyxGatherExample() throws {
        let (d, s) = try env()
        let r = d.sippRaw("uac_dtmf_2833.xml", dial: "8335550123", tag: "telnyxgather", extra: ["-mp", "\(freeSippMediaPort())", "-key", "caller", "+15551230000"])
        XCTAssertEqual(r.status, 0, "sipp (the daemon hangs up after the answer):\n\(r.output.suffix(1500))\n\(d.logText.suffix(2000))")
        let again = try XCTUnwrap(s.waitForRequest(path: "/telnyx-gather.xml") { $0["Digits"] != nil }, "\(s.requests.suffix(3))")
        XCTAssertEqual(again["Digits"], "1")
        let doc = try TeXMLParser.parse(Data(try XCTUnwrap(Self.documents["telnyx-gather.xml"]).utf8), source: "telnyx-gather.xml")
        XCTAssertEqual(doc.warnings, [], "nothing in it is unsupported")
    }

    /// `<Play ringTone="de"/>`: one cadence of Germany's ringback (425 Hz, 1 s on, 4 s off).
    func testPlayRingTone() throws {
        let (d, _) = try env()
        let peer = RTPPeer()
        defer { peer.stop() }
        let r = d.sipp("uac_daemon_bye.xml", dial: "8335550122", tag: "playringtone", rtpPort: peer.port)
        XCTAssertEqual(r.status, 0, "sipp:\n\(r.output.suffix(1500))\n\(d.logText.suffix(1500))")
        let audio = Tone.decode(Array(peer.received.prefix(45)))
        XCTAssertGreaterThan(Tone.purity(audio, frequency: 425), 0.8, "425 Hz first")
        XCTAssertEqual(SpeechMeasure.firstTalkspurt(peer.received, law: .ulaw, gap: 0.5), 1.0, accuracy: 0.1)
        XCTAssertEqual(Double(peer.received.count) * 0.02, 5, accuracy: 0.6, "one 5 s cadence, then the hang-up")
    }

    func testFailingWebhookFallsBackToTheLocalFlow() throws {
        let (d, s) = try env()
        let peer = RTPPeer()
        defer { peer.stop() }
        let r = d.sipp("uac_caller_bye.xml", dial: "8335550103", tag: "fallback500", rtpPort: peer.port)
        XCTAssertEqual(r.status, 0, "sipp:\n\(r.output.suffix(1500))")
        XCTAssertNotNil(s.waitForRequest(path: "/fail/menu.xml"))
        XCTAssertGreaterThan(SpeechMeasure(peer.received, law: .ulaw).loudFrames, 20, "the fallback flow speaks")
        XCTAssertTrue(d.logShows("flow.fallback"))
    }

    func testHostileWebhookDocumentsFallBackAndTheDaemonLives() throws {
        let (d, s) = try env()
        for (did, path) in [("8335550111", "/huge.xml"), ("8335550109", "/deep.xml"),
                            ("8335550110", "/bigstream/\(50 << 20)")] {
            let peer = RTPPeer()
            defer { peer.stop() }
            let r = d.sipp("uac_caller_bye.xml", dial: did, tag: "hostile\(did)", rtpPort: peer.port)
            XCTAssertEqual(r.status, 0, "sipp:\n\(r.output.suffix(1500))")
            XCTAssertNotNil(s.waitForRequest(path: path))
            XCTAssertGreaterThan(SpeechMeasure(peer.received, law: .ulaw).loudFrames, 20, "the fallback flow speaks")
        }
        XCTAssertTrue(d.logShows("elements are nested more than 64 levels deep"), String(d.logText.suffix(2000)))
        XCTAssertTrue(d.logShows("answer longer than 65536 bytes"), String(d.logText.suffix(2000)))
        XCTAssertEqual(d.httpGet("/healthz")?.status, 200, "the daemon is still up")
    }

    func testHangingWebhookTimesOutToTheFallbackURL() throws {
        let (d, s) = try env()
        let peer = RTPPeer()
        defer { peer.stop() }
        let r = d.sipp("uac_caller_bye.xml", dial: "8335550104", tag: "fallbackhang", rtpPort: peer.port)
        XCTAssertEqual(r.status, 0, "sipp:\n\(r.output.suffix(1500))")
        let hang = try XCTUnwrap(s.waitForRequest(path: "/hang"))
        XCTAssertGreaterThan(SpeechMeasure(peer.received, law: .ulaw).loudFrames, 20, "the fallback menu speaks")
        // The fallback request says what failed, as Twilio's does (11205: no answer in time).
        let fallback = try XCTUnwrap(s.waitForRequest(path: "/menu.xml") { $0["CallSid"] == hang["CallSid"] })
        XCTAssertEqual(fallback["ErrorCode"], "11205")
        XCTAssertEqual(fallback["ErrorUrl"], "\(s.base)/hang")
    }

    func testNoFallbackApologisesAndHangsUp() throws {
        let (d, _) = try env()
        let peer = RTPPeer()
        defer { peer.stop() }
        let r = d.sipp("uac_daemon_bye.xml", dial: "8335550105", tag: "apology", rtpPort: peer.port)
        XCTAssertEqual(r.status, 0, "the daemon hangs up after the apology:\n\(r.output.suffix(1500))")
        XCTAssertGreaterThan(SpeechMeasure(peer.received, law: .ulaw).loudFrames, 50, "never dead air")
        XCTAssertEqual(try XCTUnwrap(d.record(tag: "apology"))["disposition"] as? String, "completed")
    }

    // MARK: Shipped templates and Play

    func testGeneralBusinessMenuBranchesOnDigitOne() throws {
        let (d, _) = try env()
        let r = d.sippRaw("uac_general_press1.xml", dial: "2082792555", tag: "general1",
                          extra: ["-mp", "\(freeSippMediaPort())", "-key", "caller", "+15551230000", "-d", "3000"])
        XCTAssertEqual(r.status, 0, "sipp:\n\(r.output.suffix(1500))")
        XCTAssertTrue(d.logShows("general-business/menu-1.xml"), "the sales branch was fetched:\n\(String(d.logText.suffix(2000)))")
    }

    func testLegalIntakeBranchesOnDigitTwo() throws {
        let (d, _) = try env()
        let r = d.sippRaw("uac_legal_press2.xml", dial: "8335550106", tag: "legal2",
                          extra: ["-mp", "\(freeSippMediaPort())", "-key", "caller", "+15551230000", "-d", "2000"], timeout: 90)
        XCTAssertEqual(r.status, 0, "sipp:\n\(r.output.prefix(600))\n...\n\(r.output.suffix(1500))")
        XCTAssertTrue(d.logShows("legal-intake/matter-2.xml"), "the existing-matter branch was fetched")
        XCTAssertEqual(try XCTUnwrap(d.record(tag: "legal2"))["tenant"] as? String, "legal-client-001")
    }

    func testPlayFetchesAURLOnceAndPlaysItResampled() throws {
        let (d, s) = try env()
        for call in 0..<2 {
            let peer = RTPPeer()
            let r = d.sipp("uac_daemon_bye.xml", dial: "8335550107", tag: "play\(call)", rtpPort: peer.port)
            peer.stop()
            XCTAssertEqual(r.status, 0, "sipp:\n\(r.output.suffix(1500))\n\(d.logText.suffix(1500))")
            let loud = SpeechMeasure(peer.received, law: .ulaw)
            XCTAssertEqual(Double(loud.loudFrames) * 0.02, 1.0, accuracy: 0.1, "one second of tone")
        }
        let fetches = s.requests.filter { ($0["path"] as? String) == "/tone.wav" }
        XCTAssertEqual(fetches.count, 1, "fetched once, then cached")
        XCTAssertEqual(fetches.first?["signature"] as? String, "valid", "signed like every request of the tenant")
        // The number's status callback hears about each call's end.
        let status = try XCTUnwrap(s.waitForRequest(path: "/callback/status"))
        XCTAssertEqual(status["CallStatus"], "completed")
        XCTAssertEqual(status["To"], "+18335550107")
        XCTAssertNotNil(status["CallDuration"].flatMap(Int.init))
        XCTAssertEqual(s.requests.last { ($0["path"] as? String) == "/callback/status" }?["signature"] as? String, "valid")
    }

    func testRecordingIsTranscribedOffTheCallAndPostedToTheCallback() throws {
        let (d, s) = try env()
        let speech = try SpeechSynthesizer(logger: .init(minimumLevel: .error))
            .synthesize(SpeechKey(text: "Hello. My name is John. Please call me back.", voice: "man", language: "en-US"))
        let peer = RTPPeer()
        defer { peer.stop() }
        let result = try XCTUnwrap(d.callWhileTalking("uac_daemon_bye.xml", dial: "8335550108", tag: "transcribe", peer: peer) {
            peer.send(samples: speech, toPort: $0)
        }, "no RTP from the daemon")
        XCTAssertEqual(result.status, 0, "sipp:\n\(result.output.suffix(1500))")
        let t = try XCTUnwrap(s.waitForRequest(path: "/transcribed", timeout: 30), "\(String(d.logText.suffix(2000)))")
        XCTAssertEqual(t["TranscriptionStatus"], "completed")
        let text = try XCTUnwrap(t["TranscriptionText"])
        XCTAssertFalse(text.isEmpty, "pocketsphinx heard the caller's speech")
        let url = try XCTUnwrap(t["RecordingUrl"].flatMap(URL.init(string:)))
        let stored = try String(contentsOfFile: url.path + ".txt", encoding: .utf8)
        XCTAssertEqual(stored, text, "the text is stored with the recording")
        XCTAssertNotNil(t["RecordingSid"])
    }
}
