import CPocketSphinx
import Dispatch
import Foundation
import Observability
#if canImport(Glibc)
import Glibc
#endif

/// Offline speech-to-text for call recordings with CMU PocketSphinx (US English).
///
/// One decoder is loaded at start-up and reused; PocketSphinx decoders are not thread-safe,
/// so every transcription runs in turn on the transcriber's own serial background queue,
/// off the calls' real-time path. Recordings are 16-bit PCM WAV (8 kHz mono from the
/// daemon; other rates and channel counts are converted) and are upsampled to the
/// acoustic model's 16 kHz with speexdsp.
public final class Transcriber: Sendable {
    /// The sample rate of the acoustic model.
    public static let modelSampleRate = 16_000
    /// Debian's pocketsphinx-en-us acoustic model.
    public static let defaultModelDirectory = "/usr/share/pocketsphinx/model/en-us/en-us"
    /// Debian's pocketsphinx-en-us pronunciation dictionary.
    public static let defaultDictionary = "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict"
    /// Debian's pocketsphinx-en-us trigram language model.
    public static let defaultLanguageModel = "/usr/share/pocketsphinx/model/en-us/en-us.lm.bin"

    private let decoder: Decoder
    private let queue = DispatchQueue(label: "tollfreed.transcription", qos: .utility)
    private let logger: Logger
    private let noiseFloor: Int

    /// Loads the models (about 0.3 s and 120 MB resident). Throws `TranscriptionError.model` when a file is
    /// missing or PocketSphinx refuses them. PocketSphinx's own logging is switched off.
    ///
    /// `noiseFloor` is the peak amplitude of the faint, fixed-seed white noise added to
    /// every recording before decoding (200 is about -50 dBFS; 0 turns it off). Stretches of
    /// digital silence (exact zeros, as from synthesised prompts or gaps filled with
    /// silence) throw off PocketSphinx's feature normalisation; on espeak-ng speech at
    /// 8 kHz this floor roughly quadrupled the words recognised.
    public init(logger: Logger,
                modelDirectory: String = Transcriber.defaultModelDirectory,
                dictionary: String = Transcriber.defaultDictionary,
                languageModel: String = Transcriber.defaultLanguageModel,
                noiseFloor: Int = 200) throws(TranscriptionError) {
        self.logger = logger
        self.noiseFloor = max(0, min(noiseFloor, 4000))
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: modelDirectory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .model("acoustic model directory \(modelDirectory) not found (install pocketsphinx-en-us)")
        }
        for file in [dictionary, languageModel] where !FileManager.default.isReadableFile(atPath: file) {
            throw .model("\(file) not found or unreadable (install pocketsphinx-en-us)")
        }
        let started = DispatchTime.now().uptimeNanoseconds
        decoder = try Decoder(arguments: ["-hmm", modelDirectory, "-dict", dictionary, "-lm", languageModel,
                                          "-samprate", String(Self.modelSampleRate), "-logfn", "/dev/null"])
        logger.info("transcription.ready", ["model": modelDirectory,
                                            "ms": (DispatchTime.now().uptimeNanoseconds - started) / 1_000_000])
    }

    /// Transcribes a WAV recording in the background. `completion` runs on the
    /// transcriber's queue with the recognised words (lower case, space-separated; empty
    /// when nothing was recognised) or the reason it failed.
    public func transcribe(wavPath: String,
                           completion: @escaping @Sendable (Result<String, TranscriptionError>) -> Void) {
        queue.async { [self] in
            let result: Result<String, TranscriptionError>
            do throws(TranscriptionError) {
                result = .success(try transcribeNow(WAVAudio(contentsOfFile: wavPath), source: wavPath))
            } catch {
                logger.info("transcription.failed", ["file": wavPath, "error": error])
                result = .failure(error)
            }
            completion(result)
        }
    }

    /// Transcribes samples in the background (any rate; converted to 16 kHz).
    public func transcribe(audio: WAVAudio,
                           completion: @escaping @Sendable (Result<String, TranscriptionError>) -> Void) {
        queue.async { [self] in
            let result: Result<String, TranscriptionError>
            do throws(TranscriptionError) {
                result = .success(try transcribeNow(audio, source: "samples"))
            } catch {
                result = .failure(error)
            }
            completion(result)
        }
    }

    /// Async form of `transcribe(wavPath:completion:)`.
    public func transcribe(wavPath: String) async throws(TranscriptionError) -> String {
        let result = await withCheckedContinuation { (c: CheckedContinuation<Result<String, TranscriptionError>, Never>) in
            transcribe(wavPath: wavPath) { c.resume(returning: $0) }
        }
        return try result.get()
    }

    /// Runs on `queue` only.
    private func transcribeNow(_ audio: WAVAudio, source: String) throws(TranscriptionError) -> String {
        dispatchPrecondition(condition: .onQueue(queue))
        let started = DispatchTime.now().uptimeNanoseconds
        let floored = NoiseFloor.add(to: audio.samples, amplitude: noiseFloor)
        let samples = try SpeexResample.convert(floored, from: audio.sampleRate, to: Self.modelSampleRate)
        let text = try decoder.decode(samples)
        let ms = (DispatchTime.now().uptimeNanoseconds - started) / 1_000_000
        logger.info("transcription.done", ["file": source, "audio_ms": Int(audio.duration * 1000), "ms": ms,
                                           "words": text.split(separator: " ").count])
        return text
    }
}
