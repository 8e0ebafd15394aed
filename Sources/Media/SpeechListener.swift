/// How to listen for one utterance (`<Gather input="speech">`).
public struct SpeechListenSpec: Sendable, Equatable {
    /// The utterance ends after this much quiet following speech (seconds).
    public var endSilenceSeconds: Double
    /// The longest utterance kept (seconds); it ends there.
    public var maxSeconds: Double
    /// A 20 ms frame at or above this RMS level is voice (about -38 dBFS at 400).
    public var onsetThreshold: Int16
    /// Frames in a row above `onsetThreshold` that make speech (3 = 60 ms: a click or a
    /// single loud packet is not speech).
    public var onsetFrames: Int
    /// Below this RMS a frame is quiet (the end-of-speech clock runs).
    public var quietThreshold: Int16

    /// Creates a spec; the defaults suit G.711 telephone audio.
    public init(endSilenceSeconds: Double, maxSeconds: Double = 60, onsetThreshold: Int16 = 400,
                onsetFrames: Int = 3, quietThreshold: Int16 = 250) {
        self.endSilenceSeconds = max(0.2, endSilenceSeconds)
        self.maxSeconds = max(1, min(maxSeconds, 120))
        self.onsetThreshold = onsetThreshold
        self.onsetFrames = max(1, onsetFrames)
        self.quietThreshold = quietThreshold
    }
}

/// Voice activity and end-pointing for one utterance, fed with decoded frames on the
/// receiver thread (no allocation per frame). Before speech only the last `preroll`
/// seconds are kept, so the start of the first word is not cut; from the onset everything
/// is kept until the caller has been quiet for `endSilenceSeconds` (measured by the clock,
/// so a caller who stops sending packets also ends the utterance) or `maxSeconds` passed.
struct SpeechListener {
    enum Phase: Equatable {
        case waiting
        case speaking
        case ended
    }

    static let preroll = 0.3

    let spec: SpeechListenSpec
    let token: UInt64
    let buffer: SampleBuffer
    private(set) var phase = Phase.waiting
    /// Speech started (stays true once the utterance has ended).
    private(set) var heardSpeech = false
    /// Set when the onset has been reported to the control thread.
    var startReported = false
    private var loudRun = 0
    private var onsetAt = 0.0
    private var lastLoud = 0.0
    /// Samples up to the last loud frame (the trailing quiet is not decoded).
    private var voicedEnd = 0
    private let onsetSquared: Int64
    private let quietSquared: Int64

    /// Allocates the buffer (call this off the receiver thread).
    init(spec: SpeechListenSpec, token: UInt64) {
        self.spec = spec
        self.token = token
        buffer = SampleBuffer(capacity: Int((spec.maxSeconds + Self.preroll * 2) * 8000))
        onsetSquared = Int64(spec.onsetThreshold) * Int64(spec.onsetThreshold)
        quietSquared = Int64(spec.quietThreshold) * Int64(spec.quietThreshold)
    }

    /// Takes one decoded frame received at `now` (seconds, monotonic).
    mutating func append(_ frame: UnsafeBufferPointer<Int16>, at now: Double) {
        guard phase != .ended, !frame.isEmpty else { return }
        let energy = RecordingMonitor.meanSquare(frame)
        if phase == .waiting {
            keepPrerollOnly()
            _ = buffer.append(frame)
            loudRun = energy >= onsetSquared ? loudRun + 1 : 0
            if loudRun >= spec.onsetFrames {
                phase = .speaking
                heardSpeech = true
                onsetAt = now
                lastLoud = now
                voicedEnd = buffer.count
            }
            return
        }
        if buffer.append(frame) < frame.count { phase = .ended; return }
        if energy >= quietSquared {
            lastLoud = now
            voicedEnd = buffer.count
        }
        _ = check(at: now)
    }

    /// Applies the clock rules; true once the utterance has ended.
    mutating func check(at now: Double) -> Bool {
        if phase == .speaking,
           now - lastLoud >= spec.endSilenceSeconds || now - onsetAt >= spec.maxSeconds {
            phase = .ended
        }
        return phase == .ended
    }

    /// The utterance: from the preroll before the onset to a little after the last loud
    /// frame. Empty when no speech started.
    func utterance() -> [Int16] {
        guard heardSpeech else { return [] }
        let tail = Int(0.2 * 8000)
        let end = min(buffer.count, voicedEnd + tail)
        return Array(UnsafeBufferPointer(rebasing: buffer.samples[0..<end]))
    }

    /// Before the onset, keeps only the last `preroll` seconds: once the buffer holds twice
    /// that, the newest half moves to the front (a copy per 0.3 s, not per frame).
    private mutating func keepPrerollOnly() {
        let keep = Int(Self.preroll * 8000)
        guard buffer.count >= 2 * keep else { return }
        buffer.keepLast(keep)
    }
}
