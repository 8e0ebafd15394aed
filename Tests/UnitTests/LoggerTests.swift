import Foundation
import Observability
import XCTest

final class LoggerTests: XCTestCase {
    private func logger(_ level: LogLevel = .info, journald: Bool = false) -> (Logger, MemorySink) {
        let sink = MemorySink()
        return (Logger(minimumLevel: level, journald: journald, sink: sink), sink)
    }

    /// Splits a plain (non-journald) line into timestamp, level and the rest.
    private func plainParts(_ line: String, file: StaticString = #filePath, lineNo: UInt = #line) -> (String, String, String)? {
        let parts = line.split(separator: " ", maxSplits: 2).map(String.init)
        guard parts.count == 3 else { XCTFail("bad line '\(line)'", file: file, line: lineNo); return nil }
        return (parts[0], parts[1], parts[2])
    }

    func testKeyValueFormatting() throws {
        let (log, sink) = logger()
        log.info("call.start", ["call": "c-1", "did": "+18005963057", "n": 3])
        XCTAssertEqual(sink.lines.count, 1)
        let (ts, level, rest) = try XCTUnwrap(plainParts(sink.lines[0]))
        XCTAssertEqual(level, "info")
        XCTAssertEqual(rest, "call.start call=c-1 did=+18005963057 n=3")
        XCTAssertNotNil(ts.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"#, options: .regularExpression),
                        "timestamp '\(ts)' is not ISO-8601 UTC with milliseconds")
    }

    func testEventWithoutFields() throws {
        let (log, sink) = logger()
        log.notice("daemon.ready")
        XCTAssertEqual(try XCTUnwrap(plainParts(sink.lines[0])).2, "daemon.ready")
        XCTAssertEqual(try XCTUnwrap(plainParts(sink.lines[0])).1, "notice")
    }

    func testQuotingAndEscaping() {
        let (log, sink) = logger(journald: true)
        log.info("e", ["space": "a b", "quote": "say \"hi\"", "eq": "k=v", "empty": "", "nl": "one\ntwo",
                       "tab": "a\tb", "slash": "c:\\dir", "slashspace": "c:\\my dir"])
        XCTAssertEqual(sink.lines, [
            #"<6>e space="a b" quote="say \"hi\"" eq="k=v" empty="" nl="one\ntwo" tab="a\tb" slash="c:\\dir" slashspace="c:\\my dir""#,
        ])
    }

    func testQuoteHelper() {
        XCTAssertEqual(Logger.quote("plain"), "plain")
        XCTAssertEqual(Logger.quote(""), "\"\"")
        XCTAssertEqual(Logger.quote("a b"), "\"a b\"")
        XCTAssertEqual(Logger.quote("\""), "\"\\\"\"")
        XCTAssertEqual(Logger.quote("a\r\nb"), "\"a\\r\\nb\"", "CR and LF are escaped: no forged lines")
        XCTAssertEqual(Logger.quote("a\rb"), "\"a\\rb\"")
    }

    /// Header and SDP values from callers reach the log: terminal escapes, NUL and forged
    /// line breaks are escaped, and a 60,000-character value is cut.
    func testHostileValuesAreEscapedAndCapped() {
        XCTAssertEqual(Logger.quote("\u{1B}[31mred\u{0}"), "\"\\x1B[31mred\\x00\"")
        XCTAssertEqual(Logger.quote("a\u{85}b\u{2028}"), "\"a\\x85b\\u{2028}\"")
        let huge = String(repeating: "A", count: 60_000)
        let q = Logger.quote(huge)
        XCTAssertEqual(q, String(repeating: "A", count: Logger.maxValueLength) + "...(+\(60_000 - Logger.maxValueLength) chars)")
        let (log, sink) = logger(journald: true)
        log.info("sip.header", ["value": "x\r\n<3>forged line"])
        XCTAssertEqual(sink.lines.count, 1)
        XCTAssertFalse(sink.lines[0].contains("\n"))
        XCTAssertFalse(sink.lines[0].contains("\r"))
    }

    func testWithAddsFieldsWithoutChangingTheOriginal() {
        let (log, sink) = logger(journald: true)
        let callLog = log.with(["call": "c-7", "tenant": "fleet client"])
        callLog.warning("media.late", ["ms": 25])
        log.warning("plain")
        callLog.with(["leg": 2]).error("x")
        XCTAssertEqual(sink.lines, [
            "<4>media.late call=c-7 tenant=\"fleet client\" ms=25",
            "<4>plain",
            "<3>x call=c-7 tenant=\"fleet client\" leg=2",
        ])
    }

    func testLevelsBelowTheMinimumAreDropped() {
        let (log, sink) = logger(.warning, journald: true)
        log.debug("d")
        log.info("i")
        log.notice("n")
        log.warning("w")
        log.error("e")
        log.log(.info, "i2")
        XCTAssertEqual(sink.lines, ["<4>w", "<3>e"])
        XCTAssertTrue(log.isEnabled(.error))
        XCTAssertTrue(log.isEnabled(.warning))
        XCTAssertFalse(log.isEnabled(.notice))
        XCTAssertFalse(log.isEnabled(.debug))
    }

    func testDebugLevelLetsEverythingThrough() {
        let (log, sink) = logger(.debug, journald: true)
        log.debug("d")
        log.info("i")
        log.error("e")
        XCTAssertEqual(sink.lines, ["<7>d", "<6>i", "<3>e"])
    }

    func testJournaldPrefixes() {
        let (log, sink) = logger(.debug, journald: true)
        log.info("call.start", ["did": "+18005963057"])
        log.error("sip.bind_failed", ["port": 5060])
        log.notice("n")
        XCTAssertEqual(sink.lines, ["<6>call.start did=+18005963057", "<3>sip.bind_failed port=5060", "<5>n"])
    }

    func testLevelOrderingAndNames() {
        XCTAssertTrue(LogLevel.debug < .info)
        XCTAssertTrue(LogLevel.info < .notice)
        XCTAssertTrue(LogLevel.warning < .error)
        XCTAssertEqual([LogLevel.error, .debug, .info].max(), .error)
        XCTAssertEqual(LogLevel(name: "WARN"), .warning)
        XCTAssertEqual(LogLevel(name: "warning"), .warning)
        XCTAssertEqual(LogLevel(name: "Debug"), .debug)
        XCTAssertNil(LogLevel(name: "verbose"))
        XCTAssertEqual(LogLevel.error.description, "error")
        XCTAssertEqual(LogLevel.error.rawValue, 3)
        XCTAssertEqual(LogLevel.info.rawValue, 6)
    }

    func testMemorySinkIsSafeUnderConcurrency() {
        let (log, sink) = logger()
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            for j in 0..<100 { log.info("e", ["i": i, "j": j]) }
        }
        XCTAssertEqual(sink.lines.count, 800)
        XCTAssertEqual(Set(sink.lines.map { $0.split(separator: " ", maxSplits: 2)[2] }).count, 800)
    }
}
