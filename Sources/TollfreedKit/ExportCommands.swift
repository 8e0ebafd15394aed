import Compliance
import Foundation
import Metering
import Observability
import RecordStore

/// The data directory of an export or bill command: `--data`, else the config's.
func dataDirectory(_ explicit: String?, configPath: String?) throws(ConfigError) -> String {
    if let explicit { return explicit }
    return try ConfigLoader.load(path: configPath ?? CommandLineParser.defaultConfigPath()).dataDirectory
}

/// `tollfreed cdr export` / `tollfreed sms export`: streams records (constant memory) in
/// 64 KiB writes.
func exportRecords(_ o: ExportOptions, messages: Bool, err: FileDescriptorSink) -> Int32 {
    let dir: String
    do { dir = try dataDirectory(o.dataDirectory, configPath: o.configPath) } catch {
        err.write("tollfreed: config: \(error)")
        return 2
    }
    let what = messages ? "sms export" : "cdr export"
    do {
        // Every export of records is audited before the records leave.
        let config = try? ConfigLoader.load(path: o.configPath ?? CommandLineParser.defaultConfigPath())
        // The configured store: SQLite in the data directory, or PostgreSQL.
        let store = try RecordStoreFactory.open(config, dataDirectory: dir)
        let auditPath = config.flatMap { c -> String? in o.dataDirectory == nil ? c.effectiveAuditLog : nil }
            ?? (dir as NSString).appendingPathComponent("audit.log")
        // The audit anchor is sealed with the recording key of this data directory.
        let keyPath = config.map { c in
            var c = c
            c.dataDirectory = dir
            return c.effectiveKeyFile
        } ?? (dir as NSString).appendingPathComponent("keys/recording.key")
        let range = "from=\(o.from.map(CDRTime.format) ?? "-") to=\(o.to.map(CDRTime.format) ?? "-") format=\(o.format.rawValue)"
        guard FileManager.default.fileExists(atPath: keyPath) else {
            err.write("tollfreed: \(what): no recording key at \(keyPath): every export is audited and the audit log is sealed with it (the daemon creates it on first start; for a data directory it never ran on: tollfreed keygen --out \(keyPath))")
            return 1
        }
        let action = messages ? "messages.exported" : "records.exported"
        try AuditLog(path: auditPath, key: try RecordingKey.load(path: keyPath)).record(actor: cliActor(), action: action,
                                             subject: dir, detail: range)
        // Records in the shared database: the export is on the cluster's trail there too.
        if let pg = store as? PostgresCDRStore {
            try pg.recordAudit(actor: cliActor(), action: action, subject: "host \(ProcessInfo.processInfo.hostName)", detail: range)
        }
        var buffer = ""
        buffer.reserveCapacity(1 << 17)
        func emit(_ line: String) {
            buffer += line
            buffer += "\n"
            if buffer.utf8.count > 1 << 16 { writeAll(1, buffer); buffer.removeAll(keepingCapacity: true) }
        }
        if messages {
            let exporter = MessageExporter(format: o.format)
            if let h = exporter.header { emit(h) }
            try store.forEachMessage(from: o.from, to: o.to) { emit(exporter.line($0)) }
        } else {
            let exporter = CDRExporter(format: o.format)
            if let h = exporter.header { emit(h) }
            writeAll(1, buffer)
            buffer = ""
            var bytes: [UInt8] = []
            bytes.reserveCapacity(1 << 17)
            try store.forEach(from: o.from, to: o.to) { r in
                exporter.append(r, to: &bytes)
                if bytes.count > 1 << 16 { writeAll(1, bytes); bytes.removeAll(keepingCapacity: true) }
            }
            writeAll(1, bytes)
        }
        writeAll(1, buffer)
        return 0
    } catch {
        err.write("tollfreed: \(what): \(error)")
        return 1
    }
}
