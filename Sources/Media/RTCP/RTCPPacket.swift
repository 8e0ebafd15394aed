/// One RFC 3550 report block: what a receiver says about one source.
struct RTCPReportBlock: Equatable {
    var ssrc: UInt32
    var fractionLost: UInt8
    /// Signed 24 bits.
    var cumulativeLost: Int32
    var highestSequence: UInt32
    /// Interarrival jitter, in timestamp units.
    var jitter: UInt32
    /// The middle 32 bits of the NTP time of the last SR received from `ssrc` (0: none).
    var lastSR: UInt32
    /// Since that SR, in 1/65536 s.
    var delaySinceLastSR: UInt32
}

/// The sender information of an SR.
struct RTCPSenderInfo: Equatable {
    /// NTP time of the report (seconds since 1900 in the high 32 bits, fraction below).
    var ntp: UInt64
    var rtpTimestamp: UInt32
    var packets: UInt32
    var octets: UInt32
}

/// What a compound RTCP packet from the peer says that matters to us.
struct RTCPSummary: Equatable {
    var senderSSRC: UInt32 = 0
    /// The middle 32 bits of the NTP time of its SR, when it sent one (our next report's LSR).
    var senderReportNTP: UInt32?
    /// Its report block about our stream (the SSRC we send with), if any.
    var aboutUs: RTCPReportBlock?
    var bye = false
}

/// Writes and reads compound RTCP packets (RFC 3550 6.4-6.6): SR or RR, then SDES with a
/// CNAME, and BYE at the end of a call. Writes into a caller's buffer; reads without
/// allocating. Packets that break the rules (version, lengths, a first packet other than
/// SR/RR) are refused whole.
enum RTCPPacket {
    static let senderReport: UInt8 = 200, receiverReport: UInt8 = 201, sourceDescription: UInt8 = 202, goodbye: UInt8 = 203
    /// The largest packet `write` makes: SR with one block, SDES with a 32-byte CNAME, BYE.
    static let maxWrittenBytes = 28 + 24 + 8 + 36 + 8

    /// Writes SR (with `sender`) or RR, one report block when given, SDES CNAME (at most 32
    /// bytes of `cname`) and, when `bye`, a BYE. Returns the bytes written; `out` must hold
    /// `maxWrittenBytes`.
    static func write(ssrc: UInt32, sender: RTCPSenderInfo?, block: RTCPReportBlock?, cname: UnsafeRawBufferPointer,
                      bye: Bool, into out: UnsafeMutableRawPointer) -> Int {
        var w = Writer(base: out)
        let count: UInt8 = block == nil ? 0 : 1
        let words = (sender == nil ? 1 : 6) + Int(count) * 6
        w.header(count: count, type: sender == nil ? receiverReport : senderReport, words: words)
        w.u32(ssrc)
        if let s = sender {
            w.u32(UInt32(truncatingIfNeeded: s.ntp >> 32)); w.u32(UInt32(truncatingIfNeeded: s.ntp))
            w.u32(s.rtpTimestamp); w.u32(s.packets); w.u32(s.octets)
        }
        if let b = block {
            w.u32(b.ssrc)
            w.u32(UInt32(b.fractionLost) << 24 | (UInt32(bitPattern: b.cumulativeLost) & 0xFF_FFFF))
            w.u32(b.highestSequence); w.u32(b.jitter); w.u32(b.lastSR); w.u32(b.delaySinceLastSR)
        }
        // SDES: SSRC, CNAME item (type 1, length, text), END, padded to a word.
        let nameLength = min(cname.count, 32)
        let itemBytes = 2 + nameLength + 1
        let sdesWords = 1 + (itemBytes + 3) / 4
        w.header(count: 1, type: sourceDescription, words: sdesWords)
        w.u32(ssrc)
        w.u8(1); w.u8(UInt8(nameLength))
        for k in 0..<nameLength { w.u8(cname[k]) }
        for _ in 0..<(sdesWords * 4 - 4 - 2 - nameLength) { w.u8(0) }  // END and padding
        if bye {
            w.header(count: 1, type: goodbye, words: 1)
            w.u32(ssrc)
        }
        return w.offset
    }

    /// Reads a compound packet; nil when it is not valid RTCP. `ourSSRC`: the SSRC we send
    /// with, whose report block is picked out.
    static func parse(_ p: UnsafeRawBufferPointer, ourSSRC: UInt32) -> RTCPSummary? {
        guard p.count >= 8, p.count % 4 == 0 else { return nil }
        var summary = RTCPSummary()
        var offset = 0
        var first = true
        while offset < p.count {
            guard p.count - offset >= 4, p[offset] >> 6 == 2 else { return nil }
            let count = Int(p[offset] & 0x1F), type = p[offset + 1]
            let length = ((Int(p[offset + 2]) << 8 | Int(p[offset + 3])) + 1) * 4
            guard offset + length <= p.count else { return nil }
            if first && type != senderReport && type != receiverReport { return nil }
            first = false
            let body = UnsafeRawBufferPointer(rebasing: p[(offset + 4)..<(offset + length)])
            switch type {
            case senderReport, receiverReport:
                guard readReport(body, count: count, sender: type == senderReport, ourSSRC: ourSSRC, into: &summary) else { return nil }
            case goodbye:
                summary.bye = true
            default:
                break  // SDES, APP, XR...: not used
            }
            offset += length
        }
        return summary
    }

    private static func readReport(_ body: UnsafeRawBufferPointer, count: Int, sender: Bool, ourSSRC: UInt32,
                                   into summary: inout RTCPSummary) -> Bool {
        let blocksAt = sender ? 24 : 4
        guard body.count >= blocksAt + count * 24 else { return false }
        summary.senderSSRC = u32(body, 0)
        if sender { summary.senderReportNTP = u32(body, 4) << 16 | u32(body, 8) >> 16 }
        for k in 0..<count {
            let b = blocksAt + k * 24
            guard u32(body, b) == ourSSRC else { continue }
            let lossWord = u32(body, b + 4)
            // Sign-extend the 24-bit cumulative count.
            let cumulative = Int32(bitPattern: lossWord << 8) >> 8
            summary.aboutUs = RTCPReportBlock(ssrc: ourSSRC, fractionLost: UInt8(lossWord >> 24), cumulativeLost: cumulative,
                                              highestSequence: u32(body, b + 8), jitter: u32(body, b + 12),
                                              lastSR: u32(body, b + 16), delaySinceLastSR: u32(body, b + 20))
        }
        return true
    }

    @inline(__always)
    static func u32(_ p: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        UInt32(p[at]) << 24 | UInt32(p[at + 1]) << 16 | UInt32(p[at + 2]) << 8 | UInt32(p[at + 3])
    }

    /// True when a datagram on the RTP port is RTCP (RFC 5761 4: payload types 200-204
    /// where RTP's would be 72-76, which RTP must not use).
    @inline(__always)
    static func isMultiplexedRTCP(_ p: UnsafeRawBufferPointer) -> Bool {
        p.count >= 8 && p[0] >> 6 == 2 && (200...204).contains(p[1])
    }

    /// Sequential big-endian writes.
    private struct Writer {
        let base: UnsafeMutableRawPointer
        var offset = 0
        mutating func u8(_ v: UInt8) { base.storeBytes(of: v, toByteOffset: offset, as: UInt8.self); offset += 1 }
        mutating func u32(_ v: UInt32) { base.storeBytes(of: v.bigEndian, toByteOffset: offset, as: UInt32.self); offset += 4 }
        mutating func header(count: UInt8, type: UInt8, words: Int) {
            u8(0x80 | count); u8(type)
            u8(UInt8(truncatingIfNeeded: words >> 8)); u8(UInt8(truncatingIfNeeded: words))
        }
    }
}
