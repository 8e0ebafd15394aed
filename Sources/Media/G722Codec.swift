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

    /// The code an encoder gives for digital silence from a fresh state (0xFA with
    /// spandsp, measured once here): the pacer's filler between prompts. G.722 has no
    /// exact zero: a decoder fed it settles on a faint hum (RMS about 200, -44 dBFS).
    public static let silence: UInt8 = {
        let encoder = G722Encoder(wideband: true)
        let zeros = [Int16](repeating: 0, count: 2)
        var out: [UInt8] = [0]
        zeros.withUnsafeBufferPointer { z in out.withUnsafeMutableBufferPointer { _ = encoder.encode(z, into: $0.baseAddress!) } }
        return out[0]
    }()

    /// Encodes 16 kHz samples (a prompt) once, for every G.722 call that plays it:
    /// `count / 2` bytes.
    ///
    /// G.722 is ADPCM: codes decode right only on a decoder in the state the encoder had.
    /// A prompt encoded from a fresh encoder and looped meets, at each seam, a decoder left
    /// in the state of the prompt's end: measured on a looped 1 kHz tone, an error three
    /// times the signal. So the prompt is encoded twice in a row and the second pass kept:
    /// its codes start from the state its own end leaves, and the loop seam measures under
    /// a fifth of the signal for 40 ms, a twentieth after 100 ms (`G722CodecTests`). Where
    /// a prompt starts after silence or another prompt the same kind of transient is left
    /// (a speech prompt starts and ends quiet, so it is small). An encoder per call would
    /// have none, at about 15 us per packet on the pacer's one thread (spandsp, measured
    /// here) where this costs a 160-byte copy as for G.711.
    public static func encode(wideband samples: [Int16]) -> [UInt8] {
        let encoder = G722Encoder(wideband: true)
        let used = samples.count & ~1
        var out = [UInt8](repeating: 0, count: used / 2)
        var n = 0
        for _ in 0..<2 {
            n = samples.withUnsafeBufferPointer { s in
                out.withUnsafeMutableBufferPointer { encoder.encode(UnsafeBufferPointer(rebasing: s[0..<used]), into: $0.baseAddress!) }
            }
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
