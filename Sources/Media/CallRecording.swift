import Foundation

/// The recording of a bridged call: both parties in one file, mixed into one channel or
/// each on its own channel (caller left, callee right).
///
/// Shared by the two sessions of a bridge, and used only on the receiver thread (both
/// sessions are read there). Frames are placed by arrival time on a per-channel cursor:
/// consecutive packets follow each other without gaps or overlaps, and a pause in a
/// party's stream (silence suppression, hold, loss) leaves silence of the right length,
/// so the two parties stay in step. The buffer for the maximum length is reserved at the
/// start (untouched pages cost no memory); nothing is allocated per packet.
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
    private var cursor = [0, 0]
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

    /// Adds a decoded frame of `party` (0 caller, 1 callee) that arrived at `now`.
    @inline(__always)
    func append(_ frame: UnsafeBufferPointer<Int16>, party: Int, at now: Double) {
        let c = party == 0 ? 0 : 1
        // Where this frame starts if it arrived on time; jump forward over a gap longer
        // than a frame, never backwards (jitter then costs nothing).
        let arrival = Int((now - start) * 8000) - frame.count
        if arrival > cursor[c] + frame.count { cursor[c] = arrival }
        let n = min(frame.count, capacityFrames - cursor[c])
        guard n > 0 else { return }
        if channels == 1 {
            let base = samples + cursor[c]
            for k in 0..<n {
                let sum = Int32(base[k]) + Int32(frame[k])
                base[k] = Int16(clamping: sum)
            }
        } else {
            let base = samples + cursor[c] * 2 + c
            for k in 0..<n { base[k * 2] = frame[k] }
        }
        cursor[c] += n
        if cursor[c] > length { length = cursor[c] }
    }

    /// Writes the WAV file (8 kHz, 16-bit, 1 or 2 channels) atomically.
    func write(reason: RecordingEndReason) throws -> RecordingFile {
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let image = WAVFile.encode(UnsafeBufferPointer(start: samples, count: length * channels), channels: channels)
        try WAVFile.writeImage(image, to: path, seal: seal)
        return RecordingFile(path: path, durationMilliseconds: length / 8, reason: reason)
    }
}

extension RecordingWriter {
    /// Queues the write of a call recording; `.recordingFinished` (or `.recordingFailed`)
    /// follows for session `id`.
    func finish(_ id: MediaSessionID, call recorder: CallRecorder, reason: RecordingEndReason) {
        enqueue { [logger, onEvent] in
            do {
                let file = try recorder.write(reason: reason)
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
