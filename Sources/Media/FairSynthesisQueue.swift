/// Prompts waiting for the synthesis thread, a queue per tenant served in turn: a tenant
/// whose flows make a new prompt for every call delays its own callers, not everyone's
/// (with one queue, its thousand prompts stood before another tenant's one). A pure value,
/// kept under the prompt cache's lock.
public struct FairSynthesisQueue: Sendable {
    private var queues: [String: [SpeechKey]] = [:]
    private var heads: [String: Int] = [:]
    /// Tenants with prompts waiting, in the order they are served.
    private var turn: [String] = []
    private var next = 0
    /// Prompts waiting.
    public private(set) var count = 0

    public init() {}

    /// Queues `key` behind the tenant's own prompts.
    public mutating func push(_ key: SpeechKey, tenant: String) {
        if queues[tenant] == nil {
            queues[tenant] = []
            heads[tenant] = 0
            turn.append(tenant)
        }
        queues[tenant]!.append(key)
        count += 1
    }

    /// The next prompt to synthesise: the oldest of the next tenant in turn.
    public mutating func pop() -> (key: SpeechKey, tenant: String)? {
        guard !turn.isEmpty else { return nil }
        if next >= turn.count { next = 0 }
        let tenant = turn[next]
        let head = heads[tenant]!
        let key = queues[tenant]![head]
        count -= 1
        if head + 1 == queues[tenant]!.count {
            queues[tenant] = nil
            heads[tenant] = nil
            turn.remove(at: next) // the tenant after it now sits at `next`
        } else {
            heads[tenant] = head + 1
            if head + 1 > 256 && (head + 1) * 2 > queues[tenant]!.count {
                queues[tenant]!.removeFirst(head + 1)
                heads[tenant] = 0
            }
            next += 1
        }
        return (key, tenant)
    }

    /// Prompts of `tenant` waiting.
    public func waiting(tenant: String) -> Int {
        guard let q = queues[tenant], let h = heads[tenant] else { return 0 }
        return q.count - h
    }

    /// How many prompts the thread will synthesise before a prompt `tenant` queues now: its
    /// own waiting ones, and as many of each other tenant's (up to one more, for the turn
    /// that may come first).
    public func ahead(ofNewFrom tenant: String) -> Int {
        let own = waiting(tenant: tenant)
        var total = own
        for other in turn where other != tenant { total += min(waiting(tenant: other), own + 1) }
        return total
    }
}
