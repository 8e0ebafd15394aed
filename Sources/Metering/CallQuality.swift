/// The media quality of one record's leg (an inbound call, or an outbound `<Dial>` leg), as
/// the daemon measured it (RFC 3550 receive statistics of the peer's RTP) and as the peer
/// reported it (its RTCP receiver reports about our RTP), with the ITU-T G.107 E-model's
/// estimate. Nil fields: not measured (no RTP received, no RTCP from the peer).
public struct CallQuality: Sendable, Equatable, Codable {
    /// Packets expected from the peer (highest extended sequence number - first + 1).
    public var packetsExpected: UInt64 = 0
    /// Packets from the peer that never arrived (expected - received; duplicates can make
    /// the raw difference negative, which counts as 0).
    public var packetsLost: UInt64 = 0
    /// RFC 3550 interarrival jitter of the peer's stream: the mean of the estimate over the
    /// call and its maximum, in milliseconds.
    public var jitterMeanMs: Double?
    public var jitterMaxMs: Double?
    /// Our packets the peer reported lost (its last RTCP report's cumulative count).
    public var peerPacketsLost: UInt64?
    /// The jitter the peer reported for our stream, in milliseconds.
    public var peerJitterMs: Double?
    /// Round-trip time from the peer's RTCP reports (LSR/DLSR), in milliseconds.
    public var roundTripMs: Double?
    /// Estimated MOS (1.0-4.5) from the E-model: codec, loss both ways, delay.
    public var mos: Double?

    public init(packetsExpected: UInt64 = 0, packetsLost: UInt64 = 0, jitterMeanMs: Double? = nil, jitterMaxMs: Double? = nil,
                peerPacketsLost: UInt64? = nil, peerJitterMs: Double? = nil, roundTripMs: Double? = nil, mos: Double? = nil) {
        self.packetsExpected = packetsExpected
        self.packetsLost = packetsLost
        self.jitterMeanMs = jitterMeanMs
        self.jitterMaxMs = jitterMaxMs
        self.peerPacketsLost = peerPacketsLost
        self.peerJitterMs = peerJitterMs
        self.roundTripMs = roundTripMs
        self.mos = mos
    }

    /// The export and store column names, in this order.
    public static let columns = ["rtp_expected", "rtp_lost", "jitter_mean_ms", "jitter_max_ms",
                                 "peer_rtp_lost", "peer_jitter_ms", "rtt_ms", "mos"]
}
