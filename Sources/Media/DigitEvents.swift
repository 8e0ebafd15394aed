/// DTMF sent as RFC 4733 telephone-events, as the hosted platforms send `<Play digits>`:
/// IVRs on the far side that ignore in-band tones receive them. The pacer sends one packet
/// per 20 ms tick from a plan made here, off its thread.
struct DigitTick: Equatable {
    /// RFC 4733 event code (0-9, 10 `*`, 11 `#`, 12-15 `A`-`D`); nil for a tick of silence.
    var event: UInt8?
    /// Duration so far, in 8 kHz timestamp units.
    var duration: UInt16 = 0
    /// The end bit (the last packet, sent three times).
    var end = false
    /// The first packet of an event: marker bit, and the event's timestamp is taken here.
    var first = false
}

enum DigitEvents {
    /// Each digit's tone: 100 ms (5 packets), as Twilio and Asterisk send.
    static let toneTicks = 5
    /// Silence after each digit: 100 ms.
    static let gapTicks = 5
    /// The volume field: -10 dBm0.
    static let volume: UInt8 = 10

    /// The RFC 4733 event code of a key, nil for anything else.
    static func code(_ key: Character) -> UInt8? {
        switch key {
        case "0"..."9": return UInt8(key.asciiValue! - 48)
        case "*": return 10
        case "#": return 11
        case "A"..."D": return UInt8(key.asciiValue! - 65 + 12)
        case "a"..."d": return UInt8(key.asciiValue! - 97 + 12)
        default: return nil
        }
    }

    /// The ticks for `digits` (`w` waits 0.5 s, `W` 1 s; other characters are ignored).
    static func plan(_ digits: String) -> [DigitTick] {
        var ticks: [DigitTick] = []
        for key in digits {
            switch key {
            case "w": ticks += Array(repeating: DigitTick(), count: 25)
            case "W": ticks += Array(repeating: DigitTick(), count: 50)
            default:
                guard let event = code(key) else { continue }
                for i in 0..<toneTicks {
                    ticks.append(DigitTick(event: event, duration: UInt16((i + 1) * 160), first: i == 0))
                }
                let total = UInt16(toneTicks * 160)
                ticks += Array(repeating: DigitTick(event: event, duration: total, end: true), count: 3)
                ticks += Array(repeating: DigitTick(), count: gapTicks)
            }
        }
        return ticks
    }

    /// The 4-byte payload of `tick` (event, E bit and volume, duration), written at `to`.
    static func writePayload(_ tick: DigitTick, to: UnsafeMutableRawPointer) {
        to.storeBytes(of: tick.event ?? 0, toByteOffset: 0, as: UInt8.self)
        to.storeBytes(of: (tick.end ? 0x80 : 0) | volume, toByteOffset: 1, as: UInt8.self)
        to.storeBytes(of: tick.duration.bigEndian, toByteOffset: 2, as: UInt16.self)
    }
}
