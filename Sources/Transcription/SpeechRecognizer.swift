import Dispatch
import Foundation
import Observability

/// What `<Gather input="speech">` heard.
public struct SpeechRecognition: Sendable, Equatable {
    /// The recognised words, lower case, space-separated; empty when nothing was recognised.
    public var text: String
    /// Mean posterior probability of the words, 0...1.
    public var confidence: Double
    /// Hints the grammar left out, with the reason (for the flow's warning log).
    public var droppedHints: [String]

    public init(text: String, confidence: Double, droppedHints: [String] = []) {
        self.text = text
        self.confidence = confidence
        self.droppedHints = droppedHints
    }
}

/// Live speech recognition for `<Gather>`: a small pool of PocketSphinx decoders (US
/// English), each used by one utterance at a time on a background queue, off the calls'
/// real-time path. Utterances wait in a bounded FIFO when every decoder is busy; past the
/// bound they fail at once with `.decoder("busy")` rather than queue without limit.
public final class SpeechRecognizer: Sendable {
    private struct Pool {
        var idle: [Decoder]
        var waiting: [@Sendable (Decoder) -> Void] = []
    }

    private let pool: Locked<Pool>
    private let queue = DispatchQueue(label: "tollfreed.speech", qos: .userInitiated, attributes: .concurrent)
    private let logger: Logger
    private let maxWaiting: Int
    private let noiseFloor: Int

    /// Loads `decoders` copies of the models (about 0.3 s and 100 MB each).
    public init(logger: Logger, decoders: Int = 2, maxWaiting: Int = 64,
                modelDirectory: String = Transcriber.defaultModelDirectory,
                dictionary: String = Transcriber.defaultDictionary,
                languageModel: String = Transcriber.defaultLanguageModel,
                noiseFloor: Int = 200) throws(TranscriptionError) {
        for file in [modelDirectory, dictionary, languageModel] where !FileManager.default.fileExists(atPath: file) {
            throw .model("\(file) not found (install pocketsphinx-en-us)")
        }
        var loaded: [Decoder] = []
        for _ in 0..<max(1, min(decoders, 16)) {
            let decoder = try Decoder(arguments: ["-hmm", modelDirectory, "-dict", dictionary, "-lm", languageModel,
                                                  "-samprate", String(Transcriber.modelSampleRate), "-logfn", "/dev/null"])
            loaded.append(decoder)
        }
        pool = Locked(Pool(idle: loaded))
        self.logger = logger
        self.maxWaiting = max(0, maxWaiting)
        self.noiseFloor = max(0, min(noiseFloor, 4000))
    }

    /// Recognises one utterance (8 kHz unless `sampleRate` says otherwise). With `hints`,
    /// recognition is limited to the grammar they make (see `SpeechGrammar`). `completion`
    /// runs on a background queue.
    public func recognize(_ samples: [Int16], sampleRate: Int = 8000, hints: String? = nil,
                          completion: @escaping @Sendable (Result<SpeechRecognition, TranscriptionError>) -> Void) {
        guard !samples.isEmpty else { return completion(.success(SpeechRecognition(text: "", confidence: 0))) }
        let floor = noiseFloor
        let job: @Sendable (Decoder) -> Void = { [logger] decoder in
            let started = DispatchTime.now().uptimeNanoseconds
            let result = Result { () throws(TranscriptionError) -> SpeechRecognition in
                let grammar = hints.map { SpeechGrammar(hints: $0, knows: decoder.knows) }
                let audio = try SpeexResample.convert(NoiseFloor.add(to: samples, amplitude: floor),
                                                      from: sampleRate, to: Transcriber.modelSampleRate)
                let search = grammar.flatMap { g in
                    g.jsgf.map { Decoder.GrammarSearch(jsgf: $0, wordInsertionPenalty: g.wordInsertionPenalty) }
                }
                let heard = try decoder.decode(audio, grammar: search)
                return SpeechRecognition(text: heard.text, confidence: heard.confidence,
                                         droppedHints: grammar?.dropped ?? [])
            }
            logger.debug("speech.recognized", ["audio_ms": samples.count * 1000 / max(1, sampleRate),
                                                "ms": (DispatchTime.now().uptimeNanoseconds - started) / 1_000_000,
                                                "grammar": hints != nil])
            completion(result)
        }
        enum Admission { case run(Decoder), queued, full }
        let admission: Admission = pool.withLock { p in
            if let d = p.idle.popLast() { return .run(d) }
            guard p.waiting.count < maxWaiting else { return .full }
            p.waiting.append(job)
            return .queued
        }
        switch admission {
        case .run(let decoder): run(job, on: decoder)
        case .queued: break
        case .full:
            logger.warning("speech.busy", ["waiting": maxWaiting])
            completion(.failure(.decoder("busy: \(maxWaiting) utterances already wait for a decoder")))
        }
    }

    private func run(_ job: @escaping @Sendable (Decoder) -> Void, on decoder: Decoder) {
        queue.async { [self] in
            job(decoder)
            let next: (@Sendable (Decoder) -> Void)? = pool.withLock { p in
                if p.waiting.isEmpty { p.idle.append(decoder); return nil }
                return p.waiting.removeFirst()
            }
            if let next { run(next, on: decoder) }
        }
    }
}
