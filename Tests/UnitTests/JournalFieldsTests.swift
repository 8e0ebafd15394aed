import Foundation
import Observability
import XCTest

/// The journal's side of the logger, without a socket: field names, the `JOURNAL_STREAM`
/// rule, the entry built for an event and its bytes.
final class JournalFieldsTests: XCTestCase {
    func testCallLegAndTenantHaveFixedNames() {
        XCTAssertEqual(JournalFields.name(forKey: "call"), "CALL_ID")
        XCTAssertEqual(JournalFields.name(forKey: "leg"), "LEG_ID")
        XCTAssertEqual(JournalFields.name(forKey: "tenant"), "TENANT")
    }

    func testOtherKeysAreUpperCasedWithUnderscores() {
        XCTAssertEqual(JournalFields.name(forKey: "sip_call_id"), "SIP_CALL_ID")
        XCTAssertEqual(JournalFields.name(forKey: "duration_ms"), "DURATION_MS")
        XCTAssertEqual(JournalFields.name(forKey: "rtp.port-2"), "RTP_PORT_2")
        XCTAssertEqual(JournalFields.name(forKey: "Max S"), "MAX_S")
        XCTAssertEqual(JournalFields.name(forKey: "caf\u{E9}x"), "CAF_X", "one `_` per non-ASCII character")
        XCTAssertEqual(JournalFields.name(forKey: "a=b\nc"), "A_B_C")
    }

    /// Keys that would forge or shadow journald's own fields, or the ones this mapping
    /// gives `call`, `leg` and `tenant`, are moved under `TF_`.
    func testReservedAndInvalidNamesAreRenamed() {
        for key in ["message", "MESSAGE_ID", "priority", "code_file", "code_line", "code_func", "errno",
                    "syslog_identifier", "syslog_facility", "syslog_pid", "invocation_id", "object_pid",
                    "call_id", "leg_id", "TENANT", "tollfreed_event"] {
            XCTAssertEqual(JournalFields.name(forKey: key), "TF_" + key.uppercased(), key)
        }
        XCTAssertEqual(JournalFields.name(forKey: "_pid"), "TF__PID", "trusted fields start with _")
        XCTAssertEqual(JournalFields.name(forKey: "__cursor"), "TF___CURSOR")
        XCTAssertEqual(JournalFields.name(forKey: "2fa"), "TF_2FA", "a name may not start with a digit")
        XCTAssertEqual(JournalFields.name(forKey: ""), "TF_")
        XCTAssertEqual(JournalFields.name(forKey: "-x"), "TF__X")
        XCTAssertEqual(JournalFields.name(forKey: "messages"), "MESSAGES", "only the exact name is journald's")
    }

    func testNamesAreCutAtSixtyFourCharacters() {
        let long = String(repeating: "k", count: 100)
        XCTAssertEqual(JournalFields.name(forKey: long), String(repeating: "K", count: 64))
        XCTAssertEqual(JournalFields.name(forKey: String(repeating: "k", count: 64)), String(repeating: "K", count: 64))
        let renamed = JournalFields.name(forKey: "_" + String(repeating: "a", count: 70))
        XCTAssertEqual(renamed.count, 64)
        XCTAssertTrue(renamed.hasPrefix("TF__AAA"), renamed)
    }

    /// Every name the mapping makes is one journald accepts: `[A-Z0-9_]`, 1 to 64
    /// characters, not starting with `_` or a digit.
    func testEveryMappedNameIsAValidJournalField() {
        let keys = ["call", "x", "_", "9", "\u{1F600}", "a b", String(repeating: "_", count: 80), "syslog_x", "Ünïcode"]
        for key in keys {
            let name = JournalFields.name(forKey: key)
            XCTAssertTrue((1...64).contains(name.count), "\(key) -> \(name)")
            XCTAssertTrue(name.allSatisfy { ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }, name)
            XCTAssertFalse(name.hasPrefix("_") || name.first!.isNumber, name)
        }
    }

    func testJournalStreamRule() {
        XCTAssertTrue(JournalStream.matches("64769:123456", device: 64769, inode: 123456))
        XCTAssertFalse(JournalStream.matches("64769:123456", device: 64769, inode: 123457), "another inode")
        XCTAssertFalse(JournalStream.matches("64770:123456", device: 64769, inode: 123456), "another device")
        XCTAssertFalse(JournalStream.matches(nil, device: 0, inode: 0), "not under systemd")
        for bad in ["", ":", "64769", "64769:", ":123456", "0x1:2", "1:2:3", " 1:2", "-1:2"] {
            XCTAssertFalse(JournalStream.matches(bad, device: 1, inode: 2), bad)
        }
        XCTAssertTrue(JournalStream.matches("18446744073709551615:1", device: .max, inode: 1))
    }

    /// This test process's stderr is a pipe or a terminal, never the journal, whatever
    /// `JOURNAL_STREAM` it inherited; a logger made without a sink then writes plain lines.
    func testThisProcessStderrIsNotTheJournal() {
        var st = stat()
        XCTAssertEqual(fstat(2, &st), 0)
        let mine = "\(st.st_dev):\(st.st_ino)"
        XCTAssertTrue(JournalStream.matches(mine, device: UInt64(st.st_dev), inode: UInt64(st.st_ino)))
        XCTAssertFalse(JournalStream.matches("\(st.st_dev):\(st.st_ino + 1)", device: UInt64(st.st_dev), inode: UInt64(st.st_ino)))
        if ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != mine {
            XCTAssertFalse(JournalStream.standardErrorIsJournal())
            XCTAssertFalse(Logger(minimumLevel: .info).journald)
        }
    }

    func testEntryOfAnEvent() {
        let fields = JournalFields.entry(level: .notice, event: "call.end",
                                         message: "call.end call=CA1 tenant=\"fleet client\" sip_code=200",
                                         pairs: [("call", "CA1"), ("tenant", "fleet client"), ("sip_code", "200")])
        XCTAssertEqual(fields.map { "\($0.name)=\($0.value)" }, [
            "MESSAGE=call.end call=CA1 tenant=\"fleet client\" sip_code=200",
            "PRIORITY=5",
            "SYSLOG_IDENTIFIER=tollfreed",
            "TOLLFREED_EVENT=call.end",
            "CALL_ID=CA1",
            "TENANT=fleet client",
            "SIP_CODE=200",
        ])
    }

    /// Values are sent raw (the protocol carries their length): a newline or a quote stays
    /// as it is, and a huge value is cut as the terminal line cuts it.
    func testValuesAreRawButCapped() {
        let huge = String(repeating: "A", count: 60_000)
        let fields = JournalFields.entry(level: .info, event: "sip.header", message: "m",
                                         pairs: [("value", "x\r\n<3>forged \"line\""), ("big", huge), ("message", "spoof")])
        XCTAssertEqual(fields[4].name, "VALUE")
        XCTAssertEqual(fields[4].value, "x\r\n<3>forged \"line\"")
        XCTAssertEqual(fields[5].value, String(repeating: "A", count: Logger.maxValueLength) + "...(+\(60_000 - Logger.maxValueLength) chars)")
        XCTAssertEqual(fields[6].name, "TF_MESSAGE")
        XCTAssertEqual(fields.filter { $0.name == "MESSAGE" }.map(\.value), ["m"], "a key cannot add a second MESSAGE")
        XCTAssertEqual(Logger.capped("short \u{1B}"), "short \u{1B}")
        XCTAssertEqual(Logger.capped(String(repeating: "\u{E9}", count: 600)),
                       String(repeating: "\u{E9}", count: 512) + "...(+88 chars)", "cut by characters, not bytes")
    }

    func testEncodedBytesAndBoundaries() {
        let (bytes, ends) = JournalFields.encode([("MESSAGE", "a b"), ("PRIORITY", "6"), ("V", "x\ny"), ("E", "")])
        XCTAssertEqual(String(decoding: bytes, as: UTF8.self), "MESSAGE=a bPRIORITY=6V=x\nyE=")
        XCTAssertEqual(ends, [11, 21, 26, 28])
    }

    /// An entry journald refuses (here one with an empty field name, which sd_journal_sendv
    /// rejects before sending) is not lost: its line goes to the fallback with its priority.
    func testRefusedEntryFallsBackToTheLine() {
        let fallback = MemorySink()
        let sink = JournalSink(fallback: fallback)
        let taken = sink.send([(name: "", value: "x")], level: .warning, message: "media.late call=CA9 ms=25")
        XCTAssertFalse(taken)
        XCTAssertEqual(fallback.lines, ["<4>media.late call=CA9 ms=25"])
    }

    /// The native socket is used only where it exists: a missing path or a plain file is
    /// not journald's socket (libsystemd would drop lines sent to it without an error).
    func testJournalSocketCheck() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-journal-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertFalse(JournalSink.socketExists(at: dir.appendingPathComponent("missing").path))
        let file = dir.appendingPathComponent("file").path
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data()))
        XCTAssertFalse(JournalSink.socketExists(at: file), "a regular file")
        XCTAssertFalse(JournalSink.socketExists(at: dir.path), "a directory")
        XCTAssertEqual(JournalSink.socketPath, "/run/systemd/journal/socket")
    }

    /// With a sink, `journald: true` keeps writing `<N>` lines to it (no journal involved).
    func testExplicitSinkKeepsPrefixedLines() {
        let sink = MemorySink()
        Logger(minimumLevel: .info, journald: true, sink: sink).with(["call": "CA2"]).info("call.answered")
        XCTAssertEqual(sink.lines, ["<6>call.answered call=CA2"])
    }
}
