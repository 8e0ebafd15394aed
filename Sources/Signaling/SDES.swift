import Foundation

/// SRTP keyed in SDP (SDES, RFC 4568): the `a=crypto` attribute, the suites we accept,
/// and the policy a listener or trunk applies. Pure values; the media engine does the
/// cryptography.

/// Whether calls use SRTP: `off` (plain RTP; an RTP/SAVP-only offer gets 488), `offer`
/// (SRTP when the peer offers keys, plain otherwise; our offers carry keys in RTP/AVP so
/// either kind of peer answers), `require` (SRTP only: a plain offer gets 488, our offers
/// are RTP/SAVP).
public enum SRTPPolicy: String, Sendable, Equatable, CaseIterable {
    case off, offer, require
}

/// One `a=crypto` line: `TAG SUITE inline:KEY[|LIFETIME][|MKI:LEN] [SESSION-PARAMS]`.
public struct SDESCrypto: Sendable, Equatable {
    public var tag: Int
    public var suite: String
    /// The master key and salt (decoded; 30 octets for the AES-CM-128 suites).
    public var key: [UInt8]
    /// True when the line has something we do not do: an MKI, several keys, or session
    /// parameters that weaken or change SRTP (UNENCRYPTED_*, UNAUTHENTICATED_SRTP, FEC_*,
    /// a KDR other than 0). Such a line is never chosen.
    public var unsupported: Bool

    /// The suites we take, in our order of preference (RFC 4568 6.2).
    public static let suites = ["AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"]
    static let keyLength = 30
    /// At most this many `a=crypto` lines per stream are read (the rest is refused).
    public static let maxPerStream = 16

    public init(tag: Int, suite: String, key: [UInt8], unsupported: Bool = false) {
        self.tag = tag
        self.suite = suite
        self.key = key
        self.unsupported = unsupported
    }

    /// Parses an attribute value; nil when it is not a well-formed crypto line (RFC 4568:
    /// such a line is ignored, and the offer may still match on another).
    public static func parse(_ value: Substring) -> SDESCrypto? {
        guard value.utf8.count <= 512 else { return nil }
        let fields = value.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 3, fields[0].count <= 9, let tag = Int(fields[0]), tag >= 0 else { return nil }
        let keyParams = fields[2].split(separator: ";", omittingEmptySubsequences: false)
        guard let first = keyParams.first, first.hasPrefix("inline:") else { return nil }
        let parts = first.dropFirst("inline:".count).split(separator: "|", omittingEmptySubsequences: false)
        guard let encoded = parts.first, let key = Data(base64Encoded: String(encoded)), !key.isEmpty else { return nil }
        var unsupported = keyParams.count > 1 || key.count != keyLength
        for extra in parts.dropFirst() {
            if extra.contains(":") { unsupported = true }             // MKI:LENGTH
            else if !isLifetime(extra) { return nil }
        }
        for param in fields.dropFirst(3) where param != "KDR=0" && !param.hasPrefix("WSH=") { unsupported = true }
        return SDESCrypto(tag: tag, suite: String(fields[1]), key: Array(key), unsupported: unsupported)
    }

    /// "2^20" or a decimal count of packets.
    static func isLifetime(_ s: Substring) -> Bool {
        if s.hasPrefix("2^") { return Int(s.dropFirst(2)).map { (1...64).contains($0) } == true }
        return !s.isEmpty && s.count <= 20 && s.allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// The attribute line for this crypto (our key in `key`).
    public var line: String { "a=crypto:\(tag) \(suite) inline:\(Data(key).base64EncodedString())" }
}

/// SRTP as one offer/answer agreed it.
public struct NegotiatedCrypto: Sendable, Equatable {
    public var suite: String
    public var tag: Int
    /// What we send with (our key) and what the peer sends with (its key).
    public var localKey: [UInt8]
    public var remoteKey: [UInt8]
}

extension MediaDescription {
    /// True for the secure profiles RTP/SAVP and RTP/SAVPF (RFC 3711, RFC 5124).
    public var isSecureProfile: Bool { proto == "RTP/SAVP" || proto == "RTP/SAVPF" }

    /// The first crypto line, in the offerer's order, with a suite and key we take.
    func firstUsableCrypto() -> SDESCrypto? {
        crypto.first { !$0.unsupported && SDESCrypto.suites.contains($0.suite) }
    }
}

extension OfferAnswer {
    /// SRTP for an offered stream under `local`'s policy: `.plain` when it goes in the
    /// clear, the agreed keys, or why the stream cannot be taken.
    enum CryptoChoice { case plain, secure(NegotiatedCrypto), refused(String) }

    static func chooseCrypto(_ m: MediaDescription, local: LocalMedia) -> CryptoChoice {
        let offersKeys = m.isSecureProfile || !m.crypto.isEmpty
        switch local.srtp {
        case .off:
            return m.isSecureProfile ? .refused("\(m.proto) offered and SRTP is off here") : .plain
        case .offer, .require:
            guard offersKeys else { return local.srtp == .require ? .refused("SRTP is required and the offer has no a=crypto") : .plain }
            guard let key = local.srtpKey, let c = m.firstUsableCrypto() else {
                if m.isSecureProfile || local.srtp == .require {
                    let offered = m.crypto.map(\.suite).joined(separator: ", ")
                    return .refused("no crypto suite matches (offered: \(offered.isEmpty ? "none" : offered))")
                }
                return .plain // keys in RTP/AVP that we cannot use: best-effort SRTP falls back
            }
            return .secure(NegotiatedCrypto(suite: c.suite, tag: c.tag, localKey: key, remoteKey: c.key))
        }
    }

    /// Our `a=crypto` lines in an offer: both suites, one key (only one line is chosen).
    static func offeredCrypto(_ local: LocalMedia) -> [String] {
        guard local.srtp != .off, let key = local.srtpKey else { return [] }
        return SDESCrypto.suites.enumerated().map { SDESCrypto(tag: $0.offset + 1, suite: $0.element, key: key).line }
    }

    /// The keys of an answer to our offer: the crypto line it chose must carry a tag and
    /// suite we offered. nil with `required` false: plain RTP.
    static func acceptCrypto(_ m: MediaDescription, local: LocalMedia) -> Result<NegotiatedCrypto?, NegotiationFailure> {
        guard local.srtp != .off, let key = local.srtpKey else { return .success(nil) }
        guard let c = m.crypto.first else {
            return local.srtp == .require || m.isSecureProfile
                ? .failure(.noCommonCodec("SRTP is required and the answer has no a=crypto")) : .success(nil)
        }
        guard !c.unsupported, (1...SDESCrypto.suites.count).contains(c.tag), SDESCrypto.suites[c.tag - 1] == c.suite else {
            return .failure(.noCommonCodec("the answer's a=crypto \(c.tag) \(c.suite) is not one we offered"))
        }
        return .success(NegotiatedCrypto(suite: c.suite, tag: c.tag, localKey: key, remoteKey: c.key))
    }
}
