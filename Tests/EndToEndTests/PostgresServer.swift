import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A throwaway PostgreSQL 15 server for tests (records, cluster tests): `initdb` in a
/// temporary directory, its unix socket there too, TCP on a free loopback port, normal
/// durability settings (fsync on). It can be stopped and started again on the same data
/// directory and port (an outage). PostgreSQL refuses to run as root: under euid 0 the
/// server programs run as the `postgres` user (the Debian package creates it) and the
/// directory is handed to it.
///
/// Every failure throws with the tool's output: a test whose database cannot start fails,
/// it never skips.
final class PostgresServer: @unchecked Sendable {
    static let bin = "/usr/lib/postgresql/15/bin"
    /// The database and the (trusted, passwordless) superuser the tests use.
    static let database = "tollfreed", user = "tollfreed"

    let directory: URL
    let port: UInt16
    private var dataDirectory: String { directory.appendingPathComponent("data").path }
    private var socketDirectory: String { directory.appendingPathComponent("sock").path }
    private var logFile: String { directory.appendingPathComponent("server.log").path }

    /// The URL a daemon connects with.
    var url: String { "postgresql://\(Self.user)@127.0.0.1:\(port)/\(Self.database)" }

    /// Creates the cluster and the database and starts the server on `port` (default: a
    /// free one).
    init(port: UInt16? = nil) throws {
        self.port = port ?? freeServerPort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tf-pg-\(getpid())-\(self.port)")
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(atPath: socketDirectory, withIntermediateDirectories: true)
        if geteuid() == 0 {
            try run("/bin/chown", ["-R", "postgres:postgres", directory.path], asServer: false)
        }
        try run("\(Self.bin)/initdb", ["-D", dataDirectory, "-U", Self.user, "--auth=trust", "-E", "UTF8",
                                        "--locale=C", "--no-instructions"])
        try start()
        try psql("CREATE DATABASE \(Self.database)", database: "postgres")
    }

    deinit { destroy() }

    /// Starts the server (again) and waits until it accepts connections.
    func start() throws {
        try run("\(Self.bin)/pg_ctl", ["-D", dataDirectory, "-l", logFile, "-w", "-t", "30",
                                       "-o", "-p \(port) -k \(socketDirectory) -c listen_addresses=127.0.0.1", "start"])
    }

    /// Stops the server: `fast` (clients disconnected, clean shutdown) or `immediate` (no
    /// shutdown checkpoint, like a crash: recovery replays the WAL at the next start).
    func stop(mode: String = "fast") throws {
        try run("\(Self.bin)/pg_ctl", ["-D", dataDirectory, "-m", mode, "-w", "-t", "30", "stop"])
    }

    /// Stops the server if it runs and removes its directory.
    func destroy() {
        _ = try? run("\(Self.bin)/pg_ctl", ["-D", dataDirectory, "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs SQL with psql (unaligned, tuples only, `|`-separated); returns its output
    /// without the final newline. Throws on any error.
    @discardableResult
    func psql(_ sql: String, database: String = PostgresServer.database) throws -> String {
        let r = runProgram("\(Self.bin)/psql", ["-h", "127.0.0.1", "-p", "\(port)", "-U", Self.user, "-d", database,
                                                "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql], timeout: 60)
        guard r.status == 0 else { throw PostgresServerError("psql \(sql.prefix(80)): exit \(r.status): \(r.output)") }
        return r.output.hasSuffix("\n") ? String(r.output.dropLast()) : r.output
    }

    /// The server log (for failure messages).
    var log: String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }

    /// Runs a server program (as `postgres` under root) to completion.
    private func run(_ program: String, _ args: [String], asServer: Bool = true) throws {
        let (path, arguments) = asServer && geteuid() == 0 ? ("/usr/sbin/runuser", ["-u", "postgres", "--", program] + args) : (program, args)
        let (status, output) = try spawnDetached(path, arguments)
        guard status == 0 else {
            throw PostgresServerError("\(program) \(args.joined(separator: " ")): exit \(status): \(output)\n\(log.suffix(2000))")
        }
    }

    /// Spawns `path` with standard input from /dev/null, output into a file, in the
    /// server directory, and no other descriptor of ours: the postmaster `pg_ctl` leaves
    /// running must not hold Foundation's process-exit socket (`Process` would wait for
    /// it forever) nor any lock file the test runner holds. Waits for it; returns its exit
    /// status and output.
    private func spawnDetached(_ path: String, _ args: [String]) throws -> (Int32, String) {
        let out = directory.appendingPathComponent("command.out").path
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // glibc's *_np actions are declared only under _GNU_SOURCE: looked up at run time.
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        typealias ChangeDirectory = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
        guard let closeFrom = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np"),
              let changeDirectory = dlsym(nil, "posix_spawn_file_actions_addchdir_np") else {
            throw PostgresServerError("glibc lacks posix_spawn_file_actions_addclosefrom_np (glibc 2.34+ needed)")
        }
        _ = unsafeBitCast(closeFrom, to: CloseFrom.self)(&actions, 3)
        _ = unsafeBitCast(changeDirectory, to: ChangeDirectory.self)(&actions, directory.path)
        let argv = ([path] + args).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, nil, argv, environ)
        guard rc == 0 else { throw PostgresServerError("cannot run \(path): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let output = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        // WIFEXITED / WEXITSTATUS by hand (macros).
        return ((status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F), output)
    }
}

/// A test database that could not be set up or queried.
struct PostgresServerError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
