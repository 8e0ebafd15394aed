import CallControl
import Compliance
import Configuration
import Daemon
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

/// Creates `path` with mode 0600 and writes `bytes`, refusing a file that exists (it would
/// keep its mode, and may be someone else's); nothing is left behind on failure. `before`
/// runs once the file is created, before a byte is written (the audit entry).
private func writeNewPrivateFile(_ path: String, _ bytes: [UInt8], before: () throws -> Void) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
    guard fd >= 0 else {
        if errno == EEXIST { throw CryptoError("\(path) already exists; not overwriting it") }
        throw CryptoError("cannot create \(path): \(String(cString: strerror(errno)))")
    }
    defer { close(fd) }
    do {
        guard fchmod(fd, 0o600) == 0 else { throw CryptoError("cannot make \(path) private") }
        try before()
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            guard n > 0 else { throw CryptoError("cannot write \(path): \(String(cString: strerror(errno)))") }
            offset += n
        }
        guard fsync(fd) == 0 else { throw CryptoError("cannot write \(path)") }
    } catch {
        unlink(path)
        throw error
    }
}

/// The sealed recordings `id` names, as paths: found from the records in the store the
/// config names (`id` a call's id or SIP Call-ID, or a recording's sid or file name in the
/// call's `recording_url`), else by file name under the recordings directory (a recording
/// whose record is not written yet). `storeProblem` says why the store could not be read.
func sealedRecordings(matching id: String, config: DaemonConfig, dataDirectory: String) -> (paths: [String], storeProblem: String?) {
    let root = config.effectiveRecordingsDirectory
    func names(_ file: String) -> Bool {
        let name = (file as NSString).lastPathComponent
        return name.hasSuffix(".wav.enc") && (name.hasSuffix("-\(id).wav.enc") || name == id)
    }
    var found: [String] = []
    var problem: String?
    do {
        let store = try RecordStoreFactory.open(config, dataDirectory: dataDirectory)
        try store.forEach(from: nil, to: nil) { r in
            guard !r.recordingURL.isEmpty else { return }
            let urls = r.recordingURL.split(separator: " ").map(String.init)
            let wholeCall = r.callID == id || r.sipCallID == id
            for url in urls where wholeCall || names(url) {
                guard let path = RecordingLocation.localPath(url, base: config.recordingURLBase, directory: root),
                      path.hasSuffix(".wav.enc"), !found.contains(path) else { continue }
                found.append(path)
            }
        }
    } catch {
        problem = "\(error)"
    }
    if !found.isEmpty { return (found, problem) }
    let files = (FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? []).filter(names)
    return (files.map { (root as NSString).appendingPathComponent($0) }, problem)
}

/// `tollfreed recording decrypt ID --out FILE`: authorised export of a sealed recording,
/// audited, to a new file of mode 0600.
func decryptRecording(id: String, out outPath: String, configPath: String?, dataDirectory: String?,
                      stdout: FileDescriptorSink, err: FileDescriptorSink) -> Int32 {
    do {
        let (config, data) = try context(configPath, dataDirectory)
        let (paths, problem) = sealedRecordings(matching: id, config: config, dataDirectory: data)
        let root = config.effectiveRecordingsDirectory + "/"
        let matches = paths.map { $0.hasPrefix(root) ? String($0.dropFirst(root.count)) : $0 }
        guard paths.count == 1 else {
            err.write("tollfreed: recording decrypt: \(matches.isEmpty ? "no sealed recording" : "\(matches.count) recordings") match '\(id)'"
                      + (problem.map { " (records not read: \($0))" } ?? ""))
            return 1
        }
        guard FileManager.default.fileExists(atPath: paths[0]) else {
            err.write("tollfreed: recording decrypt: '\(id)' is recorded as \(paths[0]), which is not there (recordings_dir: \(config.effectiveRecordingsDirectory))")
            return 1
        }
        let keys = try recordingKeys(config)
        let sealed = [UInt8](try Data(contentsOf: URL(fileURLWithPath: paths[0])))
        let wav = try SealedFile.open(sealed, keys: keys)
        let audit = try AuditLog(path: config.effectiveAuditLog, key: keys[0])
        try writeNewPrivateFile(outPath, wav) {
            // Audited before the plaintext leaves: no unrecorded export.
            try audit.record(actor: cliActor(), action: "recording.decrypted", subject: matches[0], detail: "to \(outPath)")
        }
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
        let r = try Retention.run(recordingsDirectory: config.effectiveRecordingsDirectory, years: years, now: Date(), audit: audit, dryRun: dryRun)
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
