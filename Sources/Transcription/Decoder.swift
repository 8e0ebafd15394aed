import CPocketSphinx
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Owns one `ps_decoder_t`. Used by one job at a time (the transcriber's serial queue, or
/// the speech pool, which hands each decoder to one utterance), which is what makes the
/// unchecked conformance sound.
final class Decoder: @unchecked Sendable {
    private let ps: OpaquePointer
    private let config: OpaquePointer
    /// cmd_ln keeps pointers into argv in some versions: the strings live as long as we do.
    private let argv: [UnsafeMutablePointer<CChar>?]

    init(arguments: [String]) throws(TranscriptionError) {
        Decoder.silenceLibraryLogging()
        var argv: [UnsafeMutablePointer<CChar>?] = (["tollfreed"] + arguments).map { strdup($0) }
        let config = argv.withUnsafeMutableBufferPointer { buf in
            cmd_ln_parse_r(nil, ps_args(), Int32(buf.count), buf.baseAddress, 1)
        }
        guard let config else {
            argv.forEach { free($0) }
            throw .model("pocketsphinx rejected its configuration")
        }
        guard let ps = ps_init(config) else {
            cmd_ln_free_r(config)
            argv.forEach { free($0) }
            throw .model("pocketsphinx could not load its models")
        }
        self.ps = ps
        self.config = config
        languageModelSearch = ps_get_search(ps).map { String(cString: $0) } ?? "_default"
        self.argv = argv
    }

    deinit {
        ps_free(ps)
        cmd_ln_free_r(config)
        argv.forEach { free($0) }
    }

    /// Decodes one recording of 16 kHz samples as a single utterance; returns the best
    /// hypothesis. Each recording is a new stream (`ps_start_stream` resets the front end's
    /// noise estimate, which otherwise carries over and changes the next file's text) and is
    /// passed whole (`full_utt`, so batch cepstral mean normalisation sees all of it): the
    /// same file always gives the same text, whatever was decoded before.
    func decode(_ samples: [Int16]) throws(TranscriptionError) -> String {
        try decode(samples, grammar: nil).text
    }

    /// The name of the search set up from the configuration (the trigram language model).
    let languageModelSearch: String

    /// Whether the pronunciation dictionary knows `word` (lower case).
    func knows(_ word: String) -> Bool {
        guard let phones = ps_lookup_word(ps, word) else { return false }
        free(phones)
        return true
    }

    /// Decodes with the language model (`grammar` nil) or with a JSGF grammar, which stays
    /// loaded until another grammar replaces it. The confidence is the mean posterior
    /// probability of the hypothesis's words in the search's lattice. With a grammar it is
    /// close to 1 whenever the grammar matched at all (measured on espeak-ng speech, it did
    /// not tell right from wrong digits; nor did the acoustic ratio to a phone loop, tried).
    func decode(_ samples: [Int16], grammar: GrammarSearch?) throws(TranscriptionError) -> (text: String, confidence: Double) {
        if let grammar {
            try load(grammar)
            guard ps_set_search(ps, "grammar") == 0 else { throw .decoder("ps_set_search(grammar) failed") }
        } else {
            guard ps_set_search(ps, languageModelSearch) == 0 else { throw .decoder("ps_set_search(\(languageModelSearch)) failed") }
        }
        let text = try decodeUtterance(samples)
        return (text, text.isEmpty ? 0 : wordPosterior())
    }

    /// A grammar and the word insertion penalty its search is built with (the search reads
    /// `-wip` from the configuration when it is created).
    struct GrammarSearch: Equatable {
        var jsgf: String
        var wordInsertionPenalty: Double
    }

    private var loadedGrammar: GrammarSearch?

    private func load(_ grammar: GrammarSearch) throws(TranscriptionError) {
        guard grammar != loadedGrammar else { return }
        if loadedGrammar != nil { ps_unset_search(ps, "grammar") }
        loadedGrammar = nil
        let config = ps_get_config(ps)
        let defaultPenalty = cmd_ln_float_r(config, "-wip")
        cmd_ln_set_float_r(config, "-wip", grammar.wordInsertionPenalty)
        let status = ps_set_jsgf_string(ps, "grammar", grammar.jsgf)
        cmd_ln_set_float_r(config, "-wip", defaultPenalty)
        guard status == 0 else { throw .decoder("pocketsphinx rejected the grammar") }
        loadedGrammar = grammar
    }

    /// Decodes one utterance with the active search; the best hypothesis's words.
    private func decodeUtterance(_ samples: [Int16]) throws(TranscriptionError) -> String {
        guard ps_start_stream(ps) >= 0 else { throw .decoder("ps_start_stream failed") }
        guard ps_start_utt(ps) >= 0 else { throw .decoder("ps_start_utt failed") }
        let processed = samples.withUnsafeBufferPointer { buf in
            buf.isEmpty ? 0 : ps_process_raw(ps, buf.baseAddress, buf.count, 0, 1)
        }
        let ended = ps_end_utt(ps)
        guard processed >= 0 else { throw .decoder("ps_process_raw failed") }
        guard ended >= 0 else { throw .decoder("ps_end_utt failed") }
        var score: Int32 = 0
        guard let hyp = ps_get_hyp(ps, &score) else { return "" }
        return String(cString: hyp).split(separator: " ").filter { Self.isWord(String($0)) }.joined(separator: " ")
    }

    /// Mean linear posterior of the hypothesis's words.
    private func wordPosterior() -> Double {
        let logmath = ps_get_logmath(ps)
        var total = 0.0, words = 0
        var seg = ps_seg_iter(ps)
        while let s = seg {
            if let w = ps_seg_word(s), Self.isWord(String(cString: w)) {
                var ascr: Int32 = 0, lscr: Int32 = 0, lback: Int32 = 0
                total += min(1, max(0, logmath_exp(logmath, ps_seg_prob(s, &ascr, &lscr, &lback))))
                words += 1
            }
            seg = ps_seg_next(s)
        }
        return words == 0 ? 0 : total / Double(words)
    }

    /// Not a filler (`<s>`, `</s>`, `<sil>`, `[NOISE]`, `++garbage++`).
    private static func isWord(_ w: String) -> Bool {
        !(w.hasPrefix("<") || w.hasPrefix("[") || w.hasPrefix("+"))
    }

    /// Turns sphinxbase's logging off before the configuration is parsed (which logs the
    /// whole parameter table). `err_set_logfp` is not in the headers the module map
    /// exposes, so it is looked up in the already-loaded library. `-logfn /dev/null`
    /// keeps it quiet afterwards.
    private static func silenceLibraryLogging() {
        typealias SetLogFP = @convention(c) (UnsafeMutablePointer<FILE>?) -> Void
        guard let handle = dlopen(nil, RTLD_NOW), let sym = dlsym(handle, "err_set_logfp") else { return }
        unsafeBitCast(sym, to: SetLogFP.self)(nil)
    }
}
