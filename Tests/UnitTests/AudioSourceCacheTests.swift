import Foundation
import Media
import Observability
import Webhooks
import XCTest
@testable import CallControl
@testable import Commands
@testable import Configuration
@testable import Daemon

/// `<Play>` audio is kept for later calls up to the cache's budgets: a flow that plays a
/// new source on every call must not grow the daemon without end.
final class AudioSourceCacheTests: XCTestCase {
    private func load(_ cache: AudioSourceCache, _ path: String) throws -> EncodedAudio {
        let done = DispatchSemaphore(value: 0)
        let result = Locked<Result<EncodedAudio, MediaError>?>(nil)
        cache.load(path) { r in result.withLock { $0 = r }; done.signal() }
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        return try XCTUnwrap(result.withLock { $0 }).get()
    }

    func testUniqueSourcesStayWithinTheByteBudget() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("play-cache-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let logger = Logger(minimumLevel: .error, journald: false, sink: MemorySink())
        let budget = 3 * 2 * 8000  // three 1 s sources, both laws
        let cache = AudioSourceCache(webhooks: WebhookClient(logger: logger), logger: logger,
                                     maxBytes: budget)
        var paths: [String] = []
        for i in 0..<10 {
            let path = "\(dir)/greeting-\(i).wav"
            try WAVFile.write([Int16](repeating: Int16(i * 100), count: 8000), to: path)
            paths.append(path)
            XCTAssertEqual(try load(cache, path).sampleCount, 8000, "every source plays, kept or not")
        }
        XCTAssertEqual(cache.cachedEntries, 3)
        XCTAssertEqual(cache.cachedBytes, budget)
        // The newest are the ones kept: the next load of the oldest reads the file again.
        try FileManager.default.removeItem(atPath: paths[9])
        XCTAssertEqual(try load(cache, paths[9]).sampleCount, 8000, "a kept source is not read again")
        try FileManager.default.removeItem(atPath: paths[0])
        XCTAssertThrowsError(try load(cache, paths[0]), "an evicted source is loaded again (and its file is gone)")
    }
}
