import CCrypto
import Foundation

/// Telnyx's webhook signature: `telnyx-signature-ed25519` (base64 Ed25519 signature over
/// `"<timestamp>|<raw body>"`) and `telnyx-timestamp` (Unix seconds). Apps verify with the
/// sender's public key (`TELNYX_PUBLIC_KEY` in Telnyx's SDKs): give them ``publicKeyBase64``.
public struct Ed25519Signer: Sendable {
    private let privateKey: [UInt8]
    /// The 32-byte public key.
    public let publicKey: [UInt8]

    /// The public key as Telnyx's SDKs take it: base64 of the 32 raw bytes.
    public var publicKeyBase64: String { Data(publicKey).base64EncodedString() }

    /// A signer for a 32-byte Ed25519 private key (RFC 8032).
    public init(privateKey: [UInt8]) throws {
        guard privateKey.count == 32,
              let pkey = privateKey.withUnsafeBufferPointer({ EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, $0.baseAddress, 32) })
        else { throw SignerError("an Ed25519 private key is 32 bytes") }
        defer { EVP_PKEY_free(pkey) }
        var pub = [UInt8](repeating: 0, count: 32)
        var length = 32
        guard EVP_PKEY_get_raw_public_key(pkey, &pub, &length) == 1, length == 32 else { throw SignerError("no public key") }
        self.privateKey = privateKey
        self.publicKey = pub
    }

    /// A signer for a PEM private key file, as `openssl genpkey -algorithm ed25519` writes it.
    public init(pemFile path: String) throws {
        guard let pem = FileManager.default.contents(atPath: path), pem.count < 16_384 else {
            throw SignerError("cannot read the key file '\(path)'")
        }
        let raw: [UInt8]? = pem.withUnsafeBytes { bytes in
            guard let bio = BIO_new_mem_buf(bytes.baseAddress, Int32(bytes.count)) else { return nil }
            defer { BIO_free(bio) }
            guard let pkey = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else { return nil }
            defer { EVP_PKEY_free(pkey) }
            var key = [UInt8](repeating: 0, count: 32)
            var length = 32
            guard EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519, EVP_PKEY_get_raw_private_key(pkey, &key, &length) == 1,
                  length == 32 else { return nil }
            return key
        }
        guard let raw else { throw SignerError("'\(path)' is not an Ed25519 private key in PEM") }
        try self.init(privateKey: raw)
    }

    /// The 64-byte Ed25519 signature of `message`.
    public func sign(_ message: [UInt8]) -> [UInt8] {
        guard let pkey = privateKey.withUnsafeBufferPointer({ EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, $0.baseAddress, 32) }),
              let ctx = EVP_MD_CTX_new() else { return [] }
        defer { EVP_PKEY_free(pkey); EVP_MD_CTX_free(ctx) }
        var signature = [UInt8](repeating: 0, count: 64)
        var length = 64
        guard EVP_DigestSignInit(ctx, nil, nil, nil, pkey) == 1,
              message.withUnsafeBufferPointer({ EVP_DigestSign(ctx, &signature, &length, $0.baseAddress, $0.count) }) == 1
        else { return [] }
        return Array(signature.prefix(length))
    }

    /// The two headers for a request whose body is `body`, signed at `timestamp`.
    public func headers(body: Data, timestamp: Int) -> [String] {
        let signature = sign(Array("\(timestamp)|".utf8) + Array(body))
        return ["telnyx-timestamp: \(timestamp)", "telnyx-signature-ed25519: \(Data(signature).base64EncodedString())"]
    }
}

/// Why a signing key could not be used.
public struct SignerError: Error, CustomStringConvertible {
    public var description: String
    init(_ d: String) { description = d }
}
