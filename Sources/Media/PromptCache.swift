import Foundation
import Observability

/// Synthesised prompts by (text, voice, language), shared by all calls.
///
/// Synthesis runs on one background thread (espeak-ng is single-threaded), taking the
/// tenants' queued prompts in turn (`FairSynthesisQueue`); the conversion to 8 kHz and G.711
/// of what it made runs on the other cores, so that thread does only the part no other can.
/// Requests for a prompt already being synthesised wait for that one synthesis instead of
/// starting another, so a thousand callers hearing the same greeting cost one synthesis.
/// (`@unchecked Sendable`: the cache is under its lock; the synthesizer is used only on the
/// TTS queue.)
public final class PromptCache: @unchecked Sendable {
    public typealias Completion = @Sendable (Result<EncodedAudio, MediaError>) -> Void

    private struct State {
        var ready: BoundedAudioStore<SpeechKey>
        var waiting: [SpeechKey: [Completion]] = [:]
        var backlog = SynthesisBacklog()
        var queued = FairSynthesisQueue()
        /// When each prompt in flight was first asked for.
        var requestedAt: [SpeechKey: UInt64] = [:]
        var syntheses = 0
    }

    private let state: Locked<State>
    private let queue = DispatchQueue(label: "tts")
    /// Converts synthesised speech to 8 kHz G.711, several prompts at a time.
    private let encoding = DispatchQueue(label: "tts-encode", attributes: .concurrent)
    private let synthesizer: SpeechSynthesizer
    private let logger: Logger
    /// Told, for every synthesis, the seconds from the first request to the audio being ready.
    private let observe: (@Sendable (Double) -> Void)?
    private let clock: @Sendable () -> UInt64

    /// The default byte budget: 32 MiB, about 35 minutes of distinct speech (both laws).
    public static let defaultMaxBytes = 32 << 20

    /// A cache of at most `maxEntries` prompts and `maxBytes` of audio; the oldest go first.
    /// The byte budget matters because a tenant's flow can make every prompt unique and long
    /// (a count alone let 4,096 long prompts hold gigabytes). A prompt larger than the whole
    /// budget is played but not kept.
    /// `observe` is told how long each synthesis took from the request (waiting included).
    public init(synthesizer: SpeechSynthesizer, logger: Logger, maxEntries: Int = 4096,
                maxBytes: Int = PromptCache.defaultMaxBytes, observe: (@Sendable (Double) -> Void)? = nil,
                clock: @escaping @Sendable () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }) {
        self.synthesizer = synthesizer
        self.logger = logger
        self.observe = observe
        self.clock = clock
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

    /// Seconds a new prompt of `tenant` asked for now can be expected to wait for its audio
    /// (its caller hearing silence meanwhile); see `SynthesisBacklog`.
    public func expectedWait(tenant: String) -> Double {
        state.withLock { $0.backlog.expectedWait(tenant: tenant, ahead: $0.queued.ahead(ofNewFrom: tenant)) }
    }

    /// Prompts waiting for the synthesis thread, every tenant's.
    public var queuedSyntheses: Int { state.withLock { $0.queued.count } }

    /// How many syntheses have run (cache misses that were not coalesced).
    public var synthesisCount: Int { state.withLock { $0.syntheses } }

    /// Delivers the prompt for `key`, synthesising it at most once. `completion` runs on the
    /// synthesis or an encoding thread, or immediately on the caller's thread for a cached
    /// prompt. A miss waits in `tenant`'s queue: tenants' queues are served in turn.
    public func request(_ key: SpeechKey, tenant: String = "", completion: @escaping Completion) {
        enum Next { case hit(EncodedAudio), wait, synthesize }
        let requested = clock()
        let next: Next = state.withLock { s in
            if let a = s.ready[key] { return .hit(a) }
            if s.waiting[key] != nil { s.waiting[key]!.append(completion); return .wait }
            s.waiting[key] = [completion]
            s.requestedAt[key] = requested
            s.queued.push(key, tenant: tenant)
            s.backlog.enqueued(tenant: tenant)
            s.syntheses += 1
            return .synthesize
        }
        switch next {
        case .hit(let a): completion(.success(a))
        case .wait: break
        case .synthesize: queue.async { [self] in synthesizeNext() }
        }
    }

    /// On the synthesis thread: one prompt, the next in turn (not necessarily the one whose
    /// request queued this call: there is one call per prompt queued).
    private func synthesizeNext() {
        guard let (key, tenant) = state.withLock({ $0.queued.pop() }) else { return }
        let started = clock()
        let made = Result { try synthesizer.synthesizeSource(key) }
        let ended = max(clock(), started)
        state.withLock { $0.backlog.synthesized(seconds: Double(ended - started) / 1e9) }
        switch made {
        case .success(let source):
            encoding.async { [self] in
                finish(key, tenant: tenant, started: started, Result { try Self.encode(source, for: key) }
                    .mapError(Self.mediaError))
            }
        case .failure(let error):
            finish(key, tenant: tenant, started: started, .failure(Self.mediaError(error)))
        }
    }

    /// The prompt in the form its key asks for: 8 kHz G.711, or 16 kHz G.722.
    static func encode(_ source: SourceSpeech, for key: SpeechKey) throws -> EncodedAudio {
        key.wideband ? EncodedAudio(wideband: try source.resampled(to: 16000)) : EncodedAudio(samples: try source.resampled())
    }

    private static func mediaError(_ error: any Error) -> MediaError { error as? MediaError ?? MediaError("\(error)") }

    /// Keeps a synthesised prompt and hands it (or the failure) to everyone waiting for it.
    private func finish(_ key: SpeechKey, tenant: String, started: UInt64, _ result: Result<EncodedAudio, MediaError>) {
        let now = max(clock(), started)
        let (waiters, requested): ([Completion], UInt64) = state.withLock { s in
            if case .success(let a) = result { s.ready.insert(a, for: key) }
            let requested = min(s.requestedAt.removeValue(forKey: key) ?? started, started)
            s.backlog.ready(tenant: tenant, latency: Double(now - requested) / 1e9)
            return (s.waiting.removeValue(forKey: key) ?? [], requested)
        }
        let latency = Double(now - requested) / 1e9
        observe?(latency)
        switch result {
        case .success(let a):
            logger.info("tts.synthesized", ["prompt": key, "audio_ms": a.durationMilliseconds,
                                            "waited_ms": (started - requested) / 1_000_000, "took_ms": (now - started) / 1_000_000])
        case .failure(let e):
            logger.error("tts.failed", ["prompt": key, "error": e])
        }
        for w in waiters { w(result) }
    }
}
