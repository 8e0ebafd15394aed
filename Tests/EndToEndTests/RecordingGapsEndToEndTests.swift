import Foundation
import Media
import XCTest

/// Recordings without holes (issue 17, item 7), through the real daemon: the test process
/// is the caller's RTP endpoint and loses packets on purpose, or sends nothing at all; the
/// WAV must still last as long as the recording ran (`maxLength`), the losses in place.
final class RecordingGapsEndToEndTests: XCTestCase {
    /// The recording runs to its maximum length, 4 s; no silence timeout within it.
    static let flow = #"<Response><Record maxLength="4" timeout="10" playBeep="false" trim="do-not-trim"/></Response>"#

    private func recording(_ d: DaemonUnderTest, tag: String) throws -> (samples: [Int16], seconds: Int?) {
        let cdr = try XCTUnwrap(d.record(tag: tag), "no record for \(tag)\n\(d.logText.suffix(2000))")
        let url = try XCTUnwrap((cdr["recording_url"] as? String).flatMap(URL.init(string:)), "\(cdr)")
        return (try WAVFile.read(path: url.path), cdr["recording_seconds"] as? Int)
    }

    /// Runs of zero samples at least `minimum` long, as (start, length).
    private func silentRuns(_ s: [Int16], minimum: Int) -> [(start: Int, length: Int)] {
        var runs: [(Int, Int)] = []
        var i = 0
        while i < s.count {
            guard s[i] == 0 else { i += 1; continue }
            let start = i
            while i < s.count && s[i] == 0 { i += 1 }
            if i - start >= minimum { runs.append((start, i - start)) }
        }
        return runs
    }

    func testLostPacketsAndAPauseKeepTheRecordingsLengthAndPlace() throws {
        let d = try dialDaemon(flows: ["gaps.xml": Self.flow], numbers: ["+1-208-279-2555": "gaps.xml"])
        defer { d.stop() }
        // 5.5 s of tone, every tenth packet lost and nothing for a second (frames 75..<125).
        let peer = RTPPeer()
        defer { peer.stop() }
        let talked = try XCTUnwrap(d.callWhileTalking("uac_daemon_bye.xml", dial: "2082792555", tag: "gaprec-lossy", peer: peer) {
            peer.send(samples: Tone.samples(440, seconds: 5.5), toPort: $0) { $0 % 10 == 9 || (75..<125).contains($0) }
        }, "the call got RTP\n\(d.logText.suffix(2000))")
        XCTAssertEqual(talked.status, 0, talked.output.suffix(1200).description)
        let lossy = try recording(d, tag: "gaprec-lossy")
        // Before: only what arrived (about 3.1 s of the 4), reported as 3 s.
        XCTAssertEqual(Double(lossy.samples.count) / 8000, 4, accuracy: 0.04, "the WAV lasts the 4 s recorded")
        XCTAssertEqual(lossy.seconds, 4)
        let runs = silentRuns(lossy.samples, minimum: 100)
        let pause = try XCTUnwrap(runs.max { $0.length < $1.length }, "no silence in \(runs)")
        XCTAssertEqual(Double(pause.length) / 8000, 1.0, accuracy: 0.03, "the pause is a second of silence: \(runs)")
        let lost = runs.filter { (150...170).contains($0.length) }
        XCTAssertGreaterThanOrEqual(lost.count, 10, "each lost packet is 20 ms of silence in its place: \(runs)")
        XCTAssertGreaterThan(Tone.purity(lossy.samples, frequency: 440), 0.5, "the caller's tone around the holes")
    }

    /// A caller who sends nothing: 4 s of silence, not an empty file.
    func testACallerWhoSendsNothingGivesSilenceOfTheRecordedLength() throws {
        let d = try dialDaemon(flows: ["gaps.xml": Self.flow], numbers: ["+1-208-279-2555": "gaps.xml"])
        defer { d.stop() }
        let quiet = RTPPeer()
        defer { quiet.stop() }
        let silent = try XCTUnwrap(d.callWhileTalking("uac_daemon_bye.xml", dial: "2082792555", tag: "gaprec-mute", peer: quiet) { _ in },
                                   "the call got RTP")
        XCTAssertEqual(silent.status, 0, silent.output.suffix(1200).description)
        // Read from the recordings directory: whether the flow reports a silent recording
        // (Twilio: "recording is silent") is not the file's business.
        let dir = d.dataDir.appendingPathComponent("recordings/backup-general-001").path
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".wav") }
        XCTAssertEqual(files.count, 1, "\(files)")
        let mute = try WAVFile.read(path: dir + "/" + XCTUnwrap(files.first))
        XCTAssertEqual(Double(mute.count) / 8000, 4, accuracy: 0.04, "before: 0 s")
        XCTAssertTrue(mute.allSatisfy { $0 == 0 })
    }
}
