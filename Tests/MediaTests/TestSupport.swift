@testable import Media
import Foundation
import XCTest

/// An RTP datagram with a 12-byte header.
func rtpPacket(pt: UInt8, seq: UInt16, ts: UInt32, ssrc: UInt32 = 0x0102_0304, marker: Bool = false,
               payload: [UInt8]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: RTPHeader.size)
    out.withUnsafeMutableBytes {
        RTPHeader(marker: marker, payloadType: pt, sequence: seq, timestamp: ts, ssrc: ssrc).write(to: $0.baseAddress!)
    }
    return out + payload
}

/// A 4-byte RFC 4733 payload.
func eventPayload(_ event: UInt8, end: Bool = false, volume: UInt8 = 10, duration: UInt16) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: 4)
    out.withUnsafeMutableBytes {
        TelephoneEvent(event: event, end: end, volume: volume, duration: duration).write(to: $0.baseAddress!)
    }
    return out
}

/// The packets a typical gateway sends for one key press: the start (marker) twice,
/// updates every 20 ms, the end three times; all with the event's timestamp.
func keyPressPackets(_ event: UInt8, ts: UInt32, seq: inout UInt16, ssrc: UInt32 = 0x0102_0304,
                     pt: UInt8 = 101, updates: Int = 4) -> [[UInt8]] {
    var out: [[UInt8]] = []
    func add(_ payload: [UInt8], marker: Bool) {
        out.append(rtpPacket(pt: pt, seq: seq, ts: ts, ssrc: ssrc, marker: marker, payload: payload)); seq &+= 1
    }
    add(eventPayload(event, duration: 160), marker: true)
    add(eventPayload(event, duration: 160), marker: true)
    for u in 0..<updates { add(eventPayload(event, duration: UInt16(320 + 160 * u)), marker: false) }
    let total = UInt16(320 + 160 * updates)
    for _ in 0..<3 { add(eventPayload(event, end: true, duration: total), marker: false) }
    return out
}

let testPeer = UDPEndpoint(host: "127.0.0.1", port: 40_000)!

/// Drives a `PacketProcessor` as the receiver would, collecting digits.
final class ProcessorHarness {
    var processor: PacketProcessor
    var digits: [(Character, DTMFSource)] = []
    let scratch = UnsafeMutableBufferPointer<Int16>.allocate(capacity: 2048)

    init(telephoneEvent: UInt8? = 101, law: G711.Law = .ulaw, payloadType: UInt8 = 0) {
        processor = PacketProcessor(remote: testPeer, telephoneEventPayloadType: telephoneEvent,
                                    audioPayloadType: payloadType, law: law)
    }

    deinit { scratch.deallocate() }

    @discardableResult
    func feed(_ packet: [UInt8], now: Double = 0, from: UDPEndpoint = testPeer) -> PacketKind {
        packet.withUnsafeBytes { bytes in
            processor.process(bytes, from: from, now: now, scratch: scratch) { digits.append(($0, $1)) }
        }
    }

    var digitString: String { String(digits.map(\.0)) }
}

/// Encodes samples and cuts them into 20 ms RTP packets.
func audioPackets(_ samples: [Int16], law: G711.Law = .ulaw, pt: UInt8 = 0, firstSeq: UInt16 = 1,
                  firstTS: UInt32 = 0) -> [[UInt8]] {
    let bytes = samples.map(law == .ulaw ? G711.ulaw : G711.alaw)
    var out: [[UInt8]] = []
    var i = 0
    var seq = firstSeq
    var ts = firstTS
    while i < bytes.count {
        let n = min(160, bytes.count - i)
        out.append(rtpPacket(pt: pt, seq: seq, ts: ts, payload: Array(bytes[i..<(i + n)])))
        i += n; seq &+= 1; ts &+= UInt32(n)
    }
    return out
}

/// A sine at `frequency` Hz, 8 kHz unless told.
func sine(_ frequency: Double, seconds: Double, amplitude: Double = 8000, rate: Double = 8000) -> [Int16] {
    (0..<Int(seconds * rate)).map { Int16((sin(2 * Double.pi * frequency * Double($0) / rate) * amplitude).rounded()) }
}

/// Upward zero crossings per second: a frequency estimate.
func estimatedFrequency(_ s: [Int16], rate: Double = 8000) -> Double {
    var crossings = 0
    for i in 1..<s.count where s[i - 1] < 0 && s[i] >= 0 { crossings += 1 }
    return Double(crossings) * rate / Double(s.count)
}

/// A fresh temporary directory, removed at the end of the test.
func temporaryDirectory(_ test: XCTestCase) throws -> String {
    let dir = NSTemporaryDirectory() + "media-tests-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
}
