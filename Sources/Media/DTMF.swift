import CSpanDSP

/// Where a DTMF digit was heard.
public enum DTMFSource: String, Sendable, Equatable, Hashable, CustomStringConvertible {
    /// RFC 4733 telephone-event RTP packets.
    case rfc4733
    /// Tones in the caller's audio, found by the in-band detector.
    case inband
    /// A SIP INFO request (application/dtmf-relay or application/dtmf).
    case sipInfo

    /// "rfc4733", "inband" or "sipInfo".
    public var description: String { rawValue }
}

/// Merges the reports of one caller's key presses that arrive by several routes.
///
/// A gateway may signal the same press as RFC 4733 events, as a SIP INFO and as tones in
/// the audio. Each route already reports a press once, so:
/// - a report is a duplicate when an earlier accepted press of the same digit, no more than
///   `window` seconds away, has not yet been reported by this report's source (the other
///   routes catching up with a press already counted);
/// - a report whose source already reported that press is a new press (a caller pressing
///   "5" twice quickly sends two RFC 4733 events).
///
/// The last few accepted presses are kept, so fast dialing ("5" then "6" within the window,
/// each arriving by two routes in either order) is still merged press by press. A pure value:
/// the caller supplies the clock.
public struct DTMFDeduplicator: Sendable {
    private struct Press {
        var digit: Character
        var time: Double
        var reportedBy: Set<DTMFSource>
    }

    /// How far apart (seconds) reports of one press from different sources may be.
    public var window: Double
    private var recent: [Press] = []
    private static let kept = 8

    /// - Parameter window: seconds; 0.2 by default.
    public init(window: Double = 0.2) {
        self.window = window
        recent.reserveCapacity(Self.kept)
    }

    /// Records a report; returns true when it is a new key press, false for a duplicate.
    /// Digits are compared case-insensitively ("a" and "A" are the same key).
    public mutating func accept(digit: Character, source: DTMFSource, at time: Double) -> Bool {
        let d = Character(digit.uppercased())
        // The oldest press this source has not reported yet: sources report presses in order.
        if let i = recent.firstIndex(where: { p in
            p.digit == d && !p.reportedBy.contains(source) && abs(time - p.time) <= window
        }) {
            recent[i].reportedBy.insert(source)
            return false
        }
        recent.removeAll { time - $0.time > window }
        if recent.count >= Self.kept { recent.removeFirst() }
        recent.append(Press(digit: d, time: time, reportedBy: [source]))
        return true
    }

    /// Forgets every press (for example when a new Gather starts).
    public mutating func reset() { recent.removeAll(keepingCapacity: true) }
}

/// An RFC 4733 telephone-event payload (the first 4 bytes; later redundant blocks ignored).
public struct TelephoneEvent: Sendable, Equatable {
    /// Event code: 0-9, 10 = '*', 11 = '#', 12-15 = 'A'-'D', others (flash, tones) as sent.
    public var event: UInt8
    /// The E bit: the last packet(s) of the event.
    public var end: Bool
    /// Power level in -dBm0 (0-63).
    public var volume: UInt8
    /// Duration so far, in RTP timestamp units (8 kHz samples).
    public var duration: UInt16

    /// An event as sent or received.
    public init(event: UInt8, end: Bool, volume: UInt8, duration: UInt16) {
        self.event = event
        self.end = end
        self.volume = volume
        self.duration = duration
    }

    /// Parses a payload; nil when it is shorter than 4 bytes.
    public static func parse(_ payload: UnsafeRawBufferPointer) -> TelephoneEvent? {
        guard payload.count >= 4 else { return nil }
        return TelephoneEvent(event: payload[0], end: payload[1] & 0x80 != 0, volume: payload[1] & 0x3F,
                              duration: UInt16(payload[2]) << 8 | UInt16(payload[3]))
    }

    /// Writes the 4-byte payload (for senders and tests).
    public func write(to buffer: UnsafeMutableRawPointer) {
        buffer.storeBytes(of: event, toByteOffset: 0, as: UInt8.self)
        buffer.storeBytes(of: (end ? 0x80 : 0) | (volume & 0x3F), toByteOffset: 1, as: UInt8.self)
        buffer.storeBytes(of: duration.bigEndian, toByteOffset: 2, as: UInt16.self)
    }

    /// The DTMF digit for events 0-15, else nil.
    public var digit: Character? { Self.digit(event) }

    /// The DTMF digit for an event code 0-15 ("0123456789*#ABCD"), else nil.
    public static func digit(_ event: UInt8) -> Character? {
        switch event {
        case 0...9: return Character(Unicode.Scalar(48 + event))
        case 10: return "*"
        case 11: return "#"
        case 12...15: return Character(Unicode.Scalar(65 + event - 12))
        default: return nil
        }
    }
}

/// Turns the stream of telephone-event packets of one RTP source into one report per event.
///
/// An event is identified by its RTP timestamp (the same in every packet of the event): its
/// start may be repeated, its end is usually sent three times, and a lost start still lets
/// the first later packet report it. Packets up to 8 s older than the latest event
/// (reordered repeats of a finished one) and the segments of an event longer than the 16-bit duration field
/// (RFC 4733 2.5.1.3: same event, new timestamp, previous segment not ended, no marker) are
/// not reported again. A new SSRC starts afresh. No allocation.
struct TelephoneEventTracker {
    private var ssrc: UInt32 = 0
    private var timestamp: UInt32 = 0
    private var event: UInt8 = 0
    private var ended = false
    private var hasLast = false

    /// The digit to report for this packet, or nil (repeat, continuation, stale or not a digit).
    mutating func accept(_ e: TelephoneEvent, timestamp ts: UInt32, ssrc s: UInt32, marker: Bool) -> Character? {
        if hasLast && s == ssrc {
            let delta = Int32(bitPattern: ts &- timestamp)
            if delta == 0 {
                if e.end { ended = true }
                return nil
            }
            // A late packet of an earlier event; a jump back by more than 8 s is a new stream.
            if delta < 0 && delta > -64_000 { return nil }
            if !marker && e.event == event && !ended && delta >= 0x8000 && delta <= 0x10000 {
                timestamp = ts // next segment of a long event
                ended = e.end
                return nil
            }
        }
        ssrc = s
        timestamp = ts
        event = e.event
        ended = e.end
        hasLast = true
        return e.digit
    }
}

/// In-band DTMF detection with spandsp's `dtmf_rx` on 8 kHz linear audio.
///
/// Costs a few Goertzel filters per sample, so it runs only for sessions that ask for it.
/// Not thread-safe: feed it from one thread at a time (the RTP receiver thread does).
public final class InbandDTMFDetector: @unchecked Sendable {
    private let state: OpaquePointer
    private let digits: UnsafeMutablePointer<CChar>
    private static let maxDigits: Int32 = 16

    /// Creates a detector with spandsp's defaults (Q.24 levels and twist).
    public init() {
        // Without a callback, spandsp queues digits for dtmf_rx_get: no C shim is needed.
        guard let s = dtmf_rx_init(nil, nil, nil) else { fatalError("dtmf_rx_init: out of memory") }
        state = s
        digits = .allocate(capacity: Int(Self.maxDigits) + 1)
    }

    deinit {
        dtmf_rx_free(state)
        digits.deallocate()
    }

    /// Feeds audio; calls `report` once per key press, when the tone is confirmed.
    public func process(_ samples: UnsafeBufferPointer<Int16>, report: (Character) -> Void) {
        guard let base = samples.baseAddress, samples.count > 0 else { return }
        _ = dtmf_rx(state, base, Int32(samples.count))
        let n = Int(dtmf_rx_get(state, digits, Self.maxDigits))
        for i in 0..<n {
            let c = UInt8(bitPattern: digits[i])
            if c != 0 { report(Character(Unicode.Scalar(c))) }
        }
    }

    /// Feeds a whole buffer and returns the digits heard (for tests and offline use).
    public func detect(_ samples: [Int16]) -> String {
        var out = ""
        samples.withUnsafeBufferPointer { all in
            var i = 0
            while i < all.count { // in 20 ms frames, as from RTP
                let n = min(160, all.count - i)
                process(UnsafeBufferPointer(rebasing: all[i..<(i + n)])) { out.append($0) }
                i += n
            }
        }
        return out
    }
}
