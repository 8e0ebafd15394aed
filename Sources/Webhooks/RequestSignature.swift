import CCrypto
import Foundation

/// How hosted platforms sign their requests to an app, so the validation middleware of
/// apps written for them accepts tollfreed's requests unchanged.
public enum RequestSignature {
    /// Twilio's `X-Twilio-Signature`: the full URL requested (its query included), then for
    /// a form POST every field's name and value with no separator, sorted by name (then
    /// value); HMAC-SHA1 with the account's auth token; base64.
    public static func twilio(url: String, form: [(name: String, value: String)], token: String) -> String {
        let sorted = form.sorted {
            $0.name == $1.name ? $0.value.utf8.lexicographicallyPrecedes($1.value.utf8) : $0.name.utf8.lexicographicallyPrecedes($1.name.utf8)
        }
        var text = url
        for field in sorted { text += field.name + field.value }
        return Data(hmacSHA1(key: Array(token.utf8), Array(text.utf8))).base64EncodedString()
    }

    /// HMAC-SHA1 (OpenSSL): 20 bytes.
    static func hmacSHA1(key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        key.withUnsafeBufferPointer { k in
            data.withUnsafeBufferPointer { d in
                _ = HMAC(EVP_sha1(), k.baseAddress, Int32(k.count), d.baseAddress, d.count, &out, &length)
            }
        }
        return Array(out.prefix(Int(length)))
    }
}
