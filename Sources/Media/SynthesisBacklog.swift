/// How far text to speech is behind for a tenant, so that the wait of a prompt asked for now
/// is known before its caller feels it. Two signals, either of which counts:
/// - the prompts the synthesis thread will take first (`FairSynthesisQueue.ahead`) times how
///   long one takes there lately (leading: it sees a queue building before anyone waited);
/// - while any of the tenant's prompts is in flight, how long its last prompts took from
///   request to audio (lagging, but it includes the conversion stage, which falls behind too
///   when the cores are busy).
/// A pure value: the prompt cache keeps it under its lock and passes the durations in.
public struct SynthesisBacklog: Sendable, Equatable {
    /// Seconds one synthesis took on the synthesis thread, as a moving average (the last 10
    /// or so weigh most); 0 before the first.
    public private(set) var secondsPerSynthesis = 0.0
    /// Per tenant: prompts asked for and not yet ready.
    private var inFlight: [String: Int] = [:]
    /// Per tenant: seconds from request to audio of its last prompts, as a moving average.
    private var recentLatency: [String: Double] = [:]

    public init() {}

    /// A prompt of `tenant` was asked for.
    public mutating func enqueued(tenant: String) { inFlight[tenant, default: 0] += 1 }

    /// The synthesis thread finished one after `seconds` (a failure counts too: it held the
    /// thread as long).
    public mutating func synthesized(seconds: Double) {
        secondsPerSynthesis = Self.average(secondsPerSynthesis, max(0, seconds))
    }

    /// A prompt of `tenant` is ready (or failed) `latency` seconds after it was asked for.
    public mutating func ready(tenant: String, latency: Double) {
        let left = (inFlight[tenant] ?? 1) - 1
        inFlight[tenant] = left > 0 ? left : nil
        recentLatency[tenant] = Self.average(recentLatency[tenant] ?? 0, max(0, latency))
    }

    /// Prompts of `tenant` in flight.
    public func inFlight(tenant: String) -> Int { inFlight[tenant] ?? 0 }

    /// Seconds a prompt `tenant` asks for now can be expected to wait for its audio, when
    /// `ahead` prompts will be synthesised before it; 0 while none of the tenant's prompts is
    /// in flight (an old slow spell does not count once it is over, and another tenant's
    /// queue costs this one a turn per prompt at most).
    public func expectedWait(tenant: String, ahead: Int) -> Double {
        guard inFlight(tenant: tenant) > 0 else { return 0 }
        return max(Double(ahead) * secondsPerSynthesis, recentLatency[tenant] ?? 0)
    }

    private static func average(_ old: Double, _ new: Double) -> Double {
        old == 0 ? new : old * 0.9 + new * 0.1
    }
}
