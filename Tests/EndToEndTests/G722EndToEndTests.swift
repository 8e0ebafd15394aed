import Foundation
import Media
import XCTest

/// G.722 (issue 17, item 4) with a real peer: pjsip through `Tests/Support/pjsua_peer.py`,
/// G722/16000 first in its list, against the real daemon over loopback.
final class G722EndToEndTests: XCTestCase {
    static let say = "+18335550141"
    static let dial = "+18335550142"
    static let dialWide = "+18335550143"

    private var files: URL!

    override func setUpWithError() throws {
        files = FileManager.default.temporaryDirectory.appendingPathComponent("g722-e2e-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: files, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: files) }

    /// A sine at `rate` Hz, written as a 16-bit WAV.
    private func toneFile(_ name: String, frequency: Double, rate: Int, seconds: Double) throws -> String {
        let samples = (0..<Int(seconds * Double(rate))).map { Int16(8000 * sin(2 * Double.pi * frequency * Double($0) / Double(rate))) }
        let path = files.appendingPathComponent(name).path
        try WAVFile.write(samples, sampleRate: rate, to: path)
        return path
    }

    private func daemon(flows: [String: String], numbers: [String: String]) throws -> DaemonUnderTest {
        try dialDaemon(flows: flows, numbers: [:]) { cfg in
            var list = cfg["numbers"] as? [[String: Any]] ?? []
            for (did, flow) in numbers { list.append(["did": did, "tenant": "backup-general-001", "flow": flow]) }
            cfg["numbers"] = list
        }
    }

    /// Share of a 16 kHz signal's power at `frequency`, best 100 ms window.
    private func widebandPurity(_ x: [Int16], _ frequency: Double) -> Double {
        stride(from: 0, to: max(0, x.count - 1600 + 1), by: 1600).map { start -> Double in
            let w = 2 * Double.pi * frequency / 16000, c = 2 * cos(w)
            var s1 = 0.0, s2 = 0.0, total = 0.0
            for v in x[start..<(start + 1600)] {
                let d = Double(v)
                total += d * d
                let s0 = d + c * s1 - s2
                s2 = s1
                s1 = s0
            }
            return total == 0 ? 0 : min(1, 2 * (s1 * s1 + s2 * s2 - c * s1 * s2) / (1600 * total))
        }.max() ?? 0
    }

    /// The record of the call to `did` once it is written with its recording (the writer is
    /// asynchronous: polled).
    private func record(_ d: DaemonUnderTest, did: String, timeout: TimeInterval = 10) -> [String: Any]? {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            if let r = d.records().first(where: { $0["did"] as? String == did && !($0["recording_url"] as? String ?? "").isEmpty }) {
                return r
            }
            usleep(100_000)
        } while Date() < deadline
        return nil
    }

    private func rms(_ x: ArraySlice<Int16>) -> Double {
        x.isEmpty ? 0 : (x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(x.count)).squareRoot()
    }

    /// `<Say>`, a `<Play>` of a 5 kHz tone (only wideband audio carries it: G.711 stops at
    /// 4 kHz) and a `<Record>` of the caller's 600 Hz tone, on a call that negotiated G.722.
    func testG722CallerHearsSayAndWidebandPlayAndIsRecorded() throws {
        guard PjsuaPeer.requireAvailable() else { return }
        let high = try toneFile("high.wav", frequency: 5000, rate: 16000, seconds: 1.5)
        let talk = try toneFile("talk.wav", frequency: 600, rate: 16000, seconds: 2)
        let d = try daemon(flows: ["g722.xml": """
            <Response><Say>Welcome to the wideband test line.</Say><Play>\(high)</Play>\
            <Record maxLength="3" timeout="10" playBeep="false" trim="do-not-trim"/><Hangup/></Response>
            """], numbers: [Self.say: "g722.xml"])
        defer { d.stop() }
        let heard = files.appendingPathComponent("heard.wav").path
        let peer = try PjsuaPeer(["--call", "sip:\(Self.say)@127.0.0.1:\(d.sipPort)", "--codecs", "G722/16000,PCMU/8000",
                                  "--play", talk, "--record", heard, "--seconds", "20", "--timeout", "40"])
        defer { peer.stop() }
        let (status, r) = peer.finish()
        XCTAssertEqual(status, 0, "\(r)\n\(peer.log.suffix(1500))\n\(d.logText.suffix(2000))")
        XCTAssertEqual(r["status"] as? Int, 200)
        XCTAssertEqual(r["codec"] as? String, "G722/16000", "\(r)")
        XCTAssertEqual(r["ended_by"] as? String, "remote", "the flow hung up after its <Record>")
        let m = try XCTUnwrap(r["remote_m_line"] as? String)
        XCTAssertTrue(m.hasPrefix("m=audio ") && m.contains(" RTP/AVP 9"), "the 200 OK answers G.722 (PT 9): \(m)")
        XCTAssertTrue((r["remote_sdp"] as? String ?? "").contains("a=rtpmap:9 G722/8000"), "\(r)")
        XCTAssertTrue(d.logText.contains("call.answered") && d.logText.contains("codec=G722"), d.logText.suffix(2000).description)
        // The flow's <Say> was cached at 8 kHz at start-up: it played at once, and its
        // 16 kHz form was made for the next G.722 caller; the <Play> file was read at 16 kHz.
        XCTAssertTrue(d.waitForLog("/16k"), "the <Say> synthesised at 16 kHz\n\(d.logText.suffix(2000))")
        XCTAssertTrue(d.logText.contains("rate=16000"), "the <Play> file resampled to 16 kHz")

        // What the peer heard, at 16 kHz: speech, then the 5 kHz tone.
        let pcm = try WAVFile.decode([UInt8](Data(contentsOf: URL(fileURLWithPath: heard))), rate: 16000)
        XCTAssertGreaterThan(pcm.count, 16000 * 3, "the recording holds the call")
        XCTAssertGreaterThan(rms(pcm.prefix(16000 * 2)), 300, "the <Say> has real energy")
        XCTAssertGreaterThan(widebandPurity(pcm, 5000), 0.8, "the 5 kHz <Play> tone arrives (wideband end to end)")

        // What the daemon recorded of the peer: 3 s of its 600 Hz tone, at 8 kHz.
        let cdr = try XCTUnwrap(record(d, did: Self.say), "\(d.records())")
        let url = try XCTUnwrap((cdr["recording_url"] as? String).flatMap(URL.init(string:)), "\(cdr)")
        let recorded = try WAVFile.read(path: url.path)
        XCTAssertEqual(Double(recorded.count) / 8000, 3, accuracy: 0.1, "the <Record> lasts its maxLength")
        XCTAssertGreaterThan(Tone.peakPurity(recorded, frequency: 600), 0.8, "the caller's G.722 tone, decoded")
    }

    /// A G.722 caller bridged by `<Dial>` to an agent that speaks only PCMU, and a PCMU
    /// caller to a G.722-only agent: transcoded both ways, each side hears the other's tone.
    func testDialTranscodesBetweenG722AndG711BothWays() throws {
        guard PjsuaPeer.requireAvailable() else { return }
        try bridge(callerCodecs: "G722/16000,PCMU/8000", agentCodecs: "PCMU/8000", did: Self.dial,
                   expect: ("G722/16000", "PCMU/8000"))
        try bridge(callerCodecs: "PCMU/8000", agentCodecs: "G722/16000", did: Self.dialWide,
                   expect: ("PCMU/8000", "G722/16000"))
    }

    private func bridge(callerCodecs: String, agentCodecs: String, did: String, expect: (String, String)) throws {
        let callerTone = try toneFile("caller.wav", frequency: 600, rate: 16000, seconds: 2)
        let agentTone = try toneFile("agent.wav", frequency: 1000, rate: 16000, seconds: 2)
        let agentPort = freePort()
        let agentHeard = files.appendingPathComponent("agent-heard-\(did).wav").path
        let callerHeard = files.appendingPathComponent("caller-heard-\(did).wav").path
        let agent = try PjsuaPeer(["--listen", String(agentPort), "--codecs", agentCodecs, "--play", agentTone,
                                   "--record", agentHeard, "--seconds", "30", "--timeout", "45"])
        defer { agent.stop() }
        XCTAssertTrue(agent.waitReady(), agent.log.suffix(1000).description)
        let d = try daemon(flows: ["bridge.xml": """
            <Response><Dial timeout="10" timeLimit="30"><Sip>sip:agent@127.0.0.1:\(agentPort)</Sip></Dial></Response>
            """], numbers: [did: "bridge.xml"])
        defer { d.stop() }
        let caller = try PjsuaPeer(["--call", "sip:\(did)@127.0.0.1:\(d.sipPort)", "--codecs", callerCodecs,
                                    "--play", callerTone, "--record", callerHeard, "--seconds", "5", "--timeout", "40"])
        defer { caller.stop() }
        let (cs, cr) = caller.finish()
        let (asx, ar) = agent.finish()
        let context = "\(cr)\n\(ar)\n\(d.logText.suffix(2500))"
        XCTAssertEqual(cs, 0, context)
        XCTAssertEqual(asx, 0, context)
        XCTAssertEqual(cr["codec"] as? String, expect.0, context)
        XCTAssertEqual(ar["codec"] as? String, expect.1, context)
        XCTAssertTrue(d.logText.contains("dial.leg_media") && d.logText.contains("codec=\(expect.1.prefix(4))"), context)
        let atAgent = try WAVFile.read(path: agentHeard)
        let atCaller = try WAVFile.read(path: callerHeard)
        XCTAssertGreaterThan(Tone.peakPurity(atAgent, frequency: 600), 0.8, "the caller's tone reaches the agent")
        XCTAssertGreaterThan(Tone.peakPurity(atCaller, frequency: 1000), 0.8, "the agent's tone reaches the caller")
    }
}
