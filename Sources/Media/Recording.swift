import Foundation
import Observability

/// Why a recording ended.
public enum RecordingEndReason: String, Sendable, Equatable, CustomStringConvertible {
    /// No sound above the threshold for the silence timeout.
    case silence
    /// The maximum length was reached.
    case maxLength
    /// The caller pressed a finish key (the daemon stops the recording).
    case finishKey
    /// The call ended.
    case hangup
    /// Stopped by the application for another reason.
    case stopped

    /// The case name, e.g. "maxLength".
    public var description: String { rawValue }
}

/// How to record a caller.
public struct RecordingSpec: Sendable, Equatable {
    /// Where the WAV file goes (8 kHz, 16-bit, mono). Missing directories are created.
    public var path: String
    /// The longest recording; values below 1 mean 3600 (one hour).
    public var maxLengthSeconds: Int
    /// End after this many seconds without sound; 0 turns silence detection off.
    public var silenceTimeoutSeconds: Int
    /// A 20 ms frame whose RMS level is below this counts as silence.
    public var silenceThreshold: Int16
    /// Cut silence from the start and the end before writing.
    public var trimSilence: Bool
    /// Write an MP3 file (`MP3Encoder`) instead of a WAV.
    public var mp3 = false
    /// Two channels: the caller on the first, what tollfreed sent during the recording on
    /// the second (nothing is played while `<Record>` records, so it is silence).
    public var dual = false
    /// Seals the WAV image before it is written (encryption at rest): the plaintext then
    /// never reaches the disk, not even as a temporary file.
    public var seal: (@Sendable ([UInt8]) throws -> [UInt8])? = nil

    public static func == (a: RecordingSpec, b: RecordingSpec) -> Bool {
        a.path == b.path && a.maxLengthSeconds == b.maxLengthSeconds && a.silenceTimeoutSeconds == b.silenceTimeoutSeconds
            && a.silenceThreshold == b.silenceThreshold && a.trimSilence == b.trimSilence && (a.seal == nil) == (b.seal == nil)
    }

    /// Defaults follow TwiML `<Record>`: 3600 s maximum, 5 s silence timeout, trimmed.
    public init(path: String, maxLengthSeconds: Int = 3600, silenceTimeoutSeconds: Int = 5,
                silenceThreshold: Int16 = 200, trimSilence: Bool = true) {
        self.path = path
        self.maxLengthSeconds = maxLengthSeconds
        self.silenceTimeoutSeconds = silenceTimeoutSeconds
        self.silenceThreshold = silenceThreshold
        self.trimSilence = trimSilence
    }

    /// The effective maximum length in seconds.
    var effectiveMaxSeconds: Int { maxLengthSeconds < 1 ? 3600 : maxLengthSeconds }
}

/// A finished recording.
public struct RecordingFile: Sendable, Equatable {
    /// The WAV file written.
    public var path: String
    /// Length of the audio in the file.
    public var durationMilliseconds: Int
    /// Why recording stopped.
    public var reason: RecordingEndReason
    /// Whether any 20 ms frame reached the silence threshold. False for a caller who sent
    /// nothing or only silence: untrimmed, that file still lasts the time recorded, but
    /// Twilio treats such a recording as empty ("recording is silent", warning 16102).
    public var heardSound: Bool

    /// A finished recording's description.
    public init(path: String, durationMilliseconds: Int, reason: RecordingEndReason, heardSound: Bool = true) {
        self.path = path
        self.durationMilliseconds = durationMilliseconds
        self.reason = reason
        self.heardSound = heardSound
    }
}

/// The silence and maximum-length rules of one recording, fed with decoded frames and the
/// time (seconds, any monotonic clock). Silence is measured by the clock since the last loud
/// frame (or since the start), so it also ends a recording when no packets arrive at all.
/// The maximum length is reached when the recording's timeline (audio and the silence of
/// lost packets) fills it, or when the clock passes it by more than `maxLengthGrace` (a
/// caller that stops sending; late packets still have that long to take their places).
struct RecordingMonitor {
    static let maxLengthGrace = 0.5

    let start: Double
    let maxSamples: Int
    let silenceTimeout: Double
    let thresholdSquared: Int64
    private(set) var lastLoud: Double
    private(set) var samples = 0
    private(set) var heardSound = false

    init(spec: RecordingSpec, start: Double) {
        self.start = start
        maxSamples = spec.effectiveMaxSeconds * 8000
        silenceTimeout = Double(max(0, spec.silenceTimeoutSeconds))
        thresholdSquared = Int64(spec.silenceThreshold) * Int64(spec.silenceThreshold)
        lastLoud = start
    }

    /// Accounts for a stored frame that follows the samples so far.
    mutating func frame(_ frame: UnsafeBufferPointer<Int16>, at now: Double) -> RecordingEndReason? {
        self.frame(frame, end: samples + frame.count, at: now)
    }

    /// Accounts for a stored frame whose place on the timeline ends at sample `end`;
    /// returns the reason when the recording ends with it.
    mutating func frame(_ frame: UnsafeBufferPointer<Int16>, end: Int, at now: Double) -> RecordingEndReason? {
        if Self.meanSquare(frame) >= thresholdSquared && !frame.isEmpty {
            lastLoud = now
            heardSound = true
        }
        samples = max(samples, end)
        if samples >= maxSamples { return .maxLength }
        return check(at: now)
    }

    /// The reason the recording ends by the clock alone at `now`, if it does.
    func check(at now: Double) -> RecordingEndReason? {
        if silenceTimeout > 0 && now - lastLoud >= silenceTimeout { return .silence }
        if now - start >= Double(maxSamples) / 8000 + Self.maxLengthGrace { return .maxLength }
        return nil
    }

    /// Mean of the squared samples (RMS squared), 0 for an empty frame.
    @inline(__always)
    static func meanSquare(_ frame: UnsafeBufferPointer<Int16>) -> Int64 {
        guard !frame.isEmpty else { return 0 }
        var sum: Int64 = 0
        for s in frame { let v = Int64(s); sum &+= v * v }
        return sum / Int64(frame.count)
    }
}

/// Leading and trailing silence removal, in 20 ms frames.
enum SilenceTrimmer {
    /// The part of `samples` from the first to the last frame whose RMS reaches `threshold`;
    /// empty when no frame does.
    static func trimmedRange(_ samples: UnsafeBufferPointer<Int16>, threshold: Int16, frame: Int = 160) -> Range<Int> {
        let t2 = Int64(threshold) * Int64(threshold)
        func loud(_ start: Int) -> Bool {
            let end = min(samples.count, start + frame)
            return RecordingMonitor.meanSquare(UnsafeBufferPointer(rebasing: samples[start..<end])) >= t2
        }
        var first = 0
        while first < samples.count && !loud(first) { first += frame }
        guard first < samples.count else { return 0..<0 }
        var last = ((samples.count - 1) / frame) * frame
        while last > first && !loud(last) { last -= frame }
        return first..<min(samples.count, last + frame)
    }
}

/// Recorded samples, allocated once at the start for the maximum length (untouched pages
/// cost no memory), filled by the receiver thread, then handed to the writer.
/// (`@unchecked Sendable`: one owner at a time, the receiver while recording, then the
/// writer.)
final class SampleBuffer: @unchecked Sendable {
    let base: UnsafeMutablePointer<Int16>
    let capacity: Int
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// Appends as much of `frame` as fits; returns how many samples were stored.
    @inline(__always)
    func append(_ frame: UnsafeBufferPointer<Int16>) -> Int {
        let n = min(frame.count, capacity - count)
        if n > 0, let src = frame.baseAddress { (base + count).update(from: src, count: n) }
        count += n
        return n
    }

    /// Writes as much of `frame` as fits at sample `position` (the part before sample 0 is
    /// dropped), silence filling any gap after the samples so far; returns the part
    /// written, as a range of `frame`'s indices. Overwrites what an earlier frame left there.
    @inline(__always)
    func write(_ frame: UnsafeBufferPointer<Int16>, at position: Int) -> Range<Int> {
        let skip = max(0, -position), start = max(0, position)
        let n = min(frame.count - skip, capacity - start)
        guard n > 0, let src = frame.baseAddress else { return 0..<0 }
        if start > count { (base + count).update(repeating: 0, count: start - count) }
        (base + start).update(from: src + skip, count: n)
        count = max(count, start + n)
        return skip..<(skip + n)
    }

    /// Extends the samples with silence up to `length` (at most the capacity).
    func pad(to length: Int) {
        let n = min(length, capacity)
        guard n > count else { return }
        (base + count).update(repeating: 0, count: n - count)
        count = n
    }

    var samples: UnsafeBufferPointer<Int16> { UnsafeBufferPointer(start: base, count: count) }

    /// Drops all but the newest `n` samples, moving them to the front.
    func keepLast(_ n: Int) {
        guard n < count else { return }
        memmove(base, base + (count - n), n * MemoryLayout<Int16>.stride)
        count = n
    }
}

/// One session's recording in progress, owned by the receiver thread. Frames go where
/// their RTP timestamps put them (`FramePlacer`); a lost or late packet leaves silence, and
/// the file is padded to the time elapsed, so its length is the time recorded whatever
/// the packets did (plain silence rather than packet-loss concealment: a recording is a
/// record, and invented audio has no place in it).
struct Recorder {
    let spec: RecordingSpec
    let token: UInt64
    let buffer: SampleBuffer
    var monitor: RecordingMonitor
    var placer = FramePlacer()
    /// Set when a rule ended the recording; the receiver then hands it to the writer.
    var endReason: RecordingEndReason?

    /// Allocates the buffer (call this off the receiver thread).
    init(spec: RecordingSpec, token: UInt64, start: Double) {
        self.spec = spec
        self.token = token
        buffer = SampleBuffer(capacity: spec.effectiveMaxSeconds * 8000)
        monitor = RecordingMonitor(spec: spec, start: start)
    }

    /// Stores a decoded frame of an RTP packet received at `now` (no allocation).
    @inline(__always)
    mutating func append(_ frame: UnsafeBufferPointer<Int16>, timestamp: UInt32, sequence: UInt16, ssrc: UInt32,
                         at now: Double) {
        guard endReason == nil else { return }
        guard let position = placer.place(count: frame.count, timestamp: timestamp, sequence: sequence, ssrc: ssrc,
                                          arrival: FramePlacer.samples(from: monitor.start, to: now)) else { return }
        let stored = buffer.write(frame, at: position)
        endReason = monitor.frame(UnsafeBufferPointer(rebasing: frame[stored]), end: position + frame.count, at: now)
    }

    /// The recording's length (samples) if it stops at `now`: the time since the start in
    /// whole 20 ms frames, or what was written if that reaches further (a stream placed up
    /// to `FramePlacer.earlyLimit` ahead), at most the maximum length. Silence pads the
    /// buffer up to it (`RecordingWriter.write`). With `trimSilence` the file is then cut
    /// to the span from the first to the last frame with sound; silence inside stays.
    func length(at now: Double) -> Int {
        let elapsed = max(0, FramePlacer.samples(from: monitor.start, to: now)) / 160 * 160
        return min(buffer.capacity, max(buffer.count, elapsed))
    }

    /// Applies the clock rules; true when the recording has ended.
    mutating func check(at now: Double) -> Bool {
        if endReason == nil { endReason = monitor.check(at: now) }
        return endReason != nil
    }
}

/// Writes finished recordings on a background queue and reports them.
final class RecordingWriter: Sendable {
    private let queue = DispatchQueue(label: "media-recording-writer", qos: .utility)
    let logger: Logger
    let onEvent: @Sendable (MediaEvent) -> Void

    init(logger: Logger, onEvent: @escaping @Sendable (MediaEvent) -> Void) {
        self.logger = logger
        self.onEvent = onEvent
    }

    /// Queues the file write of a recording stopped at `now` (its length is fixed here, on
    /// the receiver thread; the silence is filled in on the writer's queue);
    /// `.recordingFinished` (or `.recordingFailed`) follows.
    func finish(_ id: MediaSessionID, _ recorder: Recorder, reason: RecordingEndReason, at now: Double = monotonicSeconds()) {
        let spec = recorder.spec, token = recorder.token, buffer = recorder.buffer, length = recorder.length(at: now)
        queue.async { [logger, onEvent] in
            do {
                let file = try Self.write(buffer, spec: spec, reason: reason, length: length)
                logger.info("media.recording_written", ["session": id, "path": file.path,
                                                       "ms": file.durationMilliseconds, "reason": reason])
                onEvent(.recordingFinished(id, token: token, file))
            } catch {
                let e = error as? MediaError ?? MediaError("\(error)")
                logger.error("media.recording_failed", ["session": id, "path": spec.path, "error": e])
                onEvent(.recordingFailed(id, token: token, e))
            }
        }
    }

    /// Pads with silence to `length` (samples; nil: as it is), trims if asked and writes
    /// the WAV file atomically.
    static func write(_ buffer: SampleBuffer, spec: RecordingSpec, reason: RecordingEndReason,
                      length: Int? = nil) throws -> RecordingFile {
        if let length { buffer.pad(to: length) }
        var samples = buffer.samples
        let sound = SilenceTrimmer.trimmedRange(samples, threshold: spec.silenceThreshold)
        if spec.trimSilence { samples = UnsafeBufferPointer(rebasing: samples[sound]) }
        let dir = URL(fileURLWithPath: spec.path).deletingLastPathComponent().path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try WAVFile.writeImage(try image(samples, spec: spec), to: spec.path, seal: spec.seal)
        return RecordingFile(path: spec.path, durationMilliseconds: samples.count / 8, reason: reason, heardSound: !sound.isEmpty)
    }

    /// The file's bytes: WAV or MP3, mono or (dual) with a silent second channel.
    static func image(_ samples: UnsafeBufferPointer<Int16>, spec: RecordingSpec) throws -> [UInt8] {
        guard spec.dual else { return spec.mp3 ? try MP3Encoder.encode(samples) : WAVFile.encode(samples) }
        let silence = [Int16](repeating: 0, count: samples.count)
        if spec.mp3 { return try silence.withUnsafeBufferPointer { try MP3Encoder.encode(samples, right: $0) } }
        var interleaved = [Int16](repeating: 0, count: samples.count * 2)
        for i in 0..<samples.count { interleaved[2 * i] = samples[i] }
        return interleaved.withUnsafeBufferPointer { WAVFile.encode($0, channels: 2) }
    }

    /// Runs `work` on the writer's queue, after the writes queued before it.
    func enqueue(_ work: @escaping @Sendable () -> Void) { queue.async(execute: work) }

    /// Waits until every queued write is done.
    func drain() { queue.sync {} }
}
