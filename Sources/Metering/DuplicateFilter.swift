/// What reading an export file found besides its records.
public struct ImportReport: Sendable, Equatable {
    /// The field that identifies a record (`call_id`, `message_id`; empty when records
    /// have no id, as 2FA lines).
    public var idField: String
    /// Records read, repeats not included.
    public var records = 0
    /// Records skipped as identical repeats of an earlier record with the same id (from
    /// overlapping exports): counted once.
    public var duplicates = 0
    /// The ids of the first `ImportReport.idsKept` repeats.
    public var duplicateIDs: [String] = []

    /// How many repeated ids a report keeps.
    public static let idsKept = 5

    /// A report on records identified by `idField`.
    public init(idField: String) { self.idField = idField }
}

/// The ids of the records read so far, to count a repeated record once. Each entry is a
/// 96-bit hash of the id (no two of a billion ids collide in practice) and a 32-bit hash
/// of the record's text: 16 bytes, in a table kept at most 3/4 full, so 32 MiB for a
/// million records (memory grows with the number of ids, not with their length).
struct DuplicateFilter {
    private struct Entry {
        var id0: UInt64
        var id1: UInt32
        var content: UInt32
    }

    /// Whether a record is new, an identical repeat, or a repeat with other content.
    enum Outcome: Equatable {
        case new, repeated, conflict
    }

    private var table = [Entry](repeating: Entry(id0: 0, id1: 0, content: 0), count: 1 << 10)
    private var count = 0

    /// Records `id` (non-empty) with the hash of its record's text.
    mutating func insert(id: UnsafeBufferPointer<UInt8>, content: UInt64) -> Outcome {
        var a = ByteHash.hash(id.baseAddress!, id.count, seed: 0x9E37_79B9_7F4A_7C15)
        let b = UInt32(truncatingIfNeeded: ByteHash.hash(id.baseAddress!, id.count, seed: 0xC2B2_AE3D_27D4_EB4F) >> 32)
        if a == 0 && b == 0 { a = 1 }   // (0, 0) marks an empty slot
        let c = UInt32(truncatingIfNeeded: content ^ (content >> 32))
        let mask = table.count - 1
        var i = Int(truncatingIfNeeded: a) & mask
        while table[i].id0 != 0 || table[i].id1 != 0 {
            if table[i].id0 == a && table[i].id1 == b { return table[i].content == c ? .repeated : .conflict }
            i = (i + 1) & mask
        }
        table[i] = Entry(id0: a, id1: b, content: c)
        count += 1
        if count * 4 > table.count * 3 { grow() }
        return .new
    }

    private mutating func grow() {
        let old = table
        table = []   // free before allocating the larger table where possible
        table = [Entry](repeating: Entry(id0: 0, id1: 0, content: 0), count: old.count * 2)
        let mask = table.count - 1
        for e in old where e.id0 != 0 || e.id1 != 0 {
            var i = Int(truncatingIfNeeded: e.id0) & mask
            while table[i].id0 != 0 || table[i].id1 != 0 { i = (i + 1) & mask }
            table[i] = e
        }
    }
}
