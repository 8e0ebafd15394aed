import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Why an export file cannot be read: the message names `file:line` and the problem.
public struct ImportError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

/// The limits of the export-file reader; input beyond them is refused with an error.
public enum ImportLimits {
    /// The longest record, in bytes (a CSV record may span lines): 1 MiB.
    public static let maxRecordBytes = 1 << 20
    /// The most columns of a CSV file, or keys of one JSON object.
    public static let maxFields = 64
}

/// A file read in 1 MiB chunks through one reusable buffer: the unread bytes are handed
/// out in place (no copy per line), so memory stays constant however large the file.
/// The buffer is mutable so parsers can decode escapes in place.
final class ExportScanner {
    let path: String
    private let fd: Int32
    private let chunk = 1 << 20
    private let capacity: Int
    private let buffer: UnsafeMutablePointer<UInt8>
    private var start = 0
    private var end = 0
    /// No more bytes to read: the unread bytes are the rest of the file.
    private(set) var atEOF = false
    /// The 1-based line number of the first unread byte.
    private(set) var line = 1

    /// Opens `path` for reading.
    init(path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ImportError("\(path): cannot open: \(String(cString: strerror(errno)))") }
        capacity = ImportLimits.maxRecordBytes + chunk
        buffer = .allocate(capacity: capacity)
    }

    deinit {
        buffer.deallocate()
        close(fd)
    }

    /// The unread bytes.
    var available: UnsafeMutableBufferPointer<UInt8> { UnsafeMutableBufferPointer(start: buffer + start, count: end - start) }

    /// Marks `count` bytes, holding `newlines` line feeds, as read.
    func consume(_ count: Int, newlines: Int) {
        start += count
        line += newlines
    }

    /// Reads more of the file after the unread bytes, which are too short to hold the next
    /// record. False at end of file; throws when the unread bytes already reach the record
    /// limit (the record is too long) or the read fails.
    func fill() throws -> Bool {
        guard !atEOF else { return false }
        if end - start >= ImportLimits.maxRecordBytes {
            throw ImportError("\(path):\(line): record longer than \(ImportLimits.maxRecordBytes) bytes")
        }
        if start > 0 {
            memmove(buffer, buffer + start, end - start)
            end -= start
            start = 0
        }
        while true {
            let n = read(fd, buffer + end, min(chunk, capacity - end))
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw ImportError("\(path):\(line): read failed: \(String(cString: strerror(errno)))") }
            if n == 0 { atEOF = true } else { end += n }
            return true
        }
    }

    /// Skips a UTF-8 byte order mark at the start of the file.
    func skipByteOrderMark() throws {
        while available.count < 3, try fill() {}
        let a = available
        if a.count >= 3, a[0] == 0xEF, a[1] == 0xBB, a[2] == 0xBF { consume(3, newlines: 0) }
    }
}

/// Whether `count` bytes at `a` and `b` are equal (inline: keys and values are short).
@inline(__always)
func bytesEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ count: Int) -> Bool {
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    guard count >= 8 else {
        for i in 0..<count where a[i] != b[i] { return false }
        return true
    }
    var i = 0
    while i + 8 < count {
        if ra.loadUnaligned(fromByteOffset: i, as: UInt64.self) != rb.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
        i += 8
    }
    // The last eight bytes (overlapping the words before).
    return ra.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self) == rb.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
}

/// Strict UTF-8 (RFC 3629): no overlong forms, surrogates or values above U+10FFFF.
enum UTF8Check {
    /// Whether `count` bytes at `p` are well-formed UTF-8.
    static func isValid(_ p: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        var i = 0
        while i < count {
            // ASCII 32 or 8 bytes at a time.
            let raw = UnsafeRawPointer(p + i)
            if i + 32 <= count, (raw.loadUnaligned(as: UInt64.self) | raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                | raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self) | raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
                & 0x8080_8080_8080_8080 == 0 {
                i += 32
                continue
            }
            if i + 8 <= count, raw.loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                i += 8
                continue
            }
            let c = p[i]
            if c < 0x80 { i += 1; continue }
            let (n, low, high): (Int, UInt8, UInt8)
            switch c {
            case 0xC2...0xDF: (n, low, high) = (1, 0x80, 0xBF)
            case 0xE0: (n, low, high) = (2, 0xA0, 0xBF)
            case 0xE1...0xEC, 0xEE, 0xEF: (n, low, high) = (2, 0x80, 0xBF)
            case 0xED: (n, low, high) = (2, 0x80, 0x9F)
            case 0xF0: (n, low, high) = (3, 0x90, 0xBF)
            case 0xF1...0xF3: (n, low, high) = (3, 0x80, 0xBF)
            case 0xF4: (n, low, high) = (3, 0x80, 0x8F)
            default: return false
            }
            guard i + n < count, p[i + 1] >= low, p[i + 1] <= high else { return false }
            for k in stride(from: 2, through: n, by: 1) where p[i + k] & 0xC0 != 0x80 { return false }
            i += n + 1
        }
        return true
    }
}

/// A fast 64-bit hash of bytes (multiply-fold mixing, in the manner of wyhash), for
/// telling record ids and contents apart; not for adversarial input.
enum ByteHash {
    private static let p0: UInt64 = 0xA076_1D64_78BD_642F, p1: UInt64 = 0xE703_7ED1_A0B4_28DB
    private static let p2: UInt64 = 0x8EBC_6AF0_9C88_C6E3, p3: UInt64 = 0x5899_65CC_7537_4CC3

    @inline(__always) private static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let r = a.multipliedFullWidth(by: b)
        return r.high ^ r.low
    }

    /// The hash of `count` bytes at `p` under `seed`.
    static func hash(_ p: UnsafePointer<UInt8>, _ count: Int, seed: UInt64) -> UInt64 {
        var h = seed ^ mix(seed ^ p0, UInt64(count) ^ p1)
        var i = 0
        let raw = UnsafeRawPointer(p)
        if count >= 64 {
            // Two independent lanes of 16 bytes (the multiplies overlap).
            var g = h ^ p3
            while i + 32 <= count {
                h = mix(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ p1 ^ h,
                        raw.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self) ^ p2)
                g = mix(raw.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self) ^ p3 ^ g,
                        raw.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self) ^ p0)
                i += 32
            }
            h ^= g
        }
        while i + 16 <= count {
            h = mix(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ p1 ^ h,
                    raw.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self) ^ p2)
            i += 16
        }
        var a: UInt64 = 0, b: UInt64 = 0
        var k = 0
        while i < count {
            if k < 8 { a |= UInt64(p[i]) << (8 * k) } else { b |= UInt64(p[i]) << (8 * (k - 8)) }
            i += 1
            k += 1
        }
        return mix(p1 ^ UInt64(count), mix(a ^ p1 ^ h, b ^ p3))
    }
}
