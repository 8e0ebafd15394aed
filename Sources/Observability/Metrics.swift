import Foundation

/// Counters, gauges and histograms for the Prometheus text exposition (version 0.0.4).
/// Thread-safe; updates are a lock and an addition, scrapes render a snapshot.
public final class MetricsRegistry: Sendable {
    private struct Histogram {
        var buckets: [Double]
        var counts: [UInt64]
        var sum = 0.0
        var count: UInt64 = 0
    }
    private struct State {
        var counters: [String: [String: Double]] = [:]     // name -> labels -> value
        var gauges: [String: [String: Double]] = [:]
        var histograms: [String: [String: Histogram]] = [:]
        var help: [String: (String, String)] = [:]         // name -> (type, help)
    }
    private let state = Locked(State())

    public init() {}

    /// Declares a metric's type and help text (shown even before the first sample).
    public func describe(_ name: String, type: String, help: String) {
        state.withLock { $0.help[name] = (type, help) }
    }

    /// Adds `by` to a counter.
    public func increment(_ name: String, _ labels: [(String, String)] = [], by: Double = 1) {
        let key = Self.labelText(labels)
        state.withLock { $0.counters[name, default: [:]][key, default: 0] += by }
    }

    /// Sets a gauge.
    public func set(_ name: String, _ value: Double, _ labels: [(String, String)] = []) {
        let key = Self.labelText(labels)
        state.withLock { $0.gauges[name, default: [:]][key] = value }
    }

    /// Observes a value (seconds) into a histogram with `buckets` (upper bounds).
    public func observe(_ name: String, _ value: Double, buckets: [Double], _ labels: [(String, String)] = []) {
        let key = Self.labelText(labels)
        state.withLock { s in
            var h = s.histograms[name]?[key] ?? Histogram(buckets: buckets, counts: Array(repeating: 0, count: buckets.count))
            for (i, b) in h.buckets.enumerated() where value <= b { h.counts[i] += 1 }
            h.sum += value
            h.count += 1
            s.histograms[name, default: [:]][key] = h
        }
    }

    /// The exposition text.
    public func render() -> String {
        let s = state.withLock { $0 }
        var out = ""
        let names = Set(s.counters.keys).union(s.gauges.keys).union(s.histograms.keys).union(s.help.keys).sorted()
        for name in names {
            if let (type, help) = s.help[name] { out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n" }
            for (labels, v) in (s.counters[name] ?? [:]).sorted(by: { $0.key < $1.key }) { out += "\(name)\(labels) \(Self.number(v))\n" }
            for (labels, v) in (s.gauges[name] ?? [:]).sorted(by: { $0.key < $1.key }) { out += "\(name)\(labels) \(Self.number(v))\n" }
            for (labels, h) in (s.histograms[name] ?? [:]).sorted(by: { $0.key < $1.key }) {
                let inner = labels.isEmpty ? "" : String(labels.dropFirst().dropLast()) + ","
                for (i, b) in h.buckets.enumerated() { out += "\(name)_bucket{\(inner)le=\"\(Self.number(b))\"} \(h.counts[i])\n" }
                out += "\(name)_bucket{\(inner)le=\"+Inf\"} \(h.count)\n"
                out += "\(name)_sum\(labels) \(Self.number(h.sum))\n\(name)_count\(labels) \(h.count)\n"
            }
        }
        return out
    }

    static func labelText(_ labels: [(String, String)]) -> String {
        guard !labels.isEmpty else { return "" }
        return "{" + labels.map { k, v in
            "\(k)=\"" + v.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n") + "\""
        }.joined(separator: ",") + "}"
    }

    static func number(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }
}
