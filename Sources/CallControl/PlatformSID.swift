import Compliance
import Configuration

/// Identifiers shaped as Twilio's and Telnyx's TeXML ones, so apps that check or store them
/// work unchanged: two capital letters and 32 lowercase hex digits (`CA` calls, `AC`
/// accounts, `RE` recordings, `SM` messages).
enum PlatformSID {
    /// A new random id: 128 bits from the system generator, so ids never repeat across
    /// nodes and restarts.
    static func random(_ prefix: String) -> String {
        var g = SystemRandomNumberGenerator()
        return prefix + hex64(g.next()) + hex64(g.next())
    }

    /// A tenant's `AccountSid`: its `account_sid`, else one derived from its id (stable
    /// across restarts and nodes).
    static func account(of tenant: DaemonConfig.Tenant) -> String {
        tenant.accountSID ?? account(forTenantID: tenant.id)
    }

    /// `AC` and the first 128 bits of SHA-256 over the tenant id.
    static func account(forTenantID id: String) -> String {
        "AC" + Crypto.hex(Array(Crypto.sha256(Array("tollfreed account \(id)".utf8)).prefix(16)))
    }

    /// True for a two-letter prefix and 32 lowercase hex digits.
    static func isWellFormed(_ sid: String, prefix: String) -> Bool {
        sid.count == 34 && sid.hasPrefix(prefix) && sid.dropFirst(2).allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }

    private static func hex64(_ v: UInt64) -> String {
        let digits = String(v, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
