import Synchronization

/// A prompt ready to send: 8 kHz audio encoded once in both G.711 laws, or, for G.722
/// calls, a G.722 stream (from 16 kHz audio when it was made for them: `init(wideband:)`).
///
/// Shared by every call that plays it, so a thousand callers hearing the same greeting
/// share one buffer and the pacer only copies bytes. Every form is one byte per 8 kHz
/// sample period, so `sampleCount` is each form's length and a packet is 160 bytes of any.
/// A form is added at most once (`prepare`), before the pacer is told to play it, and never
/// changed after: the pacer reads it without a lock.
public final class EncodedAudio: @unchecked Sendable {
    /// Number of 8 kHz sample periods (= bytes per form).
    public let sampleCount: Int
    /// Made from 16 kHz audio for G.722 calls (it has no G.711 form until one is asked for).
    public let isWideband: Bool
    private(set) var ulaw = UnsafeMutableBufferPointer<UInt8>(start: nil, count: 0)
    private(set) var alaw = UnsafeMutableBufferPointer<UInt8>(start: nil, count: 0)
    private(set) var g722 = UnsafeMutableBufferPointer<UInt8>(start: nil, count: 0)
    private let adding = Mutex<Void>(())

    /// Encodes 8 kHz 16-bit linear samples in both G.711 laws.
    public init(samples: [Int16]) {
        sampleCount = samples.count
        isWideband = false
        samples.withUnsafeBufferPointer { setG711($0) }
    }

    /// Encodes 16 kHz 16-bit linear samples as one G.722 stream (`count / 2` bytes). Only
    /// G.722 calls play these; a G.711 form is made from it if one is ever asked for.
    public init(wideband samples: [Int16]) {
        let bytes = G722.encode(wideband: samples)
        sampleCount = bytes.count
        isWideband = true
        g722 = Self.copy(bytes)
    }

    deinit {
        ulaw.deallocate()
        alaw.deallocate()
        g722.deallocate()
    }

    /// Duration in milliseconds.
    public var durationMilliseconds: Int { sampleCount / 8 }

    /// Bytes of audio held now (what a cache counts).
    public var storedBytes: Int { adding.withLock { _ in ulaw.count + alaw.count + g722.count } }

    /// Whether the form a session needs is there.
    public func has(g722 wanted: Bool) -> Bool {
        adding.withLock { _ in wanted ? g722.count > 0 || sampleCount == 0 : ulaw.count > 0 || sampleCount == 0 }
    }

    /// Makes the form a G.722 (`g722`) or G.711 session plays, from the form there is, if it
    /// is missing: G.722 from the 8 kHz G.711 audio (tones, a prompt made before), or G.711
    /// from the G.722 stream's lower band. Done once; call it before `MediaEngine.play`.
    public func prepare(g722 wanted: Bool) {
        adding.withLock { _ in
            guard sampleCount > 0 else { return }
            if wanted, g722.count == 0 {
                // Through 16 kHz, so every G.722 form comes from the one (wideband) encoder.
                let pcm = ulaw.map { G711.ulawDecode($0) }
                let wide = (try? Resampler.resample(pcm, from: 8000, to: 16000, quality: Resampler.voipQuality)) ?? []
                var bytes = G722.encode(wideband: wide)
                bytes += repeatElement(G722.silence, count: max(0, sampleCount - bytes.count))
                g722 = Self.copy(Array(bytes.prefix(sampleCount)))
            } else if !wanted, ulaw.count == 0 {
                let pcm = G722.decode(Array(g722), wideband: false)
                pcm.withUnsafeBufferPointer { setG711($0) }
            }
        }
    }

    /// The bytes a session plays: its law, or the G.722 stream (empty when not prepared:
    /// the pacer then sends silence).
    @inline(__always)
    func bytes(_ law: G711.Law, g722 wanted: Bool = false) -> UnsafeMutableBufferPointer<UInt8> {
        wanted ? g722 : (law == .ulaw ? ulaw : alaw)
    }

    private func setG711(_ s: UnsafeBufferPointer<Int16>) {
        let u = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(1, s.count))
        let a = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(1, s.count))
        G711.encode(s, law: .ulaw, into: u)
        G711.encode(s, law: .alaw, into: a)
        ulaw = UnsafeMutableBufferPointer(rebasing: u[0..<s.count])
        alaw = UnsafeMutableBufferPointer(rebasing: a[0..<s.count])
    }

    private static func copy(_ bytes: [UInt8]) -> UnsafeMutableBufferPointer<UInt8> {
        let p = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(1, bytes.count))
        _ = p.initialize(from: bytes)
        return UnsafeMutableBufferPointer(rebasing: p[0..<bytes.count])
    }
}
