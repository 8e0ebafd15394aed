import CMp3Lame

/// Recordings as MP3 where a flow asks for them (`<Record format="mp3">`), encoded with
/// LAME: 8 kHz mono at 32 kbit/s (MPEG-2.5), a quarter of the WAV's size.
public enum MP3Encoder {
    public static let bitrate = 32

    /// The MP3 file for 8 kHz mono samples, or stereo when `right` is given (the same
    /// length as `samples`, which are then the left channel).
    public static func encode(_ samples: UnsafeBufferPointer<Int16>, right: UnsafeBufferPointer<Int16>? = nil,
                              sampleRate: Int = 8000) throws -> [UInt8] {
        guard right == nil || right!.count == samples.count else { throw MediaError("MP3: channels of different lengths") }
        guard let gfp = lame_init() else { throw MediaError("libmp3lame: cannot create an encoder") }
        defer { lame_close(gfp) }
        lame_set_in_samplerate(gfp, Int32(sampleRate))
        lame_set_out_samplerate(gfp, Int32(sampleRate))
        lame_set_num_channels(gfp, right == nil ? 1 : 2)
        lame_set_mode(gfp, right == nil ? MONO : JOINT_STEREO)
        lame_set_brate(gfp, Int32(bitrate))
        lame_set_quality(gfp, 5)
        guard lame_init_params(gfp) >= 0 else { throw MediaError("libmp3lame: parameters refused") }
        // The worst case LAME documents: 1.25 x samples + 7200 bytes.
        var out = [UInt8](repeating: 0, count: samples.count * 5 / 4 + 7200)
        var used = 0
        let chunk = 8000 * 10
        var at = 0
        while at < samples.count {
            let n = min(chunk, samples.count - at)
            let written = out.withUnsafeMutableBufferPointer { o in
                lame_encode_buffer(gfp, samples.baseAddress! + at, (right ?? samples).baseAddress! + at, Int32(n),
                                   o.baseAddress! + used, Int32(o.count - used))
            }
            guard written >= 0 else { throw MediaError("libmp3lame: encoding failed (\(written))") }
            used += Int(written)
            at += n
        }
        let flushed = out.withUnsafeMutableBufferPointer { o in lame_encode_flush(gfp, o.baseAddress! + used, Int32(o.count - used)) }
        guard flushed >= 0 else { throw MediaError("libmp3lame: flush failed (\(flushed))") }
        used += Int(flushed)
        // The LAME tag (encoder delay and padding, so decoders drop them) goes in the first
        // frame, which LAME left empty for it.
        var tag = [UInt8](repeating: 0, count: 2880)
        let tagSize = Int(lame_get_lametag_frame(gfp, &tag, tag.count))
        if tagSize > 0 && tagSize <= used { out.replaceSubrange(0..<tagSize, with: tag.prefix(tagSize)) }
        return Array(out.prefix(used))
    }
}
