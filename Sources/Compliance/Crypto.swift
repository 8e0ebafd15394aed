import CCrypto
import Foundation

/// A cryptographic failure, as a value.
public struct CryptoError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ d: String) { description = d }
}

/// SHA-256 and AES-256-GCM through OpenSSL's libcrypto (EVP).
public enum Crypto {
    /// SHA-256 of `data`.
    public static func sha256(_ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        data.withUnsafeBufferPointer { d in _ = SHA256(d.baseAddress, d.count, &out) }
        return out
    }

    /// HMAC-SHA-256 of `data` under `key`.
    public static func hmacSHA256(key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        _ = HMAC(EVP_sha256(), key, Int32(key.count), data, data.count, &out, &length)
        return Array(out.prefix(Int(length)))
    }

    /// Whether two byte strings are equal, in time independent of where they differ.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// Lowercase hex of `bytes`.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// `count` bytes from OpenSSL's CSPRNG.
    public static func randomBytes(_ count: Int) throws(CryptoError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        guard RAND_bytes(&out, Int32(count)) == 1 else { throw CryptoError("RAND_bytes failed") }
        return out
    }

    /// AES-256-GCM: returns ciphertext and the 16-byte tag. `aad` is authenticated, not
    /// encrypted.
    public static func seal(_ plaintext: [UInt8], key: [UInt8], nonce: [UInt8], aad: [UInt8]) throws(CryptoError) -> (ciphertext: [UInt8], tag: [UInt8]) {
        guard key.count == 32, nonce.count == 12 else { throw CryptoError("AES-256-GCM needs a 32-byte key and a 12-byte nonce") }
        guard let ctx = EVP_CIPHER_CTX_new() else { throw CryptoError("EVP_CIPHER_CTX_new failed") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var out = [UInt8](repeating: 0, count: plaintext.count + 16)
        var tag = [UInt8](repeating: 0, count: 16)
        var len: Int32 = 0
        var total = 0
        guard EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nil, nil, nil) == 1,
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, nil) == 1,
              EVP_EncryptInit_ex(ctx, nil, nil, key, nonce) == 1 else { throw CryptoError("AES-256-GCM init failed") }
        if !aad.isEmpty {
            guard EVP_EncryptUpdate(ctx, nil, &len, aad, Int32(aad.count)) == 1 else { throw CryptoError("GCM AAD failed") }
        }
        let ok = out.withUnsafeMutableBufferPointer { o -> Bool in
            plaintext.withUnsafeBufferPointer { p -> Bool in
                guard EVP_EncryptUpdate(ctx, o.baseAddress, &len, p.baseAddress, Int32(p.count)) == 1 else { return false }
                total = Int(len)
                guard EVP_EncryptFinal_ex(ctx, o.baseAddress! + total, &len) == 1 else { return false }
                total += Int(len)
                return true
            }
        }
        guard ok, EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, &tag) == 1 else { throw CryptoError("AES-256-GCM encrypt failed") }
        return (Array(out.prefix(total)), tag)
    }

    /// Inverse of `seal`; throws when the tag does not verify (wrong key, edited data).
    public static func open(_ ciphertext: [UInt8], tag: [UInt8], key: [UInt8], nonce: [UInt8], aad: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard key.count == 32, nonce.count == 12, tag.count == 16 else { throw CryptoError("bad key, nonce or tag size") }
        guard let ctx = EVP_CIPHER_CTX_new() else { throw CryptoError("EVP_CIPHER_CTX_new failed") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var out = [UInt8](repeating: 0, count: ciphertext.count + 16)
        var len: Int32 = 0
        var total = 0
        var tagCopy = tag
        guard EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nil, nil, nil) == 1,
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, nil) == 1,
              EVP_DecryptInit_ex(ctx, nil, nil, key, nonce) == 1 else { throw CryptoError("AES-256-GCM init failed") }
        if !aad.isEmpty {
            guard EVP_DecryptUpdate(ctx, nil, &len, aad, Int32(aad.count)) == 1 else { throw CryptoError("GCM AAD failed") }
        }
        let ok = out.withUnsafeMutableBufferPointer { o -> Bool in
            ciphertext.withUnsafeBufferPointer { c -> Bool in
                guard EVP_DecryptUpdate(ctx, o.baseAddress, &len, c.baseAddress, Int32(c.count)) == 1 else { return false }
                total = Int(len)
                guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, &tagCopy) == 1 else { return false }
                guard EVP_DecryptFinal_ex(ctx, o.baseAddress! + total, &len) == 1 else { return false }
                total += Int(len)
                return true
            }
        }
        guard ok else { throw CryptoError("authentication failed: wrong key or the file was altered") }
        return Array(out.prefix(total))
    }
}
