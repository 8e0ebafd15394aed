import Foundation

/// Strict reading of the tree `JSONSerialization` gives (the config file, the plans file):
/// unknown keys, missing keys and values of the wrong type are errors, each naming where
/// it is as `source: path: message`, where a path is dotted keys with list indices
/// (`tenants[0].industry`). `Failure` is the caller's error type.
public struct JSONTreeReader<Failure: Error> {
    /// The file (or other origin) every message starts with.
    public let source: String
    /// What a message about the top-level value calls its place (its path is empty).
    public let topLevel: String
    private let failure: (String) -> Failure

    /// A reader whose errors are `failure("source: path: message")`.
    public init(source: String, topLevel: String = "", failure: @escaping (String) -> Failure) {
        self.source = source
        self.topLevel = topLevel
        self.failure = failure
    }

    /// The error `source: path: message`.
    public func fail(_ path: String, _ message: String) -> Failure { failure("\(source): \(path): \(message)") }

    /// The path of `key` under `path` (`path.key`, or `key` at the top level).
    public static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// `value` as an object; a key not in `allowed` is an error that lists the allowed ones.
    public func object(_ value: Any, _ path: String, allowed: some Collection<String>) throws(Failure) -> [String: Any] {
        guard let o = value as? [String: Any] else { throw fail(path.isEmpty ? topLevel : path, "must be an object") }
        for k in o.keys.sorted() where !allowed.contains(k) {
            throw fail(Self.join(path, k), "unknown key (allowed: \(allowed.sorted().joined(separator: ", ")))")
        }
        return o
    }

    /// Fails on the first of `keys`, in their order, that `o` (at `path`) lacks.
    public func require(_ keys: some Sequence<String>, in o: [String: Any], _ path: String) throws(Failure) {
        for k in keys where o[k] == nil { throw fail(Self.join(path, k), "missing") }
    }

    /// The non-empty string at `key`; nil when the key is absent.
    public func string(_ o: [String: Any], _ key: String, _ path: String) throws(Failure) -> String? {
        guard let v = o[key] else { return nil }
        return try string(v, at: Self.join(path, key))
    }

    /// The non-empty string at `key`, which must be there.
    public func requiredString(_ o: [String: Any], _ key: String, _ path: String) throws(Failure) -> String {
        try string(o[key] ?? NSNull(), at: Self.join(path, key))
    }

    /// `value` (at `path`) as a non-empty string.
    public func string(_ value: Any, at path: String) throws(Failure) -> String {
        guard let s = value as? String, !s.isEmpty else { throw fail(path, "must be a non-empty string") }
        return s
    }

    /// The whole number in `range` at `key`; nil when the key is absent. The message calls
    /// it `noun`: "must be an integer in 0...100".
    public func integer(_ o: [String: Any], _ key: String, _ path: String, in range: ClosedRange<Int>,
                        noun: String = "an integer") throws(Failure) -> Int? {
        guard let v = o[key] else { return nil }
        return try integer(v, at: Self.join(path, key), in: range, noun: noun)
    }

    /// The whole number in `range` at `key`, which must be there.
    public func requiredInteger(_ o: [String: Any], _ key: String, _ path: String, in range: ClosedRange<Int>,
                                noun: String = "an integer") throws(Failure) -> Int {
        try integer(o[key] ?? NSNull(), at: Self.join(path, key), in: range, noun: noun)
    }

    /// `value` (at `path`) as a whole number in `range`: a JSON number, not a boolean, with
    /// no fraction, in range (checked before converting, so a huge number is never taken
    /// for a small one).
    public func integer(_ value: Any, at path: String, in range: ClosedRange<Int>, noun: String = "an integer") throws(Failure) -> Int {
        guard let n = value as? NSNumber, !Self.isBool(value), n.doubleValue == n.doubleValue.rounded(),
              n.doubleValue >= Double(range.lowerBound), n.doubleValue <= Double(range.upperBound),
              range.contains(n.intValue) else {
            throw fail(path, "must be \(noun) in \(range.lowerBound)...\(range.upperBound)")
        }
        return n.intValue
    }

    /// The boolean at `key`; nil when the key is absent. 0 and 1 are not booleans.
    public func bool(_ o: [String: Any], _ key: String, _ path: String) throws(Failure) -> Bool? {
        guard let v = o[key] else { return nil }
        guard Self.isBool(v), let b = v as? Bool else { throw fail(Self.join(path, key), "must be true or false") }
        return b
    }

    /// JSONSerialization gives booleans as a distinct NSNumber subclass; tells them from 0 and 1.
    public static func isBool(_ v: Any) -> Bool {
        String(describing: type(of: v)).contains("Boolean") || type(of: v) == Bool.self
    }
}
