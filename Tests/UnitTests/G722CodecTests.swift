import Foundation
@testable import Media
import XCTest

/// The spandsp G.722 wrapper, prompts in G.722, and the relay's transcoding (no sockets).
final class G722CodecTests: XCTestCase {
    private func sine(_ f: Double, rate: Double, seconds: Double, amplitude: Double = 8000) -> [Int16] {
        (0..<Int(seconds * rate)).map { Int16(amplitude * sin(2 * Double.pi * f * Double($0) / rate)) }
    }

    private func rms<C: Collection>(_ x: C) -> Double where C.Element == Int16 {
        x.isEmpty ? 0 : (x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(x.count)).squareRoot()
    }

    /// Share of the power at `f` (Goertzel).
    private func purity(_ x: [Int16], _ f: Double, rate: Double) -> Double {
        let c = 2 * cos(2 * Double.pi * f / rate)
        var s1 = 0.0, s2 = 0.0, total = 0.0
        for v in x {
            let d = Double(v)
            total += d * d
            let s0 = d + c * s1 - s2
            s2 = s1
            s1 = s0
        }
        return total == 0 ? 0 : min(1, 2 * (s1 * s1 + s2 * s2 - c * s1 * s2) / (Double(x.count) * total))
    }

    func testWidebandRoundTripKeepsFrequencyAndEnergyUpTo7kHz() {
        for f in [1000.0, 5000.0] {
            let input = sine(f, rate: 16000, seconds: 1)
            let bytes = G722.encode(wideband: input)
            XCTAssertEqual(bytes.count, 8000, "64 kbit/s: one byte per 8 kHz period")
            let out = G722.decode(bytes, wideband: true)
            XCTAssertEqual(out.count, 16000)
            let settled = Array(out[1600...])   // past the QMF delay and the decoder's start
            XCTAssertGreaterThan(purity(settled, f, rate: 16000), 0.95, "\(f) Hz")
            XCTAssertEqual(rms(settled), rms(input), accuracy: rms(input) * 0.1, "\(f) Hz energy")
        }
    }

    /// The 8 kHz mode (bridges, the receiver): one sample a byte each way.
    func testNarrowbandModeTakesAndGives8kHz() {
        let input = sine(1000, rate: 8000, seconds: 1)
        var bytes = [UInt8](repeating: 0, count: 8000)
        let n = input.withUnsafeBufferPointer { s in bytes.withUnsafeMutableBufferPointer { G722Encoder(wideband: false).encode(s, into: $0.baseAddress!) } }
        XCTAssertEqual(n, 8000, "160 bytes per 20 ms in either mode")
        let out = G722.decode(bytes, wideband: false)
        XCTAssertEqual(out.count, 8000)
        XCTAssertGreaterThan(purity(Array(out[800...]), 1000, rate: 8000), 0.95)
        XCTAssertEqual(rms(out[800...]), rms(input), accuracy: rms(input) * 0.15)
    }

    func testSilenceByteDecodesToSilence() {
        XCTAssertEqual(G722.silence, 0xFA)
        let out = G722.decode([UInt8](repeating: G722.silence, count: 1600), wideband: true)
        XCTAssertLessThan(rms(out[320...]), 300, "the pacer's filler is quiet (G.722 has no exact zero: -44 dBFS)")
    }

    /// A prompt is encoded once and looped by the pacer; the peer's decoder runs on through
    /// the seam. Against the same tone coded as one continuous stream: the two-pass encoding
    /// keeps the seam's error under a fifth of the signal for 40 ms and a twentieth 100 ms
    /// on, where a single pass measured three times the signal.
    func testLoopedPromptSeamStaysClean() {
        let pcm = sine(1000, rate: 16000, seconds: 0.5)   // whole cycles: the signal itself loops cleanly
        let once = G722.encode(wideband: pcm)
        let heard = G722.decode(once + once + once, wideband: true)
        let perfect = G722.decode(G722.encode(wideband: pcm + pcm + pcm), wideband: true)
        for seam in [pcm.count, 2 * pcm.count] {
            let error = (seam..<(seam + 640)).map { Int16(clamping: Int(heard[$0]) - Int(perfect[$0])) }
            let later = ((seam + 1600)..<(seam + 2240)).map { Int16(clamping: Int(heard[$0]) - Int(perfect[$0])) }
            let signal = rms(perfect[seam..<(seam + 640)])
            print("G.722 loop seam at \(seam): error rms \(rms(error)) (100 ms on: \(rms(later))) against signal rms \(signal)")
            XCTAssertLessThan(rms(error), 0.2 * signal)
            XCTAssertLessThan(rms(later), 0.05 * signal)
        }
    }

    func testEncodedAudioForms() {
        let wide = EncodedAudio(wideband: sine(5000, rate: 16000, seconds: 0.1))
        XCTAssertTrue(wide.isWideband)
        XCTAssertEqual(wide.sampleCount, 800)
        XCTAssertEqual(wide.storedBytes, 800, "a G.722 prompt holds no G.711 copy")
        XCTAssertTrue(wide.has(g722: true))
        XCTAssertFalse(wide.has(g722: false))
        wide.prepare(g722: false)
        XCTAssertEqual(wide.bytes(.ulaw).count, 800, "a G.711 form on demand")

        let narrow = EncodedAudio(samples: sine(1000, rate: 8000, seconds: 0.5))
        XCTAssertEqual(narrow.storedBytes, 8000, "G.711 traffic pays for no G.722 form")
        XCTAssertEqual(narrow.bytes(.ulaw, g722: true).count, 0, "not prepared: the pacer sends silence")
        narrow.prepare(g722: true)
        let g722 = Array(narrow.bytes(.ulaw, g722: true))
        XCTAssertEqual(g722.count, 4000)
        XCTAssertGreaterThan(purity(Array(G722.decode(g722, wideband: true)[1600...]), 1000, rate: 16000), 0.9)
    }

    /// 20 ms packets of `payload` with `pt`.
    private func packet(pt: UInt8, seq: UInt16, payload: ArraySlice<UInt8>) -> [UInt8] {
        var p = [UInt8](repeating: 0, count: RTPHeader.size + payload.count)
        p.withUnsafeMutableBytes { RTPHeader(marker: false, payloadType: pt, sequence: seq, timestamp: UInt32(seq) * 160, ssrc: 7).write(to: $0.baseAddress!) }
        p.replaceSubrange(RTPHeader.size..., with: payload)
        return p
    }

    /// Relays 50 packets and returns the payloads out and the transcoder used.
    private func relay(_ payloads: [UInt8], pt: UInt8, from: RelayFormat, to: RelayFormat) -> (out: [UInt8], pt: Set<UInt8>, transcoder: G722Transcoder?) {
        var transcoder: G722Transcoder?
        var first: ObjectIdentifier?
        var out: [UInt8] = [], pts = Set<UInt8>()
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 2048, alignment: 8)
        defer { buffer.deallocate() }
        for k in 0..<(payloads.count / 160) {
            let p = packet(pt: pt, seq: UInt16(k), payload: payloads[(k * 160)..<((k + 1) * 160)])
            let n = p.withUnsafeBytes { RTPRelay.rewrite($0, from: from, to: to, out: buffer, transcoder: &transcoder) }
            XCTAssertEqual(n, RTPHeader.size + 160)
            if let t = transcoder { XCTAssertEqual(first.map { $0 == ObjectIdentifier(t) } ?? true, true, "state made once"); first = ObjectIdentifier(t) }
            let bytes = UnsafeRawBufferPointer(start: buffer, count: n)
            pts.insert(RTPHeader.parse(bytes)!.header.payloadType)
            out += bytes[RTPHeader.size...]
        }
        return (out, pts, transcoder)
    }

    func testRelayTranscodesG722AndG711BothWaysAndPassesG722Through() {
        let g722 = RelayFormat(audioPayloadType: 9, law: .ulaw, telephoneEventPayloadType: 101, g722: true)
        let pcma = RelayFormat(audioPayloadType: 8, law: .alaw, telephoneEventPayloadType: 101)
        let tone = sine(1000, rate: 8000, seconds: 1)
        // G.722 caller -> PCMA leg.
        let down = relay(G722.encode(wideband: sine(1000, rate: 16000, seconds: 1)), pt: 9, from: g722, to: pcma)
        XCTAssertEqual(down.pt, [8])
        XCTAssertNotNil(down.transcoder)
        let heardA = down.out.map(G711.alawDecode)
        XCTAssertGreaterThan(purity(Array(heardA[800...]), 1000, rate: 8000), 0.95)
        XCTAssertEqual(rms(heardA[800...]), rms(tone), accuracy: rms(tone) * 0.15)
        // PCMA leg -> G.722 caller.
        let up = relay(tone.map(G711.alaw), pt: 8, from: pcma, to: g722)
        XCTAssertEqual(up.pt, [9])
        let heardG = G722.decode(up.out, wideband: false)
        XCTAssertGreaterThan(purity(Array(heardG[800...]), 1000, rate: 8000), 0.95)
        // G.722 <-> G.722: the bytes as they came, no codec state.
        let wide = G722.encode(wideband: sine(5000, rate: 16000, seconds: 1))
        let through = relay(wide, pt: 9, from: g722, to: RelayFormat(audioPayloadType: 9, law: .ulaw, g722: true))
        XCTAssertEqual(through.out, wide)
        XCTAssertNil(through.transcoder)
    }

    func testReceiverDecodesG722ForWhatListens() {
        var p = PacketProcessor(remote: UDPEndpoint(host: "127.0.0.1", port: 4000), audioPayloadType: 9)
        var peer = MediaPeer(remote: UDPEndpoint(host: "127.0.0.1", port: 4000), law: .ulaw, payloadType: 9,
                             telephoneEventPayloadType: nil, sending: true)
        peer.g722 = true
        p.configure(peer)
        XCTAssertNotNil(p.g722)
        let detector = InbandDTMFDetector()
        p.inband = detector
        let eight = Tones.dtmfSamples("7")
        let digit = G722.encode(wideband: try! Resampler.resample(eight, from: 8000, to: 16000))
        let scratch = UnsafeMutableBufferPointer<Int16>.allocate(capacity: 2048)
        defer { scratch.deallocate() }
        let remote = UDPEndpoint(host: "127.0.0.1", port: 4000)!
        var heard: [Character] = []
        for k in 0..<(digit.count / 160) {
            let bytes = packet(pt: 9, seq: UInt16(k), payload: digit[(k * 160)..<((k + 1) * 160)])
            let kind = bytes.withUnsafeBytes {
                p.process($0, from: remote, now: Double(k) * 0.02, scratch: scratch) { d, _ in heard.append(d) }
            }
            XCTAssertEqual(kind, .audio)
        }
        XCTAssertEqual(heard, ["7"], "in-band DTMF found in the decoded G.722")
    }
}
