import Foundation
import Media
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Healthcare recordings sealed at rest, authorised decryption, the audit trail, key file
/// permissions and retention, through the real daemon and command line.
final class ComplianceEndToEndTests: XCTestCase {
    func testHealthcareRecordingsAreSealedAndDecryptOnlyThroughTheAuditedCommand() throws {
        let d = try dialDaemon(flows: ["rec.xml": #"<Response><Record maxLength="2" timeout="5" playBeep="false" transcribe="true"/></Response>"#],
                               numbers: ["+1-800-596-3057": "rec.xml", "+1-208-279-2555": "rec.xml"])
        defer { d.stop() }
        for (dial, tag) in [("8005963057", "seal-health"), ("2082792555", "seal-general")] {
            let peer = RTPPeer()
            defer { peer.stop() }
            let result = try XCTUnwrap(d.callWhileTalking("uac_daemon_bye.xml", dial: dial, tag: tag, peer: peer) { port in
                peer.send(samples: Tone.samples(440, seconds: 2.5), toPort: port)
            }, "call \(tag) got RTP")
            XCTAssertEqual(result.status, 0, result.output.suffix(1200).description)
        }
        XCTAssertTrue(d.waitForLog("call.transcribed", timeout: 60), "the sealed recording was transcribed in memory")
        d.stop()
        let data = d.dataDir.path
        let health = try FileManager.default.contentsOfDirectory(atPath: data + "/recordings/healthcare-client-001")
        XCTAssertEqual(health.filter { $0.hasSuffix(".wav.enc") }.count, 1, "\(health)")
        XCTAssertFalse(health.contains { $0.hasSuffix(".wav") || $0.hasSuffix(".txt") || $0.contains(".tmp") },
                       "no plaintext recording, transcript or temporary file for healthcare: \(health)")
        XCTAssertTrue(health.contains { $0.hasSuffix(".txt.enc") }, "the transcript is sealed too: \(health)")
        let general = try FileManager.default.contentsOfDirectory(atPath: data + "/recordings/backup-general-001")
        XCTAssertEqual(general.filter { $0.hasSuffix(".wav") }.count, 1, "general business recordings are not sealed: \(general)")

        let sealedName = try XCTUnwrap(health.first { $0.hasSuffix(".wav.enc") })
        let sid = String(sealedName.split(separator: "-").last!.dropLast(".wav.enc".count))
        let out = d.dataDir.deletingLastPathComponent().appendingPathComponent("decrypted.wav").path
        let dec = runProgram(Paths.daemon, ["recording", "decrypt", sid, "--out", out, "--config", d.configPath.path, "--data", data])
        XCTAssertEqual(dec.status, 0, dec.output)
        let samples = try WAVFile.read(path: out)
        XCTAssertGreaterThan(samples.count, 8000, "about 2 s of the caller's audio")
        XCTAssertGreaterThan(Tone.purity(samples, frequency: 440), 0.5)
        var st = stat()
        stat(out, &st)
        XCTAssertEqual(st.st_mode & 0o777, 0o600, "the plaintext export is private to its owner")
        // An existing file is never overwritten (it would keep its mode, e.g. 0644).
        let existing = d.dataDir.deletingLastPathComponent().appendingPathComponent("existing.wav").path
        _ = FileManager.default.createFile(atPath: existing, contents: Data("old".utf8), attributes: [.posixPermissions: 0o644])
        let again = runProgram(Paths.daemon, ["recording", "decrypt", sid, "--out", existing, "--config", d.configPath.path,
                                              "--data", data])
        XCTAssertEqual(again.status, 1, again.output)
        XCTAssertTrue(again.output.contains("\(existing) already exists; not overwriting it"), again.output)
        XCTAssertEqual(FileManager.default.contents(atPath: existing), Data("old".utf8))

        let verify = runProgram(Paths.daemon, ["audit", "verify", "--config", d.configPath.path, "--data", data])
        XCTAssertEqual(verify.status, 0, verify.output)
        let log = try String(contentsOfFile: data + "/audit.log", encoding: .utf8)
        for action in ["daemon.started", "recording.created", "recording.decrypted"] {
            XCTAssertTrue(log.contains("\"action\":\"\(action)\""), "audit has \(action)")
        }
        XCTAssertEqual(log.components(separatedBy: "\"action\":\"recording.decrypted\"").count - 1, 1,
                       "the decryption is audited once; the refused one wrote nothing")
        XCTAssertTrue(log.contains("\"detail\":\"to \(out)\""), "the audit names the plaintext file")
        // An edited entry is detected.
        try log.replacingOccurrences(of: "recording.decrypted", with: "recording.viewed").write(toFile: data + "/audit.log", atomically: true, encoding: .utf8)
        let tampered = runProgram(Paths.daemon, ["audit", "verify", "--config", d.configPath.path, "--data", data])
        XCTAssertEqual(tampered.status, 1)
        XCTAssertTrue(tampered.output.contains("edited"), tampered.output)
    }

    /// A cluster's recordings: a node with its records in PostgreSQL writes into a shared
    /// `recordings_dir` (outside its data directory) under file names carrying its node id,
    /// healthcare ones sealed; another node's config (other data directory, same database,
    /// directory and key) decrypts a recording by its call's SIP Call-ID, found from the
    /// record in PostgreSQL.
    func testClusterRecordingsGoToTheSharedDirectoryAndDecryptFromThePostgresRecord() throws {
        let pg = try PostgresServer()
        defer { pg.destroy() }
        let shared = FileManager.default.temporaryDirectory.appendingPathComponent("tf-shared-rec-\(getpid())")
        try? FileManager.default.removeItem(at: shared)
        try FileManager.default.createDirectory(at: shared, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: shared) }
        let key = shared.appendingPathComponent("recording.key").path
        XCTAssertEqual(runProgram(Paths.daemon, ["keygen", "--out", key]).status, 0)
        let recordings = shared.appendingPathComponent("recordings").path
        let d = try dialDaemon(flows: ["rec.xml": #"<Response><Record maxLength="2" timeout="5" playBeep="false"/></Response>"#],
                               numbers: ["+1-800-596-3057": "rec.xml"]) { cfg in
            cfg["storage"] = ["kind": "postgres", "url": pg.url]
            cfg["node"] = ["id": "rec-node-1", "lease_grace_s": 5]
            cfg["recordings_dir"] = recordings
            cfg["compliance"] = ["key_file": key]
        }
        defer { d.stop() }
        let peer = RTPPeer()
        defer { peer.stop() }
        let result = try XCTUnwrap(d.callWhileTalking("uac_daemon_bye.xml", dial: "8005963057", tag: "shared-rec", peer: peer) { port in
            peer.send(samples: Tone.samples(440, seconds: 2.5), toPort: port)
        }, "the call got RTP")
        XCTAssertEqual(result.status, 0, result.output.suffix(1200).description)
        XCTAssertEqual(d.stop(), 0)

        let files = try FileManager.default.contentsOfDirectory(atPath: recordings + "/healthcare-client-001")
        XCTAssertEqual(files.count, 1, "\(files)")
        let name = try XCTUnwrap(files.first)
        XCTAssertTrue(name.hasPrefix("rec-node-1-CA") && name.hasSuffix(".wav.enc"), "node id, call id, sid; sealed: \(name)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: d.dataDir.path + "/recordings"), "nothing under the data directory")
        let row = try pg.psql("SELECT sip_call_id, node, recording_url FROM calls WHERE sip_call_id LIKE 'shared-rec-%'")
        let fields = row.split(separator: "|").map(String.init)
        XCTAssertEqual(fields.count, 3, row)
        XCTAssertEqual(fields[1], "rec-node-1")
        XCTAssertTrue(fields[2].hasSuffix("/healthcare-client-001/" + name), "the record names the file: \(row)")

        // Another node: its own data directory and id, the same database, directory and key.
        let other = shared.appendingPathComponent("node2")
        try FileManager.default.createDirectory(at: other.appendingPathComponent("data"), withIntermediateDirectories: true)
        var cfg = try JSONSerialization.jsonObject(with: Data(contentsOf: d.configPath)) as! [String: Any]
        cfg["data_dir"] = other.appendingPathComponent("data").path
        cfg["node"] = ["id": "rec-node-2", "lease_grace_s": 5]
        let otherConfig = other.appendingPathComponent("tollfreed.json").path
        try JSONSerialization.data(withJSONObject: cfg).write(to: URL(fileURLWithPath: otherConfig))
        let out = other.appendingPathComponent("decrypted.wav").path
        let dec = runProgram(Paths.daemon, ["recording", "decrypt", fields[0], "--out", out, "--config", otherConfig])
        XCTAssertEqual(dec.status, 0, dec.output)
        XCTAssertTrue(dec.output.contains(name), dec.output)
        let samples = try WAVFile.read(path: out)
        XCTAssertGreaterThan(samples.count, 8000, "about 2 s of the caller's audio")
        XCTAssertGreaterThan(Tone.purity(samples, frequency: 440), 0.5)
        let audit = try String(contentsOfFile: other.appendingPathComponent("data/audit.log").path, encoding: .utf8)
        XCTAssertTrue(audit.contains("recording.decrypted"), "audited on the node that decrypted")
        // An id no record and no file names is refused.
        let none = runProgram(Paths.daemon, ["recording", "decrypt", "no-such-call@x", "--out", out + ".2", "--config", otherConfig])
        XCTAssertEqual(none.status, 1, none.output)
        XCTAssertTrue(none.output.contains("no sealed recording"), none.output)
    }

    func testAKeyFileOthersCanReadStopsTheStart() throws {
        let keyDir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-weak-key-\(getpid())")
        try? FileManager.default.createDirectory(at: keyDir, withIntermediateDirectories: true)
        let key = keyDir.appendingPathComponent("recording.key").path
        try? FileManager.default.removeItem(atPath: key)
        FileManager.default.createFile(atPath: key, contents: Data((String(repeating: "ab", count: 32) + "\n").utf8),
                                       attributes: [.posixPermissions: 0o644])
        XCTAssertThrowsError(try DaemonUnderTest(ringMs: 0) { cfg in cfg["compliance"] = ["key_file": key] }) { error in
            XCTAssertTrue("\(error)".contains("chmod 0400"), "\(error)")
        }
    }

    func testRetentionRunPurgesExpiredRecordingsAndKeepsRecords() throws {
        let d = try DaemonUnderTest(ringMs: 0)
        XCTAssertEqual(d.sipp("uac_caller_bye.xml", dial: "8005963057", tag: "kept-record").status, 0)
        d.stop()
        let dir = d.dataDir.path + "/recordings/fleet-client-001"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (name, years) in [("old.wav", 3.0), ("new.wav", 0.5)] {
            FileManager.default.createFile(atPath: dir + "/" + name, contents: Data(repeating: 0, count: 64))
            try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-years * 365.25 * 86_400)],
                                                  ofItemAtPath: dir + "/" + name)
        }
        let r = runProgram(Paths.daemon, ["retention", "run", "--config", d.configPath.path, "--data", d.dataDir.path])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("purged 1"), r.output)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["new.wav"], "fleet keeps 2 years")
        XCTAssertNotNil(d.record(tag: "kept-record"), "records are never purged")
        let log = try String(contentsOfFile: d.dataDir.path + "/audit.log", encoding: .utf8)
        XCTAssertTrue(log.contains("recording.purged") && log.contains("retention.run"))
        XCTAssertEqual(runProgram(Paths.daemon, ["audit", "verify", "--data", d.dataDir.path, "--config", d.configPath.path]).status, 0)
    }

    func testDeletingTheLastAuditEntriesIsReported() throws {
        let d = try DaemonUnderTest(ringMs: 0)
        d.stop()
        let data = d.dataDir.path
        func verify() -> (status: Int32, output: String) {
            runProgram(Paths.daemon, ["audit", "verify", "--config", d.configPath.path, "--data", data])
        }
        func export() {
            XCTAssertEqual(runProgram(Paths.daemon, ["cdr", "export", "--config", d.configPath.path, "--data", data]).status, 0)
        }
        export()  // a command-line append keeps the anchor too
        let intact = verify()
        XCTAssertEqual(intact.status, 0, intact.output)
        XCTAssertTrue(intact.output.contains("intact (3 entries, anchored)"), intact.output)
        let lines = try String(contentsOfFile: data + "/audit.log", encoding: .utf8).split(separator: "\n")
        try (lines.dropLast().joined(separator: "\n") + "\n").write(toFile: data + "/audit.log", atomically: false, encoding: .utf8)
        let cut = verify()
        XCTAssertEqual(cut.status, 1, cut.output)
        XCTAssertTrue(cut.output.contains("audit.log:3: the log ends after 2 entries but its anchor counts 3: "
                                          + "the last entry was deleted"), cut.output)
        // A log from before anchors (or whose anchor is gone): a warning until the next append.
        try FileManager.default.removeItem(atPath: data + "/audit.log.anchor")
        let unanchored = verify()
        XCTAssertEqual(unanchored.status, 0, unanchored.output)
        XCTAssertTrue(unanchored.output.contains("warning: no anchor"), unanchored.output)
        export()
        XCTAssertTrue(verify().output.contains("intact (3 entries, anchored)"))
    }
}
