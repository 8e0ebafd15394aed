/// Audio codecs the media engine speaks: G.711 both laws and G.722 (64 kbit/s wideband,
/// `G722/8000` in SDP: RFC 3551 keeps its RTP clock at 8000 although it samples at 16 kHz).
public enum AudioCodec: String, Sendable, Equatable, CaseIterable {
    case pcmu = "PCMU", pcma = "PCMA", g722 = "G722"

    /// Static RTP payload type (RFC 3551).
    public var staticPayloadType: Int {
        switch self {
        case .pcmu: 0
        case .pcma: 8
        case .g722: 9
        }
    }
}

/// The codecs' old name, from when they were G.711 only.
public typealias G711Codec = AudioCodec

/// The audio session agreed by offer/answer.
public struct NegotiatedAudio: Sendable, Equatable {
    public var codec: AudioCodec
    public var payloadType: UInt8
    /// Payload type for RFC 4733 telephone-event, when both sides use it.
    public var telephoneEventPayloadType: UInt8?
    /// Where to send RTP; nil while the peer is on hold with c=0.0.0.0.
    public var remoteAddress: String?
    public var remotePort: UInt16
    /// Our direction (what we put in the answer).
    public var localDirection: MediaDirection
    public var ptime: Int
    /// RTCP on the RTP port (both sides said `a=rtcp-mux`).
    public var rtcpMux = false
    /// The peer's RTCP port: its `a=rtcp`, else the RTP port + 1 (the RTP port with mux).
    public var remoteRTCPPort: UInt16 = 0
    /// SRTP keys when the stream is secure (SDES); nil: plain RTP.
    public var crypto: NegotiatedCrypto?
    /// The transport profile we answer with: RTP/SAVP for a secure offer, else RTP/AVP.
    public var profile = "RTP/AVP"
    /// The family of the peer's `c=` (IP4 when it had none).
    public var addressType: SDPAddressType = .ip4
}

/// Why an offer cannot be answered.
public enum NegotiationFailure: Error, Equatable, CustomStringConvertible {
    /// No audio stream with a codec we support: 488 Not Acceptable Here.
    case noCommonCodec(String)
    /// The media address is not one we can send RTP to (a host name, multicast,
    /// broadcast, link-local, IPv4-mapped IPv6, a type that does not match the address, or
    /// malformed): 488 with `Warning: 301`.
    case unusableAddress(String)
    /// The peer's media is in a family we have no media address of (or, in a re-INVITE or
    /// an answer, not the family of the call's socket): 488 with `Warning: 301`.
    case otherFamily(SDPAddressType)
    public var description: String {
        switch self {
        case .noCommonCodec(let why): "no common codec: \(why)"
        case .unusableAddress(let address): "unusable media address '\(address)' (RTP needs a unicast IPv4 or IPv6 address)"
        case .otherFamily(let type): "media offered over \(type == .ip6 ? "IPv6" : "IPv4"), which this call's media address is not"
        }
    }

    /// The SIP Warning header for a 488 (RFC 3261 20.43 codes).
    public var warningHeader: String {
        switch self {
        case .noCommonCodec: "Warning: 305 tollfreed \"Incompatible media format\""
        case .unusableAddress, .otherFamily: "Warning: 301 tollfreed \"Incompatible network address format\""
        }
    }
}

/// True for a dotted-quad IPv4 unicast address we can send RTP to (not 0.0.0.0, which
/// means hold, nor multicast 224/4, nor broadcast).
public func isUsableIPv4Unicast(_ text: String) -> Bool {
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 4 else { return false }
    var octets: [Int] = []
    for p in parts {
        guard (1...3).contains(p.count), p.allSatisfy({ $0.isASCII && $0.isNumber }), let v = Int(p), v <= 255 else { return false }
        octets.append(v)
    }
    if octets[0] >= 224 { return false }          // multicast, reserved, broadcast
    return octets != [0, 0, 0, 0]
}

/// What we offer and answer with.
public struct LocalMedia: Sendable, Equatable {
    public var address: String
    public var port: UInt16
    /// Session id and version for o=; the version must increase when the session changes.
    public var sessionID: UInt64
    public var sessionVersion: UInt64
    /// SRTP on this call (the listener's or the trunk's policy).
    public var srtp: SRTPPolicy
    /// Our SRTP master key and salt, made once for the session: a renegotiation keeps it, so
    /// our streams carry on under one key (nil with `srtp` off).
    public var srtpKey: [UInt8]?
    public init(address: String, port: UInt16, sessionID: UInt64, sessionVersion: UInt64 = 1,
                srtp: SRTPPolicy = .off, srtpKey: [UInt8]? = nil) {
        self.address = address
        self.port = port
        self.sessionID = sessionID
        self.sessionVersion = sessionVersion
        self.srtp = srtpKey == nil ? .off : srtp
        self.srtpKey = srtpKey
    }
}

public enum OfferAnswer {
    /// Builds the answer to `offer`: picks the first format we speak (PCMU, PCMA, G722) in
    /// the offerer's order,
    /// echoes telephone-event/8000 when offered, answers other streams with port 0.
    public static func answer(_ offer: SessionDescription, local: LocalMedia)
        -> Result<(NegotiatedAudio, String), NegotiationFailure> {
        var chosen: (index: Int, audio: NegotiatedAudio)?
        var why = "no audio stream"
        for (i, m) in offer.media.enumerated() where chosen == nil {
            guard m.media == "audio" else { continue }
            guard m.port != 0 else { why = "audio stream disabled (port 0)"; continue }
            guard m.proto == "RTP/AVP" || m.proto == "RTP/AVPF" || m.isSecureProfile else { why = "unsupported transport \(m.proto)"; continue }
            guard let pick = pickCodec(m) else { why = "offered formats \(m.formats.joined(separator: " ")) have no PCMU, PCMA or G722"; continue }
            let crypto: NegotiatedCrypto?
            switch chooseCrypto(m, local: local) {
            case .plain: crypto = nil
            case .secure(let c): crypto = c
            case .refused(let reason): why = reason; continue
            }
            let (remote, type) = connection(m, in: offer)
            let direction = (m.direction ?? offer.direction ?? .sendrecv).answer
            let onHold = remote == nil || remote == "0.0.0.0" || remote == "::"
            if let refusal = addressRefusal(remote, type: type, onHold: onHold, local: local) { return .failure(refusal) }
            var audio = NegotiatedAudio(codec: pick.codec, payloadType: pick.pt,
                                        telephoneEventPayloadType: telephoneEvent(m),
                                        remoteAddress: onHold ? nil : remote, remotePort: UInt16(m.port),
                                        localDirection: direction, ptime: 20)
            audio.setRTCP(m)
            audio.crypto = crypto
            // We send no RTCP feedback: AVPF and SAVPF are answered without the F (as before).
            audio.profile = m.isSecureProfile ? "RTP/SAVP" : "RTP/AVP"
            audio.addressType = type
            chosen = (i, audio)
        }
        guard let chosen else { return .failure(.noCommonCodec(why)) }
        var lines = header(local)
        for (i, m) in offer.media.enumerated() {
            if i == chosen.index {
                lines += audioSection(chosen.audio, local: local)
            } else {
                // Declined streams keep their format list (RFC 3264 section 6).
                lines.append("m=\(m.media) 0 \(m.proto) \(m.formats.first ?? "0")")
            }
        }
        return .success((chosen.audio, lines.joined(separator: "\r\n") + "\r\n"))
    }

    /// Our offer for a late-offer INVITE (one without SDP) and `<Dial>` legs: PCMU, PCMA,
    /// G722 in that order (a peer that honours our order keeps G.711 and needs no
    /// transcoding to G.711 callers; one that prefers G.722 may take it), telephone-event;
    /// with SRTP, our keys (RTP/SAVP when it is required, else RTP/AVP so that a peer
    /// without SRTP answers in the clear).
    public static func offer(local: LocalMedia) -> String {
        var lines = header(local)
        let profile = local.srtp == .require ? "RTP/SAVP" : "RTP/AVP"
        lines += [
            "m=audio \(local.port) \(profile) 0 8 9 101",
            "a=rtpmap:0 PCMU/8000",
            "a=rtpmap:8 PCMA/8000",
            "a=rtpmap:9 G722/8000",
            "a=rtpmap:101 telephone-event/8000",
            "a=fmtp:101 0-16",
            "a=ptime:20",
            "a=sendrecv",
        ]
        lines += offeredCrypto(local)
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// Reads the peer's answer to our offer (`local`: what we offered, with its SRTP policy
    /// and key; from the ACK of a late-offer call, a `<Dial>` leg's 200).
    public static func acceptAnswer(_ answer: SessionDescription, local: LocalMedia) -> Result<NegotiatedAudio, NegotiationFailure> {
        guard let m = answer.media.first(where: { $0.media == "audio" && $0.port != 0 }) else {
            return .failure(.noCommonCodec("answer has no active audio stream"))
        }
        guard let pick = pickCodec(m) else { return .failure(.noCommonCodec("answer chose no PCMU, PCMA or G722")) }
        let (remote, type) = connection(m, in: answer)
        let onHold = remote == nil || remote == "0.0.0.0" || remote == "::"
        if let refusal = addressRefusal(remote, type: type, onHold: onHold, local: local) { return .failure(refusal) }
        let theirs = m.direction ?? answer.direction ?? .sendrecv
        let ours: MediaDirection = switch theirs {
        case .sendrecv: .sendrecv
        case .recvonly: .sendonly
        case .sendonly: .recvonly
        case .inactive: .inactive
        }
        var audio = NegotiatedAudio(codec: pick.codec, payloadType: pick.pt,
                                    telephoneEventPayloadType: telephoneEvent(m),
                                    remoteAddress: onHold ? nil : remote, remotePort: UInt16(m.port),
                                    localDirection: ours, ptime: 20)
        audio.setRTCP(m, offered: false)
        audio.addressType = type
        switch acceptCrypto(m, local: local) {
        case .success(let c): audio.crypto = c
        case .failure(let f): return .failure(f)
        }
        return .success(audio)
    }

    static func pickCodec(_ m: MediaDescription) -> (codec: AudioCodec, pt: UInt8)? {
        for f in m.formats {
            guard let pt = Int(f), (0...127).contains(pt) else { continue }
            if let map = m.rtpmaps[pt] {
                guard map.clockRate == 8000 else { continue }
                switch map.encoding.uppercased() {
                case "PCMU": return (.pcmu, UInt8(pt))
                case "PCMA": return (.pcma, UInt8(pt))
                case "G722" where map.channels == 1: return (.g722, UInt8(pt))
                default: continue
                }
            }
            if pt == 0 { return (.pcmu, 0) }
            if pt == 8 { return (.pcma, 8) }
            if pt == 9 { return (.g722, 9) }
        }
        return nil
    }

    static func telephoneEvent(_ m: MediaDescription) -> UInt8? {
        for f in m.formats {
            guard let pt = Int(f), let map = m.rtpmaps[pt] else { continue }
            if map.encoding.lowercased() == "telephone-event" && map.clockRate == 8000 { return UInt8(pt) }
        }
        return nil
    }

    static func header(_ local: LocalMedia) -> [String] {
        let family = local.addressType.rawValue
        return [
            "v=0",
            "o=tollfreed \(local.sessionID) \(local.sessionVersion) IN \(family) \(local.address)",
            "s=tollfreed",
            "c=IN \(family) \(local.address)",
            "t=0 0",
        ]
    }

    static func audioSection(_ a: NegotiatedAudio, local: LocalMedia) -> [String] {
        var fmts = "\(a.payloadType)"
        if let te = a.telephoneEventPayloadType { fmts += " \(te)" }
        var lines = ["m=audio \(local.port) \(a.profile) \(fmts)",
                     "a=rtpmap:\(a.payloadType) \(a.codec.rawValue)/8000"]
        if let te = a.telephoneEventPayloadType {
            lines += ["a=rtpmap:\(te) telephone-event/8000", "a=fmtp:\(te) 0-16"]
        }
        lines += ["a=ptime:\(a.ptime)", "a=\(a.localDirection.rawValue)"]
        if a.rtcpMux { lines.append("a=rtcp-mux") }
        if let c = a.crypto { lines.append(SDESCrypto(tag: c.tag, suite: c.suite, key: c.localKey).line) }
        return lines
    }
}

extension NegotiatedAudio {
    /// Where the peer takes RTCP, from its stream's attributes. We accept rtcp-mux when
    /// offered (and answer with it); we do not offer it ourselves, so an answer's
    /// `a=rtcp-mux` to our offer is not taken (RFC 5761 5.1.1).
    mutating func setRTCP(_ m: MediaDescription, offered: Bool = true) {
        rtcpMux = m.rtcpMux && offered
        let port = m.port
        remoteRTCPPort = rtcpMux ? UInt16(port) : UInt16(clamping: m.rtcpPort ?? min(65535, port + 1))
    }
}
