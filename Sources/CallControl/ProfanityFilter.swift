/// `<Gather profanityFilter="true">` (the platforms' default): each profane word of a
/// speech result keeps its first letter and the rest becomes asterisks ("f***"), as
/// Twilio does.
enum ProfanityFilter {
    /// Words PocketSphinx's US English dictionary can produce that the filter masks.
    static let words: Set<String> = [
        "ass", "asshole", "bastard", "bitch", "bitches", "bullshit", "crap", "damn", "damned", "dick", "fuck",
        "fucked", "fucker", "fucking", "goddamn", "hell", "motherfucker", "piss", "pissed", "shit", "shitty",
        "slut", "whore",
    ]

    static func mask(_ text: String) -> String {
        text.split(separator: " ").map { word in
            guard words.contains(word.lowercased()), let first = word.first else { return String(word) }
            return String(first) + String(repeating: "*", count: word.count - 1)
        }.joined(separator: " ")
    }
}
