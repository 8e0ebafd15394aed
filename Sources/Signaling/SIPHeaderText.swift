import Foundation

/// Small readers of SIP header text the bridge hands over unparsed (pure functions).
public enum SIPHeaderText {
    /// The longest display name or user part kept (anything longer is not a name).
    static let maxLength = 128

    /// A From display name without its quotes and escapes; nil when empty, longer than
    /// `maxLength`, or holding control characters.
    public static func displayName(_ raw: String) -> String? {
        var text = raw.trimmingSpaces
        if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") {
            text = String(text.dropFirst().dropLast())
            var out = "", escaped = false
            for c in text {
                if escaped || c != "\\" { out.append(c); escaped = false } else { escaped = true }
            }
            text = out
        }
        text = text.trimmingSpaces
        guard !text.isEmpty, text.count <= maxLength, !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        else { return nil }
        return text
    }

    /// The user part of the first URI in a name-addr header value such as Diversion's
    /// `"Office" <sip:+18005551212@carrier.example;user=phone>;reason=unconditional` or
    /// History-Info's `<sip:+18005551212@h?Reason=SIP%3Bcause%3D302>;index=1`, or of a bare
    /// `tel:` URI. Nil when there is no user part.
    public static func firstURIUser(_ value: String) -> String? {
        let first = value.split(separator: ",", maxSplits: 1).first.map(String.init) ?? value
        var uri = Substring(first)
        if let open = uri.firstIndex(of: "<") {
            uri = uri[uri.index(after: open)...]
            if let close = uri.firstIndex(of: ">") { uri = uri[..<close] }
        } else if let semicolon = uri.firstIndex(of: ";") {
            uri = uri[..<semicolon]
        }
        uri = Substring(String(uri).trimmingSpaces)
        let lower = uri.lowercased()
        let user: Substring
        if lower.hasPrefix("sip:") || lower.hasPrefix("sips:") {
            let rest = uri[uri.index(after: uri.firstIndex(of: ":")!)...]
            guard let at = rest.firstIndex(of: "@") else { return nil }
            user = rest[..<at]
        } else if lower.hasPrefix("tel:") {
            user = uri.dropFirst(4)
        } else {
            return nil
        }
        let bare = user.prefix { $0 != ";" && $0 != "?" }
        guard !bare.isEmpty, bare.count <= maxLength,
              bare.allSatisfy({ $0.isLetter || $0.isNumber || "+-.()_*#".contains($0) }) else { return nil }
        return String(bare)
    }
}

private extension String {
    var trimmingSpaces: String { trimmingCharacters(in: CharacterSet(charactersIn: " \t")) }
}
