#if canImport(Glibc)
import Glibc
#endif

extension ConfigLoader {
    /// "a.b.c.d" or "a.b.c.d/n" with n in 0...32.
    static func isIPv4CIDR(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        var a = in_addr()
        guard parts.count <= 2, inet_pton(AF_INET, String(parts[0]), &a) == 1 else { return false }
        return parts.count == 1 || Int(parts[1]).map { (0...32).contains($0) } == true
    }
}
