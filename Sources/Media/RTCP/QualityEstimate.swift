#if canImport(Glibc)
import Glibc
#endif

/// The ITU-T G.107 E-model, reduced to what a G.711 call's measurements give (as VoIP
/// monitors do): R = 93.2 - Id - Ie,eff, and MOS from R.
///
/// - Ie,eff = Ie + (95 - Ie) * Ppl / (Ppl + Bpl), with G.711's Ie = 0 and Bpl = 25.1
///   (G.113 Appendix I, packet-loss concealment at the receiver, random loss);
/// - Id from the one-way delay d (ms): 0.024 d + 0.11 (d - 177.3) when d > 177.3;
/// - d = half the round-trip time + 20 ms of packetisation + a jitter buffer of twice
///   the mean jitter (no RTT measured: the other two alone).
///
/// G.722 calls are rated on this narrowband scale as if they were G.711 (the same Ie and
/// Bpl): G.107's wideband E-model (G.107.1, R up to 129) would give them a different
/// scale, and one record column must compare calls of both codecs.
enum QualityEstimate {
    /// The MOS for `lossPercent` (the worse direction), `roundTripMs` (nil: unknown) and
    /// `jitterMs` (the mean), rounded to one decimal.
    static func mos(lossPercent: Double, roundTripMs: Double?, jitterMs: Double) -> Double {
        let r = rFactor(lossPercent: lossPercent, roundTripMs: roundTripMs, jitterMs: jitterMs)
        let mos: Double
        if r <= 0 { mos = 1 } else if r >= 100 { mos = 4.5 } else { mos = 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6 }
        return (max(1, min(4.5, mos)) * 10).rounded() / 10
    }

    static func rFactor(lossPercent: Double, roundTripMs: Double?, jitterMs: Double) -> Double {
        let ppl = max(0, min(100, lossPercent))
        let ie = 0.0, bpl = 25.1
        let ieEff = ie + (95 - ie) * ppl / (ppl + bpl)
        let d = max(0, (roundTripMs ?? 0) / 2) + 20 + 2 * max(0, jitterMs)
        let id = 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0)
        return 93.2 - id - ieEff
    }
}

/// NTP time (RFC 3550 4): seconds since 1900 in the high 32 bits, fraction in the low.
enum NTPTime {
    static let unixToNTP: UInt64 = 2_208_988_800

    /// Now, from CLOCK_REALTIME.
    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let seconds = UInt64(ts.tv_sec) &+ unixToNTP
        let fraction = (UInt64(ts.tv_nsec) << 32) / 1_000_000_000
        return seconds << 32 | fraction
    }

    /// The middle 32 bits (16.16 fixed point), as LSR and arrival times are compared.
    static func middle(_ ntp: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: ntp >> 16) }
}
