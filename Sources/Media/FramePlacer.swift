/// Where the frames of one received RTP stream go on a recording's timeline (samples since
/// the recording started), so that the recording lasts as long as the time recorded
/// whatever the packets did. The recorders leave silence (zeros) where nothing was placed
/// and pad the end up to the time elapsed (`Recorder.length(at:)`, `CallRecorder`).
///
/// **By RTP timestamp, checked against the arrival time.** The sender's timestamp says
/// exactly where a frame belongs: a lost packet leaves a hole of its own length, a packet
/// overtaken by the next one still lands in its hole, and a burst of packets held up by the
/// network (all arriving at once after a gap) fills the gap it left instead of piling up
/// past the present. Placing by arrival time alone cannot do that: a burst then either
/// grows the recording beyond the time elapsed or is dropped, and every scheduling hiccup
/// of the receiver moves audio.
///
/// But the timestamp is the peer's word, so it is trusted only while it agrees with the
/// receiver's clock. The first frame of a stream is anchored at its arrival (rounded down
/// to the 20 ms grid); a frame from a new SSRC, or one whose timestamp puts it more than
/// `lateLimit` before its arrival or more than `earlyLimit` after it, re-anchors the stream
/// at its arrival (right after what the stream already wrote, when that is within
/// `earlyLimit`). A straggler outside the limits (a sequence number older than the newest
/// placed) is dropped instead, so that it cannot drag the stream back. A timestamp jump, a
/// new source or a lying peer therefore moves audio by no more than those limits, never
/// fills more silence than the time that actually passed, and never pushes the recording
/// past the present by more than `earlyLimit`; the recorders drop what falls outside the
/// maximum length.
///
/// Known limits, bounded by the same windows: a sender whose clock runs slow lags until
/// `lateLimit` and then jumps forward (a hole of up to that much); one whose timestamps do
/// not advance over a pause shorter than `lateLimit` has what follows placed up to that
/// pause too early.
///
/// Plain values, no allocation: one per stream, updated on the receiver thread per packet.
struct FramePlacer {
    /// How far (samples) before its arrival a frame may still be placed by its timestamp:
    /// a packet held up to 0.5 s fills its gap (the same wait as
    /// `RecordingMonitor.maxLengthGrace` gives the last packets).
    static let lateLimit = 4000
    /// How far after its arrival a frame may be placed: the first frame's own delay, which
    /// later, faster packets show as lead, and sender clock drift. Two 20 ms frames.
    static let earlyLimit = 320

    /// Samples at 8 kHz from `start` to `now` (seconds), to the nearest.
    @inline(__always)
    static func samples(from start: Double, to now: Double) -> Int { Int(((now - start) * 8000).rounded()) }

    private var anchored = false
    private var ssrc: UInt32 = 0
    private var anchorTimestamp: UInt32 = 0
    private var anchorPosition = 0
    /// The newest sequence number placed (a straggler re-anchors nothing).
    private var sequence: UInt16 = 0
    /// The end of the furthest frame placed so far.
    private(set) var end = 0

    /// The position of a frame of `count` samples with RTP `timestamp`, `sequence` and
    /// `ssrc` that was received `arrival` samples after the recording started; nil when it
    /// is dropped (a straggler older than the packets placed, outside the limits). Negative
    /// when part of it belongs before the start; the caller drops that part.
    @inline(__always)
    mutating func place(count: Int, timestamp: UInt32, sequence: UInt16, ssrc: UInt32, arrival: Int) -> Int? {
        // Where the frame starts if it arrived the moment its last sample was taken.
        let onTime = arrival - count
        guard anchored && ssrc == self.ssrc else {
            return reanchor(count: count, timestamp: timestamp, sequence: sequence, ssrc: ssrc, onTime: onTime)
        }
        let newer = Int16(bitPattern: sequence &- self.sequence) > 0
        if newer { self.sequence = sequence }
        // Signed 32-bit difference: wraps around with the timestamp.
        let position = anchorPosition + Int(Int32(bitPattern: timestamp &- anchorTimestamp))
        guard position >= onTime - Self.lateLimit && position <= onTime + Self.earlyLimit else {
            // A straggler must not move the stream to its old timestamp: it is dropped.
            guard newer else { return nil }
            return reanchor(count: count, timestamp: timestamp, sequence: sequence, ssrc: ssrc, onTime: onTime)
        }
        end = max(end, position + count)
        return position
    }

    private mutating func reanchor(count: Int, timestamp: UInt32, sequence: UInt16, ssrc: UInt32, onTime: Int) -> Int {
        // On the 20 ms grid (never later than on time), so that frames line up with the
        // frames silence trimming measures.
        let grid = max(0, onTime) / 160 * 160
        let position = min(max(grid, end), grid + Self.earlyLimit)
        anchored = true
        self.ssrc = ssrc
        self.sequence = sequence
        anchorTimestamp = timestamp
        anchorPosition = position
        end = max(end, position + count)
        return position
    }
}
