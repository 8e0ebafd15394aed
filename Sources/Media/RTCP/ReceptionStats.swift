/// RFC 3550's receive statistics of one RTP stream (appendix A.1, A.3, A.8): the extended
/// highest sequence number, packets expected and lost, and the interarrival jitter
/// estimate, fed one packet at a time on the receiver thread. No allocation.
///
/// A new SSRC (a re-INVITE to another device, a transcoder restarting) starts a new stream:
/// what the old one expected and lost is kept in the totals.
struct ReceptionStats: Equatable {
    /// RFC 3550 A.1: a jump of more than this ahead is a restart, not a loss.
    static let maxDropout: UInt32 = 3000
    /// ... and this far behind, a late duplicate or an old packet.
    static let maxMisorder: UInt32 = 100
    static let sequenceMod: UInt32 = 1 << 16

    private(set) var ssrc: UInt32 = 0
    private(set) var started = false
    private var baseSequence: UInt32 = 0
    private var maxSequence: UInt16 = 0
    private var cycles: UInt32 = 0
    private var received: UInt64 = 0
    /// Totals of streams that ended (an SSRC change).
    private var priorExpected: UInt64 = 0
    private var priorLost: UInt64 = 0
    /// For the fraction lost of each report interval (A.3).
    private var expectedAtLastReport: UInt64 = 0
    private var receivedAtLastReport: UInt64 = 0
    /// Jitter in timestamp units (A.8), the previous packet's transit time.
    private(set) var jitter: Double = 0
    private var lastTransit: Double?
    private var jitterSum: Double = 0
    private var jitterSamples: UInt64 = 0
    private(set) var jitterMax: Double = 0

    /// One packet: its header fields and its arrival (seconds on any steady clock).
    /// `timed`: whether its timestamp marks its media's sampling instant (audio); an RFC
    /// 4733 event's timestamp is its event's start and would read as jitter.
    mutating func update(sequence: UInt16, timestamp: UInt32, ssrc: UInt32, arrival: Double, timed: Bool, clockRate: Double = 8000) {
        if !started || ssrc != self.ssrc { restart(ssrc: ssrc, sequence: sequence) }
        let delta = UInt32(sequence &- maxSequence)
        if delta < Self.maxDropout {
            if sequence < maxSequence { cycles &+= Self.sequenceMod }
            maxSequence = sequence
        } else if delta <= Self.sequenceMod - Self.maxMisorder {
            // A jump: the sender restarted its sequence. Count from here.
            restart(ssrc: ssrc, sequence: sequence)
        }
        // else: a late or duplicate packet; counted as received.
        received &+= 1
        guard timed else { return }
        let transit = arrival * clockRate - Double(timestamp)
        if let last = lastTransit {
            var d = transit - last
            // Timestamps wrap at 2^32: a difference past half the range is the wrap.
            if d > 2_147_483_648 { d -= 4_294_967_296 } else if d < -2_147_483_648 { d += 4_294_967_296 }
            jitter += (abs(d) - jitter) / 16
            jitterSum += jitter
            jitterSamples += 1
            jitterMax = max(jitterMax, jitter)
        }
        lastTransit = transit
    }

    private mutating func restart(ssrc: UInt32, sequence: UInt16) {
        if started {
            priorExpected &+= currentExpected
            priorLost &+= currentLost
        }
        self.ssrc = ssrc
        started = true
        baseSequence = UInt32(sequence)
        maxSequence = sequence
        cycles = 0
        received = 0
        expectedAtLastReport = 0
        receivedAtLastReport = 0
        lastTransit = nil
    }

    /// The extended highest sequence number received (A.1), for report blocks.
    var extendedHighestSequence: UInt32 { cycles &+ UInt32(maxSequence) }

    private var currentExpected: UInt64 {
        started ? UInt64(extendedHighestSequence) &- UInt64(baseSequence) &+ 1 : 0
    }

    private var currentLost: UInt64 {
        let e = currentExpected
        return e > received ? e - received : 0
    }

    /// Packets expected over every stream of the session.
    var expected: UInt64 { priorExpected + currentExpected }
    /// Packets lost over every stream (never negative: duplicates do not cancel losses of
    /// another stream).
    var lost: UInt64 { priorLost + currentLost }
    /// The stream's cumulative lost for a report block (signed 24 bits, clamped).
    var cumulativeLost: Int32 {
        let e = Int64(currentExpected), r = Int64(received)
        return Int32(max(-0x800000, min(0x7FFFFF, e - r)))
    }

    /// Mean and maximum of the jitter estimate in milliseconds; nil before two audio packets.
    func jitterMilliseconds(clockRate: Double = 8000) -> (mean: Double, max: Double)? {
        guard jitterSamples > 0 else { return nil }
        return (jitterSum / Double(jitterSamples) * 1000 / clockRate, jitterMax * 1000 / clockRate)
    }

    /// The fraction lost since the previous call (A.3), as the 8-bit fixed-point value of a
    /// report block; starts the next interval.
    mutating func takeFractionLost() -> UInt8 {
        let expectedInterval = Int64(currentExpected) - Int64(expectedAtLastReport)
        let receivedInterval = Int64(received) - Int64(receivedAtLastReport)
        expectedAtLastReport = currentExpected
        receivedAtLastReport = received
        let lostInterval = expectedInterval - receivedInterval
        guard expectedInterval > 0, lostInterval > 0 else { return 0 }
        return UInt8(min(255, (lostInterval << 8) / expectedInterval))
    }
}
