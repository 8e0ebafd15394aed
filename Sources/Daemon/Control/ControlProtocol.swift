import Foundation

/// The control socket's protocol: the client writes one request, a JSON object on one line
/// (`{"command":"status"}`), and reads one answer, a JSON object, until the daemon closes
/// the connection. Every answer has `"ok"`; a refusal has `"ok":false` and `"error"`.
package enum ControlRequest: Equatable, Sendable {
    case status
    case calls
    /// End the call with this id (`CA...` or its SIP Call-ID).
    case hangup(String)
    case drain
    case undrain
    /// Re-read the config and flows, as SIGHUP does, and answer with the outcome.
    case reload
    /// Re-read the local flow file(s) of this number.
    case flowsReload(String)

    /// The longest request line taken; a longer one is refused.
    package static let maxRequestBytes = 4096
    /// The longest id or number in a request.
    static let maxArgumentBytes = 256

    /// The request's command word on the wire.
    package var command: String {
        switch self {
        case .status: "status"
        case .calls: "calls"
        case .hangup: "calls.hangup"
        case .drain: "drain"
        case .undrain: "undrain"
        case .reload: "reload"
        case .flowsReload: "flows.reload"
        }
    }

    /// True for requests that change something; those are audited.
    package var isAction: Bool {
        switch self {
        case .status, .calls: false
        default: true
        }
    }

    /// The request as the client sends it (without the newline).
    package var line: String {
        var object: [String: String] = ["command": command]
        switch self {
        case .hangup(let id): object["call"] = id
        case .flowsReload(let number): object["number"] = number
        default: break
        }
        return ControlJSON.text(object)
    }

    /// Parses one request line (without its newline).
    package init(line: [UInt8]) throws(ControlProtocolError) {
        guard line.count <= Self.maxRequestBytes else {
            throw ControlProtocolError("request longer than \(Self.maxRequestBytes) bytes")
        }
        guard let any = try? JSONSerialization.jsonObject(with: Data(line)), let o = any as? [String: Any] else {
            throw ControlProtocolError("request is not a JSON object")
        }
        guard let command = o["command"] as? String else { throw ControlProtocolError("request has no \"command\"") }
        func argument(_ key: String) throws(ControlProtocolError) -> String {
            guard let v = o[key] as? String, !v.isEmpty else { throw ControlProtocolError("\(command) needs \"\(key)\"") }
            guard v.utf8.count <= Self.maxArgumentBytes else { throw ControlProtocolError("\"\(key)\" is too long") }
            return v
        }
        switch command {
        case "status": self = .status
        case "calls": self = .calls
        case "calls.hangup": self = .hangup(try argument("call"))
        case "drain": self = .drain
        case "undrain": self = .undrain
        case "reload": self = .reload
        case "flows.reload": self = .flowsReload(try argument("number"))
        default: throw ControlProtocolError("unknown command '\(command.prefix(64))'")
        }
    }
}

/// A request the daemon cannot take; answered with `"ok":false`.
package struct ControlProtocolError: Error, Equatable, CustomStringConvertible {
    package var description: String
    package init(_ d: String) { description = d }
}

/// The JSON text of answers and requests: keys sorted, one line.
package enum ControlJSON {
    package static func text(_ object: [String: Any]) -> String {
        guard JSONSerialization.isValidJSONObject(object),
              let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return #"{"error":"answer could not be encoded","ok":false}"#
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// A refusal.
    package static func failure(_ message: String) -> [String: Any] { ["ok": false, "error": message] }
}
