import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The AES-256 key that seals recordings, loaded from a file only the service may read.
public struct RecordingKey: Sendable, Equatable {
    /// 32 key bytes.
    public let bytes: [UInt8]
    /// First 8 bytes of SHA-256(key): stored in every sealed file so keys can rotate.
    public let id: [UInt8]

    public init(bytes: [UInt8]) {
        self.bytes = bytes
        id = Array(Crypto.sha256(bytes).prefix(8))
    }

    /// Hex of the key id, as logs and `recording decrypt` show it.
    public var idHex: String { Crypto.hex(id) }

    /// Loads a key file: 64 hex characters (a trailing newline is fine) or 32 raw bytes.
    /// Refuses a file that group or others may read or write (mode must be 0400 or 0600).
    public static func load(path: String) throws(CryptoError) -> RecordingKey {
        var st = stat()
        guard stat(path, &st) == 0 else { throw CryptoError("\(path): cannot read key file: \(String(cString: strerror(errno)))") }
        guard st.st_mode & 0o077 == 0 else {
            throw CryptoError("\(path): key file mode is \(String(st.st_mode & 0o777, radix: 8)); it must be readable by the service only (chmod 0400)")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw CryptoError("\(path): cannot read key file") }
        let raw = [UInt8](data)
        let text = String(decoding: raw, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if text.count == 64, let bytes = hexBytes(text) { return RecordingKey(bytes: bytes) }
        if raw.count == 32 { return RecordingKey(bytes: raw) }
        throw CryptoError("\(path): a key is 64 hex characters (or 32 raw bytes)")
    }

    /// Writes a fresh random key (hex) with mode 0400; fails if the file exists.
    @discardableResult
    public static func generate(path: String) throws(CryptoError) -> RecordingKey {
        let key = RecordingKey(bytes: try Crypto.randomBytes(32))
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o400)
        guard fd >= 0 else { throw CryptoError("\(path): cannot create key file: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let line = Array((Crypto.hex(key.bytes) + "\n").utf8)
        guard write(fd, line, line.count) == line.count, fsync(fd) == 0 else { throw CryptoError("\(path): cannot write key file") }
        return key
    }

    static func hexBytes(_ s: String) -> [UInt8]? {
        var out: [UInt8] = []
        var high: UInt8?
        for c in s.utf8 {
            let v: UInt8
            switch c {
            case 48...57: v = c - 48
            case 97...102: v = c - 87
            case 65...70: v = c - 55
            default: return nil
            }
            if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
        }
        return high == nil ? out : nil
    }
}

/// The sealed-file format for recordings and transcripts at rest:
///
///     "TFSEAL01" (8) | key id (8) | nonce (12) | ciphertext | GCM tag (16)
///
/// The first 28 bytes are authenticated as additional data, so the key id cannot be
/// swapped. A fresh random nonce per file.
public enum SealedFile {
    static let magic = Array("TFSEAL01".utf8)
    static let headerSize = 28

    /// Seals `plaintext` with `key`.
    public static func seal(_ plaintext: [UInt8], key: RecordingKey) throws(CryptoError) -> [UInt8] {
        let nonce = try Crypto.randomBytes(12)
        let header = magic + key.id + nonce
        let (ciphertext, tag) = try Crypto.seal(plaintext, key: key.bytes, nonce: nonce, aad: header)
        return header + ciphertext + tag
    }

    /// Key id of a sealed file's bytes, or nil when they are not a sealed file.
    public static func keyID(_ sealed: [UInt8]) -> [UInt8]? {
        guard sealed.count >= headerSize + 16, Array(sealed.prefix(8)) == magic else { return nil }
        return Array(sealed[8..<16])
    }

    /// Opens a sealed file with whichever of `keys` it names.
    public static func open(_ sealed: [UInt8], keys: [RecordingKey]) throws(CryptoError) -> [UInt8] {
        guard let id = keyID(sealed) else { throw CryptoError("not a sealed tollfreed file") }
        guard let key = keys.first(where: { $0.id == id }) else {
            throw CryptoError("sealed with key \(Crypto.hex(id)), which is not configured")
        }
        let header = Array(sealed.prefix(headerSize))
        let nonce = Array(sealed[16..<28])
        let tag = Array(sealed.suffix(16))
        let ciphertext = Array(sealed[headerSize..<(sealed.count - 16)])
        return try Crypto.open(ciphertext, tag: tag, key: key.bytes, nonce: nonce, aad: header)
    }
}
