/// The receiver's sessions indexed by file descriptor, in memory it manages itself.
///
/// Elements are reached through addressors, so `table[fd]!.processor.process(...)` works on
/// the stored value in place: no copy of the session (and no retain/release of the
/// references inside it) and no dynamic exclusivity check per access, which an array
/// stored in a class property would cost on every packet. Used from one thread only.
final class SessionTable<Element> {
    private var base: UnsafeMutablePointer<Element?>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int = 1024) {
        self.capacity = max(1, capacity)
        base = .allocate(capacity: self.capacity)
    }

    deinit {
        base.deinitialize(count: count)
        base.deallocate()
    }

    var indices: Range<Int> { 0..<count }

    subscript(i: Int) -> Element? {
        unsafeAddress {
            precondition(i >= 0 && i < count, "session table index out of range")
            return UnsafePointer(base + i)
        }
        unsafeMutableAddress {
            precondition(i >= 0 && i < count, "session table index out of range")
            return base + i
        }
    }

    /// Makes indices up to `i` valid (new slots are nil).
    func grow(toInclude i: Int) {
        guard i >= count else { return }
        if i >= capacity {
            var c = capacity
            while c <= i { c *= 2 }
            let bigger = UnsafeMutablePointer<Element?>.allocate(capacity: c)
            bigger.moveInitialize(from: base, count: count)
            base.deallocate()
            base = bigger
            capacity = c
        }
        (base + count).initialize(repeating: nil, count: i + 1 - count)
        count = i + 1
    }

    func removeAll() {
        base.deinitialize(count: count)
        count = 0
    }
}
