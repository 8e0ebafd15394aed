import Foundation
import Observability

/// Synthesised prompts by (text, voice, language), shared by all calls.
///
/// Synthesis runs on one background thread (espeak-ng is single-threaded). Requests for a
/// prompt already being synthesised wait for that one synthesis instead of starting another,
/// so a thousand callers hearing the same greeting cost one synthesis.
/// (`@unchecked Sendable`: the cache is under its lock; the synthesizer is used only on the
/// TTS queue.)
public final class PromptCache: @unchecked Sendable {
    public typealias Completion = @Sendable (Result<EncodedAudio, MediaError>) -> Void

    private struct State {
        var ready: BoundedAudioStore<SpeechKey>
        var waiting: [SpeechKey: [Completion]] = [:]
        var syntheses = 0
    }

    private let state: Locked<State>
    private let queue = DispatchQueue(label: "tts")
    private let synthesizer: SpeechSynthesizer
    private let logger: Logger

    /// The default byte budget: 32 MiB, about 35 minutes of distinct speech (both laws).
    public static let defaultMaxBytes = 32 << 20

    /// A cache of at most `maxEntries` prompts and `maxBytes` of audio; the oldest go first.
    /// The byte budget matters because a tenant's flow can make every prompt unique and long
    /// (a count alone let 4,096 long prompts hold gigabytes). A prompt larger than the whole
    /// budget is played but not kept.
    public init(synthesizer: SpeechSynthesizer, logger: Logger, maxEntries: Int = 4096,
                maxBytes: Int = PromptCache.defaultMaxBytes) {
        self.synthesizer = synthesizer
        self.logger = logger
        self.state = Locked(State(ready: BoundedAudioStore(maxEntries: maxEntries, maxBytes: maxBytes)))
    }

    /// Bytes of audio the cache holds now.
    public var cachedBytes: Int { state.withLock { $0.ready.bytes } }

    /// Prompts the cache holds now.
    public var cachedEntries: Int { state.withLock { $0.ready.count } }

    /// The prompt if it is already synthesised.
    public func cached(_ key: SpeechKey) -> EncodedAudio? {
        state.withLock { $0.ready[key] }
    }

    /// How many syntheses have run (cache misses that were not coalesced).
    public var synthesisCount: Int { state.withLock { $0.syntheses } }

    /// Delivers the prompt for `key`, synthesising it at most once. `completion` runs on the
    /// synthesis thread, or immediately on the caller's thread for a cached prompt.
    public func request(_ key: SpeechKey, completion: @escaping Completion) {
        enum Next { case hit(EncodedAudio), wait, synthesize }
        let next: Next = state.withLock { s in
            if let a = s.ready[key] { return .hit(a) }
            if s.waiting[key] != nil { s.waiting[key]!.append(completion); return .wait }
            s.waiting[key] = [completion]
            s.syntheses += 1
            return .synthesize
        }
        switch next {
        case .hit(let a): completion(.success(a))
        case .wait: break
        case .synthesize:
            queue.async { [self] in
                let started = DispatchTime.now().uptimeNanoseconds
                let result: Result<EncodedAudio, MediaError>
                do {
                    result = .success(EncodedAudio(samples: try synthesizer.synthesize(key)))
                } catch let e as MediaError {
                    result = .failure(e)
                } catch {
                    result = .failure(MediaError("\(error)"))
                }
                let waiters: [Completion] = state.withLock { s in
                    if case .success(let a) = result { s.ready.insert(a, for: key) }
                    return s.waiting.removeValue(forKey: key) ?? []
                }
                let ms = (DispatchTime.now().uptimeNanoseconds - started) / 1_000_000
                switch result {
                case .success(let a):
                    logger.info("tts.synthesized", ["prompt": key, "audio_ms": a.durationMilliseconds, "took_ms": ms])
                case .failure(let e):
                    logger.error("tts.failed", ["prompt": key, "error": e])
                }
                for w in waiters { w(result) }
            }
        }
    }
}
