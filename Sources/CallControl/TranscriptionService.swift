import Configuration
import Foundation
import Observability
import Transcription

/// Speech to text: recordings (`transcribe`) and live `<Gather input="speech">` utterances
/// (`recognize`). Each loads its pocketsphinx decoders on first use, off the signaling
/// thread: the models take about 100 MB and half a second per decoder, which a deployment
/// that never uses them should not pay.
package final class TranscriptionService: Sendable {
    private let transcriber: LoadedOnce<Transcriber>
    private let speech: LoadedOnce<SpeechRecognizer>
    private let queue = DispatchQueue(label: "transcription-loader")
    private let logger: Logger

    package init(logger: Logger) {
        self.logger = logger
        transcriber = LoadedOnce(name: "transcription", logger: logger) { try Transcriber(logger: logger) }
        speech = LoadedOnce(name: "speech", logger: logger) {
            let decoders = min(4, max(1, ProcessInfo.processInfo.activeProcessorCount))
            let r = try SpeechRecognizer(logger: logger, decoders: decoders)
            logger.info("speech.ready", ["decoders": decoders])
            return r
        }
    }

    /// Where the audio comes from.
    enum Source: Sendable {
        /// A plain WAV file.
        case file(String)
        /// Audio produced in memory (a sealed recording opened without touching the disk).
        case data(@Sendable () throws -> WAVAudio)
    }

    /// Transcribes the WAV at `path`; `completion` runs on a background queue.
    func transcribe(wavPath path: String, completion: @escaping @Sendable (Result<String, TranscriptionError>) -> Void) {
        transcribe(.file(path), completion: completion)
    }

    /// Transcribes `source`; `completion` runs on a background queue.
    func transcribe(_ source: Source, completion: @escaping @Sendable (Result<String, TranscriptionError>) -> Void) {
        queue.async { [self] in
            let current = transcriber.value()
            switch current {
            case .success(let t):
                switch source {
                case .file(let path): t.transcribe(wavPath: path, completion: completion)
                case .data(let load):
                    do { t.transcribe(audio: try load(), completion: completion) } catch {
                        completion(.failure(error as? TranscriptionError ?? .unreadable("\(error)")))
                    }
                }
            case .failure(let e): completion(.failure(e))
            }
        }
    }

    /// Recognises one utterance (8 kHz); `completion` runs on a background queue. The first
    /// call loads one decoder per core (at most four).
    func recognize(_ samples: [Int16], hints: String?,
                   completion: @escaping @Sendable (Result<SpeechRecognition, TranscriptionError>) -> Void) {
        guard !samples.isEmpty else { return completion(.success(SpeechRecognition(text: "", confidence: 0))) }
        queue.async { [self] in
            let current = speech.value()
            switch current {
            case .success(let r): r.recognize(samples, hints: hints, completion: completion)
            case .failure(let e): completion(.failure(e))
            }
        }
    }
}

/// A model loaded on first use, once: later calls get it, or the reason it could not be
/// loaded (logged once as `<name>.unavailable`; not retried until the daemon restarts).
private final class LoadedOnce<Model: Sendable>: Sendable {
    private enum State { case unloaded, loaded(Model), unavailable(String) }
    private let state = Locked(State.unloaded)
    private let name: String
    private let logger: Logger
    private let load: @Sendable () throws -> Model

    init(name: String, logger: Logger, load: @escaping @Sendable () throws -> Model) {
        self.name = name
        self.logger = logger
        self.load = load
    }

    func value() -> Result<Model, TranscriptionError> {
        state.withLock { s in
            switch s {
            case .loaded(let m): return .success(m)
            case .unavailable(let why): return .failure(.model(why))
            case .unloaded:
                do {
                    let m = try load()
                    s = .loaded(m)
                    return .success(m)
                } catch {
                    s = .unavailable("\(error)")
                    logger.warning("\(name).unavailable", ["error": "\(error)"])
                    return .failure(error as? TranscriptionError ?? .model("\(error)"))
                }
            }
        }
    }
}
