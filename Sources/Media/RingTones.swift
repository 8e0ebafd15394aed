import Foundation
import Synchronization

/// National ringback tones for `<Dial ringTone>` (the codes Twilio documents), from ITU-T
/// E.180 Supplement 2: the frequencies and the on/off cadence in seconds, repeated.
public enum RingTones {
    struct Pattern {
        var frequencies: [Double]
        /// Alternating on and off durations, starting with on.
        var cadence: [Double]
    }

    /// North America's 440 + 480 Hz, 2 s on, 4 s off: the default.
    static let northAmerica = Pattern(frequencies: [440, 480], cadence: [2, 4])
    static let europe = Pattern(frequencies: [425], cadence: [1, 4])
    static let doubleRing = Pattern(frequencies: [400, 450], cadence: [0.4, 0.2, 0.4, 2])

    static let patterns: [String: Pattern] = [
        "us": northAmerica, "ca": northAmerica, "us-old": Pattern(frequencies: [440, 480], cadence: [2, 4]),
        "uk": doubleRing, "gb": doubleRing, "ie": doubleRing, "nz": doubleRing,
        "au": Pattern(frequencies: [400, 425], cadence: [0.4, 0.2, 0.4, 2]),
        "in": Pattern(frequencies: [375, 425], cadence: [0.4, 0.2, 0.4, 2]),
        "de": europe, "ch": europe, "nl": europe, "it": europe, "dk": europe, "no": europe, "fi": europe,
        "pl": europe, "mx": europe, "br": europe, "cz": europe, "hu": europe, "gr": europe,
        "at": Pattern(frequencies: [420], cadence: [1, 5]),
        "se": Pattern(frequencies: [425], cadence: [1, 5]),
        "pt": Pattern(frequencies: [425], cadence: [1, 5]),
        "be": Pattern(frequencies: [425], cadence: [1, 3]),
        "fr": Pattern(frequencies: [440], cadence: [1.5, 3.5]),
        "es": Pattern(frequencies: [425], cadence: [1.5, 3]),
        "ru": Pattern(frequencies: [425], cadence: [0.8, 3.2]),
        "cn": Pattern(frequencies: [450], cadence: [1, 4]),
        // Japan's 400 Hz modulated at 16 Hz, as the 384 + 416 Hz pair that beats at 16 Hz.
        "jp": Pattern(frequencies: [384, 416], cadence: [1, 2]),
    ]

    private static let cache = Mutex<[String: EncodedAudio]>([:])

    /// The ringback for a `ringTone` code (case-insensitive); North America's for nil or a
    /// code not in the table.
    public static func ringback(_ code: String?) -> EncodedAudio {
        let key = code.map { $0.lowercased() }.flatMap { patterns[$0] != nil ? $0 : nil } ?? "us"
        if key == "us" { return Tones.ringback() }
        return cache.withLock { made in
            if let a = made[key] { return a }
            let a = EncodedAudio(samples: samples(patterns[key]!))
            made[key] = a
            return a
        }
    }

    /// True when `code` names a tone in the table.
    public static func isKnown(_ code: String) -> Bool { patterns[code.lowercased()] != nil }

    /// One period of the pattern at 8 kHz.
    static func samples(_ p: Pattern) -> [Int16] {
        let total = Int((p.cadence.reduce(0, +) * 8000).rounded())
        var out = [Int16](repeating: 0, count: total)
        var at = 0
        for (i, seconds) in p.cadence.enumerated() {
            let count = Int((seconds * 8000).rounded())
            if i % 2 == 0 {
                Tones.addTone(into: &out, at: at, count: min(count, total - at), frequencies: p.frequencies,
                              amplitude: 7000 / Double(p.frequencies.count), rampSamples: 40)
            }
            at += count
        }
        return out
    }
}
