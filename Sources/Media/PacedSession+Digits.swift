#if canImport(Glibc)
import Glibc
#endif

extension PacedSession {
    /// One tick of `<Play digits>` as RFC 4733 events: an event packet (the event's own
    /// timestamp, the marker on its first packet, the end packet three times), or a silent
    /// audio packet between digits. Returns the token once the last tick has gone.
    mutating func sendDigitTick(_ packet: UnsafeMutableRawPointer) -> UInt64? {
        guard case .digits(let plan, let at, var eventTimestamp, let token) = playback else { return nil }
        let tick = plan[at]
        if let te = eventPayloadType, tick.event != nil {
            if tick.first { eventTimestamp = header.timestamp }
            sendEvent(tick, packet: packet, payloadType: te, timestamp: eventTimestamp)
        } else {
            (packet + RTPHeader.size).initializeMemory(as: UInt8.self, repeating: silence, count: Pacer.packetSamples)
            send(packet, samples: Pacer.packetSamples)
        }
        guard at + 1 < plan.count else {
            playback = .idle
            return token
        }
        playback = .digits(plan, at: at + 1, eventTimestamp: eventTimestamp, token: token)
        return nil
    }

    private mutating func sendEvent(_ tick: DigitTick, packet: UnsafeMutableRawPointer, payloadType: UInt8, timestamp: UInt32) {
        guard sending && hasRemote && !muted else { return }
        var h = header
        h.payloadType = payloadType
        h.marker = tick.first
        h.timestamp = timestamp
        h.write(to: packet)
        DigitEvents.writePayload(tick, to: packet + RTPHeader.size)
        // The audio after the events starts a new talkspurt.
        if transmit(packet, bytes: RTPHeader.size + 4) { startOfSpurt = true }
    }
}
