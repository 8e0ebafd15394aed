/// DTMF carried in SIP INFO bodies, as SIP phones and gateways send it.
///
/// - `application/dtmf-relay` (Cisco style): `Signal=5\r\nDuration=160`
/// - `application/dtmf`: the digit alone, e.g. `5`
///
/// Signal values may also be the RFC 4733 event numbers 10 and 11 for `*` and `#`.
public enum DTMFInfo {
    /// The digit in an INFO body, or nil when the body carries none.
    public static func digit(contentType: String?, body: String?) -> Character? {
        guard let type = contentType?.lowercased(), let body else { return nil }
        switch type {
        case "application/dtmf-relay":
            for line in body.split(whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) {
                let parts = line.split(separator: "=", maxSplits: 1)
                guard parts.count == 2,
                      parts[0].trimmingCharacters().lowercased() == "signal" else { continue }
                return normalise(parts[1].trimmingCharacters())
            }
            return nil
        case "application/dtmf":
            return normalise(Substring(body).trimmingCharacters().trimmingNewlines())
        default:
            return nil
        }
    }

    static func normalise(_ value: Substring) -> Character? {
        switch value {
        case "10": return "*"
        case "11": return "#"
        case "12": return "A"
        case "13": return "B"
        case "14": return "C"
        case "15": return "D"
        default:
            guard value.count == 1, let c = value.first?.uppercased().first,
                  "0123456789*#ABCD".contains(c) else { return nil }
            return c
        }
    }
}

extension Substring {
    func trimmingNewlines() -> Substring {
        var s = self
        while let f = s.first, f.isNewline || f == " " { s = s.dropFirst() }
        while let l = s.last, l.isNewline || l == " " { s = s.dropLast() }
        return s
    }
}
