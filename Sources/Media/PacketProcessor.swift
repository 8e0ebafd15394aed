/// What the receiver did with one datagram (it counts them).
enum PacketKind: Equatable {
    /// From an address other than the negotiated peer.
    case dropped
    /// Not RTP, or SRTP that failed authentication (a wrong key, a replay, a forgery).
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
    /// The caller's G.722 stream decoder (8 kHz out), while the negotiated codec is G.722:
    /// made once per negotiation, on the receiver thread, never per packet.
    var g722: G722Decoder?
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
    /// SRTP: what authenticates and decrypts the peer's packets (nil: plain RTP).
    var srtp: SRTPContext?
    /// The length of the last packet processed once SRTP is removed (what a relay passes on).
    var plainLength = 0

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
        RelayFormat(audioPayloadType: audioPayloadType, law: law, telephoneEventPayloadType: telephoneEventPayloadType, g722: g722 != nil)
    }

    mutating func configure(_ peer: MediaPeer) {
        if peer.remote != remote { events = TelephoneEventTracker() }
        remote = peer.remote
        latch = peer.latch
        latched = false
        telephoneEventPayloadType = peer.telephoneEventPayloadType
        audioPayloadType = peer.payloadType
        law = peer.law
        if !peer.g722 { g722 = nil } else if g722 == nil { g722 = G722Decoder(wideband: false) }
        sends = peer.sending
    }

    /// The law for an audio payload type: the negotiated one, or the static G.711 types.
    @inline(__always)
    func law(forPayloadType pt: UInt8) -> G711.Law? { relayFormat.law(forPayloadType: pt) }

    /// Handles one datagram from `source` received at `now`
    /// (seconds, monotonic). Digits found are passed to `digit`. `scratch` must hold at
    /// least as many samples as the largest payload (the receiver's buffer size).
    /// With SRTP the packet is decrypted in place (the receive buffer is the receiver's
    /// own), after the source check and before anything in it is believed, a latch included.
    mutating func process(_ packet: UnsafeRawBufferPointer, from source: UDPEndpoint, now: Double,
                          scratch: UnsafeMutableBufferPointer<Int16>,
                          digit: (Character, DTMFSource) -> Void) -> PacketKind {
        guard let remote else { return .dropped }
        let fromPeer = remote == source
        guard fromPeer || mayLatch(onto: source) else { return .dropped }
        var packet = packet
        plainLength = packet.count
        if let srtp {
            guard let base = packet.baseAddress,
                  let n = srtp.unprotect(UnsafeMutableRawPointer(mutating: base), length: packet.count) else { return .malformed }
            packet = UnsafeRawBufferPointer(start: base, count: n)
            plainLength = n
        }
        guard fromPeer || latch(onto: source, packet: packet) else { return .dropped }
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
        let law = law(forPayloadType: header.payloadType)
        let wide = header.payloadType == audioPayloadType ? g722 : nil
        guard law != nil || wide != nil else { return .other }
        guard inband != nil || recorder != nil || call != nil || speech != nil else { return .audio }
        var n = min(payload.count, scratch.count)
        if let wide {
            // Decoded only while something listens: a consumer starting mid-call hears the
            // codec's adaptation settle within a few milliseconds.
            n = wide.decode(payload, into: scratch)
        } else if law == .ulaw {
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
