/// Where and how a session sends: set after offer/answer, changed by re-INVITE.
public struct MediaPeer: Sendable, Equatable {
    public var remote: UDPEndpoint?
    public var law: G711.Law
    /// G.722 (`payloadType`, usually 9) instead of `law`.
    public var g722 = false
    public var payloadType: UInt8
    public var telephoneEventPayloadType: UInt8?
    public var sending: Bool
    /// RTCP shares the RTP port (RFC 5761, `a=rtcp-mux` in offer and answer).
    public var rtcpMux = false
    /// The peer's RTCP port when not multiplexed (`a=rtcp`, else RTP port + 1); 0: the default.
    public var rtcpPort: UInt16 = 0
    /// NAT latching for this peer (`Latching.swift`); nil: media only from the negotiated address.
    public var latch: LatchPolicy?
    /// SRTP (RFC 3711) with these keys; nil: plain RTP.
    public var srtp: SRTPKeys?
    public init(remote: UDPEndpoint?, law: G711.Law, payloadType: UInt8, telephoneEventPayloadType: UInt8?, sending: Bool) {
        self.remote = remote
        self.law = law
        self.payloadType = payloadType
        self.telephoneEventPayloadType = telephoneEventPayloadType
        self.sending = sending
    }
}

/// Events from the media threads.
public enum MediaEvent: Sendable {
    /// A `play` or `playSilence` with this token has sent its last packet.
    case playbackFinished(MediaSessionID, token: UInt64)
    /// The caller pressed a key: one event per RFC 4733 event, or per in-band tone when
    /// in-band detection is on. The same press may arrive by both routes (and by SIP INFO in
    /// signaling): merge them with `DTMFDeduplicator`.
    case dtmf(MediaSessionID, digit: Character, source: DTMFSource)
    /// The recording started with this token is written (also after the session closed).
    case recordingFinished(MediaSessionID, token: UInt64, RecordingFile)
    /// The recording started with this token could not be written.
    case recordingFailed(MediaSessionID, token: UInt64, MediaError)
    /// NAT latching: media now goes to `to`, where the peer's RTP comes from.
    case latched(MediaSessionID, to: UDPEndpoint)
    /// The caller started speaking while `listenForSpeech` with this token runs.
    case speechStarted(MediaSessionID, token: UInt64)
    /// The utterance has ended: 8 kHz samples from just before the onset to just after the
    /// last voiced frame. Not reported after `stopListeningForSpeech` or `close`.
    case speechCaptured(MediaSessionID, token: UInt64, samples: [Int16])
}
