import Formats
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An append-only audit trail: one JSON object per line, each carrying the SHA-256 of the
/// previous line's hash and its own content, so an edited, inserted or deleted line breaks
/// the chain (`verify`). Who did what: recording created, decrypted, exported, purged;
/// config reloaded; records exported.
///
/// Every append also rewrites the log's anchor (``anchorPath(forLog:)``): its entry count and
/// head hash sealed with a key derived from the recording key, so cutting off the last
/// entries is found as well.
public final class AuditLog: @unchecked Sendable {
    public let path: String
    private let key: RecordingKey
    private let lock = NSLock()

    /// The hash the first entry chains to.
    public static let genesis = String(repeating: "0", count: 64)

    /// The anchor file of the log at `path`: `<path>.anchor`.
    public static func anchorPath(forLog path: String) -> String { path + ".anchor" }

    /// Opens (creating) the log; `key` (the current recording key) seals its anchor. The
    /// daemon and the command-line tools append to the same file: every append takes an
    /// exclusive lock and chains to the last line on disk.
    public init(path: String, key: RecordingKey) throws(CryptoError) {
        self.path = path
        self.key = key
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CryptoError("\(path): cannot open audit log: \(String(cString: strerror(errno)))") }
        close(fd)
    }

    /// Appends an entry, syncs it to disk and rewrites the anchor. `actor` is who (e.g.
    /// "daemon", "cli uid=0"), `action` what (e.g. "recording.decrypted"), `subject` what it
    /// was done to. A crash between the two leaves the anchor one entry behind, which
    /// `verify` accepts.
    public func record(actor: String, action: String, subject: String, detail: String = "", at time: Date = Date()) throws(CryptoError) {
        lock.lock()
        defer { lock.unlock() }
        let fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CryptoError("\(path): cannot open audit log: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard flock(fd, LOCK_EX) == 0 else { throw CryptoError("\(path): cannot lock audit log") }
        defer { flock(fd, LOCK_UN) }
        let (seq, prev) = Self.tail(fd)
        let body = Self.body(seq: seq + 1, time: time, actor: actor, action: action, subject: subject, detail: detail, prev: prev)
        let hash = Crypto.hex(Crypto.sha256(Array(body.utf8)))
        let bytes = Array((String(body.dropLast()) + ",\"hash\":\"\(hash)\"}\n").utf8)
        guard write(fd, bytes, bytes.count) == bytes.count, fsync(fd) == 0 else { throw CryptoError("\(path): cannot append to audit log") }
        try AuditAnchor(count: seq + 1, head: hash, keyID: key.idHex).write(path: Self.anchorPath(forLog: path), key: key)
    }

    /// Sequence number and hash of the last entry (0 and the genesis hash when empty).
    private static func tail(_ fd: Int32) -> (Int, String) {
        let size = lseek(fd, 0, SEEK_END)
        guard size > 0 else { return (0, genesis) }
        let start = max(0, size - 8192)
        var buf = [UInt8](repeating: 0, count: Int(size - start))
        let n = pread(fd, &buf, buf.count, start)
        guard n > 0 else { return (0, genesis) }
        let text = String(decoding: buf.prefix(n), as: UTF8.self)
        guard let last = text.split(separator: "\n").last,
              let obj = try? JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any],
              let hash = obj["hash"] as? String, let seq = obj["seq"] as? Int else { return (0, genesis) }
        return (seq, hash)
    }

    /// The canonical text an entry's hash covers (the line without its hash field).
    static func body(seq: Int, time: Date, actor: String, action: String, subject: String, detail: String, prev: String) -> String {
        // CR and tab as \u000d and \u0009: the hashes of lines already written cover that text.
        func q(_ s: String) -> String { JSONText.quoted(s, shortCRAndTab: false) }
        let ms = Int64((time.timeIntervalSince1970 * 1000).rounded())
        return "{\"seq\":\(seq),\"time_ms\":\(ms),\"actor\":\(q(actor)),\"action\":\(q(action)),\"subject\":\(q(subject)),"
            + "\"detail\":\(q(detail)),\"prev\":\(q(prev))}"
    }

    /// The result of checking a log.
    public enum Verification: Equatable, Sendable {
        /// The chain is whole and its end matches the anchor.
        case intact(entries: Int)
        /// The chain is whole but there is no anchor (a log from before anchors, or the
        /// anchor was deleted): a cut at the end cannot be seen. The next append writes one.
        case unanchored(entries: Int)
        /// The first line (1-based; 0 for the anchor itself) where the log is wrong, and why.
        case broken(line: Int, reason: String)
    }

    /// Re-derives every hash from the first line, then holds the end of the chain against
    /// the anchor, checked with whichever of `keys` (current and previous recording keys)
    /// sealed it: any edited, inserted, reordered or deleted entry is found, the last ones
    /// included. An anchor one entry behind (an append interrupted before the anchor was
    /// rewritten) is accepted when it names the entry before the last.
    public static func verify(path: String, keys: [RecordingKey]) -> Verification {
        let end: ChainEnd
        switch walk(path: path) {
        case .failure(let fault): return .broken(line: fault.line, reason: fault.reason)
        case .success(let walked): end = walked
        }
        switch AuditAnchor.load(path: anchorPath(forLog: path), keys: keys) {
        case .missing: return .unanchored(entries: end.count)
        case .invalid(let reason): return .broken(line: 0, reason: reason)
        case .anchor(let anchor): return compare(end, anchor)
        }
    }

    private static func compare(_ end: ChainEnd, _ anchor: AuditAnchor) -> Verification {
        if end.count < anchor.count {
            let missing = anchor.count - end.count
            return .broken(line: end.count + 1, reason: "the log ends after \(end.count) entries but its anchor counts "
                           + "\(anchor.count): the last \(missing == 1 ? "entry was" : "\(missing) entries were") deleted")
        }
        if end.count > anchor.count + 1 {
            return .broken(line: anchor.count + 2, reason: "the log has \(end.count) entries but its anchor counts "
                           + "\(anchor.count): entries after \(anchor.count + 1) were not anchored (appended without the key)")
        }
        let anchored = end.count == anchor.count ? end.head : end.beforeHead
        guard anchored == anchor.head else {
            return .broken(line: anchor.count, reason: "entry \(anchor.count) is not the anchored head: the log was rewritten")
        }
        return .intact(entries: end.count)
    }

    /// Where a chain ends: its length and its last two hashes.
    private struct ChainEnd {
        var count = 0
        var head = AuditLog.genesis
        var beforeHead = AuditLog.genesis
    }

    /// Where and why a chain breaks.
    private struct ChainFault: Error {
        var line: Int
        var reason: String
    }

    private static func walk(path: String) -> Result<ChainEnd, ChainFault> {
        guard let data = FileManager.default.contents(atPath: path) else { return .failure(ChainFault(line: 0, reason: "cannot read \(path)")) }
        var end = ChainEnd()
        for (i, raw) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if raw.isEmpty { continue }
            let n = i + 1
            guard let obj = try? JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [String: Any],
                  let seq = obj["seq"] as? Int, let hash = obj["hash"] as? String, let p = obj["prev"] as? String,
                  let ms = obj["time_ms"] as? Int64 ?? (obj["time_ms"] as? Int).map(Int64.init) else {
                return .failure(ChainFault(line: n, reason: "not an audit entry"))
            }
            guard seq == end.count + 1 else {
                return .failure(ChainFault(line: n, reason: "sequence \(seq) where \(end.count + 1) was expected (an entry is missing or was inserted)"))
            }
            guard p == end.head else { return .failure(ChainFault(line: n, reason: "does not chain to the entry before it")) }
            let body = Self.body(seq: seq, time: Date(timeIntervalSince1970: Double(ms) / 1000), actor: obj["actor"] as? String ?? "",
                                 action: obj["action"] as? String ?? "", subject: obj["subject"] as? String ?? "",
                                 detail: obj["detail"] as? String ?? "", prev: p)
            guard Crypto.hex(Crypto.sha256(Array(body.utf8))) == hash else {
                return .failure(ChainFault(line: n, reason: "content does not match its hash (edited)"))
            }
            end = ChainEnd(count: end.count + 1, head: hash, beforeHead: end.head)
        }
        return .success(end)
    }
}
