import Foundation

/// An HTTP request for a call flow: where to go, how, and which form fields to send.
///
/// `GET` puts the fields in the query string (after any query the URL already has);
/// `POST` sends them as an `application/x-www-form-urlencoded` body. A `file:` URL or
/// a scheme-less absolute path names a local document (fields are then ignored).
public struct WebhookRequest: Sendable {
    /// Target URL: `http:`/`https:`, `file:`, or a scheme-less absolute path.
    public var url: URL
    /// `"GET"` or `"POST"`; anything that is not `GET` (case-insensitively) is sent as `POST`.
    public var method: String
    /// Form fields (unencoded) in the order they are sent; duplicates are kept.
    public var parameters: [(name: String, value: String)]
    /// The tenant's auth token: when set, the request carries `X-Twilio-Signature`
    /// (see ``RequestSignature``), so apps that validate Twilio's requests accept it.
    public var signingToken: String?

    /// A request with `(name, value)` fields, e.g. `[("CallSid", sid), ("From", from)]`.
    /// `method` is normalised to `"GET"` or `"POST"`.
    public init(url: URL, method: String = "POST", parameters: [(name: String, value: String)] = []) {
        self.url = url
        self.method = method.uppercased() == "GET" ? "GET" : "POST"
        self.parameters = parameters
    }

    /// A request for a location as written in a TeXML attribute or a configuration file:
    /// an absolute `http(s):`/`file:` URL or an absolute filesystem path. Nil otherwise.
    public init?(location: String, method: String = "POST", parameters: [(name: String, value: String)] = []) {
        let trimmed = location.trimmingCharacters(in: .whitespacesAndNewlines)
        let url: URL
        if trimmed.hasPrefix("/") {
            url = URL(fileURLWithPath: trimmed)
        } else if let u = URL(string: trimmed), let scheme = u.scheme?.lowercased(),
                  ["http", "https", "file"].contains(scheme) {
            url = u
        } else {
            return nil
        }
        self.init(url: url, method: method, parameters: parameters)
    }

    /// The URL actually requested: for `GET`, `url` with the encoded fields appended to its
    /// query; for `POST`, `url` unchanged.
    public var effectiveURL: URL {
        guard method == "GET", !parameters.isEmpty else { return url }
        return FormEncoding.appendingQuery(FormEncoding.encode(parameters), to: url)
    }

    /// The `X-Twilio-Signature` header for `signingToken`, nil without one.
    public var signatureHeader: String? {
        guard let signingToken, !signingToken.isEmpty else { return nil }
        let signed = RequestSignature.twilio(url: effectiveURL.absoluteString, form: method == "POST" ? parameters : [],
                                             token: signingToken)
        return "X-Twilio-Signature: \(signed)"
    }

    /// The encoded form body for `POST`, nil for `GET`.
    public var body: Data? {
        method == "POST" ? Data(FormEncoding.encode(parameters).utf8) : nil
    }
}

/// `application/x-www-form-urlencoded` encoding, strict RFC 3986 flavour: every byte of the
/// UTF-8 form outside the unreserved set `A-Z a-z 0-9 - . _ ~` becomes `%XX` (upper-case
/// hex), so a space is `%20`, `+` is `%2B`, and no `+` ever stands for a space.
public enum FormEncoding {
    private static let hex: [UInt8] = Array("0123456789ABCDEF".utf8)

    /// Percent-encodes one name or value.
    public static func percentEncode(_ string: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(string.utf8.count)
        for b in string.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(b)
            default:
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `name=value&name=value`, in order.
    public static func encode(_ parameters: [(name: String, value: String)]) -> String {
        parameters.map { percentEncode($0.name) + "=" + percentEncode($0.value) }.joined(separator: "&")
    }

    /// Decodes a form string back into fields (`+` is read as a space, as HTML forms send it).
    public static func decode(_ form: String) -> [(name: String, value: String)] {
        form.split(separator: "&", omittingEmptySubsequences: true).map { field in
            let parts = field.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func unescape(_ s: Substring) -> String {
                let spaced = s.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            return (unescape(parts[0]), parts.count > 1 ? unescape(parts[1]) : "")
        }
    }

    /// `url` with `query` (already encoded) appended: `?query` when the URL has no query,
    /// `&query` when it has one, nothing added when `query` is empty. A fragment stays last.
    public static func appendingQuery(_ query: String, to url: URL) -> URL {
        guard !query.isEmpty else { return url }
        var string = url.absoluteString
        var fragment = ""
        if let hash = string.firstIndex(of: "#") {
            fragment = String(string[hash...])
            string = String(string[..<hash])
        }
        if let q = string.firstIndex(of: "?") {
            let existing = string[string.index(after: q)...]
            if !existing.isEmpty && !existing.hasSuffix("&") { string += "&" }
        } else {
            string += "?"
        }
        return URL(string: string + query + fragment) ?? url
    }
}
