@testable import Media
import Foundation
import Observability
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `<Play digits>` as the hosted platforms send it: RFC 4733 telephone-events when the far
/// end offered them (an IVR that ignores in-band tones still hears the keys), else tones.
final class DigitEventsTests: XCTestCase {
    func testThePlanOfADigitIsAHundredMillisecondsOfEventsThreeEndsAndAGap() {
        let plan = DigitEvents.plan("1#w")
        XCTAssertEqual(plan.count, 13 + 13 + 25)
        XCTAssertEqual(plan.prefix(5).map(\.duration), [160, 320, 480, 640, 800])
        XCTAssertEqual(plan.prefix(8).map(\.event), Array(repeating: 1, count: 8))
        XCTAssertEqual(plan.prefix(8).map(\.end), [false, false, false, false, false, true, true, true])
        XCTAssertEqual(plan.filter(\.first).count, 2)
        XCTAssertEqual(plan[13].event, 11, "#")
        XCTAssertTrue(plan.suffix(25).allSatisfy { $0.event == nil }, "w waits half a second")
        XCTAssertEqual(DigitEvents.code("*"), 10)
        XCTAssertEqual(DigitEvents.code("D"), 15)
        XCTAssertNil(DigitEvents.code("x"))
        var payload = [UInt8](repeating: 0, count: 4)
        payload.withUnsafeMutableBytes { DigitEvents.writePayload(DigitTick(event: 11, duration: 800, end: true), to: $0.baseAddress!) }
        XCTAssertEqual(payload, [11, 0x80 | 10, 0x03, 0x20])
    }

    private struct Packet { var pt: UInt8; var marker: Bool; var seq: UInt16; var ts: UInt32; var payload: [UInt8] }

    /// Sends `digits` on a session whose peer is a loopback socket; the packets it got.
    private func packets(digits: String, telephoneEvent: UInt8?) throws -> [Packet] {
        let finished = Locked(false)
        let engine = try MediaEngine(address: "127.0.0.1", ports: 43_160...43_179,
                                     logger: Logger(minimumLevel: .error, journald: false, sink: MemorySink())) { e in
            if case .playbackFinished(_, 9) = e { finished.withLock { $0 = true } }
        }
        engine.start()
        defer { engine.stop() }
        let (id, _) = try XCTUnwrap(engine.open())
        let fd = try XCTUnwrap(bindUDP(host: "127.0.0.1", port: 0))
        defer { close(fd) }
        var sa = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        engine.configure(id, peer: MediaPeer(remote: UDPEndpoint(sa), law: .ulaw, payloadType: 0,
                                             telephoneEventPayloadType: telephoneEvent, sending: true))
        engine.sendDigits(id, digits: digits, token: 9)
        var out: [Packet] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n >= 12 {
                let b = Array(buffer.prefix(n))
                out.append(Packet(pt: b[1] & 0x7F, marker: b[1] & 0x80 != 0, seq: UInt16(b[2]) << 8 | UInt16(b[3]),
                                  ts: b[4..<8].reduce(0) { $0 << 8 | UInt32($1) }, payload: Array(b[12...])))
                continue
            }
            if finished.withLock({ $0 }) { break }
            usleep(2000)
        }
        XCTAssertTrue(finished.withLock { $0 }, "playbackFinished follows the digits")
        return out
    }

    func testDigitsGoOutAsTelephoneEventsWhenThePeerTakesThem() throws {
        let all = try packets(digits: "1#", telephoneEvent: 101)
        let events = all.filter { $0.pt == 101 }
        XCTAssertEqual(events.count, 16, "8 packets per key")
        XCTAssertEqual(events.map { $0.payload[0] }, Array(repeating: 1, count: 8) + Array(repeating: 11, count: 8))
        XCTAssertEqual(events.map(\.marker), (0..<16).map { $0 % 8 == 0 }, "the marker on each key's first packet")
        XCTAssertEqual(events.map { $0.payload[1] & 0x80 != 0 }, (0..<16).map { $0 % 8 >= 5 }, "three end packets")
        XCTAssertEqual(events.prefix(5).map { UInt16($0.payload[2]) << 8 | UInt16($0.payload[3]) }, [160, 320, 480, 640, 800])
        XCTAssertEqual(Set(events.prefix(8).map(\.ts)).count, 1, "one timestamp per key")
        XCTAssertNotEqual(events[0].ts, events[8].ts)
        XCTAssertEqual(events[8].ts &- events[0].ts, 13 * 160, "the second key starts 13 ticks later")
        let seqs = all.map(\.seq)
        XCTAssertEqual(zip(seqs, seqs.dropFirst()).filter { $1 != $0 &+ 1 }.count, 0, "one sequence for events and audio")
    }

    func testWithoutTelephoneEventTheDigitsAreTones() throws {
        let all = try packets(digits: "1", telephoneEvent: nil)
        XCTAssertFalse(all.isEmpty)
        XCTAssertTrue(all.allSatisfy { $0.pt == 0 }, "audio only")
        let loud = all.filter { p in G711.decode(p.payload, law: .ulaw).map { abs(Int($0)) }.max() ?? 0 > 2000 }
        XCTAssertGreaterThanOrEqual(loud.count, 4, "the key's tone is in the audio")
    }
}
