import Media
import XCTest

/// The audio caches' bounded store: oldest first out past the entry or byte budget.
final class BoundedAudioStoreTests: XCTestCase {
    private func audio(samples: Int) -> EncodedAudio { EncodedAudio(samples: [Int16](repeating: 100, count: samples)) }

    func testTheByteBudgetEvictsTheOldestFirst() {
        var store = BoundedAudioStore<String>(maxEntries: 100, maxBytes: 1_000)
        XCTAssertTrue(store.insert(audio(samples: 200), for: "a"))  // 400 bytes (two laws)
        XCTAssertTrue(store.insert(audio(samples: 200), for: "b"))
        XCTAssertEqual(store.bytes, 800)
        XCTAssertTrue(store.insert(audio(samples: 200), for: "c"))
        XCTAssertNil(store["a"], "the oldest went when the budget was passed")
        XCTAssertNotNil(store["b"])
        XCTAssertNotNil(store["c"])
        XCTAssertEqual(store.bytes, 800)
        XCTAssertEqual(store.count, 2)
    }

    func testTheEntryBudgetEvictsTheOldestFirst() {
        var store = BoundedAudioStore<Int>(maxEntries: 3, maxBytes: 1 << 20)
        for i in 0..<10 { store.insert(audio(samples: 1), for: i) }
        XCTAssertEqual(store.count, 3)
        XCTAssertEqual((0..<10).filter { store[$0] != nil }, [7, 8, 9])
        XCTAssertEqual(store.bytes, 6)
    }

    func testAudioLargerThanTheBudgetIsNotKeptAndEvictsNothing() {
        var store = BoundedAudioStore<String>(maxEntries: 10, maxBytes: 1_000)
        store.insert(audio(samples: 100), for: "small")
        XCTAssertFalse(store.insert(audio(samples: 501), for: "huge"))
        XCTAssertNil(store["huge"])
        XCTAssertNotNil(store["small"])
        XCTAssertEqual(store.bytes, 200)
    }

    func testReplacingAKeyCountsItOnceAndKeepsItEvictable() {
        var store = BoundedAudioStore<String>(maxEntries: 2, maxBytes: 1 << 20)
        store.insert(audio(samples: 10), for: "a")
        store.insert(audio(samples: 30), for: "a")
        XCTAssertEqual(store.bytes, 60)
        XCTAssertEqual(store.count, 1)
        store.insert(audio(samples: 10), for: "b")
        store.insert(audio(samples: 10), for: "c")
        XCTAssertNil(store["a"], "the replaced key is still evicted in its turn")
        XCTAssertEqual(store.bytes, 40)
    }

    /// Unique keys for as long as the daemon runs (a flow making a URL per call) stay
    /// within the budgets.
    func testUniqueKeysWithoutEndStayWithinTheBudget() {
        var store = BoundedAudioStore<Int>(maxEntries: 50, maxBytes: 10_000)
        for i in 0..<200_000 { store.insert(audio(samples: 1 + i % 97), for: i) }
        XCTAssertLessThanOrEqual(store.count, 50)
        XCTAssertLessThanOrEqual(store.bytes, 10_000)
        XCTAssertNotNil(store[199_999])
    }
}
