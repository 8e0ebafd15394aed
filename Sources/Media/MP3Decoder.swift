import CMpg123
import Foundation

/// MP3 audio for `<Play>` (hold music and greetings usually are), decoded with libmpg123
/// into 16-bit mono samples at the file's rate.
public enum MP3Decoder {
    /// Longest audio decoded, in seconds: far more than any prompt or hold loop, and a
    /// bound on the memory one fetched file can take.
    public static let maxSeconds = 1800

    /// True when `bytes` start like an MP3 file: an ID3v2 tag, or an MPEG audio frame sync.
    public static func looksLikeMP3(_ bytes: some Collection<UInt8>) -> Bool {
        let head = Array(bytes.prefix(3))
        guard head.count == 3 else { return false }
        if head == Array("ID3".utf8) { return true }
        return head[0] == 0xFF && head[1] & 0xE0 == 0xE0
    }

    /// The file's audio, mixed down to mono, and its sample rate.
    public static func decode(_ bytes: [UInt8]) throws -> (samples: [Int16], rate: Int) {
        _ = initialised
        var err: Int32 = 0
        guard let mh = mpg123_new(nil, &err) else { throw MediaError("libmpg123: cannot create a decoder (\(err))") }
        defer { mpg123_delete(mh) }
        _ = mpg123_param2(mh, Int32(MPG123_ADD_FLAGS.rawValue), Int(MPG123_QUIET.rawValue), 0)
        try allowSigned16(mh)
        guard mpg123_open_feed(mh) == MPG123_OK.rawValue else { throw MediaError("libmpg123: \(message(mh))") }
        var out = [Int16](repeating: 0, count: 16_384)
        var samples: [Int16] = []
        var rate = 0, channels = 1
        var first = true
        while true {
            var done = 0
            let ret: Int32 = bytes.withUnsafeBytes { input in
                out.withUnsafeMutableBytes { output in
                    mpg123_decode(mh, first ? input.baseAddress : nil, first ? input.count : 0,
                                  output.baseAddress, output.count, &done)
                }
            }
            first = false
            if ret == MPG123_NEW_FORMAT.rawValue { (rate, channels) = try format(mh) }
            samples += out.prefix(done / 2)
            guard rate == 0 || samples.count <= maxSeconds * rate * channels else {
                throw MediaError("MP3 longer than \(maxSeconds / 60) minutes")
            }
            if ret == MPG123_NEED_MORE.rawValue || ret == MPG123_DONE.rawValue { break }
            guard ret == MPG123_OK.rawValue || ret == MPG123_NEW_FORMAT.rawValue else {
                throw MediaError("libmpg123: \(message(mh))")
            }
        }
        guard rate > 0, !samples.isEmpty else { throw MediaError("not an MP3 file: no audio frame decoded") }
        return (channels == 2 ? mixDown(samples) : samples, rate)
    }

    private static let initialised: Bool = mpg123_init() == MPG123_OK.rawValue

    /// Every rate libmpg123 decodes, mono or stereo, as signed 16-bit samples only.
    private static func allowSigned16(_ mh: OpaquePointer) throws {
        guard mpg123_format_none(mh) == MPG123_OK.rawValue else { throw MediaError("libmpg123: \(message(mh))") }
        var list: UnsafePointer<Int>?
        var count = 0
        mpg123_rates(&list, &count)
        for i in 0..<count {
            guard let r = list?[i] else { continue }
            _ = mpg123_format(mh, r, Int32(MPG123_MONO.rawValue | MPG123_STEREO.rawValue), Int32(MPG123_ENC_SIGNED_16.rawValue))
        }
    }

    private static func format(_ mh: OpaquePointer) throws -> (rate: Int, channels: Int) {
        var rate = 0
        var channels: Int32 = 0, encoding: Int32 = 0
        guard mpg123_getformat(mh, &rate, &channels, &encoding) == MPG123_OK.rawValue, rate > 0, channels == 1 || channels == 2 else {
            throw MediaError("libmpg123: unusable output format")
        }
        return (rate, Int(channels))
    }

    private static func mixDown(_ interleaved: [Int16]) -> [Int16] {
        stride(from: 0, to: interleaved.count - 1, by: 2).map { i in
            Int16((Int32(interleaved[i]) + Int32(interleaved[i + 1])) / 2)
        }
    }

    private static func message(_ mh: OpaquePointer) -> String {
        mpg123_strerror(mh).map { String(cString: $0) } ?? "error"
    }
}

extension EncodedAudio {
    /// A prompt from a file (WAV or MP3) of at most `maxBytes`.
    public convenience init(audioAt path: String, maxBytes: Int = 16 << 20, wideband: Bool = false) throws {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        guard let size else { throw MediaError("cannot read audio file '\(path)'") }
        guard size <= maxBytes else { throw MediaError("'\(path)' is longer than \(maxBytes) bytes") }
        guard let data = FileManager.default.contents(atPath: path) else { throw MediaError("cannot read audio file '\(path)'") }
        try self.init(audioFile: [UInt8](data), name: path, wideband: wideband)
    }

    /// A prompt from a file's bytes: WAV (any format `WAVFile` reads) or MP3, told apart by
    /// their first bytes; resampled to 8 kHz, or to 16 kHz and G.722-encoded (`wideband`).
    public convenience init(audioFile bytes: [UInt8], name: String, wideband: Bool = false) throws {
        let rate = wideband ? 16000 : 8000
        let samples: [Int16]
        if MP3Decoder.looksLikeMP3(bytes) {
            let (decoded, from) = try MP3Decoder.decode(bytes)
            samples = try Resampler.resample(decoded, from: from, to: rate)
        } else if bytes.starts(with: Array("RIFF".utf8)) {
            do { samples = try WAVFile.decode(bytes, rate: rate) } catch let e as MediaError { throw MediaError("\(name): \(e.description)") }
        } else {
            throw MediaError("\(name): neither WAV nor MP3")
        }
        if wideband { self.init(wideband: samples) } else { self.init(samples: samples) }
    }
}
