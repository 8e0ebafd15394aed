/// A prompt ready to send: 8 kHz audio encoded once in both G.711 laws.
///
/// Immutable after creation and shared by every call that plays it, so a thousand callers
/// hearing the same greeting share one buffer and the pacer only copies bytes.
public final class EncodedAudio: @unchecked Sendable {
    /// Number of 8 kHz samples (= bytes per law).
    public let sampleCount: Int
    let ulaw: UnsafeMutableBufferPointer<UInt8>
    let alaw: UnsafeMutableBufferPointer<UInt8>

    /// Encodes 8 kHz 16-bit linear samples.
    public init(samples: [Int16]) {
        sampleCount = samples.count
        ulaw = .allocate(capacity: max(1, samples.count))
        alaw = .allocate(capacity: max(1, samples.count))
        samples.withUnsafeBufferPointer { s in
            G711.encode(s, law: .ulaw, into: ulaw)
            G711.encode(s, law: .alaw, into: alaw)
        }
    }

    deinit {
        ulaw.deallocate()
        alaw.deallocate()
    }

    /// Duration in milliseconds.
    public var durationMilliseconds: Int { sampleCount / 8 }

    @inline(__always)
    func bytes(_ law: G711.Law) -> UnsafeMutableBufferPointer<UInt8> { law == .ulaw ? ulaw : alaw }
}
