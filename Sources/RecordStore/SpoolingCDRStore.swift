import Foundation
import Metering
import Observability
import Synchronization

/// A `PostgresCDRStore` that never loses a record to a database outage: a batch that
/// cannot reach the database (a connection error) is appended to a local spool file and
/// fsynced, and `apply` returns as if stored. While the spool holds anything, new batches
/// go behind it, so the database sees every operation in the order it was made. A timer
/// reconnects with backoff (0.5 s doubling to 5 s) and replays the spool in order, one
/// transaction per entry, then empties it; a crash in the middle of a replay replays
/// again, which the store's idempotent operations make harmless.
///
/// The spool is bounded in the soft sense: past `maxBytes` `isBacklogFull` is true (the
/// daemon then refuses new ordinary calls), but records keep being spooled, never dropped.
public final class SpoolingCDRStore: CDRStore, @unchecked Sendable {
    public let inner: PostgresCDRStore
    /// Spool size past which the backlog counts as full.
    public let maxBytes: Int
    private let spool: SpoolFile
    private let logger: Logger
    private let lock = NSLock()
    /// The last attempt failed with a connection error.
    private var down = false
    private var backoff = 0.5
    /// No attempt on the database before this (monotonic seconds).
    private var nextAttempt = 0.0
    /// Bytes of the spool already stored by this process's current replay.
    private var replayedUpTo = 0
    private let bytes = Atomic<Int>(0)
    private let up = Atomic<Bool>(true)
    private var timer: DispatchSourceTimer?
    private let onChange: (@Sendable (_ spoolBytes: Int, _ databaseUp: Bool) -> Void)?

    /// Wraps `inner`, spooling into `directory`. Tries the database once: unreachable, the
    /// store starts spooling (logged); reachable, a spool left by an earlier process is
    /// replayed first. Any other database error (bad credentials are a connection error;
    /// a missing permission is not) throws.
    public init(inner: PostgresCDRStore, directory: String, maxBytes: Int, logger: Logger,
                onChange: (@Sendable (_ spoolBytes: Int, _ databaseUp: Bool) -> Void)? = nil) throws {
        self.inner = inner
        self.maxBytes = maxBytes
        self.logger = logger
        self.onChange = onChange
        spool = try SpoolFile(directory: directory)
        if spool.size > 0 { logger.warning("cdr.spool_found", ["bytes": spool.size, "path": spool.path]) }
        lock.lock()
        defer { lock.unlock() }
        do { try inner.connect() } catch let e as PostgresError where e.isConnectionError { markDown(e) }
        if spool.size > 0 && !down { drainLocked() }
        publish()
        onChange?(spool.size, !down)
    }

    /// Bytes waiting in the spool.
    public var spoolBytes: Int { bytes.load(ordering: .relaxed) }
    /// False while the database is unreachable.
    public var isDatabaseUp: Bool { up.load(ordering: .relaxed) }
    /// True when the spool holds `maxBytes` or more (read from any thread, lock-free).
    public var isBacklogFull: Bool { spoolBytes >= maxBytes }
    /// The spool file's path.
    public var spoolPath: String { spool.path }

    /// Starts the retry timer (every 250 ms it checks whether a reconnect or replay is due).
    public func start() {
        let t = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "cdr-spool"))
        t.schedule(deadline: .now() + 0.25, repeating: 0.25)
        t.setEventHandler { [weak self] in self?.retryIfDue() }
        t.resume()
        lock.lock()
        timer = t
        lock.unlock()
    }

    /// Stops the retry timer.
    public func stop() {
        lock.lock()
        timer?.cancel()
        timer = nil
        lock.unlock()
    }

    /// Reconnects or replays now if it is due (the timer's work; tests call it directly).
    public func retryIfDue() {
        lock.lock()
        defer { lock.unlock() }
        guard (spool.size > 0 || down) && !inBackoff else { return }
        if spool.size > 0 { return drainLocked() }
        do { try inner.connect(); markUp() } catch { failed(error) }
    }

    public func apply(_ operations: [CDROperation]) throws {
        lock.lock()
        defer { lock.unlock() }
        if spool.size == 0 && !inBackoff {
            do {
                try inner.apply(operations)
                return markUp()
            } catch let e as PostgresError where e.isConnectionError {
                markDown(e)
            }
        }
        // A checkpoint without calls only renews the lease: nothing to keep.
        let kept = operations.filter { if case .checkpoint(let c, _) = $0 { return !c.isEmpty } else { return true } }
        if !kept.isEmpty {
            var data: [UInt8] = []
            for start in stride(from: 0, to: kept.count, by: SpoolCodec.maxOperationsPerEntry) {
                data += try SpoolCodec.encode(.batch(Array(kept[start..<min(kept.count, start + SpoolCodec.maxOperationsPerEntry)])))
            }
            try spool.append(data)
            publish()
        }
        if spool.size > 0 && !inBackoff { drainLocked() }
    }

    /// This node's crash recovery, now when the database is there and nothing is spooled,
    /// else as a spool entry replayed in its place (before this process's own records).
    public func recoverInterrupted() throws -> Int {
        lock.lock()
        defer { lock.unlock() }
        if spool.size == 0 && !down {
            do { return try inner.recoverInterrupted() } catch let e as PostgresError where e.isConnectionError { markDown(e) }
        }
        try spool.append(try SpoolCodec.encode(.recover))
        publish()
        logger.warning("cdr.recovery_deferred", ["detail": "the database is unreachable: records left active by an earlier process are closed when it is back"])
        return 0
    }

    public func forEach(from: Date?, to: Date?, _ body: (CallDetailRecord) throws -> Void) throws {
        try inner.forEach(from: from, to: to, body)
    }

    public func forEachBillable(from: Date?, to: Date?, _ body: (BillableCall) throws -> Void) throws {
        try inner.forEachBillable(from: from, to: to, body)
    }

    public func forEachMessage(from: Date?, to: Date?, _ body: (MessageDetailRecord) throws -> Void) throws {
        try inner.forEachMessage(from: from, to: to, body)
    }

    public func count() throws -> Int {
        guard isDatabaseUp else { throw PostgresError("the database is unreachable", isConnectionError: true) }
        return try inner.count()
    }

    // MARK: Replay

    /// Replays the spool from where this process left off, then empties it. Stops at a
    /// connection error (resumed later) or another error (retried later, logged); a
    /// damaged entry and everything after it is set aside in a file of its own. Caller
    /// holds the lock.
    private func drainLocked() {
        var replayed = 0
        do {
            var reader = try SpoolReader(path: spool.path, from: replayedUpTo)
            while true {
                let next: (entry: SpoolEntry, end: Int)?
                do { next = try reader.next() } catch let damage as SpoolDamage {
                    try setAside(damage)
                    break
                }
                guard let next else { break }
                switch next.entry {
                case .batch(let ops): try inner.apply(ops)
                case .recover:
                    let n = try inner.recoverInterrupted()
                    if n > 0 { logger.warning("cdr.recovered", ["interrupted": n]) }
                }
                replayedUpTo = next.end
                replayed += 1
            }
            try spool.truncate()
            replayedUpTo = 0
            logger.notice("cdr.spool_replayed", ["entries": replayed])
            markUp()
        } catch {
            if replayed > 0 { logger.notice("cdr.spool_partly_replayed", ["entries": replayed, "next_byte": replayedUpTo]) }
            failed(error)
        }
        publish()
    }

    /// A damaged entry: the bytes from it on go to a file of their own, reported loudly
    /// (they may hold records: an operator decides), and the replay goes on without them.
    private func setAside(_ damage: SpoolDamage) throws {
        let aside = try spool.setAside(from: damage.offset)
        logger.error("cdr.spool_damaged", ["error": damage.description, "set_aside": aside,
                                           "detail": "entries from this offset were not replayed; inspect the file"])
    }

    // MARK: State

    private var inBackoff: Bool { Self.now() < nextAttempt }

    private static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    private func failed(_ error: Error) {
        if let e = error as? PostgresError, e.isConnectionError { return markDown(e) }
        logger.error("cdr.spool_replay_failed", ["error": "\(error)", "spool_bytes": spool.size])
        nextAttempt = Self.now() + backoff
        backoff = min(backoff * 2, 5)
    }

    private func markDown(_ e: PostgresError) {
        if !down {
            logger.error("cdr.database_unreachable", ["error": e.description, "spool": spool.path,
                                                      "detail": "records are spooled to local disk until it is back"])
        }
        down = true
        nextAttempt = Self.now() + backoff
        backoff = min(backoff * 2, 5)
        publish()
    }

    private func markUp() {
        if down { logger.notice("cdr.database_reachable", ["spool_bytes": spool.size]) }
        down = false
        backoff = 0.5
        nextAttempt = 0
        publish()
    }

    private func publish() {
        let sizeChanged = bytes.exchange(spool.size, ordering: .relaxed) != spool.size
        let stateChanged = up.exchange(!down, ordering: .relaxed) != !down
        if sizeChanged || stateChanged { onChange?(spool.size, !down) }
    }
}
