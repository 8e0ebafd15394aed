import CSpanDSP

/// G.722 at 64 kbit/s (ITU-T G.722, spandsp's bit-exact codec): one byte per 8 kHz sample
/// period, so 160 bytes per 20 ms packet as with G.711, and an RTP clock of 8000 (RFC 3551
/// keeps G.722's historical rate) although the audio is sampled at 16 kHz.
///
/// G.722 is sub-band ADPCM: encoder and decoder carry state from packet to packet, so each
/// stream has its own, made once when the stream starts (never per packet). In the
/// "8 kHz" mode spandsp takes and gives 8 kHz samples itself (the upper sub-band is sent
/// empty, and only the lower one is decoded): that is the mode for everything that meets
/// G.711 or the 8 kHz consumers (recordings, speech, in-band DTMF, bridges); prompts are
/// encoded from 16 kHz samples (`wideband`) so G.722 callers hear them wideband.
public enum G722 {
    /// Static RTP payload type (RFC 3551).
    public static let payloadType: UInt8 = 9
    /// Bits per second: the only rate we negotiate (`G722/8000` means 64 kbit/s).
    static let bitRate: Int32 = 64000

    /// The code an encoder settles on for digital silence: the pacer's filler between
    /// prompts (what a G.711 session sends as its law's silence byte). Measured once from
    /// spandsp, so it is what the codec really produces.
    public static let silence: UInt8 = {
        let encoder = G722Encoder(wideband: false)
        let zeros = [Int16](repeating: 0, count: 800)
        var out = [UInt8](repeating: 0, count: 800)
        zeros.withUnsafeBufferPointer { z in out.withUnsafeMutableBufferPointer { _ = encoder.encode(z, into: $0.baseAddress!) } }
        return out[799]
    }()

    /// Encodes 16 kHz samples (a prompt) in one pass: `count / 2` bytes.
    public static func encode(wideband samples: [Int16]) -> [UInt8] {
        encode(samples, wideband: true)
    }

    /// Encodes 8 kHz samples (tones, a G.711 prompt for a G.722 call): `count` bytes.
    public static func encode(narrowband samples: [Int16]) -> [UInt8] {
        encode(samples, wideband: false)
    }

    private static func encode(_ samples: [Int16], wideband: Bool) -> [UInt8] {
        let encoder = G722Encoder(wideband: wideband)
        var out = [UInt8](repeating: 0, count: wideband ? samples.count / 2 + 1 : samples.count)
        let n = samples.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { encoder.encode(UnsafeBufferPointer(rebasing: s[0..<(wideband ? s.count & ~1 : s.count)]), into: $0.baseAddress!) }
        }
        out.removeLast(out.count - n)
        return out
    }

    /// Decodes a G.722 stream to 16 kHz (`wideband`) or 8 kHz samples, from a fresh state.
    public static func decode(_ bytes: [UInt8], wideband: Bool) -> [Int16] {
        let decoder = G722Decoder(wideband: wideband)
        var out = [Int16](repeating: 0, count: bytes.count * (wideband ? 2 : 1))
        let n = bytes.withUnsafeBytes { b in out.withUnsafeMutableBufferPointer { decoder.decode(b, into: $0) } }
        out.removeLast(out.count - n)
        return out
    }
}

/// One G.722 encoder's state (spandsp `g722_encode_state_t`, allocated once).
/// Used by one thread at a time.
public final class G722Encoder: @unchecked Sendable {
    private let state: OpaquePointer

    /// `wideband`: the input is 16 kHz (two samples a byte); else 8 kHz (one a byte).
    public init(wideband: Bool) {
        state = g722_encode_init(nil, G722.bitRate, wideband ? 0 : Int32(G722_SAMPLE_RATE_8000))
    }

    deinit { g722_encode_free(state) }

    /// Encodes `samples` into `out` (room for `samples.count` bytes); returns the bytes written.
    @inline(__always)
    public func encode(_ samples: UnsafeBufferPointer<Int16>, into out: UnsafeMutablePointer<UInt8>) -> Int {
        guard let base = samples.baseAddress, !samples.isEmpty else { return 0 }
        return Int(g722_encode(state, out, base, Int32(samples.count)))
    }
}

/// One G.722 decoder's state (spandsp `g722_decode_state_t`, allocated once).
/// Used by one thread at a time.
public final class G722Decoder: @unchecked Sendable {
    private let state: OpaquePointer
    private let wideband: Bool

    /// `wideband`: give 16 kHz samples (two a byte); else 8 kHz (one a byte, the lower band).
    public init(wideband: Bool) {
        self.wideband = wideband
        state = g722_decode_init(nil, G722.bitRate, wideband ? 0 : Int32(G722_SAMPLE_RATE_8000))
    }

    deinit { g722_decode_free(state) }

    /// Decodes `bytes` into `out`, at most what fits (`out.count` samples, or half as many
    /// bytes when wideband); returns the samples written.
    @inline(__always)
    public func decode(_ bytes: UnsafeRawBufferPointer, into out: UnsafeMutableBufferPointer<Int16>) -> Int {
        guard let src = bytes.baseAddress, let dst = out.baseAddress else { return 0 }
        let n = min(bytes.count, wideband ? out.count / 2 : out.count)
        guard n > 0 else { return 0 }
        return Int(g722_decode(state, dst, src.assumingMemoryBound(to: UInt8.self), Int32(n)))
    }
}

/// The codec state a bridge needs to carry one direction of audio between a G.722 leg and
/// a G.711 one: decode to 8 kHz, encode the other codec. Made once when the relay starts
/// (by the receiver, the only thread that uses it), not per packet.
final class G722Transcoder {
    let decoder = G722Decoder(wideband: false)
    let encoder = G722Encoder(wideband: false)
    /// 8 kHz samples of one packet (the largest payload the receiver reads).
    let samples: UnsafeMutableBufferPointer<Int16>

    init(maxSamples: Int) {
        samples = .allocate(capacity: maxSamples)
    }

    deinit { samples.deallocate() }
}
