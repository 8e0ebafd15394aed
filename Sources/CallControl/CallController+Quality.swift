import Media
import Metering
import Observability

extension CallQuality {
    /// A leg's quality from its media session's final figures, with the E-model's MOS.
    init(media s: MediaStats) {
        let q = s.quality
        self.init(packetsExpected: q.packetsExpected, packetsLost: q.packetsLost,
                  jitterMeanMs: q.jitterMeanMs.map(Self.tenth), jitterMaxMs: q.jitterMaxMs.map(Self.tenth),
                  peerPacketsLost: q.peerPacketsLost, peerJitterMs: q.peerJitterMs.map(Self.tenth),
                  roundTripMs: q.roundTripMs.map(Self.tenth), mos: q.mos(sent: s.packetsSent))
    }

    /// Rounded to 0.1, as records keep it.
    static func tenth(_ v: Double) -> Double { (v * 10).rounded() / 10 }
}

extension CallController {
    static let mosBuckets = [1, 2, 2.5, 3, 3.5, 3.8, 4, 4.2, 4.4, 4.5]
    static let jitterBuckets = [1.0, 2, 5, 10, 20, 30, 50, 100, 200]

    /// The quality histograms, and `call.poor_quality` for a leg under `media.poor_quality_mos`.
    func reportQuality(_ r: CallDetailRecord, log: Logger) {
        guard let mos = r.quality.mos else { return }
        metrics.observe("tollfreed_call_mos", mos, buckets: Self.mosBuckets, [("direction", r.direction.rawValue)])
        if let j = r.quality.jitterMeanMs {
            metrics.observe("tollfreed_call_jitter_ms", j, buckets: Self.jitterBuckets, [("direction", r.direction.rawValue)])
        }
        guard mos < policy.poorQualityMOS else { return }
        metrics.increment("tollfreed_poor_quality_calls_total", [("direction", r.direction.rawValue)])
        log.warning("call.poor_quality", ["mos": mos, "rtp_expected": r.quality.packetsExpected, "rtp_lost": r.quality.packetsLost,
                                          "jitter_ms": r.quality.jitterMeanMs ?? 0, "peer_rtp_lost": r.quality.peerPacketsLost.map { "\($0)" } ?? "-",
                                          "rtt_ms": r.quality.roundTripMs.map { "\($0)" } ?? "-", "threshold": policy.poorQualityMOS])
    }
}
