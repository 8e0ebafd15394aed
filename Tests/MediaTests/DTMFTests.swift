@testable import Media
import XCTest

final class RFC4733Tests: XCTestCase {
    func testParsesPayload() {
        let bytes: [UInt8] = [0x0B, 0x8A, 0x03, 0x20]
        let e = bytes.withUnsafeBytes { TelephoneEvent.parse($0) }
        XCTAssertEqual(e, TelephoneEvent(event: 11, end: true, volume: 10, duration: 800))
        XCTAssertEqual(e?.digit, "#")
        XCTAssertNil([UInt8](repeating: 0, count: 3).withUnsafeBytes { TelephoneEvent.parse($0) })
        // The reserved bit is not the end bit, and the volume keeps only 6 bits.
        XCTAssertEqual(([0x01, 0x7F, 0, 0] as [UInt8]).withUnsafeBytes { TelephoneEvent.parse($0) },
                       TelephoneEvent(event: 1, end: false, volume: 63, duration: 0))
        XCTAssertEqual(eventPayload(5, end: true, volume: 7, duration: 0x1234), [5, 0x87, 0x12, 0x34])
    }

    func testEventCodesMapToDigits() {
        let digits = (0...15).compactMap { TelephoneEvent.digit(UInt8($0)) }
        XCTAssertEqual(String(digits), "0123456789*#ABCD")
        XCTAssertNil(TelephoneEvent.digit(16)) // flash
        XCTAssertNil(TelephoneEvent.digit(255))
    }

    func testOneDigitPerEventDespiteRepeatedStartAndEnd() {
        let h = ProcessorHarness()
        var seq: UInt16 = 100
        let packets = keyPressPackets(5, ts: 8000, seq: &seq)
        XCTAssertEqual(packets.count, 9)
        for p in packets { XCTAssertEqual(h.feed(p), .telephoneEvent) }
        XCTAssertEqual(h.digitString, "5")
        XCTAssertEqual(h.digits.first?.1, .rfc4733)
    }

    func testSameDigitTwiceIsTwoEvents() {
        let h = ProcessorHarness()
        var seq: UInt16 = 0
        for p in keyPressPackets(1, ts: 1000, seq: &seq) + keyPressPackets(1, ts: 3000, seq: &seq)
            + keyPressPackets(11, ts: 5000, seq: &seq) { h.feed(p) }
        XCTAssertEqual(h.digitString, "11#")
    }

    func testLostStartStillReportsOnEnd() {
        let h = ProcessorHarness()
        for s in 0..<3 { h.feed(rtpPacket(pt: 101, seq: UInt16(s), ts: 640, payload: eventPayload(9, end: true, duration: 800))) }
        XCTAssertEqual(h.digitString, "9")
    }

    func testLateRepeatOfEarlierEventIsIgnored() {
        let h = ProcessorHarness()
        var seq: UInt16 = 0
        for p in keyPressPackets(2, ts: 10_000, seq: &seq) { h.feed(p) }
        for p in keyPressPackets(3, ts: 12_000, seq: &seq).prefix(2) { h.feed(p) }
        // A delayed end packet of the "2" event arrives after "3" started.
        h.feed(rtpPacket(pt: 101, seq: 3, ts: 10_000, payload: eventPayload(2, end: true, duration: 960)))
        XCTAssertEqual(h.digitString, "23")
    }

    func testLargeJumpBackIsANewStreamNotAStalePacket() {
        let h = ProcessorHarness()
        var seq: UInt16 = 0
        for p in keyPressPackets(1, ts: 900_000, seq: &seq) + keyPressPackets(2, ts: 100_000, seq: &seq) { h.feed(p) }
        XCTAssertEqual(h.digitString, "12")
    }

    func testTimestampWrapIsNotStale() {
        let h = ProcessorHarness()
        var seq: UInt16 = 0
        for p in keyPressPackets(4, ts: UInt32.max - 100, seq: &seq) + keyPressPackets(6, ts: 1500, seq: &seq) { h.feed(p) }
        XCTAssertEqual(h.digitString, "46")
    }

    func testLongEventSegmentsAreOneDigit() {
        let h = ProcessorHarness()
        h.feed(rtpPacket(pt: 101, seq: 1, ts: 1000, marker: true, payload: eventPayload(0, duration: 160)))
        h.feed(rtpPacket(pt: 101, seq: 2, ts: 1000, payload: eventPayload(0, duration: 0xFFFF)))
        // RFC 4733 2.5.1.3: the next segment starts at timestamp + 0xFFFF, no marker.
        h.feed(rtpPacket(pt: 101, seq: 3, ts: 1000 + 0xFFFF, payload: eventPayload(0, duration: 160)))
        h.feed(rtpPacket(pt: 101, seq: 4, ts: 1000 + 0xFFFF, payload: eventPayload(0, end: true, duration: 800)))
        XCTAssertEqual(h.digitString, "0")
    }

    func testNewSSRCStartsAfresh() {
        let h = ProcessorHarness()
        var seq: UInt16 = 0
        for p in keyPressPackets(7, ts: 5000, seq: &seq, ssrc: 1) { h.feed(p) }
        // Another stream (after a transfer) may reuse an older timestamp.
        for p in keyPressPackets(7, ts: 4000, seq: &seq, ssrc: 2) { h.feed(p) }
        XCTAssertEqual(h.digitString, "77")
    }

    func testNonDigitEventsAreCountedNotReported() {
        let h = ProcessorHarness()
        XCTAssertEqual(h.feed(rtpPacket(pt: 101, seq: 1, ts: 1, marker: true, payload: eventPayload(16, duration: 160))), .telephoneEvent)
        XCTAssertEqual(h.feed(rtpPacket(pt: 101, seq: 2, ts: 2, payload: [1, 2])), .telephoneEvent) // too short
        XCTAssertTrue(h.digits.isEmpty)
    }

    func testSourceAndPayloadTypeChecks() {
        let h = ProcessorHarness(telephoneEvent: 96)
        var seq: UInt16 = 0
        let press = keyPressPackets(5, ts: 100, seq: &seq, pt: 96)
        let stranger = UDPEndpoint(host: "127.0.0.1", port: 40_002)!
        XCTAssertEqual(h.feed(press[0], from: stranger), .dropped)
        XCTAssertEqual(h.feed([0x00, 0x01, 0x02]), .malformed)
        XCTAssertEqual(h.feed(rtpPacket(pt: 101, seq: 9, ts: 9, payload: eventPayload(3, duration: 1))), .other)
        XCTAssertEqual(h.feed(rtpPacket(pt: 13, seq: 9, ts: 9, payload: [0x40])), .other) // comfort noise
        XCTAssertEqual(h.feed(rtpPacket(pt: 0, seq: 9, ts: 9, payload: [UInt8](repeating: 0xFF, count: 160))), .audio)
        XCTAssertTrue(h.digits.isEmpty)
        for p in press { h.feed(p) }
        XCTAssertEqual(h.digitString, "5")

        // Before offer/answer there is no peer: everything is dropped.
        var bare = PacketProcessor()
        let scratch = UnsafeMutableBufferPointer<Int16>.allocate(capacity: 2048)
        defer { scratch.deallocate() }
        let kind = press[0].withUnsafeBytes {
            bare.process($0, from: testPeer, now: 0, scratch: scratch) { _, _ in XCTFail("no digit expected") }
        }
        XCTAssertEqual(kind, .dropped)
    }
}

final class InbandDTMFTests: XCTestCase {
    func testDetectsGeneratedDigits() {
        XCTAssertEqual(InbandDTMFDetector().detect(Tones.dtmfSamples("159#")), "159#")
        XCTAssertEqual(InbandDTMFDetector().detect(Tones.dtmfSamples("0123456789*#ABCD")), "0123456789*#ABCD")
        XCTAssertEqual(InbandDTMFDetector().detect(Tones.dtmfSamples("55w5")), "555")
    }

    func testIgnoresBeepSpeechLikeToneAndSilence() {
        let d = InbandDTMFDetector()
        XCTAssertEqual(d.detect(Tones.beepSamples()), "")
        XCTAssertEqual(d.detect(sine(440, seconds: 1) ), "")
        XCTAssertEqual(d.detect([Int16](repeating: 0, count: 8000)), "")
    }

    func testDetectsThroughG711PacketsWhenEnabled() {
        for law in [G711.Law.ulaw, .alaw] {
            let pt: UInt8 = law == .ulaw ? 0 : 8
            let h = ProcessorHarness(law: law, payloadType: pt)
            let packets = audioPackets(Tones.dtmfSamples("159#"), law: law, pt: pt)
            for p in packets { XCTAssertEqual(h.feed(p), .audio) }
            XCTAssertEqual(h.digitString, "", "detection is off by default")

            h.processor.inband = InbandDTMFDetector()
            for p in packets { h.feed(p) }
            XCTAssertEqual(h.digitString, "159#")
            XCTAssertTrue(h.digits.allSatisfy { $0.1 == .inband })
        }
    }
}

final class DTMFDeduplicatorTests: XCTestCase {
    func testSamePressFromOtherSourcesIsDuplicate() {
        var d = DTMFDeduplicator()
        XCTAssertTrue(d.accept(digit: "5", source: .rfc4733, at: 10.00))
        XCTAssertFalse(d.accept(digit: "5", source: .inband, at: 10.05))
        XCTAssertFalse(d.accept(digit: "5", source: .sipInfo, at: 10.15))
    }

    func testSameSourceRepeatIsNewPress() {
        var d = DTMFDeduplicator()
        XCTAssertTrue(d.accept(digit: "5", source: .rfc4733, at: 1.0))
        XCTAssertTrue(d.accept(digit: "5", source: .rfc4733, at: 1.1))
        XCTAssertTrue(d.accept(digit: "5", source: .sipInfo, at: 5.0))
        XCTAssertTrue(d.accept(digit: "5", source: .sipInfo, at: 5.05))
    }

    func testOtherDigitOrOutsideWindowIsNewPress() {
        var d = DTMFDeduplicator()
        XCTAssertTrue(d.accept(digit: "5", source: .rfc4733, at: 1.0))
        XCTAssertTrue(d.accept(digit: "6", source: .inband, at: 1.05))
        XCTAssertTrue(d.accept(digit: "5", source: .inband, at: 1.25)) // 250 ms after the first "5"
        XCTAssertFalse(d.accept(digit: "5", source: .rfc4733, at: 1.3)) // ...which this one matches
    }

    func testBoundaryIsInclusive() {
        var d = DTMFDeduplicator(window: 0.5)
        XCTAssertTrue(d.accept(digit: "1", source: .sipInfo, at: 0))
        XCTAssertFalse(d.accept(digit: "1", source: .rfc4733, at: 0.5))
        XCTAssertTrue(d.accept(digit: "1", source: .inband, at: 1.0001))
    }

    func testDoublePressSeenByTwoSourcesInEitherOrder() {
        var d = DTMFDeduplicator()
        XCTAssertTrue(d.accept(digit: "5", source: .rfc4733, at: 0.00))
        XCTAssertFalse(d.accept(digit: "5", source: .inband, at: 0.05))
        // Second press: in-band hears it first this time.
        XCTAssertTrue(d.accept(digit: "5", source: .inband, at: 0.16))
        XCTAssertFalse(d.accept(digit: "5", source: .rfc4733, at: 0.18))
        XCTAssertFalse(d.accept(digit: "5", source: .sipInfo, at: 0.30))
    }

    func testFastDialingInterleavedAcrossSources() {
        var d = DTMFDeduplicator()
        let reports: [(Character, DTMFSource, Double)] = [
            ("1", .rfc4733, 0.00), ("2", .rfc4733, 0.10), ("1", .inband, 0.12), ("3", .rfc4733, 0.20),
            ("2", .inband, 0.22), ("3", .inband, 0.32), ("1", .sipInfo, 0.15), ("2", .sipInfo, 0.25),
        ]
        let accepted = reports.filter { d.accept(digit: $0.0, source: $0.1, at: $0.2) }.map(\.0)
        XCTAssertEqual(String(accepted), "123")
    }

    func testCaseInsensitiveAndReset() {
        var d = DTMFDeduplicator()
        XCTAssertTrue(d.accept(digit: "a", source: .sipInfo, at: 0))
        XCTAssertFalse(d.accept(digit: "A", source: .rfc4733, at: 0.01))
        d.reset()
        XCTAssertTrue(d.accept(digit: "A", source: .inband, at: 0.02))
    }

    func testOutOfOrderTimesWithinWindow() {
        var d = DTMFDeduplicator()
        XCTAssertTrue(d.accept(digit: "9", source: .sipInfo, at: 2.0))
        // In-band detection time-stamped earlier (clock of another thread): still the same press.
        XCTAssertFalse(d.accept(digit: "9", source: .inband, at: 1.9))
    }
}

final class TonesTests: XCTestCase {
    func testBeep() {
        let s = Tones.beepSamples()
        XCTAssertEqual(s.count, 4000)
        XCTAssertEqual(Tones.beep().durationMilliseconds, 500)
        XCTAssertTrue(Tones.beep() === Tones.beep(), "shared by all calls")
        XCTAssertEqual(estimatedFrequency(s), 1000, accuracy: 5)
        let peak = s.map { abs(Int($0)) }.max()!
        XCTAssertTrue((8500...9000).contains(peak), "peak \(peak)")
        XCTAssertLessThan(abs(Int(s[0])) + abs(Int(s[3999])), 200, "faded in and out")
    }

    func testDTMFTimingAndPauses() {
        XCTAssertEqual(Tones.dtmfSamples("1").count, 1600)
        XCTAssertEqual(Tones.dtmfSamples("12w3W").count, 3 * 1600 + 4000 + 8000)
        XCTAssertEqual(Tones.dtmfSamples("1 x?2").count, 2 * 1600, "unknown characters are skipped")
        XCTAssertEqual(Tones.dtmf("9").durationMilliseconds, 200)
        let s = Tones.dtmfSamples("1")
        XCTAssertTrue(s[800..<1600].allSatisfy { $0 == 0 }, "100 ms gap")
        XCTAssertGreaterThan(s[0..<800].map { abs(Int($0)) }.max()!, 10_000)
        // The "w" pause is silent and the digit after it is placed 500 ms later.
        let p = Tones.dtmfSamples("w1")
        XCTAssertTrue(p[0..<4000].allSatisfy { $0 == 0 })
        XCTAssertNotEqual(p[4100], 0)
    }
}
