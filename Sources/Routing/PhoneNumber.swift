/// Normalises the many forms a dialed number arrives in to E.164 (`+18005963057`).
///
/// Accepted: national NANP (`8005963057`), with trunk prefix (`18005963057`), international
/// prefix (`011...`), E.164 with visual separators (`+1-800-596-3057`, `1 (800) 596-3057`),
/// and SIP or tel URIs (`sip:+18005963057@host`, `tel:+18005963057;npdi`) including
/// URI parameters and percent-escapes in the user part.
public enum PhoneNumber {
    /// The E.164 form of `raw`, or nil when it is not a telephone number.
    public static func e164(_ raw: String) -> String? {
        var s = Substring(raw.trimmingWhitespace())
        if s.hasPrefix("<"), s.hasSuffix(">") { s = s.dropFirst().dropLast() }
        let lower = s.lowercased()
        for scheme in ["sips:", "sip:", "tel:"] where lower.hasPrefix(scheme) {
            s = s.dropFirst(scheme.count)
            break
        }
        if let at = s.firstIndex(of: "@") { s = s[..<at] }
        // URI parameters (";npdi", ";rn=...", ";phone-context=...") are not part of the number.
        if let semi = s.firstIndex(of: ";") { s = s[..<semi] }
        guard let decoded = percentDecode(String(s)) else { return nil }

        var plus = false
        var digits: [UInt8] = []
        for (i, ch) in decoded.utf8.enumerated() {
            switch ch {
            case UInt8(ascii: "+") where i == 0 && digits.isEmpty: plus = true
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digits.append(ch)
            case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: " "),
                 UInt8(ascii: "("), UInt8(ascii: ")"): continue // visual separators
            default: return nil
            }
        }
        var number = String(decoding: digits, as: UTF8.self)
        if !plus {
            if digits.count == 10 {
                number = "1" + number
            } else if digits.count == 11 && digits[0] == UInt8(ascii: "1") {
                // already has the NANP trunk prefix
            } else if number.hasPrefix("011") && digits.count > 3 {
                number = String(number.dropFirst(3))
            } else {
                return nil
            }
        }
        guard (8...15).contains(number.count), !number.hasPrefix("0") else { return nil }
        if number.hasPrefix("1") {
            // NANP: +1 NPA NXX XXXX, NPA and NXX start with 2-9.
            let u = Array(number.utf8)
            guard u.count == 11, u[1] >= UInt8(ascii: "2"), u[4] >= UInt8(ascii: "2") else { return nil }
        }
        return "+" + number
    }

    /// True for NANP toll-free area codes (800, 833, 844, 855, 866, 877, 888).
    public static func isTollFree(_ e164: String) -> Bool {
        guard e164.hasPrefix("+1"), e164.count == 12 else { return false }
        let npa = e164.dropFirst(2).prefix(3)
        return ["800", "833", "844", "855", "866", "877", "888"].contains(String(npa))
    }

    private static func percentDecode(_ s: String) -> String? {
        guard s.contains("%") else { return s }
        var out: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let c = it.popFirst() {
            if c == UInt8(ascii: "%") {
                guard it.count >= 2, let h = hex(it.removeFirst()), let l = hex(it.removeFirst()) else { return nil }
                out.append(h << 4 | l)
            } else {
                out.append(c)
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension String {
    func trimmingWhitespace() -> Substring {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return s
    }
}
