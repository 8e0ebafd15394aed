import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The spool file: entries appended and fsynced (an append that returned is on disk),
/// read back in order, emptied once replayed.
final class SpoolFile {
    let path: String
    private let fd: Int32
    /// Bytes in the file.
    private(set) var size: Int

    /// Opens (creating) `records.spool` in `directory` (created 0700 when missing).
    init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        path = (directory as NSString).appendingPathComponent("records.spool")
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SpoolIOError("cannot open \(path): \(String(cString: strerror(errno)))") }
        var st = stat()
        fstat(fd, &st)
        size = Int(st.st_size)
        // The file's directory entry must survive a crash too.
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }

    deinit { close(fd) }

    /// Appends `bytes` and waits until they are on disk. A failed write is cut off again,
    /// so the file never keeps half an entry from a failure we survived.
    func append(_ bytes: [UInt8]) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, bytes.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let why = String(cString: strerror(errno))
                _ = ftruncate(fd, off_t(size))
                throw SpoolIOError("cannot write \(path): \(why)")
            }
            done += n
        }
        guard fsync(fd) == 0 else {
            let why = String(cString: strerror(errno))
            _ = ftruncate(fd, off_t(size))
            throw SpoolIOError("cannot sync \(path): \(why)")
        }
        size += bytes.count
    }

    /// Empties the file (everything in it was stored).
    func truncate() throws {
        guard ftruncate(fd, 0) == 0, fsync(fd) == 0 else { throw SpoolIOError("cannot empty \(path): \(String(cString: strerror(errno)))") }
        size = 0
    }

    /// Moves the bytes from `offset` on into `<path>.damaged-<time>` (kept for an operator)
    /// and cuts them off the spool; returns the new file's path.
    func setAside(from offset: Int) throws -> String {
        let aside = "\(path).damaged-\(Int(Date().timeIntervalSince1970))"
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let tail = data.count > offset ? data.subdata(in: offset..<data.count) : Data()
        guard FileManager.default.createFile(atPath: aside, contents: tail, attributes: [.posixPermissions: 0o600]) else {
            throw SpoolIOError("cannot write \(aside)")
        }
        let afd = open(aside, O_RDONLY | O_CLOEXEC)
        if afd >= 0 { fsync(afd); close(afd) }
        guard ftruncate(fd, off_t(offset)) == 0, fsync(fd) == 0 else { throw SpoolIOError("cannot cut \(path)") }
        size = offset
        return aside
    }
}

/// A spool file that cannot be written or read.
public struct SpoolIOError: Error, CustomStringConvertible {
    public var description: String
    init(_ d: String) { description = d }
}

/// Reads a spool file's entries in order from an offset, 64 KiB at a time (a large spool
/// is never read whole into memory).
public struct SpoolReader {
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    /// File offset of `buffer[0]`.
    private var bufferOffset: Int
    private var atEnd = false

    /// Opens `path` at byte `offset`.
    public init(path: String, from offset: Int = 0) throws {
        handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        try handle.seek(toOffset: UInt64(offset))
        bufferOffset = offset
    }

    /// The next entry and the offset just past it; nil at the clean end of the file.
    /// Throws `SpoolDamage` for a torn, oversized, corrupt or undecodable entry.
    public mutating func next() throws -> (entry: SpoolEntry, end: Int)? {
        let start = bufferOffset
        try fill(1)
        if buffer.isEmpty { return nil }
        func damaged(_ reason: String) -> SpoolDamage { SpoolDamage(offset: start, reason: reason) }
        // Header: "TF1 " + up to 10 digits + " " + 8 hex digits + " ".
        try fill(24)
        guard buffer.count >= 4 else { throw damaged("the file ends in a partial entry (\(buffer.count) bytes; a crash while appending?)") }
        guard buffer.starts(with: Array("TF1 ".utf8)) else { throw damaged("no entry header (TF1)") }
        var i = 4
        var length = 0
        while i < buffer.count, i < 15, let d = Self.digit(buffer[i]) { length = length * 10 + d; i += 1 }
        guard i > 4 || buffer.count == 4 else { throw damaged("bad length") }
        guard i < buffer.count else { throw damaged("the file ends in a partial entry header") }
        guard buffer[i] == 0x20 else { throw damaged("bad length") }
        guard length <= SpoolCodec.maxPayloadBytes else {
            throw damaged("entry of \(length) bytes is over the limit of \(SpoolCodec.maxPayloadBytes)")
        }
        guard buffer.count >= i + 10 else { throw damaged("the file ends in a partial entry header") }
        guard let crc = UInt32(String(decoding: buffer[(i + 1)..<(i + 9)], as: UTF8.self), radix: 16), buffer[i + 9] == 0x20 else {
            throw damaged("bad checksum field")
        }
        let payloadStart = i + 10
        try fill(payloadStart + length + 1)
        guard buffer.count >= payloadStart + length + 1 else {
            throw damaged("the file ends in a partial entry (\(buffer.count) of \(payloadStart + length + 1) bytes; a crash while appending?)")
        }
        let payload = Array(buffer[payloadStart..<(payloadStart + length)])
        guard buffer[payloadStart + length] == 0x0A else { throw damaged("entry not followed by a newline") }
        guard CRC32.checksum(payload) == crc else { throw damaged("checksum mismatch") }
        let entry = try SpoolCodec.decode(payload, offset: start)
        let consumed = payloadStart + length + 1
        buffer.removeFirst(consumed)
        bufferOffset += consumed
        return (entry, bufferOffset)
    }

    /// Reads until `buffer` holds at least `count` bytes or the file ends.
    private mutating func fill(_ count: Int) throws {
        while buffer.count < count && !atEnd {
            let chunk = try handle.read(upToCount: max(1 << 16, count - buffer.count)) ?? Data()
            if chunk.isEmpty { atEnd = true } else { buffer.append(contentsOf: chunk) }
        }
    }

    private static func digit(_ b: UInt8) -> Int? { b >= 0x30 && b <= 0x39 ? Int(b - 0x30) : nil }
}
