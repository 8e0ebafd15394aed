import Compliance
import Configuration
import Foundation
import Observability
import Routing

/// What the call path needs for compliance: the sealing keys, which industries are
/// sealed, and the audit log.
package struct ComplianceServices: Sendable {
    /// The current key first, then older ones (for opening files sealed before a rotation).
    package let keys: [RecordingKey]
    package let encryptIndustries: Set<Industry>
    let audit: AuditLog
    /// Audit writes (each fsynced) run here, off the signaling thread, in the order asked.
    let auditQueue = DispatchQueue(label: "audit")

    /// Whether `industry`'s recordings and transcripts are sealed at rest.
    func seals(_ industry: Industry?) -> Bool { industry.map(encryptIndustries.contains) ?? false }

    /// The sealing function for a recording spec (nil when not sealed).
    func sealer(for industry: Industry?) -> (@Sendable ([UInt8]) throws -> [UInt8])? {
        guard seals(industry), let key = keys.first else { return nil }
        return { plaintext in try SealedFile.seal(plaintext, key: key) }
    }

    /// Loads the keys (creating the default key on first start) and opens the audit log.
    /// A key file that group or others can read stops the start.
    package static func load(_ config: DaemonConfig, logger: Logger) throws(StartupError) -> ComplianceServices {
        let path = config.effectiveKeyFile
        var keys: [RecordingKey] = []
        do {
            if config.recordingKeyFile == nil && !FileManager.default.fileExists(atPath: path) {
                let key = try RecordingKey.generate(path: path)
                logger.notice("compliance.key_generated", ["path": path, "key_id": key.idHex])
            }
            keys.append(try RecordingKey.load(path: path))
            for old in config.previousKeyFiles { keys.append(try RecordingKey.load(path: old)) }
        } catch {
            throw StartupError("compliance: \(error)", status: 2)
        }
        let audit: AuditLog
        do { audit = try AuditLog(path: config.effectiveAuditLog, key: keys[0]) } catch { throw StartupError("compliance: \(error)", status: 2) }
        return ComplianceServices(keys: keys, encryptIndustries: config.encryptIndustries, audit: audit)
    }

    /// Records an audit entry, stamped now and written (fsynced) on the audit queue so the
    /// caller (the signaling thread) never waits for the disk; a failure to audit is logged
    /// loudly (the call goes on).
    /// `actor` is who acted ("daemon", or an operator: "control uid=0 pid=4242").
    package func record(_ action: String, subject: String, detail: String = "", actor: String = "daemon", logger: Logger) {
        let at = Date()
        auditQueue.async { [audit] in
            do { try audit.record(actor: actor, action: action, subject: subject, detail: detail, at: at) } catch {
                logger.error("audit.write_failed", ["action": action, "error": "\(error)"])
            }
        }
    }

    /// Waits until every entry asked for so far is written.
    package func flush() { auditQueue.sync {} }
}
