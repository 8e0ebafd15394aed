import Foundation

/// A value behind a lock: `withLock` is the only way to it.
///
/// Used instead of `Synchronization.Mutex`, whose Linux implementation is a bare futex
/// taken inside the (uninstrumented) Synchronization library: ThreadSanitizer sees
/// neither the lock nor the happens-before it gives, and reports every access made
/// under it as a race. This one is a pthread mutex (through NSLock), which TSan
/// intercepts, so its reports (races and lock-order inversions) mean something.
public final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    public init(_ value: sending Value) { self.value = value }

    /// Runs `body` with the value while holding the lock.
    public func withLock<Result, E: Error>(_ body: (inout sending Value) throws(E) -> sending Result) throws(E) -> sending Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
