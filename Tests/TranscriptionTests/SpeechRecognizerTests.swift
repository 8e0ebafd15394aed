import Foundation
import Media
import Observability
import Transcription
import XCTest

/// Recognition accuracy of `<Gather input="speech">`: espeak-ng speech, 8 kHz, through
/// G.711 µ-law and back (what arrives from a telephone), recognised by the speech pool.
/// Word error rates are printed (`SPEECH WER`) and a floor is asserted for each set.
final class SpeechRecognizerTests: XCTestCase {
    nonisolated(unsafe) static var shared: SpeechRecognizer?
    private var workDir: String!

    var recognizer: SpeechRecognizer {
        get throws {
            if let r = Self.shared { return r }
            let r = try SpeechRecognizer(logger: Logger(sink: MemorySink()), decoders: 2)
            Self.shared = r
            return r
        }
    }

    override func setUpWithError() throws {
        workDir = NSTemporaryDirectory() + "speech-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: workDir) }

    static let digitSequences = ["four one five", "one two three four", "nine eight seven", "five five five one two one two",
                                 "two zero one", "six", "three oh seven", "eight four two six", "seven seven", "zero nine"]
    static let intakePhrases = [
        "i need to make an appointment", "i want to speak to a nurse", "refill my prescription",
        "billing question", "cancel my appointment", "reschedule my visit", "i have chest pain",
        "my child has a fever", "test results", "talk to a doctor", "new patient", "insurance question",
        "pharmacy", "directions to the clinic", "medical records", "speak to an operator",
        "leave a message", "emergency", "check in for my visit", "lab hours",
    ]

    func testDigitsWithTheDigitClassHint() throws {
        let wer = try measure("digits, hint $OOV_CLASS_DIGIT_SEQUENCE", Self.digitSequences, hints: "$OOV_CLASS_DIGIT_SEQUENCE")
        XCTAssertLessThanOrEqual(wer, 0.25, "measured 0.156")
    }

    func testYesAndNoWithHints() throws {
        let wer = try measure("yes/no, hints", ["yes", "no", "yes", "no"], hints: "yes, no")
        XCTAssertLessThanOrEqual(wer, 0.25, "measured 0")
    }

    func testIntakePhrasesWithHints() throws {
        let wer = try measure("20 intake phrases, hints", Self.intakePhrases, hints: Self.intakePhrases.joined(separator: ", "))
        XCTAssertLessThanOrEqual(wer, 0.05, "measured 0")
    }

    func testIntakePhrasesWithTheLanguageModel() throws {
        let wer = try measure("20 intake phrases, no hints", Self.intakePhrases, hints: nil)
        XCTAssertLessThanOrEqual(wer, 0.97, "measured 0.954: synthetic 8 kHz speech and the open language model")
    }

    /// Hints limit recognition to them: a phrase outside a phrase list gives nothing.
    func testSpeechOutsideThePhraseHintsIsNotForcedOntoThem() throws {
        let heard = try recognize(try telephoneSpeech("what time do you open", name: "out"),
                                  hints: Self.intakePhrases.joined(separator: ", "))
        XCTAssertEqual(heard.text, "")
    }

    /// No audio, no words (a grammar would otherwise force a match onto silence: measured,
    /// one second of silence came out as "no"; the listener only hands over speech).
    func testNoAudioIsNothing() throws {
        XCTAssertEqual(try recognize([], hints: "yes, no"), SpeechRecognition(text: "", confidence: 0))
    }

    /// Utterances queued beyond the bound fail at once instead of waiting without limit.
    func testABusyPoolRefusesPastItsQueue() throws {
        let small = try SpeechRecognizer(logger: Logger(sink: MemorySink()), decoders: 1, maxWaiting: 1)
        let audio = try telephoneSpeech("refill my prescription", name: "busy")
        let results = Locked<[Result<SpeechRecognition, TranscriptionError>]>([])
        let done = expectation(description: "all answered")
        done.expectedFulfillmentCount = 4
        for _ in 0..<4 {
            small.recognize(audio, hints: "refill my prescription, billing question") { r in
                results.withLock { $0.append(r) }
                done.fulfill()
            }
        }
        wait(for: [done], timeout: 60)
        let all = results.withLock { $0 }
        XCTAssertEqual(all.compactMap { try? $0.get().text }, ["refill my prescription", "refill my prescription"],
                       "one decoding and one waiting")
        XCTAssertEqual(all.filter { if case .failure(.decoder(let m)) = $0 { m.hasPrefix("busy") } else { false } }.count, 2)
    }

    // MARK: Helpers

    /// Recognises every phrase; prints and returns the word error rate over the set.
    private func measure(_ label: String, _ phrases: [String], hints: String?) throws -> Double {
        var errors = 0, words = 0
        var confidence = 0.0, seconds = 0.0, audio = 0
        for (i, phrase) in phrases.enumerated() {
            let samples = try telephoneSpeech(phrase, name: "p\(i)")
            let started = Date()
            let heard = try recognize(samples, hints: hints)
            seconds += Date().timeIntervalSince(started)
            audio += samples.count
            errors += Self.wordErrors(reference: phrase, hypothesis: heard.text)
            words += phrase.split(separator: " ").count
            confidence += heard.confidence
            print("SPEECH  '\(phrase)' -> '\(heard.text)' (\(String(format: "%.2f", heard.confidence)))")
        }
        let wer = Double(errors) / Double(words)
        print("SPEECH WER \(label): \(String(format: "%.3f", wer)) (\(errors)/\(words) words), "
              + "mean confidence \(String(format: "%.2f", confidence / Double(phrases.count))), "
              + "\(Int(seconds * 1000 / Double(phrases.count))) ms per utterance of \(audio / 8 / phrases.count) ms")
        return wer
    }

    private func recognize(_ samples: [Int16], hints: String?) throws -> SpeechRecognition {
        let box = Locked<Result<SpeechRecognition, TranscriptionError>?>(nil)
        let done = expectation(description: "recognized")
        try recognizer.recognize(samples, hints: hints) { r in box.withLock { $0 = r }; done.fulfill() }
        wait(for: [done], timeout: 60)
        return try XCTUnwrap(box.withLock { $0 }).get()
    }

    /// espeak-ng at 8 kHz, then µ-law encoded and decoded as a call's audio is.
    private func telephoneSpeech(_ text: String, name: String) throws -> [Int16] {
        let espeak = try XCTUnwrap(TranscriberTests.tool("espeak-ng"), "espeak-ng is not installed (make deps)")
        let raw = workDir + "/\(name)-22k.wav"
        try TranscriberTests.execute(espeak, ["-v", "en-us", "-s", "150", "-w", raw, text])
        let samples = try WAVAudio(contentsOfFile: raw).resampled(to: 8000).samples
        return G711.decode(samples.map(G711.ulaw), law: .ulaw)
    }

    /// Word-level edit distance (substitutions, insertions, deletions).
    static func wordErrors(reference: String, hypothesis: String) -> Int {
        let r = reference.split(separator: " "), h = hypothesis.split(separator: " ")
        var row = Array(0...h.count)
        for i in 1...max(1, r.count) where !r.isEmpty {
            var next = [i] + [Int](repeating: 0, count: h.count)
            for j in 1...max(1, h.count) where !h.isEmpty {
                next[j] = min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (r[i - 1] == h[j - 1] ? 0 : 1))
            }
            row = next
        }
        return r.isEmpty ? h.count : row[h.count]
    }
}
