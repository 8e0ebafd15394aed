/// JSON string literals (RFC 8259), written one way for every writer: the exports, the
/// audit log and (its escapes, not its quoting rules) the log lines.
public enum JSONText {
    /// The letter of the two-character escape for the code point `c`: `"` and `\` for
    /// themselves, `n` for LF, and `r`, `t` for CR and tab when `shortCRAndTab` (without it
    /// they take the `\u00XX` form like the other control characters). Nil when `c` has no
    /// short escape here.
    @inlinable
    public static func shortEscape(_ c: UInt32, shortCRAndTab: Bool = true) -> UInt8? {
        switch c {
        case 34: 34
        case 92: 92
        case 10: UInt8(ascii: "n")
        case 13 where shortCRAndTab: UInt8(ascii: "r")
        case 9 where shortCRAndTab: UInt8(ascii: "t")
        default: nil
        }
    }

    /// Appends the UTF-8 text `utf8` to `bytes` as a JSON string literal, quotes included:
    /// the short escapes of `shortEscape(_:shortCRAndTab:)`, other control characters
    /// (below U+0020) as `\u00xx` (lowercase hex), everything else as it is. (Inlinable:
    /// the export's hot loop calls it for every text field.)
    @inlinable
    public static func appendQuoted(_ utf8: UnsafeBufferPointer<UInt8>, to bytes: inout [UInt8], shortCRAndTab: Bool = true) {
        bytes.append(34)
        for c in utf8 {
            if let e = shortEscape(UInt32(c), shortCRAndTab: shortCRAndTab) {
                bytes.append(92)
                bytes.append(e)
            } else if c < 0x20 {
                bytes.append(contentsOf: [92, UInt8(ascii: "u"), 48, 48, hexDigit(c >> 4), hexDigit(c & 15)])
            } else {
                bytes.append(c)
            }
        }
        bytes.append(34)
    }

    /// `s` as a JSON string literal, quotes included (see `appendQuoted`). The audit log
    /// passes `shortCRAndTab: false`: its lines were first written with `\u000d` and
    /// `\u0009`, and their hashes cover that text.
    public static func quoted(_ s: String, shortCRAndTab: Bool = true) -> String {
        var text = s
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count + 2)
        text.withUTF8 { appendQuoted($0, to: &bytes, shortCRAndTab: shortCRAndTab) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The lowercase hex digit of `v` (0...15).
    @inlinable
    static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 48 + v : 87 + v }
}
