import Foundation
import Media

/// Why a recording could not be transcribed.
public enum TranscriptionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The WAV file does not exist.
    case fileNotFound(String)
    /// The file exists but could not be read.
    case unreadable(String)
    /// The file is not a well-formed WAV (RIFF/WAVE with `fmt ` and `data` chunks).
    case invalidWAV(String)
    /// A WAV this module does not decode (only 16-bit PCM is).
    case unsupportedFormat(String)
    /// The acoustic model, dictionary or language model is missing or failed to load.
    case model(String)
    /// The decoder or the resampler failed.
    case decoder(String)

    /// A short explanation, fit for a log line.
    public var description: String {
        switch self {
        case .fileNotFound(let path): "no such file: \(path)"
        case .unreadable(let message): "cannot read: \(message)"
        case .invalidWAV(let message): "not a valid WAV file: \(message)"
        case .unsupportedFormat(let message): "unsupported WAV format: \(message)"
        case .model(let message): "speech model: \(message)"
        case .decoder(let message): "decoder: \(message)"
        }
    }
}

/// A decoded WAV recording: mono 16-bit samples and their rate.
public struct WAVAudio: Sendable, Equatable {
    /// Mono samples (multi-channel files are averaged down).
    public var samples: [Int16]
    /// Samples per second.
    public var sampleRate: Int

    /// Duration in seconds.
    public var duration: Double { sampleRate > 0 ? Double(samples.count) / Double(sampleRate) : 0 }

    /// Audio from samples.
    public init(samples: [Int16], sampleRate: Int) {
        self.samples = samples
        self.sampleRate = sampleRate
    }

    /// Reads a RIFF/WAVE file of 16-bit PCM (format 1, or WAVE_FORMAT_EXTENSIBLE with PCM).
    /// Chunks other than `fmt ` and `data` are skipped; a `data` chunk whose size runs past
    /// the end of the file (a recording that was never finalised) is read up to the end.
    public init(contentsOfFile path: String) throws(TranscriptionError) {
        guard FileManager.default.fileExists(atPath: path) else { throw .fileNotFound(path) }
        guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(path) }
        try self.init(wavData: data)
    }

    /// Parses WAV bytes; see `init(contentsOfFile:)`.
    public init(wavData data: Data) throws(TranscriptionError) {
        let bytes = [UInt8](data)
        let (format, payload) = try WAVFile.chunks(bytes, problem: Self.invalid) { (f: WAVFile.FormatChunk) throws(TranscriptionError) in f }
        guard format.tag == 1 else { throw .unsupportedFormat("format code \(format.tag); only PCM is decoded") }
        guard format.bitsPerSample == 16 else { throw .unsupportedFormat("\(format.bitsPerSample)-bit samples; only 16-bit") }
        guard format.channels >= 1, format.sampleRate >= 1000, format.sampleRate <= 192_000 else {
            throw .invalidWAV("\(format.channels) channels at \(format.sampleRate) Hz")
        }
        // Channels averaged by integer division (rounding toward zero).
        let channels = format.channels
        let frames = payload.count / (2 * channels)
        var mono = [Int16](repeating: 0, count: frames)
        var p = payload.lowerBound
        for i in 0..<frames {
            var sum = 0
            for _ in 0..<channels {
                sum += Int(Int16(bitPattern: UInt16(bytes[p]) | UInt16(bytes[p + 1]) << 8))
                p += 2
            }
            mono[i] = Int16(sum / channels)
        }
        self.init(samples: mono, sampleRate: format.sampleRate)
    }

    /// This module's wording of a chunk walk's failure.
    private static func invalid(_ problem: WAVFile.ChunkProblem) -> TranscriptionError {
        switch problem {
        case .tooShort(let count): .invalidWAV("\(count) bytes, too short for a RIFF header")
        case .notRIFFWAVE: .invalidWAV("no RIFF/WAVE header")
        case .dataBeforeFormat, .noFormat: .invalidWAV("no fmt chunk")
        case .truncatedFormat, .noData: .invalidWAV(problem.description)
        }
    }

    /// The file bytes of 16-bit mono PCM WAV for these samples (for tests and tools).
    public func wavData() -> Data {
        Data(samples.withUnsafeBufferPointer { WAVFile.encode($0, sampleRate: sampleRate) })
    }

    /// The same audio at another rate, converted with speexdsp.
    public func resampled(to rate: Int) throws(TranscriptionError) -> WAVAudio {
        WAVAudio(samples: try SpeexResample.convert(samples, from: sampleRate, to: rate), sampleRate: rate)
    }
}

/// Sample-rate conversion: the media engine's speexdsp resampler, with this module's errors.
enum SpeexResample {
    static func convert(_ input: [Int16], from: Int, to: Int) throws(TranscriptionError) -> [Int16] {
        do { return try Resampler.resample(input, from: from, to: to) } catch {
            throw .decoder("\(error)")
        }
    }
}

/// Faint deterministic white noise (xorshift64, fixed seed), so that the same recording
/// always gives the same text.
enum NoiseFloor {
    static func add(to samples: [Int16], amplitude: Int) -> [Int16] {
        guard amplitude > 0 else { return samples }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let span = UInt64(2 * amplitude + 1)
        return samples.map { s in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int16(clamping: Int(s) + Int(state % span) - amplitude)
        }
    }
}
