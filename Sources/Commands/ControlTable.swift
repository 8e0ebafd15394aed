import Daemon
import Foundation

/// The control commands' answers as text for people (`--json` prints them as they are).
enum ControlTable {
    static func render(_ request: ControlRequest, _ a: [String: Any]) -> String {
        switch request {
        case .status: return status(a)
        case .calls: return calls(a["calls"] as? [[String: Any]] ?? [])
        case .hangup(let id): return "\(id): \(a["result"] as? String ?? "ending")"
        case .drain, .undrain:
            let n = int(a["calls"])
            return (a["draining"] as? Bool == true
                ? "draining: new calls get 503 + Retry-After, /readyz fails; \(n) call(s) and leg(s) go on"
                : "answering: new calls admitted again; \(n) call(s) and leg(s) up")
        case .reload:
            let restart = (a["needs_restart"] as? [String]) ?? []
            return "reloaded: \(int(a["numbers"])) numbers, \(int(a["flows"])) flows"
                + (restart.isEmpty ? "" : "; needs a restart to apply: \(restart.joined(separator: ", "))")
        case .flowsReload:
            let flows = (a["flows"] as? [String]) ?? []
            let warnings = int(a["warnings"])
            return "\(a["number"] as? String ?? ""): reloaded \(flows.joined(separator: ", "))"
                + (warnings > 0 ? " (\(warnings) warning(s): markup tollfreed ignores; see the log)" : "")
        }
    }

    static func status(_ a: [String: Any]) -> String {
        let draining = a["draining"] as? Bool == true
        let rows: [(String, String)] = [
            ("version", "\(a["version"] as? String ?? "?") (pid \(int(a["pid"])), node \(a["node"] as? String ?? "-"))"),
            ("uptime", duration(int(a["uptime_s"]))),
            ("sip", a["sip"] as? String ?? "?"),
            ("state", draining ? "draining: new calls refused" : "answering"),
            ("calls", "\(int(a["calls"])) up, \(int(a["legs"])) <Dial> legs; capacity \(int(a["capacity"]))"),
            ("emergency", "\(int(a["emergency_calls"])) up; reserve \(int(a["emergency_reserve_used"])) of \(int(a["emergency_reserve"])) used"),
            ("rtp ports", "\(int(a["ports_free"])) free"),
        ]
        return rows.map { $0.0.padding(toLength: 11, withPad: " ", startingAt: 0) + $0.1 }.joined(separator: "\n")
    }

    static let columns = ["ID", "KIND", "NUMBER", "TENANT", "PARTY", "STATE", "VERB", "DURATION", "EMERGENCY", "LEG"]

    static func calls(_ rows: [[String: Any]]) -> String {
        guard !rows.isEmpty else { return "no calls up" }
        let cells: [[String]] = rows.map { r in
            [r["id"], r["kind"], r["number"], r["tenant"], r["party"], r["state"], r["verb"]].map { $0 as? String ?? "" }
                + [duration(int(r["duration_s"])), r["emergency"] as? Bool == true ? "yes" : "no", r["leg"] as? String ?? "-"]
        }
        let widths = columns.indices.map { i in max(columns[i].count, cells.map { $0[i].count }.max() ?? 0) }
        func line(_ c: [String]) -> String {
            c.indices.map { i in i == c.count - 1 ? c[i] : c[i].padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }
        return ([line(columns)] + cells.map(line)).joined(separator: "\n")
    }

    /// "0:07", "12:30", "3:02:15".
    static func duration(_ s: Int) -> String {
        let h = s / 3600, m = s % 3600 / 60, sec = s % 60
        return h > 0 ? String(format: "%d:%02d:%02d", h, m, sec) : String(format: "%d:%02d", m, sec)
    }

    private static func int(_ v: Any?) -> Int { (v as? Int) ?? (v as? NSNumber)?.intValue ?? 0 }
}
