import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The timestamps of exports: ISO-8601 UTC with milliseconds (`2026-11-22T01:02:03.456Z`),
/// formatted and parsed by hand (a million rows must not go through DateFormatter).
public enum CDRTime {
    /// `2026-11-22T01:02:03.456Z`.
    public static func format(_ d: Date) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(24)
        append(secondsSince1970: d.timeIntervalSince1970, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+00:00)`; nil for anything else.
    public static func parse(_ s: String) -> Date? {
        var s = s
        return s.withUTF8 { parse(bytes: $0) }
    }

    /// As `parse(_:)` on UTF-8 bytes.
    public static func parse(bytes b: UnsafeBufferPointer<UInt8>) -> Date? {
        guard b.count >= 20 else { return nil }
        func num(_ at: Int, _ width: Int) -> Int? {
            var v = 0
            for i in at..<(at + width) {
                let c = b[i]
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            return v
        }
        guard b[4] == 45, b[7] == 45, b[10] == 84 || b[10] == 32, b[13] == 58, b[16] == 58,
              let year = num(0, 4), let month = num(5, 2), let day = num(8, 2),
              let hour = num(11, 2), let minute = num(14, 2), let second = num(17, 2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var i = 19
        var fraction = 0.0
        if i < b.count && b[i] == 46 {
            i += 1
            var scale = 0.1
            while i < b.count, b[i] >= 48 && b[i] <= 57 { fraction += Double(b[i] - 48) * scale; scale /= 10; i += 1 }
        }
        let zone = b.count - i
        guard (zone == 1 && b[i] == 90) || (zone == 6 && (b[i] == 43 || b[i] == 45) && num(i + 1, 2) == 0 && num(i + 4, 2) == 0) else {
            return nil
        }
        var t = tm()
        t.tm_year = Int32(year - 1900)
        t.tm_mon = Int32(month - 1)
        t.tm_mday = Int32(day)
        t.tm_hour = Int32(hour)
        t.tm_min = Int32(minute)
        t.tm_sec = Int32(second)
        let secs = timegm(&t)
        return Date(timeIntervalSince1970: Double(secs) + fraction)
    }
}
