/// Counts half-open calls (our 200 sent, the caller's ACK not yet in) by source address, so a
/// flood of INVITEs that are never ACKed cannot hold every place and port until the ACK
/// timeout. A value type with no I/O: the controller asks and tells it.
public struct HalfOpenTracker: Sendable, Equatable {
    /// Most half-open calls one source host may hold (0: no limit).
    public var perSource: Int
    /// Most half-open calls in all (0: no limit).
    public var total: Int
    private var bySource: [String: Int] = [:]
    /// Half-open calls now.
    public private(set) var count = 0

    public init(perSource: Int, total: Int) {
        self.perSource = perSource
        self.total = total
    }

    /// Why a new call from `source` ("ip" or "ip:port") must be refused, or nil to admit it.
    public func refusal(source: String) -> String? {
        let host = SourceFilter.host(of: source)
        if total > 0 && count >= total { return "\(count) half-open calls in all" }
        if perSource > 0, let n = bySource[host], n >= perSource { return "\(n) half-open calls from \(host)" }
        return nil
    }

    /// A call from `source` is now half-open; returns the key to `close` it with.
    public mutating func open(source: String) -> String {
        let host = SourceFilter.host(of: source)
        bySource[host, default: 0] += 1
        count += 1
        return host
    }

    /// The half-open call keyed `key` got its ACK or ended. Nil does nothing.
    public mutating func close(_ key: String?) {
        guard let key, let n = bySource[key] else { return }
        if n <= 1 { bySource[key] = nil } else { bySource[key] = n - 1 }
        count -= 1
    }
}
