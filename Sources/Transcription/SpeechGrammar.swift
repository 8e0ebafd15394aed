import Foundation

/// Turns a `<Gather hints="...">` attribute into a JSGF grammar for PocketSphinx.
///
/// Twilio's and Telnyx's `hints` are a comma-separated list of words and phrases, plus
/// class tokens such as `$OOV_CLASS_DIGIT_SEQUENCE`. Here the phrases become the grammar's
/// alternatives (any sequence of them), so recognition is limited to what the app expects:
/// far more accurate on 8 kHz telephone audio than the open language model, at the price
/// that words outside the hints are never recognised (the hosted platforms only favour the
/// hints). A value that starts with `#JSGF` is used as the grammar itself.
public struct SpeechGrammar: Sendable, Equatable {
    /// Limits on what an app may send; past them hints are dropped with a reason.
    public static let maxPhrases = 500
    public static let maxPhraseLength = 100
    public static let maxGrammarLength = 16_384

    /// The digits a spoken sequence is made of (`oh` is how people say 0 in numbers).
    static let digitWords = ["zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    /// Class tokens that mean "a sequence of digits".
    static let digitClasses: Set<String> = ["$oov_class_digit_sequence", "$oov_class_fullphonenum",
                                            "$oov_class_postalcode", "$oov_class_ordinal", "$oov_class_operand"]

    /// The JSGF text; nil when no hint was usable (recognise with the language model).
    public var jsgf: String?
    /// Hints left out, each with the reason (unknown words, unsupported classes, limits).
    public var dropped: [String]
    /// PocketSphinx's word insertion penalty for this grammar. Its default (0.65) suits
    /// phrase lists; a free digit sequence with it inserts extra short digits (measured on
    /// espeak-ng digit strings: 66 % word errors at 0.65, 16 % at 1e-4).
    public var wordInsertionPenalty = 0.65

    /// Builds the grammar. `knows` tells whether the pronunciation dictionary has a word.
    public init(hints: String, knows: (String) -> Bool) {
        dropped = []
        let trimmed = hints.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("#JSGF") {
            if trimmed.utf8.count > Self.maxGrammarLength {
                jsgf = nil
                dropped = ["the grammar is longer than \(Self.maxGrammarLength) bytes"]
            } else {
                jsgf = trimmed
            }
            return
        }
        var alternatives: [String] = []
        var digits = false
        let phrases = trimmed.split(separator: ",", omittingEmptySubsequences: true)
        for (index, raw) in phrases.enumerated() {
            let phrase = raw.trimmingCharacters(in: .whitespaces)
            if phrase.isEmpty { continue }
            guard index < Self.maxPhrases else {
                dropped.append("\(phrases.count - Self.maxPhrases) hints past the first \(Self.maxPhrases)")
                break
            }
            let lower = phrase.lowercased()
            if lower.hasPrefix("$") {
                if Self.digitClasses.contains(lower) { digits = true } else {
                    dropped.append("\(phrase) (class not supported; digit sequences are)")
                }
                continue
            }
            guard phrase.count <= Self.maxPhraseLength else {
                dropped.append("\(phrase.prefix(20))... (longer than \(Self.maxPhraseLength) characters)")
                continue
            }
            let words = Self.words(of: lower)
            if let unknown = words.first(where: { !knows($0) }) {
                dropped.append("\(phrase) (no pronunciation for '\(unknown)')")
            } else if !words.isEmpty, !alternatives.contains(words.joined(separator: " ")) {
                alternatives.append(words.joined(separator: " "))
            }
        }
        jsgf = Self.grammar(alternatives, digits: digits)
        if digits { wordInsertionPenalty = 1e-4 }
    }

    /// Lower-case words of a phrase: punctuation other than apostrophes splits words, and
    /// digits are spelled one by one ("press 1" is "press one").
    static func words(of phrase: String) -> [String] {
        var words: [String] = []
        var current = ""
        func flush() { if !current.isEmpty { words.append(current); current = "" } }
        for ch in phrase {
            if let d = ch.wholeNumberValue, ch.isASCII {
                flush()
                words.append(digitWords[d == 0 ? 0 : d + 1])
            } else if ch.isLetter || ch == "'" {
                current.append(ch)
            } else {
                flush()
            }
        }
        flush()
        return words
    }

    private static func grammar(_ alternatives: [String], digits: Bool) -> String? {
        var rules = alternatives
        if digits { rules.append("<digit>+") }
        guard !rules.isEmpty else { return nil }
        var text = "#JSGF V1.0;\ngrammar hints;\npublic <utterance> = ( " + rules.joined(separator: " | ") + " )+;\n"
        if digits { text += "<digit> = " + digitWords.joined(separator: " | ") + ";\n" }
        return text
    }
}
