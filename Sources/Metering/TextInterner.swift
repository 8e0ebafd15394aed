import Foundation

/// Reuses the String of a text value (a store column, an export field) seen before (compared byte for byte).
struct TextInterner {
    private var seen: [(bytes: [UInt8], string: String)] = []

    mutating func string(_ text: UnsafePointer<UInt8>?, length: Int) -> String {
        guard let text, length > 0 else { return "" }
        let buffer = UnsafeBufferPointer(start: text, count: length)
        for entry in seen where entry.bytes.count == length
            && entry.bytes.withUnsafeBufferPointer({ memcmp($0.baseAddress!, text, length) }) == 0 { return entry.string }
        let s = String(decoding: buffer, as: UTF8.self)
        if seen.count < 64 { seen.append((Array(buffer), s)) }
        return s
    }
}
