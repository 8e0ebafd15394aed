import Foundation

/// How many parts (segments) a message body takes on the air interface, as carriers count
/// and bill them.
public struct SMSSegmentCount: Sendable, Equatable {
    /// GSM-7 when every character is in the GSM 03.38 default alphabet or its extension
    /// table, else UCS-2.
    public var encoding: SMSEncoding
    /// Length in the encoding's units: GSM-7 septets (extension characters count 2) or
    /// UTF-16 code units (a surrogate pair, e.g. an emoji, counts 2).
    public var units: Int
    /// Parts the message is sent (and billed) as; at least 1 (an empty body is one part).
    public var segments: Int

    /// A count with the given values.
    public init(encoding: SMSEncoding, units: Int, segments: Int) {
        self.encoding = encoding
        self.units = units
        self.segments = segments
    }
}

/// Counts SMS parts the way carriers do.
///
/// GSM-7: 160 septets fit in a single part; a longer message is split into parts of at most
/// 153 septets (7 go to the concatenation header), filled greedily, and an extension
/// character (escape + code, 2 septets) is never split across two parts. Any character
/// outside GSM-7 makes the whole message UCS-2: 70 UTF-16 units in a single part, at most
/// 67 per part when split, and a surrogate pair is never split across two parts.
public enum SMSSegmenter {
    /// The most parts a message may have (longer messages are refused).
    public static let maxSegments = 10

    /// GSM-7 septets in a single-part message.
    public static let gsm7SinglePart = 160
    /// GSM-7 septets per part of a concatenated message.
    public static let gsm7MultiPart = 153
    /// UTF-16 units in a single-part UCS-2 message.
    public static let ucs2SinglePart = 70
    /// UTF-16 units per part of a concatenated UCS-2 message.
    public static let ucs2MultiPart = 67

    /// The GSM 03.38 basic character table (one septet each).
    static let gsmBasic: Set<Unicode.Scalar> = {
        var s = Set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ÄÖÑÜ§¿äöñüà".unicodeScalars)
        for c in UInt32(65)...90 { s.insert(Unicode.Scalar(c)!) }   // A-Z
        for c in UInt32(97)...122 { s.insert(Unicode.Scalar(c)!) }  // a-z
        return s
    }()

    /// The GSM 03.38 extension table (escape + code: two septets each), form feed included.
    static let gsmExtension: Set<Unicode.Scalar> = Set("^{}\\[~]|€\u{0C}".unicodeScalars)

    /// The encoding, length and number of parts of `text`.
    public static func count(_ text: String) -> SMSSegmentCount {
        let (encoding, sizes) = split(text)
        return SMSSegmentCount(encoding: encoding, units: sizes.reduce(0, +), segments: max(1, sizes.count))
    }

    /// Whether `text` fits in ``maxSegments`` parts.
    public static func fits(_ text: String) -> Bool {
        count(text).segments <= maxSegments
    }

    /// The units (septets or UTF-16 code units) each part of `text` carries, in order;
    /// `[0]` for an empty text.
    public static func partSizes(_ text: String) -> [Int] {
        let sizes = split(text).sizes
        return sizes.isEmpty ? [0] : sizes
    }

    /// Whether every character of `text` is in GSM-7 (basic or extension table).
    public static func isGSM7(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { gsmBasic.contains($0) || gsmExtension.contains($0) }
    }

    /// The encoding and the size of each part (empty for an empty text).
    static func split(_ text: String) -> (encoding: SMSEncoding, sizes: [Int]) {
        if isGSM7(text) {
            let costs = text.unicodeScalars.lazy.map { gsmExtension.contains($0) ? 2 : 1 }
            return (.gsm7, pack(costs, single: gsm7SinglePart, multi: gsm7MultiPart))
        }
        let costs = text.unicodeScalars.lazy.map { $0.value > 0xFFFF ? 2 : 1 }
        return (.ucs2, pack(costs, single: ucs2SinglePart, multi: ucs2MultiPart))
    }

    /// Packs indivisible items of the given costs into parts: one part when the total fits
    /// `single`, else greedily into parts of at most `multi`.
    private static func pack<C: Collection>(_ costs: C, single: Int, multi: Int) -> [Int] where C.Element == Int {
        let total = costs.reduce(0, +)
        if total == 0 { return [] }
        if total <= single { return [total] }
        var sizes: [Int] = []
        var current = 0
        for cost in costs {
            if current + cost > multi {
                sizes.append(current)
                current = 0
            }
            current += cost
        }
        sizes.append(current)
        return sizes
    }
}
