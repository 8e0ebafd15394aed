import Compliance
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Sealing at rest (AES-256-GCM), key files, the hash-chained audit log, retention.
final class ComplianceTests: XCTestCase {
    private var dir: String!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-compliance-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func testSHA256KnownAnswer() {
        XCTAssertEqual(Crypto.hex(Crypto.sha256(Array("abc".utf8))),
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    func testAESGCMKnownAnswer() throws {
        // NIST GCM test vector (AES-256, 96-bit IV, empty AAD): key/IV/PT -> CT/tag.
        let key = [UInt8](repeating: 0, count: 32), nonce = [UInt8](repeating: 0, count: 12)
        let (ct, tag) = try Crypto.seal([UInt8](repeating: 0, count: 16), key: key, nonce: nonce, aad: [])
        XCTAssertEqual(Crypto.hex(ct), "cea7403d4d606b6e074ec5d3baf39d18")
        XCTAssertEqual(Crypto.hex(tag), "d0d1c8a799996bf0265b98b5d48ab919")
    }

    func testSealedFilesOpenWithTheirKeyAndRefuseTampering() throws {
        let key = RecordingKey(bytes: try Crypto.randomBytes(32))
        let other = RecordingKey(bytes: try Crypto.randomBytes(32))
        let wav = Array("RIFF....WAVEfmt sample audio".utf8)
        let a = try SealedFile.seal(wav, key: key)
        let b = try SealedFile.seal(wav, key: key)
        XCTAssertNotEqual(a, b, "a fresh nonce per file")
        XCTAssertNil(a.firstRange(of: Array("sample audio".utf8)), "no plaintext in the sealed bytes")
        XCTAssertEqual(SealedFile.keyID(a), key.id)
        XCTAssertEqual(try SealedFile.open(a, keys: [other, key]), wav, "the key named in the header is used (rotation)")
        XCTAssertThrowsError(try SealedFile.open(a, keys: [other]))
        var flipped = a
        flipped[flipped.count - 20] ^= 1
        XCTAssertThrowsError(try SealedFile.open(flipped, keys: [key]), "an edited ciphertext fails authentication")
        var header = a
        header[20] ^= 1
        XCTAssertThrowsError(try SealedFile.open(header, keys: [key]), "the header (nonce) is authenticated")
    }

    func testKeyFilesMustBePrivate() throws {
        let path = dir + "/k.key"
        let key = try RecordingKey.generate(path: path)
        XCTAssertEqual(try RecordingKey.load(path: path), key)
        var st = stat()
        stat(path, &st)
        XCTAssertEqual(st.st_mode & 0o777, 0o400)
        XCTAssertThrowsError(try RecordingKey.generate(path: path), "never overwrites a key")
        chmod(path, 0o644)
        XCTAssertThrowsError(try RecordingKey.load(path: path)) { XCTAssertTrue("\($0)".contains("chmod 0400"), "\($0)") }
        let bad = dir + "/bad.key"
        FileManager.default.createFile(atPath: bad, contents: Data("short".utf8), attributes: [.posixPermissions: 0o600])
        XCTAssertThrowsError(try RecordingKey.load(path: bad))
    }

    func testAuditChainDetectsEditsDeletionsAndInsertions() throws {
        let path = dir + "/audit.log"
        let key = RecordingKey(bytes: try Crypto.randomBytes(32))
        let log = try AuditLog(path: path, key: key)
        for i in 1...4 { try log.record(actor: "test", action: "recording.created", subject: "RE\(i)") }
        // A second writer (another process) continues the same chain.
        try AuditLog(path: path, key: key).record(actor: "cli", action: "records.exported", subject: "data")
        XCTAssertEqual(AuditLog.verify(path: path, keys: [key]), .intact(entries: 5))
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)

        func check(_ altered: [String], _ expectedLine: Int, file: StaticString = #filePath, line: UInt = #line) throws {
            let p = dir + "/altered.log"
            try (altered.joined(separator: "\n") + "\n").write(toFile: p, atomically: true, encoding: .utf8)
            guard case .broken(let l, _) = AuditLog.verify(path: p, keys: [key]) else { return XCTFail("not detected", file: file, line: line) }
            XCTAssertEqual(l, expectedLine, file: file, line: line)
        }
        var edited = lines
        edited[2] = edited[2].replacingOccurrences(of: "RE3", with: "RE9")
        try check(edited, 3)
        var deleted = lines
        deleted.remove(at: 1)
        try check(deleted, 2)
        var inserted = lines
        inserted.insert(lines[1], at: 2)
        try check(inserted, 3)
    }

    func testRetentionPurgesOnlyWhatIsPastItsTenantsPeriod() throws {
        let data = dir + "/data"
        let fm = FileManager.default
        func file(_ tenant: String, _ name: String, yearsAgo: Double) throws {
            let d = "\(data)/recordings/\(tenant)"
            try fm.createDirectory(atPath: d, withIntermediateDirectories: true)
            let p = "\(d)/\(name)"
            fm.createFile(atPath: p, contents: Data(repeating: 1, count: 100))
            try fm.setAttributes([.modificationDate: Date().addingTimeInterval(-yearsAgo * 365.25 * 86_400)], ofItemAtPath: p)
        }
        try file("health", "old.wav.enc", yearsAgo: 7.2)
        try file("health", "old.wav.txt.enc", yearsAgo: 7.2)
        try file("health", "recent.wav.enc", yearsAgo: 6.5)
        try file("fleet", "old.wav", yearsAgo: 2.5)
        try file("fleet", "recent.wav", yearsAgo: 1)
        try file("unknown", "x.wav", yearsAgo: 50)
        let key = RecordingKey(bytes: try Crypto.randomBytes(32))
        let audit = try AuditLog(path: dir + "/audit.log", key: key)
        let dry = try Retention.run(dataDirectory: data, years: ["health": 7, "fleet": 2], now: Date(), audit: audit, dryRun: true)
        XCTAssertEqual(dry.purged, 3)
        XCTAssertTrue(fm.fileExists(atPath: "\(data)/recordings/fleet/old.wav"), "a dry run deletes nothing")
        let r = try Retention.run(dataDirectory: data, years: ["health": 7, "fleet": 2], now: Date(), audit: audit)
        XCTAssertEqual(r.purged, 3)
        XCTAssertEqual(r.kept, 3)
        XCTAssertEqual(Set(try fm.contentsOfDirectory(atPath: "\(data)/recordings/health")), ["recent.wav.enc"])
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: "\(data)/recordings/fleet"), ["recent.wav"])
        XCTAssertTrue(fm.fileExists(atPath: "\(data)/recordings/unknown/x.wav"), "tenants without a period keep everything")
        XCTAssertEqual(AuditLog.verify(path: dir + "/audit.log", keys: [key]), .intact(entries: 3))
    }
}
