import Foundation
@testable import CallControl
@testable import Commands
@testable import Configuration
@testable import Daemon
import XCTest

/// The `storage` and `node` sections.
final class StorageConfigTests: XCTestCase {
    private func parse(_ extra: [String: Any]) throws(ConfigError) -> DaemonConfig {
        var object: [String: Any] = [
            "data_dir": "/var/lib/tf",
            "tenants": [["id": "t1"]],
            "numbers": [["did": "8005963057", "tenant": "t1", "flow": "f.xml"]],
        ]
        object.merge(extra) { $1 }
        let data = try! JSONSerialization.data(withJSONObject: object)
        return try ConfigLoader.parse(data, source: "test.json", baseDirectory: "/etc/tollfreed")
    }

    private func error(_ extra: [String: Any]) -> String {
        do { _ = try parse(extra); return "no error" } catch { return error.description }
    }

    func testDefaultsAreSQLiteAndTheHostName() throws {
        let c = try parse([:])
        XCTAssertEqual(c.storage, .sqlite)
        XCTAssertFalse(c.nodeID.isEmpty)
        XCTAssertEqual(c.leaseGraceSeconds, 30)
    }

    func testPostgres() throws {
        let c = try parse(["storage": ["kind": "postgres", "url": "postgresql://tf@db.example:5433/records"],
                           "node": ["id": "sbc-east-1", "lease_grace_s": 45]])
        XCTAssertEqual(c.storage, .postgres(url: "postgresql://tf@db.example:5433/records", spoolDirectory: nil, spoolMaxBytes: 64 << 20))
        XCTAssertEqual(c.effectiveSpoolDirectory, "/var/lib/tf/record-spool")
        XCTAssertEqual(c.nodeID, "sbc-east-1")
        XCTAssertEqual(c.leaseGraceSeconds, 45)
        let d = try parse(["storage": ["kind": "postgres", "url": "postgres://tf@db/records", "spool_dir": "spool", "spool_max_bytes": 4096]])
        XCTAssertEqual(d.storage, .postgres(url: "postgres://tf@db/records", spoolDirectory: "/etc/tollfreed/spool", spoolMaxBytes: 4096))
        XCTAssertEqual(d.effectiveSpoolDirectory, "/etc/tollfreed/spool")
        XCTAssertEqual(try parse(["storage": ["kind": "sqlite"]]).storage, .sqlite)
    }

    func testErrorsNameTheKey() {
        XCTAssertTrue(error(["storage": ["kind": "mysql"]]).contains("test.json: storage.kind: must be \"sqlite\" or \"postgres\", got 'mysql'"))
        XCTAssertTrue(error(["storage": ["kind": "postgres"]]).contains("storage.url: is required"))
        XCTAssertTrue(error(["storage": ["kind": "postgres", "url": "http://db/x"]]).contains("storage.url: must be a postgresql:// URL"))
        XCTAssertTrue(error(["storage": ["kind": "postgres", "url": "postgresql://:secret@db/x?bogus=1"]]).contains("storage.url: invalid URI query parameter"),
                      error(["storage": ["kind": "postgres", "url": "postgresql://:secret@db/x?bogus=1"]]))
        XCTAssertFalse(error(["storage": ["kind": "postgres", "url": "mysql://u:secret@db/x"]]).contains("secret"), "passwords stay out of messages")
        XCTAssertTrue(error(["storage": ["kind": "postgres", "url": "postgresql://db/x", "spool_max_bytes": 10]]).contains("storage.spool_max_bytes: must be an integer in 1024..."))
        XCTAssertTrue(error(["storage": ["kind": "sqlite", "url": "postgresql://db/x"]]).contains("storage.url: only applies to kind \"postgres\""))
        XCTAssertTrue(error(["storage": ["kind": "postgres", "url": "postgresql://db/x", "pool": 3]]).contains("storage.pool: unknown key"))
        XCTAssertTrue(error(["node": ["id": "bad id!"]]).contains("node.id: must be at most 64 letters"))
        XCTAssertTrue(error(["node": ["lease_grace_s": -1]]).contains("node.lease_grace_s: must be an integer in 0...86400"))
    }

    func testStorageAndNodeNeedARestart() throws {
        let a = try parse([:])
        let b = try parse(["storage": ["kind": "postgres", "url": "postgresql://db/x"], "node": ["id": "n2"]])
        XCTAssertEqual(a.restartOnlyChanges(to: b), ["storage", "node"])
    }
}
