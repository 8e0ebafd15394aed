import Foundation
import Observability
import Synchronization

/// Writes finished records off the signaling thread with group commit: every record that
/// arrives while a transaction is being written goes into the next one, so a burst of
/// call ends costs a few fsyncs, not one each. A record that fails to store is kept and
/// retried; `flush()` blocks until everything queued so far is stored.
public final class CDRWriter: Sendable {
    private let store: any CDRStore
    private let logger: Logger
    private let queue = DispatchQueue(label: "cdr-writer")
    private let pending = Locked<[CDROperation]>([])
    private let scheduled = Atomic<Bool>(false)

    /// Told how long each successful transaction took, in seconds (metrics).
    private let observer: (@Sendable (Double) -> Void)?
    /// Written into every record (`node.id`).
    private let node: String
    /// Whether a checkpoint with no calls is still written: a shared store renews this
    /// node's lease with it (an idle node must keep its lease).
    private let heartbeats: Bool

    public init(store: any CDRStore, logger: Logger, node: String = "", heartbeats: Bool = false,
                observer: (@Sendable (Double) -> Void)? = nil) {
        self.store = store
        self.logger = logger
        self.node = node
        self.heartbeats = heartbeats
        self.observer = observer
    }

    /// Queues a final record (a refused call). Any thread, never blocks on disk.
    public func submit(_ record: CallDetailRecord) { enqueue(.insert(stamped(record))) }

    /// Queues the active record of an admitted call.
    public func begin(_ record: CallDetailRecord) { enqueue(.insert(stamped(record))) }

    /// Queues the final values of a call that was begun.
    public func finish(_ record: CallDetailRecord) { enqueue(.finish(stamped(record))) }

    /// Queues a message record.
    public func submit(message: MessageDetailRecord) {
        var m = message
        m.node = node
        enqueue(.message(m))
    }

    /// Queues a checkpoint of the calls that are up.
    public func checkpoint(_ calls: [(callID: String, answerTime: Date?)], at time: Date) {
        guard !calls.isEmpty || heartbeats else { return }
        enqueue(.checkpoint(calls, at: time))
    }

    private func stamped(_ record: CallDetailRecord) -> CallDetailRecord {
        var r = record
        r.node = node
        return r
    }

    private func enqueue(_ op: CDROperation) {
        pending.withLock { $0.append(op) }
        if !scheduled.exchange(true, ordering: .acquiringAndReleasing) {
            queue.async { [self] in writePending() }
        }
    }

    /// Writes everything queued so far; returns when it is on disk (or failed).
    public func flush() {
        queue.sync { writePending() }
    }

    private func writePending() {
        scheduled.store(false, ordering: .releasing)
        let batch = pending.withLock { p -> [CDROperation] in let b = p; p.removeAll(); return b }
        guard !batch.isEmpty else { return }
        var attempt = 0
        while true {
            do {
                let started = DispatchTime.now().uptimeNanoseconds
                try store.apply(batch)
                observer?(Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
                return
            } catch {
                attempt += 1
                logger.error("cdr.write_failed", ["operations": batch.count, "attempt": attempt, "error": "\(error)"])
                if attempt >= 5 {
                    // Keep them for the next write rather than dropping them.
                    pending.withLock { $0.insert(contentsOf: batch, at: 0) }
                    return
                }
                Thread.sleep(forTimeInterval: 0.05 * Double(attempt))
            }
        }
    }
}
