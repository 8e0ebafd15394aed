import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Observability

/// The `URLSession` delegate of ``WebhookClient``: collects each task's body up to a limit
/// and stops the transfer as soon as the limit is passed, by the announced Content-Length
/// or by the bytes counted as they arrive, so an oversized answer never sits in memory.
final class BoundedDataDelegate: NSObject, URLSessionDataDelegate, Sendable {
    /// How a task ended.
    struct Outcome: Sendable {
        /// The body read (at most the limit plus the last piece received).
        var data: Data
        var response: URLResponse?
        var error: (any Error)?
        /// True when the limit stopped the transfer.
        var tooLarge: Bool
    }

    private struct Entry {
        var data = Data()
        var tooLarge = false
        let limit: Int
        let completion: @Sendable (Outcome) -> Void
    }

    private let entries = Locked<[Int: Entry]>([:])

    /// Watches `task` (call before `resume()`); `completion` runs once, when it ends.
    func register(_ task: URLSessionTask, limit: Int, completion: @escaping @Sendable (Outcome) -> Void) {
        entries.withLock { $0[task.taskIdentifier] = Entry(limit: limit, completion: completion) }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void) {
        let announced = response.expectedContentLength
        let refused = entries.withLock { entries -> Bool in
            guard let limit = entries[dataTask.taskIdentifier]?.limit, announced > limit else { return false }
            entries[dataTask.taskIdentifier]?.tooLarge = true
            return true
        }
        completionHandler(refused ? .cancel : .allow)
        // swift-corelibs-foundation ignores the disposition: cancel explicitly.
        if refused { dataTask.cancel() }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        let passed = entries.withLock { entries -> Bool in
            let id = dataTask.taskIdentifier
            guard entries[id]?.tooLarge == false else { return false }
            entries[id]!.data.append(data)  // in place: no copy of the body so far
            guard entries[id]!.data.count > entries[id]!.limit else { return false }
            entries[id]!.tooLarge = true
            return true
        }
        if passed { dataTask.cancel() }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        guard let entry = entries.withLock({ $0.removeValue(forKey: task.taskIdentifier) }) else { return }
        entry.completion(Outcome(data: entry.data, response: task.response, error: error, tooLarge: entry.tooLarge))
    }
}
