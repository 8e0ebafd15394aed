import CEspeakNG
import CSpeexDSP
import Foundation
import Observability

/// What to say and how: the cache key for synthesised prompts.
public struct SpeechKey: Hashable, Sendable, CustomStringConvertible {
    public var text: String
    public var voice: String
    public var language: String
    /// `text` is an SSML `<speak>` document, spoken as SSML.
    public var ssml: Bool
    /// For G.722 calls: kept at 16 kHz and G.722-encoded (`EncodedAudio(wideband:)`), a
    /// cache entry of its own beside the 8 kHz G.711 one.
    public var wideband: Bool
    public init(text: String, voice: String, language: String, ssml: Bool = false, wideband: Bool = false) {
        self.text = text
        self.voice = voice
        self.language = language
        self.ssml = ssml
        self.wideband = wideband
    }
    public var description: String { "\(voice)/\(language)/\(text.count)ch\(wideband ? "/16k" : "")" }
}

/// Maps TeXML voice and language names onto espeak-ng voices.
public enum EspeakVoice {
    /// Polly/Telnyx voice names that are male; other named voices default to female.
    static let maleNames: Set<String> = ["matthew", "joey", "justin", "kevin", "brian", "russell", "arthur",
                                         "miguel", "enrique", "mathieu", "hans", "daniel", "giorgio",
                                         "takumi", "ricardo", "cristiano", "jacek", "jan", "maxim", "liam"]

    /// The espeak language voice for a BCP-47 tag: the full tag if espeak has it (`en-us`,
    /// `pt-br`), else the base language (`de`), else `en-us`.
    public static func languageVoice(_ language: String, available: (String) -> Bool) -> String {
        let tag = language.lowercased().replacingOccurrences(of: "_", with: "-")
        let aliases: [String: String] = ["en-us": "en-us", "en-gb": "en", "en-au": "en", "en-in": "en",
                                         "zh-cn": "cmn", "zh": "cmn", "cmn-cn": "cmn", "es-mx": "es-419",
                                         "es-us": "es-419", "fr-fr": "fr", "de-de": "de", "it-it": "it",
                                         "es-es": "es", "pt-pt": "pt", "ja-jp": "ja", "nl-nl": "nl"]
        if let a = aliases[tag], available(a) { return a }
        if available(tag) { return tag }
        if let base = tag.split(separator: "-").first, available(String(base)) { return String(base) }
        return "en-us"
    }

    /// The espeak variant suffix for a TeXML voice: "man" is espeak's default male voice,
    /// "woman", "alice" and female Polly/Telnyx voices use the f3 variant.
    public static func variant(forVoice voice: String) -> String {
        let v = voice.lowercased()
        if v == "man" || v == "male" { return "" }
        if v == "woman" || v == "female" || v == "alice" { return "+f3" }
        let name = v.split(separator: ".").last.map(String.init) ?? v
        let first = name.split(separator: "-").first.map(String.init) ?? name
        return maleNames.contains(first) ? "" : "+f3"
    }
}

/// Text to speech with espeak-ng, resampled to 8 kHz with speexdsp.
///
/// espeak-ng keeps global state, so one instance must own it and be used from one thread
/// at a time (the prompt cache's synthesis thread does that).
public final class SpeechSynthesizer: @unchecked Sendable {
    private let sourceRate: Int32
    private let logger: Logger

    /// Initialises espeak-ng (synchronous mode, no audio device).
    public init(logger: Logger) throws {
        self.logger = logger
        espeak_ng_InitializePath(nil)
        let status = espeak_ng_Initialize(nil)
        guard status == ENS_OK else { throw MediaError("espeak-ng initialisation failed (status \(status.rawValue)); is espeak-ng-data installed?") }
        let out = espeak_ng_InitializeOutput(ENOUTPUT_MODE_SYNCHRONOUS, 0, nil)
        guard out == ENS_OK else { throw MediaError("espeak-ng output initialisation failed (status \(out.rawValue))") }
        sourceRate = espeak_ng_GetSampleRate()
        espeak_SetSynthCallback { wav, count, events in
            guard let events, let ctx = events.pointee.user_data, let wav, count > 0 else { return 0 }
            let sink = Unmanaged<SampleSink>.fromOpaque(ctx).takeUnretainedValue()
            sink.samples.append(contentsOf: UnsafeBufferPointer(start: wav, count: Int(count)))
            return 0
        }
    }

    private func voiceExists(_ name: String) -> Bool {
        espeak_ng_SetVoiceByName(name) == ENS_OK
    }

    /// Synthesises `key` to 8 kHz 16-bit mono samples.
    public func synthesize(_ key: SpeechKey) throws -> [Int16] {
        try synthesizeSource(key).resampled()
    }

    /// Synthesises `key` at espeak-ng's own rate (22,050 Hz). Only this part needs the
    /// synthesizer's thread; `resampled()` can run anywhere, so the prompt cache does it on
    /// other cores (the conversion costs about as much as the synthesis).
    public func synthesizeSource(_ key: SpeechKey) throws -> SourceSpeech {
        let lang = EspeakVoice.languageVoice(key.language, available: voiceExists)
        let name = lang + EspeakVoice.variant(forVoice: key.voice)
        if espeak_ng_SetVoiceByName(name) != ENS_OK {
            guard espeak_ng_SetVoiceByName(lang) == ENS_OK else { throw MediaError("no espeak voice for \(key.language)") }
        }
        let sink = SampleSink()
        let ctx = Unmanaged.passRetained(sink)
        defer { ctx.release() }
        let status = key.text.withCString { text in
            espeak_ng_Synthesize(text, strlen(text) + 1, 0, espeak_POSITION_TYPE(rawValue: 1), 0,
                                 UInt32(espeakCHARS_UTF8) | (key.ssml ? UInt32(espeakSSML) : 0), nil, ctx.toOpaque())
        }
        guard status == ENS_OK else { throw MediaError("espeak-ng synthesis failed (status \(status.rawValue))") }
        return SourceSpeech(samples: sink.samples, rate: Int(sourceRate))
    }
}

/// Speech as espeak-ng made it, before conversion to the telephone rate.
public struct SourceSpeech: Sendable {
    public var samples: [Int16]
    public var rate: Int

    /// 8 kHz samples, converted at speexdsp's VoIP quality (3): its filter is a third as long
    /// as quality 8's and the conversion three times faster (5.4 against 17 ms for 5.5 s of
    /// speech here), and the result is band-limited to 4 kHz and G.711-coded anyway.
    /// `rate` 16,000 for G.722 calls (the same quality: G.722 stops at 7 kHz).
    public func resampled(to rate: Int = 8000) throws -> [Int16] {
        try Resampler.resample(samples, from: self.rate, to: rate, quality: Resampler.voipQuality)
    }
}

private final class SampleSink {
    var samples: [Int16] = []
}

/// Sample-rate conversion with speexdsp.
public enum Resampler {
    /// speexdsp's quality for VoIP (`SPEEX_RESAMPLER_QUALITY_VOIP`).
    public static let voipQuality: Int32 = 3

    /// Converts mono 16-bit audio between rates (`quality` 0-10; 8 unless told: files are
    /// converted once and cached).
    public static func resample(_ input: [Int16], from: Int, to: Int, quality: Int32 = 8) throws -> [Int16] {
        if from == to || input.isEmpty { return input }
        var err: Int32 = 0
        guard let st = speex_resampler_init(1, UInt32(from), UInt32(to), quality, &err) else {
            throw MediaError("speex resampler init failed (\(err))")
        }
        defer { speex_resampler_destroy(st) }
        speex_resampler_skip_zeros(st)
        let latency = Int(speex_resampler_get_input_latency(st))
        let padded = input + [Int16](repeating: 0, count: latency)
        let expected = Int((Double(input.count) * Double(to) / Double(from)).rounded(.up))
        var out = [Int16](repeating: 0, count: expected + 64)
        var inLen = UInt32(padded.count)
        var outLen = UInt32(out.count)
        let rc = padded.withUnsafeBufferPointer { i in
            out.withUnsafeMutableBufferPointer { o in
                speex_resampler_process_int(st, 0, i.baseAddress, &inLen, o.baseAddress, &outLen)
            }
        }
        guard rc == 0 else { throw MediaError("speex resampling failed (\(rc))") }
        return Array(out.prefix(min(Int(outLen), expected)))
    }
}

/// An error from the media layer, with a message fit for a log line.
public struct MediaError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}
