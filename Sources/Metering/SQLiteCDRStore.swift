import CSQLite
import CSQLiteBridge
import Foundation

/// An error from the record store, with SQLite's message.
public struct StoreError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

/// Call records in SQLite (WAL journal, synchronous=FULL), one file under the data directory.
/// Thread-safe: one connection guarded by a lock; writes are batched by `CDRWriter`.
public final class SQLiteCDRStore: CDRStore, @unchecked Sendable {
    private var db: OpaquePointer?
    private let lock = NSLock()
    public let path: String
    /// What `forEach` selects (a database opened read-only is not migrated: an older one
    /// is read with the later columns' defaults), and whether messages have `node`.
    private var callsSelectList = SQLiteCDRStore.selectList(existing: Set(SQLiteCDRStore.columns))
    private var messagesHaveNode = true

    /// Opens (creating if needed) `cdr.sqlite` in `directory`.
    public init(directory: String, readOnly: Bool = false) throws {
        path = (directory as NSString).appendingPathComponent("cdr.sqlite")
        if !readOnly {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        var handle: OpaquePointer?
        guard sqlite3_open_v2(path, &handle, flags | SQLITE_OPEN_FULLMUTEX, nil) == SQLITE_OK else {
            let msg = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(handle)
            throw StoreError("cannot open \(path): \(msg)")
        }
        db = handle
        sqlite3_busy_timeout(handle, 5000)
        if !readOnly {
            try exec("PRAGMA journal_mode=WAL")
            try exec("PRAGMA synchronous=FULL")
            try exec("""
                CREATE TABLE IF NOT EXISTS calls (
                  seq INTEGER PRIMARY KEY AUTOINCREMENT,
                  call_id TEXT NOT NULL UNIQUE, sip_call_id TEXT NOT NULL, did TEXT NOT NULL,
                  tenant TEXT NOT NULL, from_number TEXT NOT NULL, to_number TEXT NOT NULL,
                  start_time REAL NOT NULL, answer_time REAL, end_time REAL NOT NULL,
                  duration_ms INTEGER NOT NULL, billable_seconds INTEGER NOT NULL,
                  disposition TEXT NOT NULL, sip_code INTEGER NOT NULL, hangup_by TEXT NOT NULL,
                  flow TEXT NOT NULL, emergency INTEGER NOT NULL DEFAULT 0,
                  rtp_sent INTEGER NOT NULL DEFAULT 0, rtp_received INTEGER NOT NULL DEFAULT 0,
                  rtp_dropped INTEGER NOT NULL DEFAULT 0)
                """)
            try migrate()
            try exec("CREATE INDEX IF NOT EXISTS calls_start ON calls(start_time)")
            try exec("CREATE INDEX IF NOT EXISTS calls_tenant ON calls(tenant, start_time)")
            try exec("""
                CREATE TABLE IF NOT EXISTS messages (
                  seq INTEGER PRIMARY KEY AUTOINCREMENT,
                  message_id TEXT NOT NULL UNIQUE, sip_call_id TEXT NOT NULL, did TEXT NOT NULL,
                  tenant TEXT NOT NULL, from_number TEXT NOT NULL, received_time REAL NOT NULL,
                  body_length INTEGER NOT NULL, encoding TEXT NOT NULL, segments INTEGER NOT NULL)
                """)
            try migrateMessages()
            try exec("CREATE INDEX IF NOT EXISTS messages_received ON messages(received_time)")
        } else {
            callsSelectList = Self.selectList(existing: try columnNames("calls"))
            messagesHaveNode = (try columnNames("messages")).contains("node")
        }
    }

    deinit { sqlite3_close(db) }

    /// Adds columns that an older database lacks (records keep their values), in one
    /// transaction: all or none, and a second process opening the file at the same time
    /// waits, then finds them there.
    private func migrate() throws {
        let before = try columnNames("calls")
        guard Self.migrations.contains(where: { !before.contains($0.0) }) else { return }
        try exec("BEGIN IMMEDIATE")
        do {
            let existing = try columnNames("calls")
            for (name, definition) in Self.migrations where !existing.contains(name) {
                try exec("ALTER TABLE calls ADD COLUMN \(name) \(definition)")
            }
            try exec("COMMIT")
        } catch {
            try? exec("ROLLBACK")
            throw error
        }
    }

    /// The messages table's later columns.
    private func migrateMessages() throws {
        if !(try columnNames("messages")).contains("node") {
            try exec("ALTER TABLE messages ADD COLUMN node TEXT NOT NULL DEFAULT ''")
        }
    }

    private func columnNames(_ table: String) throws -> Set<String> {
        var existing: Set<String> = []
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(db, "PRAGMA table_info(\(table))", -1, &stmt, nil) == SQLITE_OK else { throw StoreError(message()) }
        while sqlite3_step(stmt) == SQLITE_ROW {
            if let name = sqlite3_column_text(stmt, 1) { existing.insert(String(cString: name)) }
        }
        sqlite3_finalize(stmt)
        return existing
    }

    private func exec(_ sql: String) throws {
        var err: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(db, sql, nil, nil, &err) != SQLITE_OK {
            let msg = err.map { String(cString: $0) } ?? "unknown"
            sqlite3_free(err)
            throw StoreError("\(msg) in: \(sql.prefix(60))")
        }
    }

    private func message() -> String { String(cString: sqlite3_errmsg(db)) }

    public func apply(_ operations: [CDROperation]) throws {
        guard !operations.isEmpty else { return }
        lock.lock()
        defer { lock.unlock() }
        let statements = try prepareWrites()
        defer { statements.finalize() }
        try exec("BEGIN IMMEDIATE")
        do {
            for op in operations { try write(op, with: statements) }
            try exec("COMMIT")
        } catch {
            try? exec("ROLLBACK")
            throw error
        }
    }

    /// The statements of one `apply`, prepared once for all its operations.
    private struct WriteStatements {
        let insert: OpaquePointer?
        let finish: OpaquePointer?
        let checkpoint: OpaquePointer?
        let insertMessage: OpaquePointer?

        func finalize() { for st in [insert, finish, checkpoint, insertMessage] { sqlite3_finalize(st) } }
    }

    private func prepareWrites() throws -> WriteStatements {
        let placeholders = Array(repeating: "?", count: Self.columns.count).joined(separator: ",")
        // INSERT OR IGNORE: a record is never duplicated, and a stored one is never changed.
        let insert = try prepare("INSERT OR IGNORE INTO calls (\(Self.columns.joined(separator: ","))) VALUES (\(placeholders))")
        let assignments = Self.columns.dropFirst().map { "\($0)=?" }.joined(separator: ",")
        let finish = try prepare("UPDATE calls SET \(assignments) WHERE call_id=? AND disposition='active'")
        let checkpoint = try prepare("UPDATE calls SET end_time=?, answer_time=COALESCE(?, answer_time) WHERE call_id=? AND disposition='active'")
        let insertMessage = try prepare("""
            INSERT OR IGNORE INTO messages (message_id, sip_call_id, did, tenant, from_number, received_time,
              body_length, encoding, segments, node) VALUES (?,?,?,?,?,?,?,?,?,?)
            """)
        return WriteStatements(insert: insert, finish: finish, checkpoint: checkpoint, insertMessage: insertMessage)
    }

    /// One operation, inside the transaction `apply` opened.
    private func write(_ op: CDROperation, with st: WriteStatements) throws {
        switch op {
        case .insert(let r):
            try insertRecord(r, with: st.insert)
        case .finish(let r):
            // The active row takes the final record; with no active row, it is inserted.
            sqlite3_reset(st.finish)
            let next = Self.bind(r, to: st.finish, from: 1, includingID: false)
            _ = r.callID.withCString { tf_sqlite_bind_text(st.finish, next, $0, -1) }
            try stepDone(st.finish)
            if sqlite3_changes(db) == 0 { try insertRecord(r, with: st.insert) }
        case .checkpoint(let calls, let at):
            for c in calls {
                sqlite3_reset(st.checkpoint)
                sqlite3_bind_double(st.checkpoint, 1, at.timeIntervalSince1970)
                if let a = c.answerTime { sqlite3_bind_double(st.checkpoint, 2, a.timeIntervalSince1970) } else { sqlite3_bind_null(st.checkpoint, 2) }
                _ = c.callID.withCString { tf_sqlite_bind_text(st.checkpoint, 3, $0, -1) }
                try stepDone(st.checkpoint)
            }
        case .message(let m):
            try insertMessage(m, with: st.insertMessage)
        }
    }

    private func insertRecord(_ r: CallDetailRecord, with insert: OpaquePointer?) throws {
        sqlite3_reset(insert)
        _ = Self.bind(r, to: insert, from: 1, includingID: true)
        try stepDone(insert)
    }

    private func insertMessage(_ m: MessageDetailRecord, with insert: OpaquePointer?) throws {
        sqlite3_reset(insert)
        var i: Int32 = 1
        for t in [m.messageID, m.sipCallID, m.did, m.tenant, m.fromNumber] {
            _ = t.withCString { tf_sqlite_bind_text(insert, i, $0, -1) }
            i += 1
        }
        sqlite3_bind_double(insert, 6, m.receivedTime.timeIntervalSince1970)
        sqlite3_bind_int64(insert, 7, Int64(m.bodyLength))
        _ = m.encoding.rawValue.withCString { tf_sqlite_bind_text(insert, 8, $0, -1) }
        sqlite3_bind_int64(insert, 9, Int64(m.segments))
        _ = m.node.withCString { tf_sqlite_bind_text(insert, 10, $0, -1) }
        try stepDone(insert)
    }

    /// Runs a write statement; anything but SQLITE_DONE is the connection's error.
    private func stepDone(_ stmt: OpaquePointer?) throws {
        guard sqlite3_step(stmt) == SQLITE_DONE else { throw StoreError(message()) }
    }

    public func recoverInterrupted() throws -> Int {
        lock.lock()
        defer { lock.unlock() }
        // Billable to the last checkpoint: answered duration rounded up to whole seconds.
        try exec("""
            UPDATE calls SET disposition='interrupted', hangup_by='none',
              duration_ms = CASE WHEN answer_time IS NULL THEN 0
                                 ELSE MAX(0, CAST(ROUND((end_time - answer_time) * 1000) AS INTEGER)) END,
              billable_seconds = CASE WHEN answer_time IS NULL THEN 0
                                 ELSE (MAX(0, CAST(ROUND((end_time - answer_time) * 1000) AS INTEGER)) + 999) / 1000 END
            WHERE disposition='active'
            """)
        return Int(sqlite3_changes(db))
    }

    private func prepare(_ sql: String) throws -> OpaquePointer? {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &stmt, nil) == SQLITE_OK else { throw StoreError(message()) }
        return stmt
    }

    public func forEach(from: Date?, to: Date?, _ body: (CallDetailRecord) throws -> Void) throws {
        lock.lock()
        defer { lock.unlock() }
        var stmt: OpaquePointer?
        let sql = "SELECT \(callsSelectList) FROM calls \(startTimeFilter(from: from, to: to)) ORDER BY seq"
        guard sqlite3_prepare_v2(db, sql, -1, &stmt, nil) == SQLITE_OK else { throw StoreError(message()) }
        defer { sqlite3_finalize(stmt) }
        bindRange(stmt, from: from, to: to)
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw StoreError(message()) }
            try body(Self.record(at: stmt))
        }
    }

    /// The WHERE clause for a start-time range (parameters 1 and 2). The index pays off
    /// only for a narrow slice of the table: a range covering much of it (a month of a
    /// month's records) is read in one sequential scan, several times faster than index
    /// lookups row by row. Caller holds the lock.
    private func startTimeFilter(from: Date?, to: Date?) -> String {
        guard from != nil || to != nil else { return "WHERE ?1 IS NULL AND ?2 IS NULL" }
        var stmt: OpaquePointer?
        var useIndex = false
        if sqlite3_prepare_v2(db, "SELECT MIN(start_time), MAX(start_time) FROM calls", -1, &stmt, nil) == SQLITE_OK,
           sqlite3_step(stmt) == SQLITE_ROW, sqlite3_column_type(stmt, 0) != SQLITE_NULL {
            let lo = sqlite3_column_double(stmt, 0), hi = sqlite3_column_double(stmt, 1)
            let a = max(lo, from?.timeIntervalSince1970 ?? lo), b = min(hi, to?.timeIntervalSince1970 ?? hi)
            useIndex = hi > lo && (b - a) / (hi - lo) < 0.25
        }
        sqlite3_finalize(stmt)
        return useIndex ? "WHERE start_time >= ?1 AND start_time < ?2" : "WHERE +start_time >= ?1 AND +start_time < ?2"
    }

    private func bindRange(_ stmt: OpaquePointer?, from: Date?, to: Date?) {
        if from == nil && to == nil { return } // both parameters stay NULL
        sqlite3_bind_double(stmt, 1, from?.timeIntervalSince1970 ?? -Double.greatestFiniteMagnitude)
        sqlite3_bind_double(stmt, 2, to?.timeIntervalSince1970 ?? Double.greatestFiniteMagnitude)
    }

    public func forEachBillable(from: Date?, to: Date?, _ body: (BillableCall) throws -> Void) throws {
        lock.lock()
        defer { lock.unlock() }
        var stmt: OpaquePointer?
        let sql = "SELECT tenant, start_time, disposition, answer_time IS NOT NULL, billable_seconds FROM calls "
            + startTimeFilter(from: from, to: to)
        guard sqlite3_prepare_v2(db, sql, -1, &stmt, nil) == SQLITE_OK else { throw StoreError(message()) }
        defer { sqlite3_finalize(stmt) }
        bindRange(stmt, from: from, to: to)
        // A month holds few distinct tenants and dispositions: reuse their Strings rather
        // than allocate two per row.
        var tenants = TextInterner()
        var dispositions = TextInterner()
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw StoreError(message()) }
            let tenant = tenants.string(sqlite3_column_text(stmt, 0), length: Int(sqlite3_column_bytes(stmt, 0)))
            let d = dispositions.string(sqlite3_column_text(stmt, 2), length: Int(sqlite3_column_bytes(stmt, 2)))
            try body(BillableCall(tenant: tenant, startTime: Date(timeIntervalSince1970: sqlite3_column_double(stmt, 1)),
                                  disposition: Disposition(rawValue: d) ?? .failed, answered: sqlite3_column_int(stmt, 3) != 0,
                                  billableSeconds: Int(sqlite3_column_int64(stmt, 4))))
        }
    }

    public func forEachMessage(from: Date?, to: Date?, _ body: (MessageDetailRecord) throws -> Void) throws {
        lock.lock()
        defer { lock.unlock() }
        var stmt: OpaquePointer?
        let sql = """
            SELECT message_id, sip_call_id, did, tenant, from_number, received_time, body_length, encoding, segments,
              \(messagesHaveNode ? "node" : "''") FROM messages WHERE received_time >= ? AND received_time < ? ORDER BY seq
            """
        guard sqlite3_prepare_v2(db, sql, -1, &stmt, nil) == SQLITE_OK else {
            // A store written before messages existed (opened read-only) has none.
            if message().contains("no such table") { return }
            throw StoreError(message())
        }
        defer { sqlite3_finalize(stmt) }
        sqlite3_bind_double(stmt, 1, from?.timeIntervalSince1970 ?? -Double.greatestFiniteMagnitude)
        sqlite3_bind_double(stmt, 2, to?.timeIntervalSince1970 ?? Double.greatestFiniteMagnitude)
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw StoreError(message()) }
            func text(_ c: Int32) -> String { sqlite3_column_text(stmt, c).map { String(cString: $0) } ?? "" }
            var m = MessageDetailRecord(
                messageID: text(0), sipCallID: text(1), did: text(2), tenant: text(3), fromNumber: text(4),
                receivedTime: Date(timeIntervalSince1970: sqlite3_column_double(stmt, 5)),
                bodyLength: Int(sqlite3_column_int64(stmt, 6)), encoding: SMSEncoding(rawValue: text(7)) ?? .gsm7,
                segments: Int(sqlite3_column_int64(stmt, 8)))
            m.node = text(9)
            try body(m)
        }
    }

    public func count() throws -> Int {
        lock.lock()
        defer { lock.unlock() }
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM calls", -1, &stmt, nil) == SQLITE_OK else { throw StoreError(message()) }
        defer { sqlite3_finalize(stmt) }
        guard sqlite3_step(stmt) == SQLITE_ROW else { throw StoreError(message()) }
        return Int(sqlite3_column_int64(stmt, 0))
    }
}
