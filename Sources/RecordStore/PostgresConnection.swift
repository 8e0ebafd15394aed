import CPostgres
import Foundation

/// An error from PostgreSQL or libpq, with the server's SQLSTATE when there is one.
public struct PostgresError: Error, CustomStringConvertible {
    public var description: String
    /// Five-character SQLSTATE ("23505"...), empty for client-side failures.
    public var sqlState: String
    /// True when the connection is gone or could not be made (the server is down,
    /// restarting or unreachable): the caller may spool and retry later. False for errors
    /// the statement itself caused.
    public var isConnectionError: Bool

    public init(_ description: String, sqlState: String = "", isConnectionError: Bool) {
        self.description = description
        self.sqlState = sqlState
        self.isConnectionError = isConnectionError
    }
}

/// One statement of a pipeline: a prepared statement's name and its text parameters, or
/// a statement without parameters (`BEGIN`, `COMMIT`).
struct PreparedCall {
    var name: String
    var parameters: [String?]
    var sql: String?

    init(name: String, parameters: [String?]) {
        self.name = name
        self.parameters = parameters
    }

    init(sql: String) {
        name = sql
        parameters = []
        self.sql = sql
    }
}

/// A libpq connection (blocking; the owner serialises its use). Parameters travel as text
/// (`PQexecParams` / prepared statements): no value is ever spliced into SQL.
final class PostgresConnection {
    private var conn: OpaquePointer?

    /// Connects to `url` (`postgresql://user@host:port/db`); times out after
    /// `connectTimeout` seconds. TCP keepalives and a user timeout make a dead peer an
    /// error within seconds rather than a hang.
    init(url: String, connectTimeout: Int = 5) throws(PostgresError) {
        let keys = ["dbname", "connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval",
                    "keepalives_count", "tcp_user_timeout", "application_name", "client_encoding"]
        let values = [url, "\(connectTimeout)", "1", "5", "2", "3", "10000", "tollfreed", "UTF8"]
        let k = keys.map { strdup($0) }, v = values.map { strdup($0) }
        defer { (k + v).forEach { free($0) } }
        var kp = k.map { UnsafePointer<CChar>($0) } + [nil]
        var vp = v.map { UnsafePointer<CChar>($0) } + [nil]
        // expand_dbname=1: the URL in dbname is parsed; the later keys add to it.
        conn = PQconnectdbParams(&kp, &vp, 1)
        guard let c = conn, PQstatus(c) == CONNECTION_OK else {
            let message = conn.map { String(cString: PQerrorMessage($0)) } ?? "out of memory"
            PQfinish(conn)
            conn = nil
            throw PostgresError("cannot connect to \(Self.redacted(url)): \(message.trimmed)", isConnectionError: true)
        }
    }

    deinit { PQfinish(conn) }

    /// True while the connection is usable.
    var isOK: Bool { conn.map { PQstatus($0) == CONNECTION_OK } ?? false }

    /// `url` without its password, for logs and messages.
    static func redacted(_ url: String) -> String {
        guard var c = URLComponents(string: url), c.password != nil else { return url }
        c.password = "***"
        return c.string ?? url
    }

    /// Nil when libpq can parse `url` as connection parameters, else its complaint.
    static func problem(with url: String) -> String? {
        var err: UnsafeMutablePointer<CChar>?
        guard let opts = PQconninfoParse(url, &err) else {
            defer { PQfreemem(err) }
            return err.map { String(cString: $0).trimmed } ?? "cannot parse"
        }
        PQconninfoFree(opts)
        return nil
    }

    /// Runs one statement with text parameters; returns its result (freed by the caller
    /// through `Result`'s deinit).
    @discardableResult
    func exec(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> PostgresResult {
        let res = withCParameters(parameters) { values in
            PQexecParams(conn, sql, Int32(parameters.count), nil, values, nil, nil, 0)
        }
        return try check(res, sql)
    }

    /// Prepares `sql` under `name` for `PreparedCall`s.
    func prepare(_ name: String, _ sql: String) throws(PostgresError) {
        _ = try check(PQprepare(conn, name, sql, 0, nil), sql)
    }

    /// Sends `calls` in pipeline mode, in chunks with a sync after each (one network
    /// round trip per chunk rather than per statement); returns each call's affected-row
    /// count. Stops at the first error (the statements after it were skipped by the
    /// server) and throws it; the caller's transaction is then in the failed state.
    func pipeline(_ calls: [PreparedCall], chunk: Int = 256) throws(PostgresError) -> [Int] {
        guard PQenterPipelineMode(conn) == 1 else { throw failure("cannot enter pipeline mode") }
        defer { PQexitPipelineMode(conn) }
        var counts: [Int] = []
        counts.reserveCapacity(calls.count)
        var start = 0
        while start < calls.count {
            let part = calls[start..<min(calls.count, start + chunk)]
            for call in part {
                let sent = call.sql.map { PQsendQueryParams(conn, $0, 0, nil, nil, nil, nil, 0) }
                    ?? withCParameters(call.parameters) { values in
                        PQsendQueryPrepared(conn, call.name, Int32(call.parameters.count), values, nil, nil, 0)
                    }
                guard sent == 1 else { throw failure("cannot send \(call.name)") }
            }
            guard PQpipelineSync(conn) == 1 else { throw failure("cannot sync the pipeline") }
            var firstError: PostgresError?
            for call in part {
                // Each statement's results end with a NULL.
                while let res = PQgetResult(conn) {
                    let status = PQresultStatus(res)
                    if status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK {
                        counts.append(Int(String(cString: PQcmdTuples(res))) ?? 0)
                    } else if firstError == nil && status != PGRES_PIPELINE_ABORTED {
                        firstError = error(from: res, call.name)
                    }
                    PQclear(res)
                }
            }
            // The sync's own result.
            while let res = PQgetResult(conn) {
                let status = PQresultStatus(res)
                PQclear(res)
                if status == PGRES_PIPELINE_SYNC { break }
            }
            if let firstError { throw firstError }
            if !isOK { throw failure("connection lost") }
            start += chunk
        }
        return counts
    }

    /// Turns a result into a `PostgresResult` or an error (connection errors recognised).
    private func check(_ res: OpaquePointer?, _ sql: String) throws(PostgresError) -> PostgresResult {
        guard let res else { throw failure("no result for \(sql.prefix(60))") }
        let status = PQresultStatus(res)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            let e = error(from: res, String(sql.prefix(60)))
            PQclear(res)
            throw e
        }
        return PostgresResult(res)
    }

    private func error(from res: OpaquePointer, _ what: String) -> PostgresError {
        let state = PQresultErrorField(res, Int32(UInt8(ascii: "C"))).map { String(cString: $0) } ?? ""
        let message = PQresultErrorMessage(res).map { String(cString: $0) } ?? ""
        return PostgresError("\(message.trimmed) (in \(what))", sqlState: state,
                             isConnectionError: !isOK || Self.isConnectionState(state))
    }

    /// A client-side failure: a connection error when the connection is not OK.
    private func failure(_ what: String) -> PostgresError {
        let message = conn.map { String(cString: PQerrorMessage($0)).trimmed } ?? "not connected"
        return PostgresError("\(what): \(message)", isConnectionError: !isOK)
    }

    /// SQLSTATEs meaning the server went away or is not accepting work: class 08
    /// (connection exception), 57P01-57P03 (shutdown, crash, starting up), 53300 (too
    /// many connections).
    static func isConnectionState(_ s: String) -> Bool {
        s.hasPrefix("08") || s == "57P01" || s == "57P02" || s == "57P03" || s == "53300"
    }

    /// Calls `body` with C strings of `parameters` (NULL for nil), valid during the call.
    private func withCParameters<R>(_ parameters: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
        let copies = parameters.map { $0.map { strdup($0) } ?? nil }
        defer { copies.forEach { free($0) } }
        let pointers = copies.map { UnsafePointer<CChar>($0) }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}

/// A query result; cleared when released.
final class PostgresResult {
    private let res: OpaquePointer

    init(_ res: OpaquePointer) { self.res = res }
    deinit { PQclear(res) }

    var rows: Int { Int(PQntuples(res)) }
    /// Rows the command affected (UPDATE/INSERT/DELETE).
    var affected: Int { Int(String(cString: PQcmdTuples(res))) ?? 0 }
    func isNull(_ row: Int, _ column: Int) -> Bool { PQgetisnull(res, Int32(row), Int32(column)) == 1 }
    func text(_ row: Int, _ column: Int) -> String { String(cString: PQgetvalue(res, Int32(row), Int32(column))) }
    func int(_ row: Int, _ column: Int) -> Int64 { Int64(text(row, column)) ?? 0 }
    func double(_ row: Int, _ column: Int) -> Double? { isNull(row, column) ? nil : Double(text(row, column)) }
    func bool(_ row: Int, _ column: Int) -> Bool { PQgetvalue(res, Int32(row), Int32(column)).pointee == CChar(UInt8(ascii: "t")) }
}

extension String {
    var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}
