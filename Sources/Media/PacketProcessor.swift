/// What the receiver did with one datagram (it counts them).
enum PacketKind: Equatable {
    /// From an address other than the negotiated peer.
    case dropped
    /// Not RTP.
    case malformed
    /// A G.711 audio packet.
    case audio
    /// An RFC 4733 telephone-event packet.
    case telephoneEvent
    /// Another payload type (comfort noise, an unknown codec): counted as received, unused.
    case other
}

/// The per-packet logic of one session, kept apart from sockets and threads so it can be
/// fed packets directly: source check, RTP parsing, RFC 4733 events, G.711 decoding into a
/// caller-supplied scratch buffer, in-band DTMF and recording. No allocation per packet.
struct PacketProcessor {
    /// Where packets must come from; nil until offer/answer (everything is dropped).
    var remote: UDPEndpoint?
    var telephoneEventPayloadType: UInt8?
    var audioPayloadType: UInt8 = 0
    var law: G711.Law = .ulaw
    var events = TelephoneEventTracker()
    /// Set while in-band detection is enabled.
    var inband: InbandDTMFDetector?
    /// Set while recording.
    var recorder: Recorder?
    /// Set while listening for speech (`<Gather input="speech">`).
    var speech: SpeechListener?
    /// Set while this session is part of a bridged call's recording, as `party` (0 caller,
    /// 1 callee).
    var call: CallRecorder?
    var party = 0
    /// Whether the peer wants our media (false on hold); the relay honours it.
    var sends = true
    /// RFC 3550 statistics of the peer's stream (loss, jitter), for RTCP and the record.
    var reception = ReceptionStats()
    /// NAT latching (`Latching.swift`): the policy, whether it has latched since the last
    /// negotiation, and where to, until the receiver has reported it.
    var latch: LatchPolicy?
    var latched = false
    var latchedTo: UDPEndpoint?

    init(remote: UDPEndpoint? = nil, telephoneEventPayloadType: UInt8? = nil,
         audioPayloadType: UInt8 = 0, law: G711.Law = .ulaw) {
        self.remote = remote
        self.telephoneEventPayloadType = telephoneEventPayloadType
        self.audioPayloadType = audioPayloadType
        self.law = law
    }

    /// What the relay needs to rewrite packets for this session: plain values, no
    /// references (no retain/release per relayed packet).
    var relayFormat: RelayFormat {
        RelayFormat(audioPayloadType: audioPayloadType, law: law, telephoneEventPayloadType: telephoneEventPayloadType)
    }

    mutating func configure(_ peer: MediaPeer) {
        if peer.remote != remote { events = TelephoneEventTracker() }
        remote = peer.remote
        latch = peer.latch
        latched = false
        telephoneEventPayloadType = peer.telephoneEventPayloadType
        audioPayloadType = peer.payloadType
        law = peer.law
        sends = peer.sending
    }

    /// The law for an audio payload type: the negotiated one, or the static G.711 types.
    @inline(__always)
    func law(forPayloadType pt: UInt8) -> G711.Law? { relayFormat.law(forPayloadType: pt) }

    /// Handles one datagram from `source` received at `now`
    /// (seconds, monotonic). Digits found are passed to `digit`. `scratch` must hold at
    /// least as many samples as the largest payload (the receiver's buffer size).
    mutating func process(_ packet: UnsafeRawBufferPointer, from source: UDPEndpoint, now: Double,
                          scratch: UnsafeMutableBufferPointer<Int16>,
                          digit: (Character, DTMFSource) -> Void) -> PacketKind {
        guard let remote else { return .dropped }
        guard remote == source || latch(onto: source, packet: packet) else { return .dropped }
        guard let parsed = RTPHeader.parse(packet) else { return .malformed }
        let header = parsed.header
        let payload = UnsafeRawBufferPointer(rebasing: packet[parsed.payloadOffset..<(parsed.payloadOffset + parsed.payloadLength)])
        let isEvent = telephoneEventPayloadType == header.payloadType
        reception.update(sequence: header.sequence, timestamp: header.timestamp, ssrc: header.ssrc, arrival: now, timed: !isEvent)
        if let te = telephoneEventPayloadType, header.payloadType == te {
            if let event = TelephoneEvent.parse(payload),
               let d = events.accept(event, timestamp: header.timestamp, ssrc: header.ssrc, marker: header.marker) {
                digit(d, .rfc4733)
            }
            return .telephoneEvent
        }
        guard let law = law(forPayloadType: header.payloadType) else { return .other }
        guard inband != nil || recorder != nil || call != nil || speech != nil else { return .audio }
        let n = min(payload.count, scratch.count)
        if law == .ulaw {
            for i in 0..<n { scratch[i] = G711.ulawDecode(payload[i]) }
        } else {
            for i in 0..<n { scratch[i] = G711.alawDecode(payload[i]) }
        }
        let frame = UnsafeBufferPointer(rebasing: scratch[0..<n])
        if let inband { inband.process(frame) { digit($0, .inband) } }
        recorder?.append(frame, timestamp: header.timestamp, sequence: header.sequence, ssrc: header.ssrc, at: now)
        speech?.append(frame, at: now)
        call?.append(frame, party: party, timestamp: header.timestamp, sequence: header.sequence, ssrc: header.ssrc, at: now)
        return .audio
    }
}
