import Compliance
import Foundation
import Observability
import Routing
#if canImport(Glibc)
import Glibc
#endif

/// The config (when readable) and data directory of a compliance command.
private func context(_ configPath: String?, _ dataDirectory: String?) throws(ConfigError) -> (DaemonConfig, String) {
    var config = try ConfigLoader.load(path: configPath ?? CommandLineParser.defaultConfigPath())
    if let d = dataDirectory { config.dataDirectory = URL(fileURLWithPath: d).standardizedFileURL.path }
    return (config, config.dataDirectory)
}

/// Who ran a command, for the audit log.
func cliActor() -> String {
    "cli uid=\(getuid()) user=\(ProcessInfo.processInfo.environment["SUDO_USER"] ?? ProcessInfo.processInfo.environment["USER"] ?? "?")"
}

/// The configured recording keys: the current one first, then older ones.
func recordingKeys(_ config: DaemonConfig) throws(CryptoError) -> [RecordingKey] {
    var keys = [try RecordingKey.load(path: config.effectiveKeyFile)]
    for old in config.previousKeyFiles { keys.append(try RecordingKey.load(path: old)) }
    return keys
}

/// `tollfreed recording decrypt ID --out FILE`: authorised export of a sealed recording.
func decryptRecording(id: String, out outPath: String, configPath: String?, dataDirectory: String?,
                      stdout: FileDescriptorSink, err: FileDescriptorSink) -> Int32 {
    do {
        let (config, data) = try context(configPath, dataDirectory)
        let root = (data as NSString).appendingPathComponent("recordings")
        let matches = (FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? [])
            .filter { $0.hasSuffix(".wav.enc") && ($0.contains("-\(id).wav") || ($0 as NSString).lastPathComponent == id) }
        guard matches.count == 1 else {
            err.write("tollfreed: recording decrypt: \(matches.isEmpty ? "no sealed recording" : "\(matches.count) recordings") match '\(id)'")
            return 1
        }
        let keys = try recordingKeys(config)
        let sealed = [UInt8](try Data(contentsOf: URL(fileURLWithPath: (root as NSString).appendingPathComponent(matches[0]))))
        let wav = try SealedFile.open(sealed, keys: keys)
        let audit = try AuditLog(path: config.effectiveAuditLog, key: keys[0])
        // Audited before the plaintext leaves: no unrecorded export.
        try audit.record(actor: cliActor(), action: "recording.decrypted", subject: matches[0], detail: "to \(outPath)")
        let fd = open(outPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { err.write("tollfreed: recording decrypt: cannot create \(outPath)"); return 1 }
        defer { close(fd) }
        guard write(fd, wav, wav.count) == wav.count else { err.write("tollfreed: recording decrypt: cannot write \(outPath)"); return 1 }
        stdout.write("\(matches[0]): \(wav.count) bytes of WAV written to \(outPath)")
        return 0
    } catch {
        err.write("tollfreed: recording decrypt: \(error)")
        return 1
    }
}

/// `tollfreed audit verify`.
func verifyAudit(configPath: String?, dataDirectory: String?, out: FileDescriptorSink, err: FileDescriptorSink) -> Int32 {
    let config: DaemonConfig
    do { config = try context(configPath, dataDirectory).0 } catch {
        err.write("tollfreed: config: \(error)")
        return 2
    }
    let keys: [RecordingKey]
    do { keys = try recordingKeys(config) } catch {
        err.write("tollfreed: audit verify: the anchor is checked with the recording key: \(error)")
        return 2
    }
    let log = config.effectiveAuditLog
    switch AuditLog.verify(path: log, keys: keys) {
    case .intact(let n):
        out.write("\(log): intact (\(n) entries, anchored)")
        return 0
    case .unanchored(let n):
        out.write("\(log): intact (\(n) entries)")
        err.write("\(log): warning: no anchor (\(AuditLog.anchorPath(forLog: log))): the log predates anchors or the "
                  + "anchor was deleted, so deleting its last entries would go unnoticed; the next append writes one")
        return 0
    case .broken(0, let reason):
        err.write("\(AuditLog.anchorPath(forLog: log)): \(reason)")
        return 1
    case .broken(let line, let reason):
        err.write("\(log):\(line): \(reason)")
        return 1
    }
}

/// `tollfreed retention run`: deletes what is past retention, per tenant's industry.
func runRetention(configPath: String?, dataDirectory: String?, dryRun: Bool, out: FileDescriptorSink, err: FileDescriptorSink) -> Int32 {
    do {
        let (config, data) = try context(configPath, dataDirectory)
        var years: [String: Int] = [:]
        for t in config.tenants { years[t.id] = config.retentionYears[t.industry] }
        let audit = dryRun ? nil : try AuditLog(path: config.effectiveAuditLog, key: try RecordingKey.load(path: config.effectiveKeyFile))
        let r = try Retention.run(dataDirectory: data, years: years, now: Date(), audit: audit, dryRun: dryRun)
        try audit?.record(actor: cliActor(), action: "retention.run", subject: data,
                          detail: "examined=\(r.examined) purged=\(r.purged) kept=\(r.kept)")
        out.write("retention\(dryRun ? " (dry run)" : ""): examined \(r.examined), purged \(r.purged) (\(r.purgedBytes) bytes), kept \(r.kept)")
        return 0
    } catch {
        err.write("tollfreed: retention run: \(error)")
        return 1
    }
}

/// `tollfreed keygen --out FILE`.
func generateKey(path: String, out: FileDescriptorSink, err: FileDescriptorSink) -> Int32 {
    do {
        let key = try RecordingKey.generate(path: path)
        out.write("\(path): new recording key \(key.idHex) (mode 0400)")
        return 0
    } catch {
        err.write("tollfreed: keygen: \(error)")
        return 1
    }
}
