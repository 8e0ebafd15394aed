import Foundation

/// Why an export file cannot be read.
public struct ImportError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

/// Reads the files `cdr export` and `sms export` write (CSV with a header row, or JSON
/// Lines), streaming: constant memory however large the file. Used by `bill --cdrs`.
public enum ExportFileReader {
    /// Every call record in `path`, in file order.
    public static func forEachCall(path: String, _ body: (CallDetailRecord) throws -> Void) throws {
        try forEachRow(path: path) { row, line in try body(call(row, line: line, path: path)) }
    }

    /// Every message record in `path`, in file order.
    public static func forEachMessage(path: String, _ body: (MessageDetailRecord) throws -> Void) throws {
        try forEachRow(path: path) { row, line in try body(message(row, line: line, path: path)) }
    }

    /// 2FA attempts from JSON Lines: `{"tenant": "t", "time": "2026-11-03T10:00:00Z", "count": 1}`.
    public static func forEachTwoFactor(path: String, _ body: (TwoFactorUsage) throws -> Void) throws {
        try forEachRow(path: path) { row, line in
            guard let tenant = row["tenant"], !tenant.isEmpty else { throw ImportError("\(path):\(line): missing tenant") }
            guard let time = row["time"].flatMap(CDRTime.parse) else { throw ImportError("\(path):\(line): bad or missing time") }
            let count = row["count"].map { Int($0) } ?? 1
            guard let count, count >= 0 else { throw ImportError("\(path):\(line): count must be a whole number") }
            try body(TwoFactorUsage(tenant: tenant, time: time, count: count))
        }
    }

    // MARK: - Rows

    /// Calls `body` with each record as field name -> text (JSON null -> absent).
    static func forEachRow(path: String, _ body: ([String: String], Int) throws -> Void) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ImportError("\(path): cannot open") }
        defer { try? handle.close() }
        var lines = LineReader(handle: handle)
        var header: [String]?
        var isJSON: Bool?
        var number = 0
        while let line = try lines.next() {
            number += 1
            if line.allSatisfy({ $0 == 32 || $0 == 13 }) { continue }
            if isJSON == nil { isJSON = line.first == UInt8(ascii: "{") }
            if isJSON == true {
                guard let obj = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                    throw ImportError("\(path):\(number): not a JSON object")
                }
                var row: [String: String] = [:]
                for (k, v) in obj {
                    switch v {
                    case is NSNull: continue
                    case let n as NSNumber where String(describing: type(of: n)).contains("Bool"): row[k] = n.boolValue ? "true" : "false"
                    case let n as NSNumber: row[k] = n.stringValue
                    default: row[k] = "\(v)"
                    }
                }
                try body(row, number)
            } else {
                var fields = try CSV.fields(line, more: { try lines.next() }, path: path, line: number)
                guard let h = header else { header = fields.map { $0.trimmingCharacters(in: .whitespaces) }; continue }
                if fields.count < h.count { fields += Array(repeating: "", count: h.count - fields.count) }
                var row: [String: String] = [:]
                for (k, v) in zip(h, fields) where !v.isEmpty { row[k] = v }
                try body(row, number)
            }
        }
    }

    static func call(_ row: [String: String], line: Int, path: String) throws -> CallDetailRecord {
        func need(_ k: String) throws -> String {
            guard let v = row[k] else { throw ImportError("\(path):\(line): missing \(k)") }
            return v
        }
        func date(_ k: String) throws -> Date {
            guard let d = CDRTime.parse(try need(k)) else { throw ImportError("\(path):\(line): bad \(k)") }
            return d
        }
        func int(_ k: String) -> Int { row[k].flatMap { Int($0) } ?? 0 }
        let answer = try row["answer_time"].map { v -> Date in
            guard let d = CDRTime.parse(v) else { throw ImportError("\(path):\(line): bad answer_time") }
            return d
        }
        guard let disposition = Disposition(rawValue: try need("disposition")) else {
            throw ImportError("\(path):\(line): unknown disposition '\(row["disposition"] ?? "")'")
        }
        var r = CallDetailRecord(
            callID: try need("call_id"), sipCallID: row["sip_call_id"] ?? "", did: row["did"] ?? "",
            tenant: row["tenant"] ?? "", fromNumber: row["from"] ?? "", toNumber: row["to"] ?? "",
            startTime: try date("start_time"), answerTime: answer, endTime: try date("end_time"),
            disposition: disposition, sipCode: int("sip_code"), hangupBy: HangupSide(rawValue: row["hangup_by"] ?? "") ?? .none,
            flow: row["flow"] ?? "", emergency: row["emergency"] == "true" || row["emergency"] == "1",
            rtpSent: UInt64(int("rtp_sent")), rtpReceived: UInt64(int("rtp_received")), rtpDropped: UInt64(int("rtp_dropped")))
        // The exported values are what was billed: keep them rather than recompute.
        guard let billable = Int(try need("billable_seconds")), billable >= 0 else {
            throw ImportError("\(path):\(line): bad billable_seconds")
        }
        r.billableSeconds = billable
        r.durationMs = int("duration_ms")
        r.recordingURL = row["recording_url"] ?? ""
        r.recordingSeconds = int("recording_seconds")
        r.direction = CallDirection(rawValue: row["direction"] ?? "inbound") ?? .inbound
        r.parentCallID = row["parent_call_id"] ?? ""
        return r
    }

    static func message(_ row: [String: String], line: Int, path: String) throws -> MessageDetailRecord {
        func need(_ k: String) throws -> String {
            guard let v = row[k] else { throw ImportError("\(path):\(line): missing \(k)") }
            return v
        }
        guard let time = CDRTime.parse(try need("received_time")) else { throw ImportError("\(path):\(line): bad received_time") }
        guard let segments = Int(try need("segments")), segments >= 0 else { throw ImportError("\(path):\(line): bad segments") }
        return MessageDetailRecord(messageID: try need("message_id"), sipCallID: row["sip_call_id"] ?? "", did: row["did"] ?? "",
                                   tenant: try need("tenant"), fromNumber: row["from"] ?? "", receivedTime: time,
                                   bodyLength: Int(row["body_length"] ?? "") ?? 0,
                                   encoding: SMSEncoding(rawValue: row["encoding"] ?? "") ?? .gsm7, segments: segments)
    }
}

/// Lines of a file read in 1 MiB chunks.
struct LineReader {
    let handle: FileHandle
    private var buffer: [UInt8] = []
    private var start = 0
    private var eof = false

    init(handle: FileHandle) { self.handle = handle }

    mutating func next() throws -> [UInt8]? {
        while true {
            if let nl = buffer[start...].firstIndex(of: 10) {
                let line = Array(buffer[start..<nl])
                start = nl + 1
                return line
            }
            if eof {
                guard start < buffer.count else { return nil }
                let line = Array(buffer[start...])
                start = buffer.count
                return line
            }
            buffer.removeFirst(start)
            start = 0
            let chunk = try handle.read(upToCount: 1 << 20) ?? Data()
            if chunk.isEmpty { eof = true } else { buffer.append(contentsOf: chunk) }
        }
    }
}

/// RFC 4180 fields, including quoted fields spanning lines.
enum CSV {
    static func fields(_ first: [UInt8], more: () throws -> [UInt8]?, path: String, line lineNumber: Int) throws -> [String] {
        var out: [String] = []
        var field: [UInt8] = []
        var quoted = false
        var line = first
        var i = 0
        while true {
            if i >= line.count {
                if quoted {
                    guard let next = try more() else { throw ImportError("\(path):\(lineNumber): unterminated quoted field") }
                    field.append(10)
                    line = next
                    i = 0
                    continue
                }
                break
            }
            let c = line[i]
            if quoted {
                if c == 34 {
                    if i + 1 < line.count && line[i + 1] == 34 { field.append(34); i += 1 } else { quoted = false }
                } else {
                    field.append(c)
                }
            } else if c == 34 {
                quoted = true
            } else if c == 44 {
                out.append(String(decoding: field, as: UTF8.self))
                field.removeAll(keepingCapacity: true)
            } else if c != 13 {
                field.append(c)
            }
            i += 1
        }
        out.append(String(decoding: field, as: UTF8.self))
        // The exporter prefixes a formula-looking text field with ' (spreadsheet safety).
        return out.map { $0.hasPrefix("'") && $0.dropFirst().first.map { "=+-@".contains($0) } == true ? String($0.dropFirst()) : $0 }
    }
}
