/// ITU-T G.711 companding (u-law and A-law), as in the ITU reference and Sun's g711.c.
///
/// Encoding goes through 64 KiB lookup tables built once, so the send path is a table
/// read per sample; prompts are encoded once when cached, not per packet.
public enum G711 {
    /// Encodes one 16-bit linear sample to u-law.
    public static func ulaw(_ sample: Int16) -> UInt8 {
        let bias = 0x84
        let clip = 32635
        var pcm = Int(sample)
        let sign: Int
        if pcm < 0 { pcm = -pcm; sign = 0x80 } else { sign = 0 }
        if pcm > clip { pcm = clip }
        pcm += bias
        var exponent = 7
        var mask = 0x4000
        while exponent > 0 && (pcm & mask) == 0 { exponent -= 1; mask >>= 1 }
        let mantissa = (pcm >> (exponent + 3)) & 0x0F
        return UInt8(~(sign | (exponent << 4) | mantissa) & 0xFF)
    }

    /// Decodes one u-law byte to 16-bit linear.
    public static func ulawDecode(_ byte: UInt8) -> Int16 {
        let u = Int(~byte & 0xFF)
        let t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
        return Int16((u & 0x80) != 0 ? 0x84 - t : t - 0x84)
    }

    /// Encodes one 16-bit linear sample to A-law.
    public static func alaw(_ sample: Int16) -> UInt8 {
        var pcm = Int(sample) >> 3 // 13-bit magnitude
        let mask: Int
        if pcm >= 0 { mask = 0xD5 } else { mask = 0x55; pcm = -pcm - 1 }
        let segEnds = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF]
        var seg = 0
        while seg < 8 && pcm > segEnds[seg] { seg += 1 }
        if seg >= 8 { return UInt8(0x7F ^ mask) }
        var aval = seg << 4
        aval |= seg < 2 ? (pcm >> 1) & 0x0F : (pcm >> seg) & 0x0F
        return UInt8((aval ^ mask) & 0xFF)
    }

    /// Decodes one A-law byte to 16-bit linear.
    public static func alawDecode(_ byte: UInt8) -> Int16 {
        let a = Int(byte ^ 0x55)
        var t = (a & 0x0F) << 4
        let seg = (a & 0x70) >> 4
        switch seg {
        case 0: t += 8
        case 1: t += 0x108
        default: t += 0x108; t <<= seg - 1
        }
        return Int16((a & 0x80) != 0 ? t : -t)
    }

    /// The u-law byte for digital silence.
    public static let ulawSilence: UInt8 = 0xFF
    /// The A-law byte for digital silence.
    public static let alawSilence: UInt8 = 0xD5

    /// Lookup tables indexed by `UInt16(bitPattern: sample)`.
    static let ulawTable: [UInt8] = (0..<65536).map { ulaw(Int16(bitPattern: UInt16($0))) }
    static let alawTable: [UInt8] = (0..<65536).map { alaw(Int16(bitPattern: UInt16($0))) }

    /// Encodes a buffer of linear samples with the table for `law`.
    public static func encode(_ samples: UnsafeBufferPointer<Int16>, law: Law,
                              into out: UnsafeMutableBufferPointer<UInt8>) {
        precondition(out.count >= samples.count)
        let table = law == .ulaw ? ulawTable : alawTable
        table.withUnsafeBufferPointer { t in
            for i in 0..<samples.count { out[i] = t[Int(UInt16(bitPattern: samples[i]))] }
        }
    }

    /// Decodes G.711 bytes to linear samples.
    public static func decode(_ bytes: some Sequence<UInt8>, law: Law) -> [Int16] {
        law == .ulaw ? bytes.map(ulawDecode) : bytes.map(alawDecode)
    }

    /// The two G.711 laws.
    public enum Law: Sendable, Equatable {
        case ulaw, alaw
        public var silence: UInt8 { self == .ulaw ? G711.ulawSilence : G711.alawSilence }
    }
}
