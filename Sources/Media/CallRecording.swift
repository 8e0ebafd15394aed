import Foundation

/// The recording of a bridged call: both parties in one file, mixed into one channel or
/// each on its own channel (caller left, callee right).
///
/// Shared by the two sessions of a bridge, and used only on the receiver thread (both
/// sessions are read there). Each party's frames go where their RTP timestamps put them on
/// the common timeline (a `FramePlacer` per party, anchored at the party's first packet,
/// so a callee who joins later starts where it joined): a pause in a party's stream
/// (silence suppression, hold, loss, a party who sends nothing) leaves silence of the
/// right length, and the file lasts from the start to the stop whoever spoke last, so the
/// two parties stay in step and both channels have the same length. Mixed into one
/// channel, a frame is added only past what its party already wrote (a duplicate or a
/// reordered straggler would otherwise be added twice); on two channels it overwrites.
/// The buffer for the maximum length is reserved at the start (untouched pages cost no
/// memory); nothing is allocated per packet.
/// (`@unchecked Sendable`: filled only on the receiver thread, then handed whole to the
/// recording writer, which alone touches it from then on.)
final class CallRecorder: @unchecked Sendable {
    let path: String
    let token: UInt64
    let seal: (@Sendable ([UInt8]) throws -> [UInt8])?
    let channels: Int
    let start: Double
    let capacityFrames: Int
    private let samples: UnsafeMutablePointer<Int16>
    private var placers = [FramePlacer(), FramePlacer()]
    /// Sample frames written (the longest channel).
    private(set) var length = 0

    /// - Parameters:
    ///   - maxSeconds: the longest recording; audio past it is dropped.
    ///   - dual: one channel per party instead of a mix.
    init(path: String, token: UInt64, maxSeconds: Int, dual: Bool, start: Double,
         seal: (@Sendable ([UInt8]) throws -> [UInt8])? = nil) {
        self.path = path
        self.token = token
        self.seal = seal
        channels = dual ? 2 : 1
        self.start = start
        capacityFrames = max(1, maxSeconds) * 8000
        // calloc: zeroed pages come from the kernel on first touch, so an hour-long limit
        // costs only what is actually recorded (the mix adds into silence).
        samples = calloc(capacityFrames * channels, MemoryLayout<Int16>.size)!.assumingMemoryBound(to: Int16.self)
    }

    deinit { free(samples) }

    /// Adds a decoded frame of `party` (0 caller, 1 callee) from an RTP packet received at
    /// `now`.
    @inline(__always)
    func append(_ frame: UnsafeBufferPointer<Int16>, party: Int, timestamp: UInt32, sequence: UInt16, ssrc: UInt32,
                at now: Double) {
        let c = party == 0 ? 0 : 1
        let written = placers[c].end
        guard let position = placers[c].place(count: frame.count, timestamp: timestamp, sequence: sequence, ssrc: ssrc,
                                              arrival: FramePlacer.samples(from: start, to: now)) else { return }
        // Mixed: only past what this party wrote; on its own channel: from the start.
        let first = max(0, channels == 1 ? written - position : -position)
        let last = min(frame.count, capacityFrames - position)
        guard first < last else { return }
        if channels == 1 {
            let base = samples + position
            for k in first..<last { base[k] = Int16(clamping: Int32(base[k]) + Int32(frame[k])) }
        } else {
            let base = samples + position * 2 + c
            for k in first..<last { base[k * 2] = frame[k] }
        }
        length = max(length, position + last)
    }

    /// The recording's length (sample frames) if it stops at `now`: the time since the start
    /// in whole 20 ms frames, or what was written if that reaches further, at most the
    /// maximum length (the buffer is zeroed, so the silence is there already).
    func length(at now: Double) -> Int {
        let elapsed = max(0, FramePlacer.samples(from: start, to: now)) / 160 * 160
        return min(capacityFrames, max(length, elapsed))
    }

    /// Writes the WAV file (8 kHz, 16-bit, 1 or 2 channels), `frames` long, atomically.
    func write(reason: RecordingEndReason, frames: Int) throws -> RecordingFile {
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let image = WAVFile.encode(UnsafeBufferPointer(start: samples, count: frames * channels), channels: channels)
        try WAVFile.writeImage(image, to: path, seal: seal)
        return RecordingFile(path: path, durationMilliseconds: frames / 8, reason: reason)
    }
}

extension RecordingWriter {
    /// Queues the write of a call recording stopped at `now` (its length is fixed here);
    /// `.recordingFinished` (or `.recordingFailed`) follows for session `id`.
    func finish(_ id: MediaSessionID, call recorder: CallRecorder, reason: RecordingEndReason,
                at now: Double = monotonicSeconds()) {
        let frames = recorder.length(at: now)
        enqueue { [logger, onEvent] in
            do {
                let file = try recorder.write(reason: reason, frames: frames)
                logger.info("media.call_recording_written", ["session": id, "path": file.path, "ms": file.durationMilliseconds,
                                                            "channels": recorder.channels])
                onEvent(.recordingFinished(id, token: recorder.token, file))
            } catch {
                let e = error as? MediaError ?? MediaError("\(error)")
                logger.error("media.recording_failed", ["session": id, "path": recorder.path, "error": e])
                onEvent(.recordingFailed(id, token: recorder.token, e))
            }
        }
    }
}
