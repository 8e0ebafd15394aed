#if canImport(Glibc)
import Glibc
#endif

/// A session's negotiated payload format, as the relay sees it.
struct RelayFormat {
    var audioPayloadType: UInt8
    var law: G711.Law
    var telephoneEventPayloadType: UInt8?
    /// The negotiated audio is G.722, not `law` (`RTPRelay+G722.swift`).
    var g722 = false

    /// The law for an audio payload type: the negotiated one, or the static G.711 types.
    @inline(__always)
    func law(forPayloadType pt: UInt8) -> G711.Law? {
        if pt == audioPayloadType { return g722 ? nil : law }
        if pt == 0 { return .ulaw }
        if pt == 8 { return .alaw }
        return nil
    }
}

/// Rewrites a packet received on one leg of a bridge for the other leg: the audio payload
/// type of the other leg's offer/answer, PCMU <-> PCMA transcoding when the legs differ,
/// RFC 4733 events passed through under the other leg's telephone-event payload type;
/// G.722 to and from G.711 through 8 kHz with a transcoder made once per relay.
/// Sequence number, timestamp, marker and SSRC are kept (the stream is the talker's).
enum RTPRelay {
    static let ulawToAlaw: [UInt8] = (0..<256).map { G711.alaw(G711.ulawDecode(UInt8($0))) }
    static let alawToUlaw: [UInt8] = (0..<256).map { G711.ulaw(G711.alawDecode(UInt8($0))) }

    /// Writes the packet for `to` into `out` (at least `packet.count` bytes) and returns its
    /// length, or 0 when it must be dropped (not RTP, an unknown payload type, or an event
    /// the other leg did not negotiate). No allocation.
    static func rewrite(_ packet: UnsafeRawBufferPointer, from: RelayFormat, to: RelayFormat,
                        out: UnsafeMutableRawPointer, transcoder: inout G722Transcoder?) -> Int {
        guard let parsed = RTPHeader.parse(packet) else { return 0 }
        var header = parsed.header
        let payload = UnsafeRawBufferPointer(rebasing: packet[parsed.payloadOffset..<(parsed.payloadOffset + parsed.payloadLength)])
        let dst = (out + RTPHeader.size).assumingMemoryBound(to: UInt8.self)
        if let te = from.telephoneEventPayloadType, header.payloadType == te {
            guard let theirs = to.telephoneEventPayloadType else { return 0 }
            header.payloadType = theirs
            if let base = payload.baseAddress { dst.update(from: base.assumingMemoryBound(to: UInt8.self), count: payload.count) }
        } else if from.g722 && header.payloadType == from.audioPayloadType || to.g722 {
            guard transcodeG722(payload, payloadType: header.payloadType, from: from, to: to, into: dst,
                                transcoder: &transcoder) else { return 0 }
            header.payloadType = to.audioPayloadType
        } else {
            guard let law = from.law(forPayloadType: header.payloadType) else { return 0 }
            header.payloadType = to.audioPayloadType
            if law == to.law {
                if let base = payload.baseAddress { dst.update(from: base.assumingMemoryBound(to: UInt8.self), count: payload.count) }
            } else {
                let table = law == .ulaw ? ulawToAlaw : alawToUlaw
                table.withUnsafeBufferPointer { t in
                    for k in 0..<payload.count { dst[k] = t[Int(payload[k])] }
                }
            }
        }
        header.write(to: out)
        return RTPHeader.size + payload.count
    }
}
