import Foundation
import Observability
import Transcription
import XCTest

/// End-to-end recognition on speech synthesised by the espeak-ng command-line tool,
/// converted to the 8 kHz mono 16-bit WAV the daemon records.
final class TranscriberTests: XCTestCase {
    /// One decoder for the whole suite (loading the models takes a while).
    nonisolated(unsafe) static var shared: Transcriber?
    static let sink = MemorySink()

    var transcriber: Transcriber {
        get throws {
            if let t = Self.shared { return t }
            let t = try Transcriber(logger: Logger(minimumLevel: .debug, journald: false, sink: Self.sink))
            Self.shared = t
            return t
        }
    }

    private var workDir: String!

    override func setUpWithError() throws {
        workDir = NSTemporaryDirectory() + "transcription-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: workDir)
    }

    // MARK: Recognition

    func testRecognisesSpokenDigits() throws {
        let wav = try speak("one two three", name: "digits")
        XCTAssertEqual(try WAVAudio(contentsOfFile: wav).sampleRate, 8000)
        let text = try run(wav)
        XCTAssertGreaterThanOrEqual(hits(text, "one two three"), 1, "hypothesis was '\(text)'")
    }

    func testRecognisesAShortSentence() throws {
        let text = try run(try speak("please call me back", name: "callback"))
        XCTAssertGreaterThanOrEqual(hits(text, "please call me back"), 1, "hypothesis was '\(text)'")
    }

    func testRecognisesGreeting() throws {
        let text = try run(try speak("good morning", name: "morning"))
        XCTAssertGreaterThanOrEqual(hits(text, "good morning"), 1, "hypothesis was '\(text)'")
    }

    /// The noise floor is what makes 8 kHz synthetic speech recognisable at all: without it
    /// PocketSphinx finds far fewer of the words.
    func testNoiseFloorImprovesRecognition() throws {
        let phrases = ["one two three", "good morning", "please call me back", "hello"]
        let files = try phrases.enumerated().map { try speak($1, name: "floor\($0)") }
        let plain = try Transcriber(logger: Logger(sink: MemorySink()), noiseFloor: 0)
        var with = 0, without = 0
        for (phrase, file) in zip(phrases, files) {
            with += hits(try run(file), phrase)
            without += hits(try run(file, on: plain), phrase)
        }
        print("RECOGNISED: \(with) words with the noise floor, \(without) without (of 10)")
        XCTAssertGreaterThan(with, without)
        XCTAssertGreaterThanOrEqual(with, 5)
    }

    func testSilenceGivesEmptyText() throws {
        let path = workDir + "/silence.wav"
        try WAVAudio(samples: [Int16](repeating: 0, count: 8000), sampleRate: 8000).wavData()
            .write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try run(path), "")
    }

    /// A 5 s recording (speech, then silence): reports how long transcription takes.
    func testFiveSecondRecordingTiming() throws {
        let speech = try WAVAudio(contentsOfFile: try speak("please call me back at one two three four", name: "long"))
        XCTAssertEqual(speech.sampleRate, 8000)
        var samples = Array(speech.samples.prefix(5 * 8000))
        samples += [Int16](repeating: 0, count: 5 * 8000 - samples.count)
        let path = workDir + "/five.wav"
        try WAVAudio(samples: samples, sampleRate: 8000).wavData().write(to: URL(fileURLWithPath: path))
        _ = try transcriber  // exclude model loading from the measurement
        let started = Date()
        let text = try run(path)
        let elapsed = Date().timeIntervalSince(started)
        print("TIMING: 5.0 s recording transcribed in \(String(format: "%.2f", elapsed)) s: '\(text)'")
        XCTAssertFalse(text.isEmpty)
        XCTAssertLessThan(elapsed, 20, "transcription should be faster than a few times real time")
    }

    /// Requests issued together are decoded one after another on the shared decoder and
    /// give the same answer as one alone.
    func testConcurrentRequestsShareOneDecoder() throws {
        let wav = try speak("one two three", name: "shared")
        let reference = try run(wav)
        let t = try transcriber
        let results = Results()
        let done = expectation(description: "all")
        done.expectedFulfillmentCount = 3
        for _ in 0..<3 {
            DispatchQueue.global().async {
                t.transcribe(wavPath: wav) { results.append($0); done.fulfill() }
            }
        }
        wait(for: [done], timeout: 60)
        XCTAssertEqual(results.all.count, 3)
        for r in results.all { XCTAssertEqual(try r.get(), reference) }
    }

    /// A file's text does not depend on what the decoder heard before: the front end's
    /// noise estimate is reset for every recording. Without the reset these slightly
    /// dithered variants came out differently the second time on a new decoder.
    func testResultIndependentOfHistory() throws {
        var differing: [String] = []
        for (phrase, seed) in [("four five six", UInt32(3)), ("yes", 2), ("four five six", 5)] {
            let clean = try WAVAudio(contentsOfFile: try speak(phrase, name: "history"))
            var state = seed
            func bit() -> Int { state = state &* 1_103_515_245 &+ 12345; return Int(state >> 16) & 1 }
            let dithered = WAVAudio(samples: clean.samples.map { Int16(clamping: Int($0) + bit() - bit()) },
                                    sampleRate: clean.sampleRate)
            let path = workDir + "/history-\(seed).wav"
            try dithered.wavData().write(to: URL(fileURLWithPath: path))
            let fresh = try Transcriber(logger: Logger(sink: MemorySink()))
            let texts = [try run(path, on: fresh), try run(path, on: fresh), try run(path)]
            if Set(texts).count != 1 { differing.append("\(phrase)/\(seed): \(texts)") }
        }
        XCTAssertEqual(differing, [])
    }

    func testAsyncForm() async throws {
        let wav = try speak("one two three", name: "async")
        let text = try await transcriber.transcribe(wavPath: wav)
        XCTAssertGreaterThanOrEqual(hits(text, "one two three"), 1, "hypothesis was '\(text)'")
    }

    // MARK: Errors

    func testMissingFileFails() throws {
        let result = try runResult(workDir + "/nope.wav")
        XCTAssertEqual(result.failure, .fileNotFound(workDir + "/nope.wav"))
    }

    func testNonWAVFileFails() throws {
        let path = workDir + "/notes.txt"
        try Data("this is not audio, just some text that is long enough".utf8).write(to: URL(fileURLWithPath: path))
        guard case .invalidWAV = try runResult(path).failure else {
            return XCTFail("expected invalidWAV")
        }
    }

    func testTruncatedHeaderFails() throws {
        let path = workDir + "/short.wav"
        try Data("RIFF\u{0}\u{0}".utf8).write(to: URL(fileURLWithPath: path))
        guard case .invalidWAV = try runResult(path).failure else { return XCTFail("expected invalidWAV") }
    }

    func testMissingModelThrows() {
        XCTAssertThrowsError(try Transcriber(logger: Logger(sink: MemorySink()), modelDirectory: workDir + "/none")) {
            guard case .model = $0 as? TranscriptionError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try Transcriber(logger: Logger(sink: MemorySink()), dictionary: workDir + "/none.dict"))
    }

    // MARK: Helpers

    /// Synthesises `text` with espeak-ng (22.05 kHz) and converts it to 8 kHz mono 16-bit
    /// WAV with this module's speexdsp resampler. Not sox: its default dither is random, and
    /// PocketSphinx is sensitive enough that test audio must be identical on every run.
    private func speak(_ text: String, name: String) throws -> String {
        guard let espeak = Self.tool("espeak-ng") else {
            throw NSError(domain: "TranscriberTests", code: 1,
                          userInfo: [NSLocalizedDescriptionKey: "espeak-ng command-line tool not installed (Debian package espeak-ng; make deps installs it)"])
        }
        let raw = workDir + "/\(name)-22k.wav"
        let out = workDir + "/\(name).wav"
        try Self.execute(espeak, ["-v", "en-us", "-s", "120", "-w", raw, text])
        try WAVAudio(contentsOfFile: raw).resampled(to: 8000).wavData().write(to: URL(fileURLWithPath: out))
        return out
    }

    /// How many of `spoken`'s words the hypothesis contains.
    private func hits(_ hypothesis: String, _ spoken: String) -> Int {
        let heard = Set(hypothesis.split(separator: " "))
        return spoken.split(separator: " ").filter { heard.contains($0) }.count
    }

    private func run(_ path: String, on other: Transcriber? = nil) throws -> String {
        try runResult(path, on: other).get()
    }

    private func runResult(_ path: String, on other: Transcriber? = nil) throws -> Result<String, TranscriptionError> {
        let box = Results()
        let done = expectation(description: "transcribed")
        try (other ?? transcriber).transcribe(wavPath: path) { box.append($0); done.fulfill() }
        wait(for: [done], timeout: 60)
        return box.all[0]
    }

    static func tool(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    static func execute(_ tool: String, _ args: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw NSError(domain: "tool", code: Int(p.terminationStatus),
                          userInfo: [NSLocalizedDescriptionKey: "\(tool) \(args) failed"])
        }
    }
}

/// Collects results from completion handlers.
final class Results: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Result<String, TranscriptionError>] = []
    func append(_ r: Result<String, TranscriptionError>) { lock.lock(); items.append(r); lock.unlock() }
    var all: [Result<String, TranscriptionError>] { lock.lock(); defer { lock.unlock() }; return items }
}

extension Result {
    var failure: Failure? { if case .failure(let e) = self { e } else { nil } }
}
