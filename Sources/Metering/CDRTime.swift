import Foundation

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

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (or a space for the `T`); nil for
    /// anything else. See `parseMilliseconds(bytes:)`.
    public static func parse(_ s: String) -> Date? {
        var s = s
        return s.withUTF8 { parse(bytes: $0) }
    }

    /// As `parse(_:)` on UTF-8 bytes.
    public static func parse(bytes b: UnsafeBufferPointer<UInt8>) -> Date? {
        guard let ms = parseMilliseconds(bytes: b) else { return nil }
        // Exact below 2^53 ms; x/1000 rounds to the nearest double, which stays inside its
        // millisecond (never reaching the next second) for any 4-digit year.
        return Date(timeIntervalSince1970: Double(ms) / 1000)
    }

    /// Milliseconds since 1970 of an ISO-8601 time, by integer arithmetic only: the date
    /// must exist (day within its month, leap years by the Gregorian rule), hours 00-23,
    /// minutes and seconds 00-59, 1 to 9 fraction digits truncated (not rounded) to
    /// milliseconds, then `Z` or an offset `±HH:MM` (HH 00-23), which is subtracted.
    public static func parseMilliseconds(bytes b: UnsafeBufferPointer<UInt8>) -> Int64? {
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
              year >= 1, (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
              hour < 24, minute < 60, second < 60 else { return nil }
        var i = 19
        var millis = 0
        if b[i] == 46 {
            i += 1
            let first = i
            while i < b.count, b[i] >= 48 && b[i] <= 57 {
                if i - first < 3 { millis = millis * 10 + Int(b[i] - 48) }
                i += 1
            }
            let digits = i - first
            guard (1...9).contains(digits) else { return nil }
            for _ in min(digits, 3)..<3 { millis *= 10 }
        }
        var offsetMinutes = 0
        switch b.count - i {
        case 1 where b[i] == 90: break
        case 6 where (b[i] == 43 || b[i] == 45) && b[i + 3] == 58:
            guard let h = num(i + 1, 2), let m = num(i + 4, 2), h < 24, m < 60 else { return nil }
            offsetMinutes = (h * 60 + m) * (b[i] == 45 ? -1 : 1)
        default: return nil
        }
        let days = daysSince1970(year: year, month: month, day: day)
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetMinutes * 60)
        return seconds * 1000 + Int64(millis)
    }

    /// Days in `month` (1...12) of `year` in the proleptic Gregorian calendar.
    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days from 1970-01-01 to a valid civil date (H. Hinnant's days_from_civil).
    static func daysSince1970(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64(month > 2 ? month - 3 : month + 9)
        let doy = (153 * mp + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
