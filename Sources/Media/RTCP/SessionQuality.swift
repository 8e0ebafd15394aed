import Synchronization

/// A session's media quality so far: RFC 3550 receive statistics of the peer's stream and
/// what the peer's RTCP reports said about ours. Nil: not measured.
public struct MediaQualityStats: Sendable, Equatable {
    public var packetsExpected: UInt64 = 0
    public var packetsLost: UInt64 = 0
    public var jitterMeanMs: Double?
    public var jitterMaxMs: Double?
    /// The cumulative loss of our stream in the peer's last report.
    public var peerPacketsLost: UInt64?
    public var peerJitterMs: Double?
    /// The last round-trip time measured from the peer's reports (LSR/DLSR).
    public var roundTripMs: Double?
    public var reportsSent: UInt64 = 0
    public var reportsReceived: UInt64 = 0
    public init() {}

    /// The worse direction's loss in percent: ours of the peer's stream, or the peer's of
    /// ours (its reported cumulative loss against what we sent).
    public func lossPercent(sent: UInt64) -> Double {
        let ours = packetsExpected > 0 ? Double(packetsLost) / Double(packetsExpected) * 100 : 0
        let theirs = (peerPacketsLost.map { sent > 0 ? Double($0) / Double(sent) * 100 : 0 }) ?? 0
        return max(ours, theirs)
    }

    /// The E-model's MOS for these figures; nil when nothing was received.
    public func mos(sent: UInt64) -> Double? {
        guard packetsExpected > 0 else { return nil }
        return QualityEstimate.mos(lossPercent: lossPercent(sent: sent), roundTripMs: roundTripMs, jitterMs: jitterMeanMs ?? 0)
    }
}

/// The quality figures one session's threads share: the receiver publishes its receive
/// statistics and what the peer's reports said; the pacer reads them for its own reports;
/// `close` and `stats` read them for the record. Relaxed atomics: each figure stands alone.
final class SessionQuality: Sendable {
    static let none = UInt64.max
    let expected = Atomic<UInt64>(0)
    let lost = Atomic<UInt64>(0)
    let jitterMeanMicros = Atomic<UInt64>(none)
    let jitterMaxMicros = Atomic<UInt64>(none)
    /// For our report block: the peer's SSRC (0 until something arrived), its extended
    /// highest sequence number, cumulative loss, jitter (timestamp units), and the middle
    /// of its last SR's NTP time with when it arrived (monotonic ns).
    let peerSSRC = Atomic<UInt32>(0)
    let highestSequence = Atomic<UInt32>(0)
    let cumulativeLost = Atomic<Int32>(0)
    let jitterUnits = Atomic<UInt32>(0)
    let lastSR = Atomic<UInt32>(0)
    let lastSRArrival = Atomic<UInt64>(0)
    let peerLost = Atomic<UInt64>(none)
    let peerJitterMicros = Atomic<UInt64>(none)
    let roundTripMicros = Atomic<UInt64>(none)
    let reportsSent = Atomic<UInt64>(0)
    let reportsReceived = Atomic<UInt64>(0)

    /// The receiver's statistics after a batch of packets.
    func publish(_ r: ReceptionStats) {
        guard r.started else { return }
        expected.store(r.expected, ordering: .relaxed)
        lost.store(r.lost, ordering: .relaxed)
        if let j = r.jitterMilliseconds() {
            jitterMeanMicros.store(UInt64(j.mean * 1000), ordering: .relaxed)
            jitterMaxMicros.store(UInt64(j.max * 1000), ordering: .relaxed)
        }
        peerSSRC.store(r.ssrc == 0 ? 1 : r.ssrc, ordering: .relaxed)
        highestSequence.store(r.extendedHighestSequence, ordering: .relaxed)
        cumulativeLost.store(r.cumulativeLost, ordering: .relaxed)
        jitterUnits.store(UInt32(min(Double(UInt32.max), r.jitter)), ordering: .relaxed)
    }

    /// A report from the peer, arrived at `arrivalNTP` (wall clock) / `arrivalNs` (monotonic).
    func heard(_ s: RTCPSummary, arrivalNTP: UInt64, arrivalNs: UInt64, clockRate: Double = 8000) {
        reportsReceived.wrappingAdd(1, ordering: .relaxed)
        if let ntp = s.senderReportNTP {
            lastSR.store(ntp, ordering: .relaxed)
            lastSRArrival.store(arrivalNs, ordering: .relaxed)
        }
        guard let b = s.aboutUs else { return }
        peerLost.store(UInt64(max(0, b.cumulativeLost)), ordering: .relaxed)
        peerJitterMicros.store(UInt64(Double(b.jitter) / clockRate * 1_000_000), ordering: .relaxed)
        // RFC 3550 6.4.1: RTT = arrival - LSR - DLSR, in 1/65536 s (the middle 32 bits).
        guard b.lastSR != 0 else { return }
        let rtt = NTPTime.middle(arrivalNTP) &- b.lastSR &- b.delaySinceLastSR
        if rtt < 65536 * 10 {  // a negative (wrapped) or absurd value is a clock or peer error
            roundTripMicros.store(UInt64(rtt) * 1_000_000 / 65536, ordering: .relaxed)
        }
    }

    var snapshot: MediaQualityStats {
        func ms(_ a: borrowing Atomic<UInt64>) -> Double? {
            let v = a.load(ordering: .relaxed)
            return v == Self.none ? nil : Double(v) / 1000
        }
        var q = MediaQualityStats()
        q.packetsExpected = expected.load(ordering: .relaxed)
        q.packetsLost = lost.load(ordering: .relaxed)
        q.jitterMeanMs = ms(jitterMeanMicros)
        q.jitterMaxMs = ms(jitterMaxMicros)
        let pl = peerLost.load(ordering: .relaxed)
        q.peerPacketsLost = pl == Self.none ? nil : pl
        q.peerJitterMs = ms(peerJitterMicros)
        q.roundTripMs = ms(roundTripMicros)
        q.reportsSent = reportsSent.load(ordering: .relaxed)
        q.reportsReceived = reportsReceived.load(ordering: .relaxed)
        return q
    }
}
