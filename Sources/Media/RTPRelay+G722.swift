extension RTPRelay {
    /// Writes the payload of a bridged packet when either leg speaks G.722: G.722 to G.722
    /// is copied; otherwise the talker's audio is decoded to 8 kHz and encoded for the
    /// listener (G.722 in spandsp's 8 kHz mode, one byte per sample like G.711, so the
    /// payload keeps its length). The codec state lives in `transcoder`, made here the
    /// first time this direction needs it and kept for the session's life (G.722 is ADPCM:
    /// its state must run on from packet to packet). False: a payload type neither leg uses.
    static func transcodeG722(_ payload: UnsafeRawBufferPointer, payloadType pt: UInt8, from: RelayFormat, to: RelayFormat,
                              into dst: UnsafeMutablePointer<UInt8>, transcoder: inout G722Transcoder?) -> Bool {
        let fromG722 = from.g722 && pt == from.audioPayloadType
        let law = fromG722 ? nil : from.law(forPayloadType: pt)
        guard fromG722 || law != nil else { return false }
        let count = payload.count
        if fromG722 && to.g722 {
            if let base = payload.baseAddress { dst.update(from: base.assumingMemoryBound(to: UInt8.self), count: count) }
            return true
        }
        if transcoder == nil { transcoder = G722Transcoder(maxSamples: Int(RTPReceiver.bufferSize)) }
        let t = transcoder.unsafelyUnwrapped
        let pcm = t.samples
        let n: Int
        if fromG722 {
            n = t.decoder.decode(payload, into: pcm)
        } else {
            n = min(count, pcm.count)
            if law == .ulaw {
                for k in 0..<n { pcm[k] = G711.ulawDecode(payload[k]) }
            } else {
                for k in 0..<n { pcm[k] = G711.alawDecode(payload[k]) }
            }
        }
        let frame = UnsafeBufferPointer(rebasing: pcm[0..<n])
        if to.g722 {
            return t.encoder.encode(frame, into: dst) == n
        }
        if to.law == .ulaw {
            for k in 0..<n { dst[k] = G711.ulaw(frame[k]) }
        } else {
            for k in 0..<n { dst[k] = G711.alaw(frame[k]) }
        }
        return true
    }
}
