/// Reads and validates the attributes of one element.
///
/// Every standard attribute that a verb decoder does not read is reported by
/// ``ignoredAttributes()``: a warning, the attribute is ignored (hosted platforms document
/// more attributes than tollfreed implements, and an app written for them must still run).
struct AttributeReader {
    private let element: XMLElementNode
    private var standard: [String: String] = [:]
    private var known: [String] = []
    /// Extension attributes (`urn:tollfreed:texml`), keyed by local name.
    private(set) var extensions: [String: String] = [:]

    init(_ element: XMLElementNode) throws {
        self.element = element
        for (name, value) in element.attributes.sorted(by: { $0.key < $1.key }) {
            guard let colon = name.firstIndex(of: ":") else {
                if name != "xmlns" { standard[name] = value }
                continue
            }
            let prefix = String(name[..<colon])
            let local = String(name[name.index(after: colon)...])
            if prefix == "xmlns" { continue }
            guard let uri = element.namespaces[prefix] else {
                throw error(.foreignNamespace, "attribute '\(name)' uses undeclared namespace prefix '\(prefix)'")
            }
            guard uri == TeXMLParser.extensionNamespace else {
                throw error(.foreignNamespace, "attribute '\(name)' is in namespace '\(uri)'; only "
                    + "'\(TeXMLParser.extensionNamespace)' extension attributes are allowed")
            }
            extensions[local] = value
        }
    }

    private var verb: String { element.localName }

    func error(_ kind: TeXMLError.Kind, _ message: String) -> TeXMLError {
        TeXMLError(kind: kind, location: element.location, verb: verb, message: message)
    }

    func invalid(_ name: String, _ requirement: String, _ value: String) -> TeXMLError {
        error(.invalidAttribute, "attribute '\(name)' must be \(requirement), got '\(value)'")
    }

    private mutating func raw(_ name: String) -> String? {
        known.append(name)
        return standard[name]
    }

    /// A free-form string; present but empty is allowed.
    mutating func string(_ name: String) -> String? {
        raw(name)
    }

    /// A non-empty string such as a URL, path, caller ID or voice name (kept as written).
    mutating func nonEmpty(_ name: String) throws -> String? {
        guard let value = raw(name) else { return nil }
        guard !value.isBlank else { throw invalid(name, "a non-empty string", value) }
        return value
    }

    /// An integer within `range` (an upper bound of `Int.max` means unbounded).
    mutating func integer(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let value = raw(name) else { return nil }
        let requirement = range.upperBound == Int.max
            ? "an integer >= \(range.lowerBound)"
            : "an integer between \(range.lowerBound) and \(range.upperBound)"
        guard let number = Int(value), range.contains(number) else { throw invalid(name, requirement, value) }
        return number
    }

    /// An integer within `range`, or `defaultValue` when absent.
    mutating func integer(_ name: String, in range: ClosedRange<Int>, default defaultValue: Int) throws -> Int {
        try integer(name, in: range) ?? defaultValue
    }

    /// `true` or `false`.
    mutating func bool(_ name: String, default defaultValue: Bool) throws -> Bool {
        guard let value = raw(name) else { return defaultValue }
        switch value {
        case "true": return true
        case "false": return false
        default: throw invalid(name, "'true' or 'false'", value)
        }
    }

    /// One of the raw values of `E`.
    mutating func choice<E>(_ name: String, default defaultValue: E) throws -> E
    where E: RawRepresentable & CaseIterable, E.RawValue == String {
        guard let value = raw(name) else { return defaultValue }
        guard let result = E(rawValue: value) else {
            let options = E.allCases.map(\.rawValue).joined(separator: ", ")
            throw invalid(name, "one of \(options)", value)
        }
        return result
    }

    /// `GET` or `POST` (default POST).
    mutating func method(_ name: String) throws -> RequestMethod {
        try choice(name, default: RequestMethod.post)
    }

    /// A non-empty space-separated list of raw values of `E`.
    mutating func set<E>(_ name: String, default defaultValue: Set<E>) throws -> Set<E>
    where E: RawRepresentable & CaseIterable & Hashable, E.RawValue == String {
        var none: [String] = []
        return try set(name, default: defaultValue, tolerating: [], found: &none)
    }

    /// As `set`, but the values in `tolerating` (documented by a platform, not implemented
    /// here) are left out and listed in `found` instead of refusing the attribute.
    mutating func set<E>(_ name: String, default defaultValue: Set<E>, tolerating: Set<String>,
                         found: inout [String]) throws -> Set<E>
    where E: RawRepresentable & CaseIterable & Hashable, E.RawValue == String {
        guard let value = raw(name) else { return defaultValue }
        let tokens = value.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        let options = E.allCases.map(\.rawValue).joined(separator: ", ")
        let requirement = "a space-separated list of \(options)"
        guard !tokens.isEmpty else { throw invalid(name, requirement, value) }
        var result = Set<E>()
        for token in tokens {
            if tolerating.contains(token) { found.append(token); continue }
            guard let item = E(rawValue: token) else { throw invalid(name, requirement, value) }
            result.insert(item)
        }
        return result.isEmpty && !found.isEmpty ? defaultValue : result
    }

    /// A string made only of characters in `allowed` (empty allowed only if `allowEmpty`).
    mutating func keys(_ name: String, allowed: String, allowEmpty: Bool) throws -> String? {
        guard let value = raw(name) else { return nil }
        let ok = (allowEmpty || !value.isEmpty) && value.allSatisfy { allowed.contains($0) }
        guard ok else {
            throw invalid(name, (allowEmpty ? "" : "non-empty and ") + "made of the characters '\(allowed)'", value)
        }
        return value
    }

    /// A BCP-47 style language tag such as `en-US`, `es`, `pt-BR`, `zh-Hans-CN`.
    mutating func language(_ name: String, default defaultValue: String) throws -> String {
        guard let value = raw(name) else { return defaultValue }
        guard Self.isLanguageTag(value) else { throw invalid(name, "a language tag such as 'en-US'", value) }
        return value
    }

    static func isLanguageTag(_ value: String) -> Bool {
        let parts = value.split(separator: "-", omittingEmptySubsequences: false)
        guard let primary = parts.first, (2...3).contains(primary.count),
              primary.allSatisfy({ $0.isASCII && $0.isLetter }) else { return false }
        return parts.dropFirst().allSatisfy { part in
            (1...8).contains(part.count) && part.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
        }
    }

    /// A warning for each attribute that was never read, alphabetically.
    func ignoredAttributes() -> [TeXMLError] {
        standard.keys.sorted().filter { !known.contains($0) }.map { name in
            if let why = DocumentedAttributes.reason(verb, name) {
                return error(.unknownAttribute, "attribute '\(name)' (documented by Twilio or Telnyx) is not implemented "
                                                + "by tollfreed; ignored (\(why))")
            }
            var message = "attribute '\(name)' is not supported by tollfreed; ignored"
            if let suggestion = Self.suggestion(for: name, among: known) {
                message += " (did you mean '\(suggestion)'?)"
            }
            return error(.unknownAttribute, message)
        }
    }

    /// The closest name (case-insensitive match or edit distance <= 2), if any.
    static func suggestion(for name: String, among candidates: [String]) -> String? {
        let lower = name.lowercased()
        if let exact = candidates.first(where: { $0.lowercased() == lower }) { return exact }
        let scored = candidates.map { ($0, editDistance(lower, $0.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= 2 else { return nil }
        return best.0
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            previous = current
        }
        return previous[b.count]
    }
}
