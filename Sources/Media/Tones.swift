import Foundation

/// Generated tones, encoded once and played with `MediaEngine.play` like any prompt.
public enum Tones {
    /// The DTMF frequency pairs (low, high) in Hz for "123A456B789C*0#D".
    static func frequencies(_ digit: Character) -> (low: Double, high: Double)? {
        let rows: [Double] = [697, 770, 852, 941]
        let cols: [Double] = [1209, 1336, 1477, 1633]
        let keys: [Character] = ["1", "2", "3", "A", "4", "5", "6", "B", "7", "8", "9", "C", "*", "0", "#", "D"]
        guard let i = keys.firstIndex(of: Character(digit.uppercased())) else { return nil }
        return (rows[i / 4], cols[i % 4])
    }

    /// Milliseconds of tone per digit.
    public static let dtmfToneMilliseconds = 100
    /// Milliseconds of silence after each digit.
    public static let dtmfGapMilliseconds = 100
    /// Peak amplitude of each of the two DTMF tones (about -9 dBm0 each in G.711).
    static let dtmfAmplitude = 7000.0
    /// Peak amplitude of the beep (about -7 dBm0).
    static let beepAmplitude = 9000.0

    /// The record beep: 500 ms of 1 kHz at about -7 dBm0 with 10 ms fades, shared by all calls.
    public static func beep() -> EncodedAudio { beepAudio }

    private static let beepAudio = EncodedAudio(samples: beepSamples())

    /// The beep as 8 kHz samples.
    public static func beepSamples() -> [Int16] {
        var out = [Int16](repeating: 0, count: 4000)
        addTone(into: &out, at: 0, count: 4000, frequencies: [1000], amplitude: beepAmplitude, rampSamples: 80)
        return out
    }

    /// In-band DTMF for `<Play digits>`: for each of "0123456789*#ABCD" 100 ms of tone then
    /// 100 ms of silence; "w" is a 500 ms pause and "W" a 1 s pause. Spaces and other
    /// characters are skipped.
    public static func dtmf(_ digits: String) -> EncodedAudio {
        EncodedAudio(samples: dtmfSamples(digits))
    }

    /// The DTMF sequence as 8 kHz samples.
    public static func dtmfSamples(_ digits: String) -> [Int16] {
        let tone = dtmfToneMilliseconds * 8
        let gap = dtmfGapMilliseconds * 8
        var total = 0
        for c in digits {
            if c == "w" { total += 4000 } else if c == "W" { total += 8000 } else if frequencies(c) != nil { total += tone + gap }
        }
        var out = [Int16](repeating: 0, count: total)
        var at = 0
        for c in digits {
            if c == "w" { at += 4000; continue }
            if c == "W" { at += 8000; continue }
            guard let f = frequencies(c) else { continue }
            addTone(into: &out, at: at, count: tone, frequencies: [f.low, f.high], amplitude: dtmfAmplitude, rampSamples: 24)
            at += tone + gap
        }
        return out
    }

    /// North American ringback (440 + 480 Hz, 2 s on, 4 s off), played looping to a caller
    /// while a dialed party rings.
    public static func ringback() -> EncodedAudio { ringbackAudio }

    private static let ringbackAudio: EncodedAudio = {
        var samples = [Int16](repeating: 0, count: 6 * 8000)
        addTone(into: &samples, at: 0, count: 2 * 8000, frequencies: [440, 480], amplitude: 3500, rampSamples: 40)
        return EncodedAudio(samples: samples)
    }()

    /// Adds a sum of sines with raised-cosine fades (no clicks) into `out[at..<at+count]`.
    static func addTone(into out: inout [Int16], at: Int, count: Int, frequencies: [Double],
                        amplitude: Double, rampSamples: Int) {
        let ramp = max(1, min(rampSamples, count / 2))
        for n in 0..<count {
            let t = Double(n) / 8000
            var v = 0.0
            for f in frequencies { v += sin(2 * Double.pi * f * t) }
            var gain = 1.0
            if n < ramp { gain = 0.5 - 0.5 * cos(Double.pi * Double(n) / Double(ramp)) }
            if n >= count - ramp { gain = min(gain, 0.5 - 0.5 * cos(Double.pi * Double(count - 1 - n) / Double(ramp))) }
            let s = Double(out[at + n]) + v * amplitude * gain
            out[at + n] = Int16(max(-32768, min(32767, s.rounded())))
        }
    }
}
