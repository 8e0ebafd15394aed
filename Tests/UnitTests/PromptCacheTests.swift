import Foundation
@testable import Media
import Observability
import XCTest

/// espeak-ng keeps global state: one synthesizer for the whole test run.
private let sharedSynthesizer: Result<SpeechSynthesizer, any Error> = Result {
    try SpeechSynthesizer(logger: Logger(minimumLevel: .error, journald: false, sink: MemorySink()))
}

/// Results collected from completion handlers on other threads.
private final class Collector: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Result<EncodedAudio, MediaError>] = []
    func add(_ r: Result<EncodedAudio, MediaError>) { lock.withLock { items.append(r) } }
    var results: [Result<EncodedAudio, MediaError>] { lock.withLock { items } }
}

private func rms(_ s: ArraySlice<Int16>) -> Double {
    guard !s.isEmpty else { return 0 }
    return (s.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(s.count)).squareRoot()
}

final class PromptCacheTests: XCTestCase {
    private let welcome = SpeechKey(text: "Welcome to patient services", voice: "alice", language: "en-US")

    private func synthesizer() throws -> SpeechSynthesizer { try sharedSynthesizer.get() }

    private func makeCache() throws -> PromptCache {
        PromptCache(synthesizer: try synthesizer(), logger: Logger(minimumLevel: .error, journald: false, sink: MemorySink()))
    }

    /// Requests `key` and waits for the result.
    private func fetch(_ cache: PromptCache, _ key: SpeechKey) throws -> EncodedAudio {
        let done = DispatchSemaphore(value: 0)
        let c = Collector()
        cache.request(key) { c.add($0); done.signal() }
        XCTAssertEqual(done.wait(timeout: .now() + 30), .success, "synthesis timed out")
        return try XCTUnwrap(c.results.first).get()
    }

    /// For G.722 calls (issue 17, item 4): synthesised at 16 kHz and G.722-encoded, an
    /// entry of its own beside the 8 kHz prompt, as long, and with the band G.711 cuts off.
    func testWidebandPromptIsSynthesisedAt16kHz() throws {
        let source = try synthesizer().synthesizeSource(welcome)
        let wide16 = try source.resampled(to: 16000)
        XCTAssertEqual(Double(wide16.count), Double(source.samples.count) * 16000 / Double(source.rate), accuracy: 64)
        let cache = try makeCache()
        let narrow = try fetch(cache, welcome)
        var key = welcome
        key.wideband = true
        let wide = try fetch(cache, key)
        XCTAssertTrue(wide.isWideband)
        XCTAssertFalse(narrow.isWideband)
        XCTAssertEqual(cache.synthesisCount, 2, "the wideband prompt is a cache entry of its own")
        XCTAssertEqual(wide.durationMilliseconds, narrow.durationMilliseconds, accuracy: 5)
        XCTAssertEqual(wide.storedBytes, wide.sampleCount, "G.722 only: one byte per 8 kHz period")
        // Energy above 4 kHz (fricatives): decoded at 16 kHz, high-passed by differencing.
        let pcm = G722.decode(Array(wide.bytes(.ulaw, g722: true)), wideband: true)
        let high = zip(pcm.dropFirst(), pcm).map { Int16(clamping: (Int($0) - Int($1)) / 2) }
        XCTAssertGreaterThan(rms(high[...]), 0.1 * rms(pcm[...]), "speech keeps its upper band")
    }

    func testSynthesisGivesAudibleEightKilohertzSpeech() throws {
        let samples = try synthesizer().synthesize(welcome)
        XCTAssertGreaterThan(samples.count, 8000, "at least 1 s at 8 kHz")
        XCTAssertLessThan(samples.count, 32000, "at most 4 s at 8 kHz")
        XCTAssertGreaterThan(samples.map { abs(Int($0)) }.max() ?? 0, 2000, "not silent")
        XCTAssertGreaterThan(rms(samples[...]), 200)
    }

    func testConcurrentRequestsShareOneSynthesis() throws {
        let cache = try makeCache()
        let group = DispatchGroup()
        let c = Collector()
        let key = welcome
        for _ in 0..<50 { group.enter() }
        DispatchQueue.concurrentPerform(iterations: 50) { _ in
            cache.request(key) { c.add($0); group.leave() }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 30), .success, "not every request completed")
        let audio = try c.results.map { try $0.get() }
        XCTAssertEqual(audio.count, 50)
        XCTAssertEqual(Set(audio.map(ObjectIdentifier.init)).count, 1, "every caller gets the same buffer")
        XCTAssertEqual(cache.synthesisCount, 1)
        let first = try XCTUnwrap(audio.first)
        XCTAssertTrue(cache.cached(welcome) === first)
        XCTAssertGreaterThan(first.durationMilliseconds, 1000)
        XCTAssertLessThan(first.durationMilliseconds, 4000)

        // A later request is a hit, answered on the caller's thread.
        let hit = Collector()
        cache.request(welcome) { hit.add($0) }
        XCTAssertTrue(try XCTUnwrap(hit.results.first).get() === first)
        XCTAssertEqual(cache.synthesisCount, 1)
    }

    func testDifferentVoiceOrLanguageIsADifferentEntry() throws {
        let cache = try makeCache()
        let alice = try fetch(cache, welcome)
        let man = try fetch(cache, SpeechKey(text: welcome.text, voice: "man", language: "en-US"))
        let british = try fetch(cache, SpeechKey(text: welcome.text, voice: "alice", language: "en-GB"))
        XCTAssertEqual(cache.synthesisCount, 3)
        XCTAssertFalse(alice === man)
        XCTAssertFalse(alice === british)
        XCTAssertFalse(man === british)
        XCTAssertNil(cache.cached(SpeechKey(text: welcome.text, voice: "woman", language: "en-US")))
        XCTAssertTrue(try fetch(cache, welcome) === alice)
        XCTAssertEqual(cache.synthesisCount, 3)
    }

    func testUnknownLanguageFallsBackToEnglish() throws {
        let samples = try synthesizer().synthesize(SpeechKey(text: "Hello", voice: "alice", language: "xx-YY"))
        XCTAssertGreaterThan(samples.count, 1600)
        XCTAssertGreaterThan(samples.map { abs(Int($0)) }.max() ?? 0, 1000)
    }

    func testOldestEntryIsEvictedPastMaxEntries() throws {
        let cache = PromptCache(synthesizer: try synthesizer(),
                                logger: Logger(minimumLevel: .error, journald: false, sink: MemorySink()), maxEntries: 2)
        let keys = ["One", "Two", "Three"].map { SpeechKey(text: $0, voice: "alice", language: "en-US") }
        for k in keys { _ = try fetch(cache, k) }
        XCTAssertNil(cache.cached(keys[0]))
        XCTAssertNotNil(cache.cached(keys[1]))
        XCTAssertNotNil(cache.cached(keys[2]))
    }

    /// The cache holds at most its byte budget: unique long prompts (a flow can make every
    /// prompt unique) evict the oldest, and one larger than the budget is played, not kept.
    func testTheByteBudgetEvictsTheOldestAndSkipsOversizedPrompts() throws {
        let probe = PromptCache(synthesizer: try synthesizer(), logger: Logger(minimumLevel: .error, journald: false, sink: MemorySink()))
        let keys = ["One", "Two", "Six"].map { SpeechKey(text: $0, voice: "alice", language: "en-US") }
        let sizes = try keys.map { 2 * (try fetch(probe, $0)).sampleCount }
        let budget = sizes[1] + sizes[2]  // the last two fit, not all three
        let cache = PromptCache(synthesizer: try synthesizer(), logger: Logger(minimumLevel: .error, journald: false, sink: MemorySink()),
                                maxBytes: budget)
        for k in keys { _ = try fetch(cache, k) }
        XCTAssertNil(cache.cached(keys[0]), "the oldest went when the budget was passed")
        XCTAssertNotNil(cache.cached(keys[2]))
        XCTAssertLessThanOrEqual(cache.cachedBytes, budget)
        let kept = [keys[1], keys[2]].compactMap { cache.cached($0) }.reduce(0) { $0 + 2 * $1.sampleCount }
        XCTAssertEqual(cache.cachedBytes, kept, "the cache counts the audio of the prompts it keeps")
        XCTAssertEqual(cache.cachedEntries, 2)
        let long = SpeechKey(text: String(repeating: "A much longer prompt than the budget. ", count: 3), voice: "alice", language: "en-US")
        let audio = try fetch(cache, long)
        XCTAssertGreaterThan(2 * audio.sampleCount, budget, "the long prompt is past the budget")
        XCTAssertNil(cache.cached(long), "a prompt larger than the budget is played, not kept")
        XCTAssertNotNil(cache.cached(keys[2]), "and evicts nothing")
    }

    func testSpeechKeyDescriptionDoesNotLeakText() {
        XCTAssertEqual(SpeechKey(text: "Your PIN is 1234", voice: "alice", language: "en-US").description, "alice/en-US/16ch")
    }

    // MARK: - Voice mapping

    func testVariantForVoice() {
        XCTAssertEqual(EspeakVoice.variant(forVoice: "alice"), "+f3")
        XCTAssertEqual(EspeakVoice.variant(forVoice: "woman"), "+f3")
        XCTAssertEqual(EspeakVoice.variant(forVoice: "Female"), "+f3")
        XCTAssertEqual(EspeakVoice.variant(forVoice: "man"), "")
        XCTAssertEqual(EspeakVoice.variant(forVoice: "MALE"), "")
        XCTAssertEqual(EspeakVoice.variant(forVoice: "Polly.Matthew"), "")
        XCTAssertEqual(EspeakVoice.variant(forVoice: "Polly.Matthew-Neural"), "")
        XCTAssertEqual(EspeakVoice.variant(forVoice: "Polly.Brian"), "")
        XCTAssertEqual(EspeakVoice.variant(forVoice: "Polly.Joanna"), "+f3")
        XCTAssertEqual(EspeakVoice.variant(forVoice: "Polly.Joanna-Neural"), "+f3")
    }

    func testLanguageVoice() {
        let espeak: Set<String> = ["en", "en-us", "de", "pt-br", "es-419", "cmn"]
        let has = { espeak.contains($0) }
        XCTAssertEqual(EspeakVoice.languageVoice("en-GB", available: has), "en")
        XCTAssertEqual(EspeakVoice.languageVoice("en-US", available: has), "en-us")
        XCTAssertEqual(EspeakVoice.languageVoice("pt_BR", available: has), "pt-br")
        XCTAssertEqual(EspeakVoice.languageVoice("de-AT", available: has), "de")
        XCTAssertEqual(EspeakVoice.languageVoice("es-MX", available: has), "es-419")
        XCTAssertEqual(EspeakVoice.languageVoice("zh-CN", available: has), "cmn")
        XCTAssertEqual(EspeakVoice.languageVoice("xx-YY", available: has), "en-us")
        XCTAssertEqual(EspeakVoice.languageVoice("en-GB", available: { $0 == "en-gb" }), "en-gb",
                       "an unavailable alias falls through to the full tag")
        XCTAssertEqual(EspeakVoice.languageVoice("fr-CA", available: { _ in false }), "en-us")
    }

    // MARK: - Resampler

    func testResampleDownTo8kHzKeepsLengthAndTone() throws {
        let n = 22050
        let sine = (0..<n).map { Int16((sin(2 * Double.pi * 440 * Double($0) / 22050) * 10000).rounded()) }
        let out = try Resampler.resample(sine, from: 22050, to: 8000)
        XCTAssertGreaterThanOrEqual(out.count, 7950)
        XCTAssertLessThanOrEqual(out.count, 8000)
        // Level and pitch survive: RMS about 10000/sqrt(2), ~880 zero crossings in 1 s.
        let middle = out[1000..<7000]
        XCTAssertEqual(rms(middle), 10000 / 2.0.squareRoot(), accuracy: 500)
        let crossings = zip(middle.dropLast(), middle.dropFirst()).filter { ($0 < 0) != ($1 < 0) }.count
        XCTAssertEqual(Double(crossings), 880 * 6000 / 8000, accuracy: 10)
    }

    func testResampleUpAndIdentity() throws {
        let input = [Int16](repeating: 1000, count: 8000)
        let up = try Resampler.resample(input, from: 8000, to: 16000)
        XCTAssertGreaterThanOrEqual(up.count, 15900)
        XCTAssertLessThanOrEqual(up.count, 16000)
        XCTAssertEqual(try Resampler.resample(input, from: 8000, to: 8000), input)
        XCTAssertEqual(try Resampler.resample([], from: 22050, to: 8000), [])
    }
}
