import Metering

/// The PostgreSQL tables: the SQLite store's, plus the node that wrote each record and
/// the nodes' leases. Times are `double precision` seconds since 1970, the very values
/// SQLite keeps, so both stores bill identically.
enum PostgresSchema {
    /// Call columns in the order `PostgresCDRStore` binds and reads them.
    static let callColumns = ["call_id", "sip_call_id", "did", "tenant", "from_number", "to_number",
                              "start_time", "answer_time", "end_time", "duration_ms", "billable_seconds",
                              "disposition", "sip_code", "hangup_by", "flow", "emergency",
                              "rtp_sent", "rtp_received", "rtp_dropped", "recording_url", "recording_seconds",
                              "direction", "parent_call_id", "node"] + CallQuality.columns

    /// Their SQL types, for casts of parameters.
    static let callTypes = ["text", "text", "text", "text", "text", "text", "float8", "float8", "float8", "int8", "int8",
                            "text", "int4", "text", "text", "bool", "int8", "int8", "int8", "text", "int8", "text", "text", "text",
                            "int8", "int8", "float8", "float8", "int8", "float8", "float8", "float8"]

    /// Call columns added after the first release of this schema: (name, definition). A
    /// new table has them; an older one gets them (`migration`) when a writer connects.
    /// Quality figures never measured are NULL; the two counts are 0.
    static let addedCallColumns = [("rtp_expected", "BIGINT NOT NULL DEFAULT 0"), ("rtp_lost", "BIGINT NOT NULL DEFAULT 0"),
                                   ("jitter_mean_ms", "DOUBLE PRECISION"), ("jitter_max_ms", "DOUBLE PRECISION"),
                                   ("peer_rtp_lost", "BIGINT"), ("peer_jitter_ms", "DOUBLE PRECISION"),
                                   ("rtt_ms", "DOUBLE PRECISION"), ("mos", "DOUBLE PRECISION")]

    /// The names of the `calls` table's columns (none when there is no such table).
    static let existingCallColumns = """
        SELECT attname FROM pg_attribute WHERE attrelid = to_regclass('calls') AND attnum > 0 AND NOT attisdropped
        """

    /// The statement adding `missing` of `addedCallColumns` to an older table (one
    /// statement: all or none; IF NOT EXISTS, so two nodes upgrading at once both succeed).
    static func migration(_ missing: [(String, String)]) -> String {
        "ALTER TABLE calls " + missing.map { "ADD COLUMN IF NOT EXISTS \($0.0) \($0.1)" }.joined(separator: ", ")
    }

    /// The SELECT list of `callColumns` for a table that lacks `missing` (an older table a
    /// reader finds before any writer migrated it): those read as their defaults.
    static func callSelectList(missing: Set<String>) -> String {
        callColumns.map { name in
            guard missing.contains(name), let definition = addedCallColumns.first(where: { $0.0 == name })?.1 else { return name }
            return definition.range(of: "DEFAULT ").map { String(definition[$0.upperBound...]) } ?? "NULL"
        }.joined(separator: ",")
    }

    static let messageColumns = ["message_id", "sip_call_id", "did", "tenant", "from_number", "received_time",
                                 "body_length", "encoding", "segments", "node"]

    /// Created when missing, under an advisory lock so two nodes starting together do not
    /// race on the catalog.
    static let statements = [
        """
        CREATE TABLE IF NOT EXISTS calls (
          seq BIGSERIAL PRIMARY KEY,
          call_id TEXT NOT NULL UNIQUE, sip_call_id TEXT NOT NULL, did TEXT NOT NULL,
          tenant TEXT NOT NULL, from_number TEXT NOT NULL, to_number TEXT NOT NULL,
          start_time DOUBLE PRECISION NOT NULL, answer_time DOUBLE PRECISION, end_time DOUBLE PRECISION NOT NULL,
          duration_ms BIGINT NOT NULL, billable_seconds BIGINT NOT NULL,
          disposition TEXT NOT NULL, sip_code INTEGER NOT NULL, hangup_by TEXT NOT NULL,
          flow TEXT NOT NULL, emergency BOOLEAN NOT NULL DEFAULT false,
          rtp_sent BIGINT NOT NULL DEFAULT 0, rtp_received BIGINT NOT NULL DEFAULT 0,
          rtp_dropped BIGINT NOT NULL DEFAULT 0, recording_url TEXT NOT NULL DEFAULT '',
          recording_seconds BIGINT NOT NULL DEFAULT 0, direction TEXT NOT NULL DEFAULT 'inbound',
          parent_call_id TEXT NOT NULL DEFAULT '', node TEXT NOT NULL,
          \(addedCallColumns.map { "\($0.0) \($0.1)" }.joined(separator: ", ")))
        """,
        "CREATE INDEX IF NOT EXISTS calls_start ON calls(start_time)",
        "CREATE INDEX IF NOT EXISTS calls_tenant ON calls(tenant, start_time)",
        // Recovery and takeover look only at active records, by node.
        "CREATE INDEX IF NOT EXISTS calls_active ON calls(node) WHERE disposition = 'active'",
        """
        CREATE TABLE IF NOT EXISTS messages (
          seq BIGSERIAL PRIMARY KEY,
          message_id TEXT NOT NULL UNIQUE, sip_call_id TEXT NOT NULL, did TEXT NOT NULL,
          tenant TEXT NOT NULL, from_number TEXT NOT NULL, received_time DOUBLE PRECISION NOT NULL,
          body_length BIGINT NOT NULL, encoding TEXT NOT NULL, segments BIGINT NOT NULL, node TEXT NOT NULL)
        """,
        "CREATE INDEX IF NOT EXISTS messages_received ON messages(received_time)",
        "CREATE TABLE IF NOT EXISTS nodes (node TEXT PRIMARY KEY, lease_until DOUBLE PRECISION NOT NULL)",
        // Who read records out of the shared store (cdr/sms export), from which node's
        // config, when: the cluster's trail beside each host's sealed audit log.
        """
        CREATE TABLE IF NOT EXISTS audit_events (
          seq BIGSERIAL PRIMARY KEY, time DOUBLE PRECISION NOT NULL, node TEXT NOT NULL,
          actor TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL)
        """,
    ]

    /// `duration_ms` of a record closed at its last checkpoint: SQLite's
    /// `MAX(0, ROUND(x))` (half away from zero), not PostgreSQL's `round` (half to even).
    static let checkpointDuration = "GREATEST(0, floor((end_time - answer_time) * 1000 + 0.5))::bigint"

    /// The assignments closing an active record as interrupted at its last checkpoint.
    static let interruptedAssignments = """
        disposition = 'interrupted', hangup_by = 'none',
        duration_ms = CASE WHEN answer_time IS NULL THEN 0 ELSE \(checkpointDuration) END,
        billable_seconds = CASE WHEN answer_time IS NULL THEN 0 ELSE (\(checkpointDuration) + 999) / 1000 END
        """

    /// Prepared on every connection of a writer: (name, SQL).
    static let prepared: [(String, String)] = {
        let cols = callColumns.joined(separator: ",")
        let params = callTypes.enumerated().map { "$\($0 + 1)::\($1)" }.joined(separator: ",")
        // $1 is call_id; the others follow the column order.
        let assignments = callColumns.enumerated().dropFirst().map { "\($1)=$\($0 + 1)" }.joined(separator: ",")
        let messageParams = (1...messageColumns.count).map { "$\($0)" }.joined(separator: ",")
        return [
            // Never duplicated, never replaced.
            ("tf_insert", "INSERT INTO calls (\(cols)) VALUES (\(params)) ON CONFLICT (call_id) DO NOTHING"),
            // Close the active record; insert the final one when it was never begun; a
            // record that is no longer active stays as it is.
            ("tf_finish", """
                WITH closed AS (UPDATE calls SET \(assignments) WHERE call_id=$1 AND disposition='active' RETURNING 1)
                INSERT INTO calls (\(cols)) SELECT \(params) WHERE NOT EXISTS (SELECT 1 FROM closed)
                ON CONFLICT (call_id) DO NOTHING
                """),
            // $1 time, $2 call ids, $3 answer times (NULL when not answered yet).
            ("tf_checkpoint", """
                UPDATE calls SET end_time=$1, answer_time=COALESCE(c.answer, calls.answer_time)
                FROM unnest($2::text[], $3::float8[]) AS c(id, answer)
                WHERE calls.call_id=c.id AND calls.disposition='active'
                """),
            ("tf_message", "INSERT INTO messages (\(messageColumns.joined(separator: ","))) VALUES (\(messageParams)) ON CONFLICT (message_id) DO NOTHING"),
            // $1 node, $2 lease end.
            ("tf_lease", "INSERT INTO nodes (node, lease_until) VALUES ($1, $2) ON CONFLICT (node) DO UPDATE SET lease_until = EXCLUDED.lease_until"),
            // One statement: concurrent takeovers by two nodes close each record once (the
            // second waits on the row lock, then finds it no longer active). $1 now - grace,
            // $2 this node (never taken over by itself).
            ("tf_takeover", """
                UPDATE calls SET \(interruptedAssignments)
                WHERE disposition='active' AND node <> $2
                  AND node IN (SELECT node FROM nodes WHERE lease_until < $1)
                """),
        ]
    }()
}
