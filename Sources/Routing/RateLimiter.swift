/// Per-source token buckets: each source may send `ratePerSecond` requests a second on
/// average, with bursts up to `burst`. A flood from one address cannot take the daemon's
/// capacity from everyone else. Pure value type; time is passed in.
public struct SourceRateLimiter: Sendable {
    public let ratePerSecond: Double
    public let burst: Double
    private var buckets: [String: (tokens: Double, last: Double)] = [:]
    private var lastPrune = 0.0

    /// `ratePerSecond` <= 0 disables limiting.
    public init(ratePerSecond: Double, burst: Double) {
        self.ratePerSecond = ratePerSecond
        self.burst = max(1, burst)
    }

    /// Sources currently tracked.
    public var trackedSources: Int { buckets.count }

    /// Takes one token for `source` at time `now` (seconds); false when it has none left.
    public mutating func allow(_ source: String, now: Double) -> Bool {
        guard ratePerSecond > 0 else { return true }
        prune(now: now)
        var b = buckets[source] ?? (burst, now)
        b.tokens = min(burst, b.tokens + (now - b.last) * ratePerSecond)
        b.last = now
        let allowed = b.tokens >= 1
        if allowed { b.tokens -= 1 }
        buckets[source] = b
        return allowed
    }

    /// Forgets sources whose buckets have been full for a while (bounded memory).
    private mutating func prune(now: Double) {
        guard now - lastPrune >= 60 else { return }
        lastPrune = now
        let idle = burst / ratePerSecond + 60
        buckets = buckets.filter { now - $0.value.last < idle }
    }
}
