import Foundation

/// Deletes recordings (and their transcripts) older than their tenant's retention period.
/// Call records are not touched: their billing fields stay; the record's `recording_url`
/// then names a file that was purged, and the audit log says when and why.
public enum Retention {
    /// What a run did.
    public struct Report: Sendable, Equatable {
        public var examined = 0
        public var purged = 0
        public var kept = 0
        public var purgedBytes: Int64 = 0
        public init() {}
    }

    /// Purges `DATA/recordings/<tenant>/*` files whose modification time is more than the
    /// tenant's `years` before `now`; see `run(recordingsDirectory:...)`.
    public static func run(dataDirectory: String, years: [String: Int], now: Date, audit: AuditLog?,
                           dryRun: Bool = false) throws -> Report {
        try run(recordingsDirectory: (dataDirectory as NSString).appendingPathComponent("recordings"), years: years,
                now: now, audit: audit, dryRun: dryRun)
    }

    /// Purges `<recordings>/<tenant>/*` files whose modification time is more than the
    /// tenant's `years` before `now` (calendar years, UTC). Tenants missing from `years`
    /// keep everything. With `dryRun` nothing is deleted or audited; the report says what
    /// would go.
    public static func run(recordingsDirectory root: String, years: [String: Int], now: Date, audit: AuditLog?,
                           dryRun: Bool = false) throws -> Report {
        var report = Report()
        let fm = FileManager.default
        guard let tenants = try? fm.contentsOfDirectory(atPath: root) else { return report }
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = .gmt
        for tenant in tenants.sorted() {
            let dir = (root as NSString).appendingPathComponent(tenant)
            guard let files = try? fm.contentsOfDirectory(atPath: dir) else { continue }
            guard let keepYears = years[tenant], let cutoff = cal.date(byAdding: .year, value: -keepYears, to: now) else {
                report.kept += files.count
                report.examined += files.count
                continue
            }
            for file in files.sorted() {
                report.examined += 1
                let path = (dir as NSString).appendingPathComponent(file)
                guard let attrs = try? fm.attributesOfItem(atPath: path), let modified = attrs[.modificationDate] as? Date else { continue }
                guard modified < cutoff else { report.kept += 1; continue }
                let size = (attrs[.size] as? NSNumber)?.int64Value ?? 0
                if !dryRun {
                    try fm.removeItem(atPath: path)
                    try audit?.record(actor: "retention", action: file.contains(".txt") ? "transcript.purged" : "recording.purged",
                                      subject: "\(tenant)/\(file)",
                                      detail: "recorded \(ISO8601DateFormatter().string(from: modified)); retention \(keepYears) years")
                }
                report.purged += 1
                report.purgedBytes += size
            }
        }
        return report
    }
}
