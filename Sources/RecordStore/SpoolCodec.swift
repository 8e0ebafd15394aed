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
    var record: SpooledRecord?
    var message: MessageDetailRecord?
    var at: Date?
    var calls: [Checkpoint]?

    struct Checkpoint: Codable {
        var id: String
        var answer: Date?
    }
}

/// A call record in a spool entry: the record's own JSON object (`CallDetailRecord`'s
/// Codable keys), written as it is. Fields added to the record later are told apart by
/// their keys: an object without `quality` was spooled by a release before the quality
/// columns (a spool survives a restart across an upgrade) and is read with quality not
/// measured, every other field as it was written. (Going back a release, that release
/// ignores the `quality` key: the record replays without it.)
struct SpooledRecord: Codable {
    var record: CallDetailRecord

    init(_ record: CallDetailRecord) { self.record = record }

    private enum AddedKeys: String, CodingKey { case quality }

    init(from decoder: any Decoder) throws {
        if try decoder.container(keyedBy: AddedKeys.self).contains(.quality) {
            record = try CallDetailRecord(from: decoder)
        } else {
            record = try RecordBeforeQuality(from: decoder).record
        }
    }

    func encode(to encoder: any Encoder) throws { try record.encode(to: encoder) }
}

/// A call record as releases before the quality columns spooled it (their
/// `CallDetailRecord`'s synthesized Codable: these keys, dates as seconds since 2001).
/// Frozen: never change it to follow the record.
private struct RecordBeforeQuality: Decodable {
    var callID, sipCallID, did, tenant, fromNumber, toNumber: String
    var startTime: Date
    var answerTime: Date?
    var endTime: Date
    var durationMs, billableSeconds: Int
    var disposition: Disposition
    var sipCode: Int
    var hangupBy: HangupSide
    var flow: String
    var emergency: Bool
    var rtpSent, rtpReceived, rtpDropped: UInt64
    var recordingURL: String
    var recordingSeconds: Int
    var direction: CallDirection
    var parentCallID, node: String

    var record: CallDetailRecord {
        var r = CallDetailRecord(callID: callID, sipCallID: sipCallID, did: did, tenant: tenant, fromNumber: fromNumber,
                                 toNumber: toNumber, startTime: startTime, answerTime: answerTime, endTime: endTime,
                                 disposition: disposition, sipCode: sipCode, hangupBy: hangupBy, flow: flow, emergency: emergency,
                                 rtpSent: rtpSent, rtpReceived: rtpReceived, rtpDropped: rtpDropped)
        // As written, not recomputed.
        r.durationMs = durationMs
        r.billableSeconds = billableSeconds
        r.recordingURL = recordingURL
        r.recordingSeconds = recordingSeconds
        r.direction = direction
        r.parentCallID = parentCallID
        r.node = node
        return r
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
            case ("insert", let r?, _, _, _): batch.append(.insert(r.record))
            case ("finish", let r?, _, _, _): batch.append(.finish(r.record))
            case ("message", _, let m?, _, _): batch.append(.message(m))
            case ("checkpoint", _, _, let at?, let calls?): batch.append(.checkpoint(calls.map { ($0.id, $0.answer) }, at: at))
            default: throw SpoolDamage(offset: offset, reason: "operation \(i): '\(o.op)' without its fields")
            }
        }
        return .batch(batch)
    }

    static func stored(_ op: CDROperation) -> SpooledOperation {
        switch op {
        case .insert(let r): return SpooledOperation(op: "insert", record: SpooledRecord(r))
        case .finish(let r): return SpooledOperation(op: "finish", record: SpooledRecord(r))
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
