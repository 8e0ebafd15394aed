/// Decoded audio by key, bounded by an entry count and a byte budget; the oldest entry is
/// evicted first. Not thread-safe: its owner keeps it under a lock.
///
/// Both caches that hold audio for calls use it (synthesised prompts, `<Play>` sources):
/// a tenant's flow can make every prompt or URL unique, so a cache without a byte budget
/// would grow for as long as the daemon runs.
public struct BoundedAudioStore<Key: Hashable> {
    private var entries: [Key: EncodedAudio] = [:]
    /// Insertion order; `head` is the index of the oldest live key (amortised O(1) eviction).
    private var order: [Key] = []
    private var head = 0
    /// Bytes of audio held (both G.711 laws: two bytes per sample).
    public private(set) var bytes = 0
    public let maxEntries: Int
    public let maxBytes: Int

    public init(maxEntries: Int, maxBytes: Int) {
        self.maxEntries = maxEntries
        self.maxBytes = maxBytes
    }

    /// The bytes an entry costs.
    public static func size(of audio: EncodedAudio) -> Int { audio.storedBytes }

    public var count: Int { entries.count }

    public subscript(key: Key) -> EncodedAudio? { entries[key] }

    /// Keeps `audio` under `key`, evicting the oldest entries past either budget. Audio
    /// larger than the whole byte budget is not kept (the caller plays it once) and
    /// evicts nothing. Returns whether it was kept.
    @discardableResult
    public mutating func insert(_ audio: EncodedAudio, for key: Key) -> Bool {
        let size = Self.size(of: audio)
        guard size <= maxBytes, maxEntries > 0 else { return false }
        if let old = entries.updateValue(audio, forKey: key) {
            bytes -= Self.size(of: old)
        } else {
            order.append(key)
        }
        bytes += size
        while entries.count > maxEntries || bytes > maxBytes, head < order.count {
            let oldest = order[head]
            head += 1
            if oldest == key {  // replaced in place: it is the newest now
                order.append(key)
            } else if let old = entries.removeValue(forKey: oldest) {
                bytes -= Self.size(of: old)
            }
        }
        compactOrder()
        return true
    }

    /// Drops the evicted prefix of `order` once it is most of the array.
    private mutating func compactOrder() {
        guard head > 64, head * 2 > order.count else { return }
        order.removeFirst(head)
        head = 0
    }
}
