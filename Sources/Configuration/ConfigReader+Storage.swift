import Foundation
import RecordStore

extension ConfigReader {
    /// The largest spool bound accepted (1 TiB).
    static let maxSpoolBytes = 1 << 40

    /// The `storage` and `node` sections.
    func readStorage(_ o: [String: Any], into c: inout DaemonConfig) throws(ConfigError) {
        if let st = o["storage"] {
            let s = try json.object(st, "storage", allowed: ["kind", "url", "spool_dir", "spool_max_bytes"])
            switch try json.string(s, "kind", "storage") ?? "sqlite" {
            case "sqlite":
                for key in ["url", "spool_dir", "spool_max_bytes"] where s[key] != nil {
                    throw json.fail("storage.\(key)", "only applies to kind \"postgres\"")
                }
                c.storage = .sqlite
            case "postgres":
                guard let url = try json.string(s, "url", "storage") else {
                    throw json.fail("storage.url", "is required for kind \"postgres\" (e.g. postgresql://tollfreed@db.example:5432/tollfreed)")
                }
                guard url.hasPrefix("postgresql://") || url.hasPrefix("postgres://") else {
                    throw json.fail("storage.url", "must be a postgresql:// URL, got '\(PostgresCDRStore.redacted(url))'")
                }
                if let problem = PostgresCDRStore.problem(with: url) { throw json.fail("storage.url", problem) }
                let spool = try json.string(s, "spool_dir", "storage").map(path)
                let max = try json.integer(s, "spool_max_bytes", "storage", in: 1024...Self.maxSpoolBytes) ?? 64 << 20
                c.storage = .postgres(url: url, spoolDirectory: spool, spoolMaxBytes: max)
            case let other:
                throw json.fail("storage.kind", "must be \"sqlite\" or \"postgres\", got '\(other)'")
            }
        }
        if let n = o["node"] {
            let k = try json.object(n, "node", allowed: ["id", "lease_grace_s"])
            if let id = try json.string(k, "id", "node") {
                guard id.utf8.count <= 64, id.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0)) }) else {
                    throw json.fail("node.id", "must be at most 64 letters, digits, '.', '_' or '-', got '\(id)'")
                }
                c.nodeID = id
            }
            c.leaseGraceSeconds = try json.integer(k, "lease_grace_s", "node", in: 0...86_400) ?? c.leaseGraceSeconds
        }
    }
}
