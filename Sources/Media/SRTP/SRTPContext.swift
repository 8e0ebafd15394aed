import CSRTPBridge

/// The SDES crypto suites we speak (RFC 4568 6.2): AES counter mode with a 128-bit key and
/// an HMAC-SHA1 tag of 80 or 32 bits on RTP (SRTCP always carries 80 bits).
public enum SRTPSuite: String, Sendable, Equatable, CaseIterable {
    case aes128Sha1_80 = "AES_CM_128_HMAC_SHA1_80"
    case aes128Sha1_32 = "AES_CM_128_HMAC_SHA1_32"

    /// The RTP tag's length in bits, as the C bridge takes it.
    var tagBits: Int32 { self == .aes128Sha1_80 ? 80 : 32 }
}

/// The keys of one SRTP session as offer/answer agreed them: what we send with (our own
/// key, fixed for the session's life) and what the peer sends with.
public struct SRTPKeys: Sendable, Equatable {
    public var suite: SRTPSuite
    /// Our master key and salt (30 octets).
    public var send: [UInt8]
    /// The peer's master key and salt (30 octets).
    public var receive: [UInt8]
    public init(suite: SRTPSuite, send: [UInt8], receive: [UInt8]) {
        self.suite = suite
        self.send = send
        self.receive = receive
    }

    /// Master key and salt length of the AES-CM-128 suites.
    public static let keyLength = Int(TF_SRTP_KEY_SALT_LENGTH)
    /// Octets buffers keep spare after a packet for protecting it.
    static let trailer = Int(TF_SRTP_MAX_TRAILER)

    /// 0 when OpenSSL's AES-CTR and HMAC-SHA1 replaced libsrtp's own crypto (after passing
    /// libsrtp's test vectors; `tf_srtp_openssl.c`), else why not: libsrtp then keeps its
    /// NSS crypto, correct but several times slower.
    public static var openSSLStatus: Int32 { tf_srtp_openssl_status() }

    /// A fresh master key and salt from the system's secure random source (getrandom).
    public static func generateKey() -> [UInt8] {
        var g = SystemRandomNumberGenerator()
        return (0..<keyLength).map { _ in UInt8.random(in: 0...255, using: &g) }
    }
}

/// One direction of an SRTP session (libsrtp's `srtp_t`): it protects what one thread sends
/// or unprotects what the receiver reads. libsrtp keeps per-stream state (rollover counter,
/// replay window), so a context is used by one thread only and never remade while the
/// session lasts: a new context for the same key would start the rollover counter again and
/// reuse key stream. Made on the control thread (it allocates), handed to a media thread.
final class SRTPContext: @unchecked Sendable {
    enum Direction { case inbound, outbound }
    private let ctx: UnsafeMutableRawPointer
    let suite: SRTPSuite
    /// The key this context was made with (to tell whether a renegotiation changed it).
    let key: [UInt8]

    /// - Parameters:
    ///   - allowRepeat: an outbound context that may send a sequence number again (a relay
    ///     passing on a peer's duplicate).
    init(suite: SRTPSuite, key: [UInt8], direction: Direction, allowRepeat: Bool = false) throws(MediaError) {
        guard key.count == SRTPKeys.keyLength else { throw MediaError("SRTP key must be \(SRTPKeys.keyLength) octets, got \(key.count)") }
        var status: Int32 = 0
        // A replay window of 1024 packets (20 s of audio) tolerates the reordering of a bad path.
        guard let c = key.withUnsafeBufferPointer({
            tf_srtp_create(suite.tagBits, $0.baseAddress, direction == .inbound ? 1 : 0, 1024, allowRepeat ? 1 : 0, &status)
        }) else {
            throw MediaError("SRTP context failed (libsrtp status \(status))")
        }
        ctx = c
        self.suite = suite
        self.key = key
    }

    deinit { tf_srtp_destroy(ctx) }

    /// Protects the RTP packet of `length` octets at `packet` in place; the buffer holds
    /// `SRTPKeys.trailer` spare octets. The protected length, or nil on failure.
    @inline(__always)
    func protect(_ packet: UnsafeMutableRawPointer, length: Int) -> Int? {
        var n = Int32(length)
        return tf_srtp_protect(ctx, packet.assumingMemoryBound(to: UInt8.self), &n) == 0 ? Int(n) : nil
    }

    /// Authenticates and decrypts an SRTP packet in place: its plain length, or nil when
    /// it fails authentication, is a replay or is malformed.
    @inline(__always)
    func unprotect(_ packet: UnsafeMutableRawPointer, length: Int) -> Int? {
        var n = Int32(length)
        return tf_srtp_unprotect(ctx, packet.assumingMemoryBound(to: UInt8.self), &n) == 0 ? Int(n) : nil
    }

    func protectRTCP(_ packet: UnsafeMutableRawPointer, length: Int) -> Int? {
        var n = Int32(length)
        return tf_srtp_protect_rtcp(ctx, packet.assumingMemoryBound(to: UInt8.self), &n) == 0 ? Int(n) : nil
    }

    func unprotectRTCP(_ packet: UnsafeMutableRawPointer, length: Int) -> Int? {
        var n = Int32(length)
        return tf_srtp_unprotect_rtcp(ctx, packet.assumingMemoryBound(to: UInt8.self), &n) == 0 ? Int(n) : nil
    }
}

/// The contexts one session's keys give the two media threads: the pacer protects its own
/// RTP and RTCP; the receiver unprotects the peer's and protects what a bridge relays to
/// this session's peer (the other talker's SSRC, so never the pacer's stream).
struct SRTPContexts: @unchecked Sendable {
    let pacerSend: SRTPContext
    let relaySend: SRTPContext
    let receive: SRTPContext

    init(_ keys: SRTPKeys) throws(MediaError) {
        pacerSend = try SRTPContext(suite: keys.suite, key: keys.send, direction: .outbound)
        relaySend = try SRTPContext(suite: keys.suite, key: keys.send, direction: .outbound, allowRepeat: true)
        receive = try SRTPContext(suite: keys.suite, key: keys.receive, direction: .inbound)
    }
}
