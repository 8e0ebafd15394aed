import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The anchor of an audit log, kept next to it (`audit.log.anchor`): how many entries the
/// log has and the hash of the last one, authenticated with HMAC-SHA-256 under a key derived
/// from the recording key.
///
/// The hash chain alone finds an edited, inserted or deleted entry, but not the last entries
/// cut off: what is left is still a valid chain. The anchor finds that, and nobody without
/// the recording key can move it back to match. It is rewritten atomically after every
/// append, under the log's lock.
struct AuditAnchor: Equatable {
    var count: Int
    /// Hash of entry `count`.
    var head: String
    /// Id (hex) of the recording key the anchor is sealed with.
    var keyID: String

    /// What reading an anchor file found.
    enum Loaded {
        case missing
        case anchor(AuditAnchor)
        /// Unreadable, forged, or sealed with a key that is not configured.
        case invalid(String)
    }

    private static let label = "tollfreed audit anchor v1"

    /// The MAC key: derived from the recording key, which itself never signs anything.
    private static func macKey(_ key: RecordingKey) -> [UInt8] {
        Crypto.hmacSHA256(key: key.bytes, Array(label.utf8))
    }

    private func mac(_ key: RecordingKey) -> String {
        Crypto.hex(Crypto.hmacSHA256(key: Self.macKey(key), Array("\(Self.label)\n\(count)\n\(head)\n\(keyID)".utf8)))
    }

    /// Reads the anchor at `path` and checks it with whichever of `keys` it names.
    static func load(path: String, keys: [RecordingKey]) -> Loaded {
        guard let data = FileManager.default.contents(atPath: path) else {
            return FileManager.default.fileExists(atPath: path) ? .invalid("the anchor cannot be read") : .missing
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let count = object["count"] as? Int, let head = object["head"] as? String,
              let keyID = object["key_id"] as? String, let mac = object["mac"] as? String else {
            return .invalid("the anchor is not an audit anchor")
        }
        let anchor = AuditAnchor(count: count, head: head, keyID: keyID)
        guard let key = keys.first(where: { $0.idHex == keyID }) else {
            return .invalid("the anchor is sealed with key \(keyID), which is not configured")
        }
        guard Crypto.constantTimeEqual(Array(mac.utf8), Array(anchor.mac(key).utf8)) else {
            return .invalid("the anchor does not verify: it was edited or forged")
        }
        return .anchor(anchor)
    }

    /// Replaces the anchor at `path`: a private temporary file, synced, renamed over the old
    /// one, and the directory synced. Callers hold the log's exclusive lock.
    func write(path: String, key: RecordingKey) throws(CryptoError) {
        let temporary = path + ".tmp"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CryptoError("\(temporary): cannot create: \(String(cString: strerror(errno)))") }
        let bytes = Array(("{\"count\":\(count),\"head\":\"\(head)\",\"key_id\":\"\(keyID)\",\"mac\":\"\(mac(key))\"}\n").utf8)
        let written = fchmod(fd, 0o600) == 0 && Glibc.write(fd, bytes, bytes.count) == bytes.count && fsync(fd) == 0
        close(fd)
        guard written, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw CryptoError("\(path): cannot write the audit anchor")
        }
        let directory = open(URL(fileURLWithPath: path).deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }
}
