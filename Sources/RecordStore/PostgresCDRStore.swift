import Foundation
import Metering
import Observability

/// Call and message records in PostgreSQL, shared by the nodes of a cluster: the SQLite
/// store's schema and rules (records written `active` at admission, checkpointed,
/// finalised once; inserts idempotent on their id), each record tagged with the node that
/// wrote it, and a lease per node so the live nodes can close the calls of a dead one.
///
/// One connection, used under a lock; `apply` is one transaction sent as a pipeline (a
/// network round trip per 256 statements, not per statement). The connection is made on
/// first use and again after it broke; errors say whether the connection was at fault
/// (`PostgresError.isConnectionError`), which `SpoolingCDRStore` turns into spooling.
public final class PostgresCDRStore: CDRStore, @unchecked Sendable {
    /// The connection URL (`postgresql://user@host:port/db`).
    public let url: String
    /// This node's id, written into every record and used for its lease.
    public let node: String
    /// How long a lease lasts after each write (three checkpoint periods).
    public let leaseSeconds: Double
    /// How long after its lease ended a node's active calls are taken over.
    public let graceSeconds: Double
    private let readOnly: Bool
    private let clock: @Sendable () -> Date
    private let logger: Logger?
    private let lock = NSLock()
    private var connection: PostgresConnection?
    /// When the current connection was made (by `clock`): a node takes over others' calls
    /// only once it has itself been connected for a lease and a grace period, so after an
    /// outage of the database every node has had the time to renew its lease first.
    private var connectedAt: Date?
    /// Call columns of this release the connected database's table lacks (an older table a
    /// read-only store finds before any writer migrated it): read as their defaults.
    var missingCallColumns: Set<String> = []

    /// A store for `node`. Nothing is connected yet unless `connectNow` (then a failure
    /// throws): a daemon starts even while the database is away. `clock` is injectable so
    /// tests can move leases on without sleeping.
    public init(url: String, node: String, graceSeconds: Double = 30, leaseSeconds: Double = 15,
                readOnly: Bool = false, connectNow: Bool = false, logger: Logger? = nil,
                clock: @escaping @Sendable () -> Date = { Date() }) throws {
        if let problem = PostgresConnection.problem(with: url) {
            throw PostgresError("bad PostgreSQL URL \(PostgresConnection.redacted(url)): \(problem)", isConnectionError: false)
        }
        self.url = url
        self.node = node
        self.graceSeconds = graceSeconds
        self.leaseSeconds = leaseSeconds
        self.readOnly = readOnly
        self.logger = logger
        self.clock = clock
        if connectNow { try connect() }
    }

    /// Nil when libpq can parse `url`, else why not (for config validation).
    public static func problem(with url: String) -> String? { PostgresConnection.problem(with: url) }

    /// `url` with its password masked.
    public static func redacted(_ url: String) -> String { PostgresConnection.redacted(url) }

    /// Connects now (creating the tables when missing) unless already connected.
    public func connect() throws {
        lock.lock()
        defer { lock.unlock() }
        _ = try connected()
    }

    /// Whether the last use left a working connection.
    public var isConnected: Bool {
        lock.lock()
        defer { lock.unlock() }
        return connection?.isOK ?? false
    }

    /// The open connection, or a new one. Caller holds the lock.
    func connected() throws(PostgresError) -> PostgresConnection {
        if let c = connection, c.isOK { return c }
        connection = nil
        let c = try PostgresConnection(url: url)
        // Shortest exact text for doubles (times round-trip bit for bit); no NOTICEs on
        // stderr ("relation already exists, skipping").
        try c.exec("SET extra_float_digits = 3")
        try c.exec("SET client_min_messages = warning")
        // Plan each statement for the table as it is: a generic plan cached while the
        // table was empty (a sequential scan) would stay in use as it grows, making every
        // lookup by call_id a full scan.
        try c.exec("SET plan_cache_mode = force_custom_plan")
        if !readOnly {
            // Tables a DBA created are used as they are (the role then needs no CREATE).
            let present = try c.exec("SELECT to_regclass('calls') IS NOT NULL AND to_regclass('messages') IS NOT NULL AND to_regclass('nodes') IS NOT NULL AND to_regclass('audit_events') IS NOT NULL")
            if !present.bool(0, 0) {
                try c.exec("BEGIN")
                try c.exec("SELECT pg_advisory_xact_lock(7412004)")
                for sql in PostgresSchema.statements { try c.exec(sql) }
                try c.exec("COMMIT")
            }
        }
        let missing = try Self.missingCallColumns(c)
        if !readOnly {
            if !missing.isEmpty { try Self.migrate(c, missing: missing) }
            for (name, sql) in PostgresSchema.prepared { try c.prepare(name, sql) }
        }
        missingCallColumns = readOnly ? missing : []
        connection = c
        connectedAt = clock()
        return c
    }

    /// The columns of `PostgresSchema.addedCallColumns` the `calls` table lacks (all when
    /// there is no table yet).
    private static func missingCallColumns(_ c: PostgresConnection) throws(PostgresError) -> Set<String> {
        let res = try c.exec(PostgresSchema.existingCallColumns)
        let existing = Set((0..<res.rows).map { res.text($0, 0) })
        return Set(PostgresSchema.addedCallColumns.map(\.0).filter { !existing.contains($0) })
    }

    /// Adds `missing` columns to an older `calls` table (records keep their values), under
    /// the schema's advisory lock. A role that may not alter the table (a DBA's) gets an
    /// error saying what to run.
    private static func migrate(_ c: PostgresConnection, missing: Set<String>) throws(PostgresError) {
        let sql = PostgresSchema.migration(PostgresSchema.addedCallColumns.filter { missing.contains($0.0) })
        do {
            try c.exec("BEGIN")
            try c.exec("SELECT pg_advisory_xact_lock(7412004)")
            try c.exec(sql)
            try c.exec("COMMIT")
        } catch where !error.isConnectionError {
            throw PostgresError("the calls table lacks columns \(missing.sorted().joined(separator: ", ")) and they cannot be "
                                + "added (\(error)); have its owner run: \(sql)", isConnectionError: false)
        }
    }

    /// Runs `body` on the connection under the lock; a broken connection is dropped (the
    /// next call reconnects) and an open transaction rolled back.
    func withConnection<R>(_ body: (PostgresConnection) throws -> R) throws -> R {
        lock.lock()
        defer { lock.unlock() }
        let c = try connected()
        do { return try body(c) } catch {
            if c.isOK { _ = try? c.exec("ROLLBACK") } else { connection = nil }
            throw error
        }
    }

    public func apply(_ operations: [CDROperation]) throws {
        guard !operations.isEmpty else { return }
        precondition(!readOnly, "apply on a read-only PostgresCDRStore")
        let now = clock()
        var calls = [PreparedCall(sql: "BEGIN"),
                     PreparedCall(name: "tf_lease", parameters: [node, Self.text(now.timeIntervalSince1970 + leaseSeconds)])]
        var heartbeat = false
        for op in operations {
            switch op {
            case .insert(let r): calls.append(PreparedCall(name: "tf_insert", parameters: Self.parameters(r)))
            case .finish(let r): calls.append(PreparedCall(name: "tf_finish", parameters: Self.parameters(r)))
            case .checkpoint(let list, let at):
                heartbeat = true
                guard !list.isEmpty else { continue }
                calls.append(PreparedCall(name: "tf_checkpoint", parameters: [
                    Self.text(at.timeIntervalSince1970), Self.textArray(list.map(\.callID)),
                    Self.doubleArray(list.map { $0.answerTime?.timeIntervalSince1970 })]))
            case .message(let m):
                calls.append(PreparedCall(name: "tf_message", parameters: [
                    m.messageID, m.sipCallID, m.did, m.tenant, m.fromNumber, Self.text(m.receivedTime.timeIntervalSince1970),
                    "\(m.bodyLength)", m.encoding.rawValue, "\(m.segments)", m.node]))
            }
        }
        let takeoverIndex = calls.count
        try withConnection { c in
            // Checkpoints come every few seconds from every node: the moment to close the
            // calls of nodes whose lease ran out.
            let takeOver = heartbeat && connectedAt.map { now.timeIntervalSince($0) >= leaseSeconds + graceSeconds } == true
            if takeOver {
                calls.append(PreparedCall(name: "tf_takeover", parameters: [Self.text(now.timeIntervalSince1970 - graceSeconds), node]))
            }
            calls.append(PreparedCall(sql: "COMMIT"))
            let counts = try c.pipeline(calls)
            if takeOver, takeoverIndex < counts.count, counts[takeoverIndex] > 0 {
                logger?.warning("cdr.taken_over", ["interrupted": counts[takeoverIndex],
                                                   "detail": "active calls of nodes whose lease expired over \(Int(graceSeconds)) s ago"])
            }
        }
    }

    /// Closes this node's records that an earlier process left active (a crash), as
    /// `interrupted` at their last checkpoint. Other nodes' records are left to their own
    /// restart or to the lease takeover.
    public func recoverInterrupted() throws -> Int {
        try withConnection { c in
            try c.exec("UPDATE calls SET \(PostgresSchema.interruptedAssignments) WHERE disposition='active' AND node=$1", [node]).affected
        }
    }

    /// Appends an entry to the database's audit trail (`audit_events`): the export commands
    /// record who read records out, as they do in the host's sealed audit log. Allowed on a
    /// read-only store (it reads records, and writes only this).
    public func recordAudit(actor: String, action: String, subject: String, detail: String, at time: Date = Date()) throws {
        try withConnection { c in
            _ = try c.exec("INSERT INTO audit_events (time, node, actor, action, subject, detail) VALUES ($1::float8, $2, $3, $4, $5, $6)",
                           [Self.text(time.timeIntervalSince1970), node, actor, action, subject, detail])
        }
    }

    public func count() throws -> Int {
        try withConnection { c in Int(try c.exec("SELECT count(*) FROM calls").int(0, 0)) }
    }

    // MARK: Parameters

    /// A double as text that PostgreSQL reads back to the same bits.
    static func text(_ d: Double) -> String { "\(d)" }

    /// A record's parameters in `PostgresSchema.callColumns` order.
    static func parameters(_ r: CallDetailRecord) -> [String?] {
        let q = r.quality
        return [r.callID, r.sipCallID, r.did, r.tenant, r.fromNumber, r.toNumber,
                text(r.startTime.timeIntervalSince1970), r.answerTime.map { text($0.timeIntervalSince1970) }, text(r.endTime.timeIntervalSince1970),
                "\(r.durationMs)", "\(r.billableSeconds)", r.disposition.rawValue, "\(r.sipCode)", r.hangupBy.rawValue, r.flow,
                r.emergency ? "t" : "f", "\(r.rtpSent)", "\(r.rtpReceived)", "\(r.rtpDropped)", r.recordingURL, "\(r.recordingSeconds)",
                r.direction.rawValue, r.parentCallID, r.node,
                "\(Int64(clamping: q.packetsExpected))", "\(Int64(clamping: q.packetsLost))", q.jitterMeanMs.map(text), q.jitterMaxMs.map(text),
                q.peerPacketsLost.map { "\(Int64(clamping: $0))" }, q.peerJitterMs.map(text), q.roundTripMs.map(text), q.mos.map(text)]
    }

    /// A `text[]` literal: every element quoted, `"` and `\` escaped.
    static func textArray(_ items: [String]) -> String {
        "{" + items.map { "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
            .joined(separator: ",") + "}"
    }

    /// A `float8[]` literal with NULLs.
    static func doubleArray(_ items: [Double?]) -> String {
        "{" + items.map { $0.map(text) ?? "NULL" }.joined(separator: ",") + "}"
    }
}
