import Foundation
#if canImport(Metering)
import Metering // (the fuzz target compiles Metering's sources into one module)
#endif

/// What the spool holds, in order: batches of record operations that could not reach the
/// database, and the point where this node's crash recovery is due.
public enum SpoolEntry: Sendable {
    case batch([CDROperation])
    /// Close this node's records left active by an earlier process (deferred from start-up
    /// while the database was away; it must run after the batches before it and before
    /// the ones after it, which belong to calls of this process).
    case recover
}

/// One operation in its stored form (JSON). Dates keep Foundation's own encoding (a
/// double of seconds since 2001), so a replayed record is bit for bit the one written.
struct SpooledOperation: Codable {
    var op: String
    var record: CallDetailRecord?
    var message: MessageDetailRecord?
    var at: Date?
    var calls: [Checkpoint]?

    struct Checkpoint: Codable {
        var id: String
        var answer: Date?
    }
}

/// A damaged spool entry: where it starts and what is wrong.
public struct SpoolDamage: Error, CustomStringConvertible, Equatable {
    /// Byte offset of the entry in the file.
    public var offset: Int
    public var reason: String
    public var description: String { "damaged spool entry at byte \(offset): \(reason)" }
}

/// The spool's entry format: one line per entry,
/// `TF1 <payload length> <CRC-32 of payload, 8 hex digits> <JSON payload>\n`. Readable
/// with `less`, checked on reading: a torn last write or a flipped bit is reported with
/// its offset, never replayed.
public enum SpoolCodec {
    /// The largest payload read back (a batch is written in parts well below it).
    public static let maxPayloadBytes = 64 << 20
    /// Operations per entry when a batch is written (keeps entries far below the limit).
    public static let maxOperationsPerEntry = 500

    /// The bytes of one entry.
    public static func encode(_ entry: SpoolEntry) throws -> [UInt8] {
        let ops: [SpooledOperation]
        switch entry {
        case .recover: ops = [SpooledOperation(op: "recover")]
        case .batch(let batch): ops = batch.map(stored)
        }
        let payload = [UInt8](try JSONEncoder().encode(ops))
        let header = "TF1 \(payload.count) \(hex(CRC32.checksum(payload))) "
        return Array(header.utf8) + payload + [0x0A]
    }

    /// The entry in `payload` (already length- and checksum-checked).
    static func decode(_ payload: [UInt8], offset: Int) throws(SpoolDamage) -> SpoolEntry {
        let ops: [SpooledOperation]
        do { ops = try JSONDecoder().decode([SpooledOperation].self, from: Data(payload)) } catch {
            throw SpoolDamage(offset: offset, reason: "payload is not a list of operations (\(error))")
        }
        if ops.count == 1 && ops[0].op == "recover" { return .recover }
        var batch: [CDROperation] = []
        batch.reserveCapacity(ops.count)
        for (i, o) in ops.enumerated() {
            switch (o.op, o.record, o.message, o.at, o.calls) {
            case ("insert", let r?, _, _, _): batch.append(.insert(r))
            case ("finish", let r?, _, _, _): batch.append(.finish(r))
            case ("message", _, let m?, _, _): batch.append(.message(m))
            case ("checkpoint", _, _, let at?, let calls?): batch.append(.checkpoint(calls.map { ($0.id, $0.answer) }, at: at))
            default: throw SpoolDamage(offset: offset, reason: "operation \(i): '\(o.op)' without its fields")
            }
        }
        return .batch(batch)
    }

    static func stored(_ op: CDROperation) -> SpooledOperation {
        switch op {
        case .insert(let r): return SpooledOperation(op: "insert", record: r)
        case .finish(let r): return SpooledOperation(op: "finish", record: r)
        case .message(let m): return SpooledOperation(op: "message", message: m)
        case .checkpoint(let calls, let at):
            return SpooledOperation(op: "checkpoint", at: at, calls: calls.map { .init(id: $0.callID, answer: $0.answerTime) })
        }
    }

    static func hex(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 8 - s.count) + s
    }
}

/// CRC-32 (IEEE 802.3, as zlib and `cksum -a crc32b`).
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
