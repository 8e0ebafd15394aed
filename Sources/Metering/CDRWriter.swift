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
    private let pending = Mutex<[CallDetailRecord]>([])
    private let scheduled = Atomic<Bool>(false)

    public init(store: any CDRStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Queues a finished record. Any thread, never blocks on disk.
    public func submit(_ record: CallDetailRecord) {
        pending.withLock { $0.append(record) }
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
        let batch = pending.withLock { p -> [CallDetailRecord] in let b = p; p.removeAll(); return b }
        guard !batch.isEmpty else { return }
        var attempt = 0
        while true {
            do {
                try store.append(batch)
                return
            } catch {
                attempt += 1
                logger.error("cdr.write_failed", ["records": batch.count, "attempt": attempt, "error": "\(error)"])
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
