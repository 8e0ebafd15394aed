import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// RIFF/WAVE files: reading any common PCM or G.711 file as 8 kHz mono, and writing
/// 16-bit PCM atomically.
public enum WAVFile {
    /// The sample encodings the reader understands.
    public enum Encoding: Sendable, Equatable {
        /// Integer PCM: 8-bit unsigned, 16-, 24- or 32-bit signed little-endian.
        case pcm(bits: Int)
        /// IEEE float, 32 or 64 bits.
        case float(bits: Int)
        /// G.711 A-law (format 6) or u-law (format 7), 8 bits.
        case alaw, ulaw
    }

    /// What the `fmt ` chunk says.
    public struct Format: Sendable, Equatable {
        /// How samples are stored.
        public var encoding: Encoding
        /// Interleaved channels (1-8).
        public var channels: Int
        /// Frames per second.
        public var sampleRate: Int
    }

    /// Reads a WAV file and returns 8 kHz mono 16-bit samples: channels are averaged and
    /// other rates resampled. Throws `MediaError` for unreadable, corrupt or unsupported files.
    public static func read(path: String) throws -> [Int16] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MediaError("cannot read WAV file '\(path)'")
        }
        do {
            return try decode([UInt8](data))
        } catch let e as MediaError {
            throw MediaError("\(path): \(e.description)")
        }
    }

    /// Decodes a whole WAV file image to 8 kHz mono 16-bit samples.
    public static func decode(_ bytes: [UInt8], rate: Int = 8000) throws -> [Int16] {
        let (format, data) = try parse(bytes)
        let mono = try bytes.withUnsafeBufferPointer { all in
            try samples(UnsafeBufferPointer(rebasing: all[data]), format: format)
        }
        return try Resampler.resample(mono, from: format.sampleRate, to: rate)
    }

    /// Finds the format and the byte range of the sample data.
    public static func parse(_ b: [UInt8]) throws -> (Format, Range<Int>) {
        try chunks(b, problem: { MediaError($0.description) }) { (f: FormatChunk) throws(MediaError) -> Format in
            guard !f.truncatedExtensible else { throw MediaError("truncated extensible fmt chunk") }
            let encoding: Encoding
            switch (f.tag, f.bitsPerSample) {
            case (1, 8), (1, 16), (1, 24), (1, 32): encoding = .pcm(bits: f.bitsPerSample)
            case (3, 32), (3, 64): encoding = .float(bits: f.bitsPerSample)
            case (6, 8): encoding = .alaw
            case (7, 8): encoding = .ulaw
            default: throw MediaError("unsupported WAV encoding (format \(f.tag), \(f.bitsPerSample) bits)")
            }
            guard f.channels >= 1, f.channels <= 8 else { throw MediaError("unsupported channel count \(f.channels)") }
            guard f.sampleRate >= 1000, f.sampleRate <= 384_000 else { throw MediaError("unsupported sample rate \(f.sampleRate)") }
            return Format(encoding: encoding, channels: f.channels, sampleRate: f.sampleRate)
        }
    }

    /// Converts sample data to mono 16-bit at the file's rate (channels averaged).
    static func samples(_ data: UnsafeBufferPointer<UInt8>, format: Format) throws -> [Int16] {
        let bytesPerSample: Int
        switch format.encoding {
        case .pcm(let bits), .float(let bits): bytesPerSample = bits / 8
        case .alaw, .ulaw: bytesPerSample = 1
        }
        let frameBytes = bytesPerSample * format.channels
        let frames = data.count / frameBytes
        var out = [Int16](repeating: 0, count: frames)
        for f in 0..<frames {
            var sum = 0.0
            for ch in 0..<format.channels {
                let o = f * frameBytes + ch * bytesPerSample
                sum += sample(data, at: o, encoding: format.encoding)
            }
            let v = (sum / Double(format.channels)).rounded()
            out[f] = Int16(max(-32768, min(32767, v)))
        }
        return out
    }

    /// One sample on the 16-bit scale.
    @inline(__always)
    private static func sample(_ d: UnsafeBufferPointer<UInt8>, at o: Int, encoding: Encoding) -> Double {
        switch encoding {
        case .pcm(8): return Double(Int(d[o]) - 128) * 256
        case .pcm(16): return Double(Int16(bitPattern: UInt16(d[o]) | UInt16(d[o + 1]) << 8))
        case .pcm(24):
            let v = Int32(bitPattern: UInt32(d[o]) << 8 | UInt32(d[o + 1]) << 16 | UInt32(d[o + 2]) << 24)
            return Double(v >> 8) / 256
        case .pcm:
            let v = Int32(bitPattern: UInt32(d[o]) | UInt32(d[o + 1]) << 8 | UInt32(d[o + 2]) << 16 | UInt32(d[o + 3]) << 24)
            return Double(v) / 65536
        case .float(32):
            let bits = UInt32(d[o]) | UInt32(d[o + 1]) << 8 | UInt32(d[o + 2]) << 16 | UInt32(d[o + 3]) << 24
            let f = Double(Float(bitPattern: bits))
            return f.isFinite ? f * 32767 : 0
        case .float:
            var bits: UInt64 = 0
            for i in 0..<8 { bits |= UInt64(d[o + i]) << (8 * UInt64(i)) }
            let f = Double(bitPattern: bits)
            return f.isFinite ? f * 32767 : 0
        case .alaw: return Double(G711.alawDecode(d[o]))
        case .ulaw: return Double(G711.ulawDecode(d[o]))
        }
    }

    /// A 16-bit PCM WAV image (44-byte header + samples). With 2 channels `samples` are
    /// interleaved (left, right, left, ...).
    public static func encode(_ samples: UnsafeBufferPointer<Int16>, sampleRate: Int = 8000, channels: Int = 1) -> [UInt8] {
        let dataBytes = samples.count * 2
        var out = [UInt8]()
        out.reserveCapacity(44 + dataBytes)
        func put32(_ v: Int) { for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
        func put16(_ v: Int) { for i in 0..<2 { out.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
        out.append(contentsOf: "RIFF".utf8); put32(36 + dataBytes); out.append(contentsOf: "WAVE".utf8)
        out.append(contentsOf: "fmt ".utf8); put32(16)
        put16(1); put16(channels); put32(sampleRate); put32(sampleRate * 2 * channels); put16(2 * channels); put16(16)
        out.append(contentsOf: "data".utf8); put32(dataBytes)
        for s in samples { let u = UInt16(bitPattern: s); out.append(UInt8(u & 0xFF)); out.append(UInt8(u >> 8)) }
        return out
    }

    /// Writes 16-bit mono PCM to `path` atomically: a temporary file in the same directory
    /// is written, synced and renamed over `path`, so readers never see a partial file.
    public static func write(_ samples: UnsafeBufferPointer<Int16>, sampleRate: Int = 8000, channels: Int = 1, to path: String) throws {
        try writeAtomically(encode(samples, sampleRate: sampleRate, channels: channels), to: path)
    }

    /// Array convenience for `write(_:sampleRate:to:)`.
    public static func write(_ samples: [Int16], sampleRate: Int = 8000, to path: String) throws {
        try samples.withUnsafeBufferPointer { try write($0, sampleRate: sampleRate, to: path) }
    }

    /// Writes a WAV image atomically, sealed first when `seal` is given.
    static func writeImage(_ image: [UInt8], to path: String, seal: (@Sendable ([UInt8]) throws -> [UInt8])?) throws {
        if let seal {
            let sealed: [UInt8]
            do { sealed = try seal(image) } catch { throw MediaError("cannot seal '\(path)': \(error)") }
            try writeAtomically(sealed, to: path)
        } else {
            try writeAtomically(image, to: path)
        }
    }

    /// Writes bytes to a temporary sibling of `path`, fsyncs it and renames it into place.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let temp = dir + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw MediaError("cannot create '\(temp)': \(String(cString: strerror(errno)))") }
        var ok = false
        defer { if !ok { unlink(temp) } }
        let written: Int = bytes.withUnsafeBytes { buf in
            var done = 0
            while done < buf.count {
                let n = Glibc.write(fd, buf.baseAddress! + done, buf.count - done)
                if n < 0 { if errno == EINTR { continue }; return -1 }
                done += n
            }
            return done
        }
        let err = errno
        let synced = written == bytes.count && fsync(fd) == 0
        close(fd)
        guard synced else { throw MediaError("cannot write '\(temp)': \(String(cString: strerror(err)))") }
        guard rename(temp, path) == 0 else {
            throw MediaError("cannot rename to '\(path)': \(String(cString: strerror(errno)))")
        }
        ok = true
    }
}

extension EncodedAudio {
    /// Loads a WAV file (any format `WAVFile` reads) as a prompt.
    public convenience init(wavAt path: String) throws {
        self.init(samples: try WAVFile.read(path: path))
    }
}
