/// Session Description Protocol (RFC 4566) parsing and G.711 offer/answer (RFC 3264).
/// Pure values, no I/O: the signaling layer feeds bodies in and sends the answers out.

/// Direction attribute of a media stream.
public enum MediaDirection: String, Sendable, Equatable {
    case sendrecv, sendonly, recvonly, inactive

    /// The direction an answerer uses for an offer with this direction.
    public var answer: MediaDirection {
        switch self {
        case .sendrecv: .sendrecv
        case .sendonly: .recvonly
        case .recvonly: .sendonly
        case .inactive: .inactive
        }
    }

    /// True when the side using this direction sends media.
    public var sends: Bool { self == .sendrecv || self == .sendonly }
}

/// The address type of a `c=` line (RFC 4566 5.7): the family of the peer's media.
public enum SDPAddressType: String, Sendable, Equatable {
    case ip4 = "IP4", ip6 = "IP6"
}

/// One `a=rtpmap` entry.
public struct RTPMap: Sendable, Equatable {
    public var encoding: String
    public var clockRate: Int
    public var channels: Int
}

/// One `m=` section.
public struct MediaDescription: Sendable, Equatable {
    public var media: String
    public var port: Int
    public var proto: String
    public var formats: [String]
    public var rtpmaps: [Int: RTPMap] = [:]
    public var connectionAddress: String?
    public var direction: MediaDirection?
    public var ptime: Int?
    /// The address type of this stream's `c=` line (nil without one).
    public var connectionType: SDPAddressType?
    /// `a=rtcp-mux` (RFC 5761): RTCP on the RTP port.
    public var rtcpMux = false
    /// `a=rtcp:PORT` (RFC 3605): RTCP on this port instead of RTP's + 1.
    public var rtcpPort: Int?
    /// `a=crypto` lines (SDES, RFC 4568) that parse, in the offerer's order.
    public var crypto: [SDESCrypto] = []
    /// How many `a=crypto` lines the stream had, parsed or not (the limit counts them all).
    var cryptoLines = 0
}

/// A parsed session description.
public struct SessionDescription: Sendable, Equatable {
    public var version: Int = 0
    public var connectionAddress: String?
    /// The address type of the session-level `c=` line (nil without one).
    public var connectionType: SDPAddressType?
    public var direction: MediaDirection?
    public var media: [MediaDescription] = []
}

/// A body that is not a well-formed session description.
public struct SDPError: Error, Equatable, CustomStringConvertible {
    public var line: Int
    public var reason: String
    public var description: String { "SDP line \(line): \(reason)" }
}

public enum SDPParser {
    /// Parses an SDP body. Lines may end in CRLF or LF.
    public static func parse(_ text: String) throws(SDPError) -> SessionDescription {
        var sdp = SessionDescription()
        var sawVersion = false
        var sawOrigin = false
        var lineNo = 0
        // Split on bytes: "\r\n" is a single Character in Swift.
        for raw in text.utf8.split(omittingEmptySubsequences: true, whereSeparator: { $0 == 10 || $0 == 13 }) {
            lineNo += 1
            let line = String(decoding: raw, as: UTF8.self)
            let bytes = Array(raw)
            guard bytes.count >= 2, bytes[1] == UInt8(ascii: "="),
                  (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(bytes[0]) else {
                throw SDPError(line: lineNo, reason: "expected '<type>=<value>', got '\(line.prefix(40))'")
            }
            let type = Character(UnicodeScalar(bytes[0]))
            let value = String(line.dropFirst(2))
            if lineNo == 1 && type != "v" { throw SDPError(line: 1, reason: "SDP must start with v=") }
            switch type {
            case "v":
                guard let v = Int(value), v == 0 else { throw SDPError(line: lineNo, reason: "unsupported version '\(value)'") }
                sdp.version = v
                sawVersion = true
            case "o":
                guard value.split(separator: " ").count == 6 else { throw SDPError(line: lineNo, reason: "o= needs 6 fields") }
                sawOrigin = true
            case "c":
                let (addr, type) = try parseConnection(value, line: lineNo)
                if sdp.media.isEmpty {
                    (sdp.connectionAddress, sdp.connectionType) = (addr, type)
                } else {
                    (sdp.media[sdp.media.count - 1].connectionAddress, sdp.media[sdp.media.count - 1].connectionType) = (addr, type)
                }
            case "m":
                sdp.media.append(try parseMedia(value, line: lineNo))
            case "a":
                try parseAttribute(value, into: &sdp, line: lineNo)
            default:
                continue // s=, t=, b=, i=, u=, e=, p=, z=, k=, r= are not needed for audio answer
            }
        }
        guard sawVersion else { throw SDPError(line: 0, reason: "empty SDP body") }
        guard sawOrigin else { throw SDPError(line: 0, reason: "missing o= line") }
        return sdp
    }

    static func parseConnection(_ value: String, line: Int) throws(SDPError) -> (String, SDPAddressType) {
        let f = value.split(separator: " ")
        guard f.count == 3, f[0] == "IN", let type = SDPAddressType(rawValue: String(f[1])) else {
            throw SDPError(line: line, reason: "bad c= line '\(value)'")
        }
        // Multicast "addr/ttl": keep the address. Whether it is one we can use is decided
        // by offer/answer (488 with a Warning, not 400).
        return (String(f[2].split(separator: "/").first ?? f[2]), type)
    }

    static func parseMedia(_ value: String, line: Int) throws(SDPError) -> MediaDescription {
        let f = value.split(separator: " ")
        guard f.count >= 4, let portField = f[1].split(separator: "/").first, let port = Int(portField),
              (0...65535).contains(port) else {
            throw SDPError(line: line, reason: "bad m= line '\(value)'")
        }
        return MediaDescription(media: String(f[0]), port: port, proto: String(f[2]), formats: f[3...].map(String.init))
    }

    static func parseAttribute(_ value: String, into sdp: inout SessionDescription, line: Int) throws(SDPError) {
        let name: Substring
        let arg: Substring
        if let colon = value.firstIndex(of: ":") {
            name = value[..<colon]
            arg = value[value.index(after: colon)...]
        } else {
            name = Substring(value)
            arg = ""
        }
        if let dir = MediaDirection(rawValue: String(name)) {
            if sdp.media.isEmpty { sdp.direction = dir } else { sdp.media[sdp.media.count - 1].direction = dir }
            return
        }
        guard !sdp.media.isEmpty else { return }
        let i = sdp.media.count - 1
        switch name {
        case "rtpmap":
            let parts = arg.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, let pt = Int(parts[0]), (0...127).contains(pt) else {
                throw SDPError(line: line, reason: "bad rtpmap '\(arg)'")
            }
            let enc = parts[1].split(separator: "/")
            guard enc.count >= 2, let rate = Int(enc[1]), rate > 0 else {
                // A stream we will decline anyway (video...) may map what it likes
                // (RFC 4475 3.1.2.x): only audio, which we negotiate, must be well formed.
                guard sdp.media[i].media == "audio" else { return }
                throw SDPError(line: line, reason: "bad rtpmap encoding '\(parts[1])'")
            }
            let channels = enc.count > 2 ? Int(enc[2]) ?? 1 : 1
            sdp.media[i].rtpmaps[pt] = RTPMap(encoding: String(enc[0]), clockRate: rate, channels: channels)
        case "ptime":
            sdp.media[i].ptime = Int(arg.trimmingCharacters())
        case "rtcp-mux":
            sdp.media[i].rtcpMux = true
        case "crypto":
            sdp.media[i].cryptoLines += 1
            guard sdp.media[i].cryptoLines <= SDESCrypto.maxPerStream else {
                throw SDPError(line: line, reason: "more than \(SDESCrypto.maxPerStream) a=crypto lines in one stream")
            }
            // A line that does not parse is ignored (RFC 4568 5.1.3); another may match.
            if let c = SDESCrypto.parse(arg) { sdp.media[i].crypto.append(c) }
        case "rtcp":
            // "PORT [IN IP4 ADDR]": the port is what we use; a bad one is ignored (port + 1).
            if let p = arg.split(separator: " ").first.flatMap({ Int($0) }), (1...65535).contains(p) { sdp.media[i].rtcpPort = p }
        default:
            break
        }
    }
}

extension Substring {
    func trimmingCharacters() -> Substring {
        var s = self
        while let f = s.first, f == " " { s = s.dropFirst() }
        while let l = s.last, l == " " { s = s.dropLast() }
        return s
    }
}
