import CallControl
import Compliance
import Configuration
import Daemon
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
        // The audit anchor is sealed with the recording key of this data directory.
        let keyPath = config.map { c in
            var c = c
            c.dataDirectory = dir
            return c.effectiveKeyFile
        } ?? (dir as NSString).appendingPathComponent("keys/recording.key")
        guard FileManager.default.fileExists(atPath: keyPath) else {
            err.write("tollfreed: \(what): no recording key at \(keyPath): every export is audited and the audit log is sealed with it (the daemon creates it on first start; for a data directory it never ran on: tollfreed keygen --out \(keyPath))")
            return 1
        }
        try auditExport(o, messages: messages, config: config, dataDirectory: dir, keyPath: keyPath, store: store)
        if messages { try writeMessages(o, from: store) } else { try writeCalls(o, from: store) }
        return 0
    } catch {
        err.write("tollfreed: \(what): \(error)")
        return 1
    }
}

/// Records an export in the audit log (the config's, or the one in an explicit `--data`
/// directory) and, for records in PostgreSQL, in the cluster's audit table too.
private func auditExport(_ o: ExportOptions, messages: Bool, config: DaemonConfig?, dataDirectory dir: String,
                         keyPath: String, store: any CDRStore) throws {
    let auditPath = config.flatMap { c -> String? in o.dataDirectory == nil ? c.effectiveAuditLog : nil }
        ?? (dir as NSString).appendingPathComponent("audit.log")
    let range = "from=\(o.from.map(CDRTime.format) ?? "-") to=\(o.to.map(CDRTime.format) ?? "-") format=\(o.format.rawValue)"
    let action = messages ? "messages.exported" : "records.exported"
    try AuditLog(path: auditPath, key: try RecordingKey.load(path: keyPath)).record(actor: cliActor(), action: action,
                                         subject: dir, detail: range)
    // Records in the shared database: the export is on the cluster's trail there too.
    if let pg = store as? PostgresCDRStore {
        try pg.recordAudit(actor: cliActor(), action: action, subject: "host \(ProcessInfo.processInfo.hostName)", detail: range)
    }
}

/// Message records to standard output, a line each, in 64 KiB writes.
private func writeMessages(_ o: ExportOptions, from store: any CDRStore) throws {
    var buffer = ""
    buffer.reserveCapacity(1 << 17)
    func emit(_ line: String) {
        buffer += line
        buffer += "\n"
        if buffer.utf8.count > 1 << 16 { writeAll(1, buffer); buffer.removeAll(keepingCapacity: true) }
    }
    let exporter = MessageExporter(format: o.format)
    if let h = exporter.header { emit(h) }
    try store.forEachMessage(from: o.from, to: o.to) { emit(exporter.line($0)) }
    writeAll(1, buffer)
}

/// Call detail records to standard output, encoded straight into bytes, in 64 KiB writes.
private func writeCalls(_ o: ExportOptions, from store: any CDRStore) throws {
    let exporter = CDRExporter(format: o.format)
    if let h = exporter.header { writeAll(1, h + "\n") }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(1 << 17)
    try store.forEach(from: o.from, to: o.to) { r in
        exporter.append(r, to: &bytes)
        if bytes.count > 1 << 16 { writeAll(1, bytes); bytes.removeAll(keepingCapacity: true) }
    }
    writeAll(1, bytes)
}
