import CMediaIO
import Foundation
import Observability
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Identifies one call's media session.
public struct MediaSessionID: Hashable, Sendable, CustomStringConvertible {
    public let raw: UInt64
    public var description: String { "m\(raw)" }
}

/// Per-session RTP counters.
public struct MediaStats: Sendable, Equatable {
    public var packetsSent: UInt64 = 0
    public var packetsReceived: UInt64 = 0
    /// Packets from an address other than the negotiated peer (dropped).
    public var packetsDropped: UInt64 = 0
    /// Datagrams that are not RTP (dropped).
    public var packetsMalformed: UInt64 = 0
    /// RFC 4733 telephone-event packets received.
    public var telephoneEvents: UInt64 = 0
    /// Receive statistics and RTCP figures.
    public var quality = MediaQualityStats()
    public init() {}
    public init(packetsSent: UInt64, packetsReceived: UInt64, packetsDropped: UInt64, packetsMalformed: UInt64, telephoneEvents: UInt64) {
        self.packetsSent = packetsSent
        self.packetsReceived = packetsReceived
        self.packetsDropped = packetsDropped
        self.packetsMalformed = packetsMalformed
        self.telephoneEvents = telephoneEvents
    }
}

/// Engine-wide counters.
public struct MediaEngineStats: Sendable {
    public var activeSessions: Int
    public var ticks: UInt64
    public var lateTicks: UInt64
    public var portsFree: Int
}

/// State shared by the pacer and the receiver for one session: the socket and counters.
/// The socket is closed and its port returned when both threads have let go of it.
final class SessionShared: Sendable {
    let id: MediaSessionID
    let fd: Int32
    let port: UInt16
    /// The family of the socket: only peers of this family can be reached from it.
    let family: IPFamily
    /// The RTCP socket on `port + 1` (-1: that port was taken; RTCP then only with rtcp-mux).
    let rtcpFD: Int32
    /// The SSRC the pacer sends with (reports about it are ours).
    let ssrc: UInt32
    let quality = SessionQuality()
    let sent = Atomic<UInt64>(0)
    let received = Atomic<UInt64>(0)
    let dropped = Atomic<UInt64>(0)
    let malformed = Atomic<UInt64>(0)
    let events = Atomic<UInt64>(0)
    /// The peer speaks G.722: prompts played to it need their G.722 form.
    let g722 = Atomic<Bool>(false)
    private let users = Atomic<Int>(2)
    private let pool: PortPool

    init(id: MediaSessionID, fd: Int32, port: UInt16, pool: PortPool, rtcpFD: Int32 = -1, ssrc: UInt32 = 1,
         family: IPFamily = .ipv4) {
        self.id = id
        self.fd = fd
        self.port = port
        self.family = family
        self.pool = pool
        self.rtcpFD = rtcpFD
        self.ssrc = ssrc
    }

    func release() {
        if users.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
            close(fd)
            if rtcpFD >= 0 { close(rtcpFD) }
            pool.give(port)
        }
    }

    var stats: MediaStats {
        var s = MediaStats(packetsSent: sent.load(ordering: .relaxed), packetsReceived: received.load(ordering: .relaxed),
                           packetsDropped: dropped.load(ordering: .relaxed), packetsMalformed: malformed.load(ordering: .relaxed),
                           telephoneEvents: events.load(ordering: .relaxed))
        s.quality = quality.snapshot
        return s
    }
}

/// The media engine: one RTP socket per call, all calls paced by one 20 ms clock thread,
/// all sockets read by one epoll thread with batched `recvmmsg`. No thread or timer per
/// call and no allocation per packet.
///
/// Control methods are thread-safe; they queue commands that the media threads apply at
/// their next iteration.
public final class MediaEngine: Sendable {
    /// The local address of each family the engine has (one, or two for dual stack).
    private let addresses: MediaAddresses
    private let rtcp: Bool
    private let pool: PortPool
    private let logger: Logger
    private let pacer: Pacer
    private let receiver: RTPReceiver
    private let writer: RecordingWriter
    private let sessions = Locked<[MediaSessionID: SessionShared]>([:])
    private let nextID = Atomic<UInt64>(1)

    /// - Parameters:
    ///   - address: local IPv4 or IPv6 address the RTP sockets bind to (and that SDP
    ///     advertises); sessions of its family, and those opened without one, use it.
    ///   - secondaryAddress: for dual stack, an address of the other family, for sessions
    ///     of that family.
    ///   - ports: the RTP port range; even ports are used, by both addresses.
    ///   - pacerPriority: SCHED_FIFO priority for the media clock thread (0: a normal thread).
    ///   - onEvent: called on a media thread or the recording writer's queue; must not block.
    ///   - emergencyPortReserve: ports kept for emergency calls (at most half the range).
    ///   - rtcp: false sends no RTCP and opens no RTCP sockets (`media.rtcp`).
    public init(address: String, secondaryAddress: String? = nil, ports: ClosedRange<Int>, pacerPriority: Int = 0,
                emergencyPortReserve: Int = 0, rtcp: Bool = true, logger: Logger, onEvent: @escaping @Sendable (MediaEvent) -> Void) throws {
        addresses = try MediaAddresses(address, secondary: secondaryAddress)
        self.rtcp = rtcp
        self.pool = PortPool(range: ports)
        self.emergencyPortReserve = min(max(0, emergencyPortReserve), pool.capacity / 2)
        self.logger = logger
        if SRTPKeys.openSSLStatus != 0 {
            logger.warning("media.srtp_slow_crypto", ["status": Int(SRTPKeys.openSSLStatus),
                           "detail": "libsrtp refused OpenSSL's AES-CTR/HMAC-SHA1; SRTP uses its NSS crypto, several times slower"])
        }
        let pacer = Pacer(logger: logger, priority: pacerPriority, cname: "tollfreed@\(address)", onEvent: onEvent)
        self.pacer = pacer
        self.writer = RecordingWriter(logger: logger, onEvent: onEvent)
        // A latch found by the receiver moves the pacer's peer too, and is reported.
        self.receiver = try RTPReceiver(logger: logger, writer: writer, onEvent: onEvent) { id, to in
            pacer.submit(.latch(id, to))
            onEvent(.latched(id, to: to))
        }
    }

    /// Starts the pacer and receiver threads.
    public func start() {
        pacer.start()
        receiver.start()
    }

    /// Stops both threads and closes every socket. Recordings in progress are written
    /// (reason `.hangup`) and reported before this returns.
    public func stop() {
        pacer.stop()
        receiver.stop()
        writer.drain()
    }

    /// Ports only emergency calls (and their `<Dial>` legs) may take, so ordinary calls
    /// and their legs cannot use up the range before the call-count reserve is reached.
    public let emergencyPortReserve: Int

    /// The local address of `family` (nil: the primary), nil when the engine has none.
    public func address(of family: IPFamily?) -> String? { addresses[family] }

    /// Opens a session on a free port from the range, on the address of `family` (nil: the
    /// primary one). Returns nil when the range is used up (for ordinary calls: when only
    /// the emergency reserve is left) or the engine has no address of that family.
    public func open(emergency: Bool = false, family: IPFamily? = nil) -> (MediaSessionID, port: UInt16)? {
        guard let address = addresses[family] else { return nil }
        var attempts = pool.capacity
        while attempts > 0, let port = pool.take(leaving: emergency ? 0 : emergencyPortReserve) {
            attempts -= 1
            guard let fd = bindUDP(host: address, port: port) else {
                // Someone else holds it; put it back at the end and try the next one.
                pool.give(port)
                continue
            }
            let id = MediaSessionID(raw: nextID.wrappingAdd(1, ordering: .relaxed).oldValue)
            // RTCP on the odd port above (RFC 3550 11); another program may hold it, and the
            // call goes on without (or with rtcp-mux, on the RTP port).
            let rtcpFD = rtcp ? bindUDP(host: address, port: port + 1) ?? -1 : -1
            let shared = SessionShared(id: id, fd: fd, port: port, pool: pool, rtcpFD: rtcpFD, ssrc: UInt32.random(in: 1...UInt32.max),
                                       family: family ?? addresses.primary)
            sessions.withLock { $0[id] = shared }
            pacer.submit(.add(shared, ssrc: shared.ssrc,
                              sequence: UInt16.random(in: 0...UInt16.max), timestamp: UInt32.random(in: 0...UInt32.max)))
            receiver.submit(.add(shared))
            return (id, port)
        }
        return nil
    }

    /// Sets or changes where and how the session sends (after offer/answer or re-INVITE).
    /// With SRTP keys, the contexts are made here (they allocate); each media thread keeps
    /// the ones it already has when the keys did not change, so a re-INVITE does not restart
    /// a stream's rollover counter. Contexts that cannot be made (never for keys offer/answer
    /// accepted) leave the session sending nothing rather than sending in the clear.
    public func configure(_ id: MediaSessionID, peer: MediaPeer) {
        var srtp: SRTPContexts?
        var peer = peer
        // Without RTCP the pacer has nowhere to report (no socket, and no mux either).
        if !rtcp { peer.rtcpMux = false }
        // Offer/answer keeps a session to its own family; should a peer of the other one
        // reach here anyway, nothing is sent (a socket cannot) and its packets are dropped.
        if let remote = peer.remote, let own = sessions.withLock({ $0[id]?.family }), remote.family != own {
            logger.error("media.family_mismatch", ["session": id.description, "peer": remote.description, "socket": own.rawValue])
            peer.remote = nil
        }
        if let keys = peer.srtp {
            do throws(MediaError) {
                srtp = try SRTPContexts(keys)
            } catch {
                logger.error("media.srtp_failed", ["session": id.description, "error": error.description])
                peer.sending = false
                peer.remote = nil
            }
        }
        sessions.withLock { $0[id] }?.g722.store(peer.g722, ordering: .relaxed)
        pacer.submit(.peer(id, peer, srtp: srtp?.pacerSend))
        receiver.submit(.peer(id, peer, srtp: srtp))
    }

    /// Plays `audio` `loops` times (0 = until stopped), replacing what is playing.
    /// `.playbackFinished(id, token)` follows the last packet.
    public func play(_ id: MediaSessionID, audio: EncodedAudio, loops: Int, token: UInt64) {
        audio.prepare(g722: speaksG722(id))
        pacer.submit(.play(id, audio, loops: loops, token: token))
    }

    /// Sends `digits` (`<Play digits>`, `w`/`W` waits) as RFC 4733 telephone-events when
    /// the peer offered telephone-event, else as in-band DTMF tones; then
    /// `.playbackFinished(id, token)`.
    public func sendDigits(_ id: MediaSessionID, digits: String, token: UInt64) {
        let tones = Tones.dtmf(digits)
        tones.prepare(g722: speaksG722(id))
        pacer.submit(.digits(id, DigitEvents.plan(digits), inband: tones, token: token))
    }

    /// Sends silence for `milliseconds` (Pause), then `.playbackFinished(id, token)`.
    public func playSilence(_ id: MediaSessionID, milliseconds: Int, token: UInt64) {
        pacer.submit(.silence(id, ticks: max(1, (milliseconds + 19) / 20), token: token))
    }

    /// Stops playback without a finished event.
    public func stopPlayback(_ id: MediaSessionID) {
        pacer.submit(.stop(id))
    }

    /// Turns in-band DTMF detection (spandsp `dtmf_rx` on the caller's decoded audio) on or
    /// off. Off by default: it costs CPU per sample. Digits arrive as `.dtmf(id, _, .inband)`.
    public func setDTMFDetection(_ id: MediaSessionID, enabled: Bool) {
        receiver.submit(.inband(id, enabled ? InbandDTMFDetector() : nil))
    }

    /// Starts recording what the caller sends, replacing a recording in progress (which ends
    /// with `.stopped`). The buffer for `spec.maxLengthSeconds` is reserved here, once.
    /// Exactly one `.recordingFinished(id, token, _)` or `.recordingFailed(id, token, _)`
    /// follows: on silence, at the maximum length, on `stopRecording`, or when the session is
    /// closed (reason `.hangup` unless `stopRecording` gave one first).
    /// Returns false (and reports nothing) when the session is not open.
    @discardableResult
    public func startRecording(_ id: MediaSessionID, spec: RecordingSpec, token: UInt64) -> Bool {
        guard sessions.withLock({ $0[id] != nil }) else { return false }
        receiver.submit(.startRecording(id, Recorder(spec: spec, token: token, start: monotonicSeconds())))
        return true
    }

    /// Ends the recording in progress, if any, with `reason` (`.finishKey`, `.hangup`, ...);
    /// the file is written in the background and reported with `.recordingFinished`.
    public func stopRecording(_ id: MediaSessionID, reason: RecordingEndReason) {
        receiver.submit(.stopRecording(id, reason))
    }

    /// Listens for one utterance: `.speechStarted` at the caller's first words, then
    /// `.speechCaptured` with the audio once they have been quiet for the spec's pause (or
    /// at its maximum length). The buffer is reserved here, once.
    public func listenForSpeech(_ id: MediaSessionID, spec: SpeechListenSpec, token: UInt64) {
        receiver.submit(.startSpeech(id, SpeechListener(spec: spec, token: token)))
    }

    /// Stops listening for speech; nothing more is reported.
    public func stopListeningForSpeech(_ id: MediaSessionID) {
        receiver.submit(.stopSpeech(id))
    }

    // MARK: Bridging (Dial)

    /// Connects two sessions both ways: what either peer sends is relayed to the other
    /// (payload type rewritten, PCMU <-> PCMA transcoded, RFC 4733 events passed through).
    /// Both sessions stop sending their own audio until `unbridge`.
    public func bridge(_ a: MediaSessionID, _ b: MediaSessionID) {
        pacer.submit(.stop(a))
        pacer.submit(.mute(a, true))
        pacer.submit(.mute(b, true))
        receiver.submit(.relay(a, to: b))
        receiver.submit(.relay(b, to: a))
    }

    /// Relays `from`'s incoming audio to `to`'s peer, one way (early media of a ringing
    /// leg to the caller); `to` stops sending its own audio.
    public func relayOneWay(from: MediaSessionID, to: MediaSessionID) {
        pacer.submit(.stop(to))
        pacer.submit(.mute(to, true))
        receiver.submit(.relay(to, to: nil))
        receiver.submit(.relay(from, to: to))
    }

    /// Undoes `bridge`/`relayOneWay` for these sessions; their own streams resume.
    public func unbridge(_ a: MediaSessionID, _ b: MediaSessionID?) {
        receiver.submit(.relay(a, to: nil))
        pacer.submit(.mute(a, false))
        if let b {
            receiver.submit(.relay(b, to: nil))
            pacer.submit(.mute(b, false))
        }
    }

    /// Records a bridged call on the caller's session `id`: the caller (party 0) and
    /// whichever session is bridged or relaying to it (party 1), mixed, or on two channels
    /// when `dual`. A later partner joins when bridged. Exactly one `.recordingFinished(id,
    /// token, _)` or `.recordingFailed` follows `stopCallRecording` or the session's close.
    @discardableResult
    public func startCallRecording(_ id: MediaSessionID, path: String, maxSeconds: Int, dual: Bool, token: UInt64,
                                   seal: (@Sendable ([UInt8]) throws -> [UInt8])? = nil) -> Bool {
        guard sessions.withLock({ $0[id] != nil }) else { return false }
        let rec = CallRecorder(path: path, token: token, maxSeconds: maxSeconds, dual: dual, start: monotonicSeconds(), seal: seal)
        receiver.submit(.startCallRecording(id, rec))
        return true
    }

    /// Ends the bridged call's recording on `id`; the file is written in the background.
    public func stopCallRecording(_ id: MediaSessionID, reason: RecordingEndReason) {
        receiver.submit(.stopCallRecording(id, reason))
    }

    /// Whether the session's peer speaks G.722 (as last configured).
    public func speaksG722(_ id: MediaSessionID) -> Bool {
        sessions.withLock { $0[id] }?.g722.load(ordering: .relaxed) ?? false
    }

    /// Counters for an open session.
    public func stats(_ id: MediaSessionID) -> MediaStats? {
        sessions.withLock { $0[id]?.stats }
    }

    /// Closes the session and returns its final counters. A recording in progress is still
    /// written and reported (reason `.hangup` unless `stopRecording` was called first).
    @discardableResult
    public func close(_ id: MediaSessionID) -> MediaStats? {
        guard let shared = sessions.withLock({ $0.removeValue(forKey: id) }) else { return nil }
        pacer.submit(.remove(id))
        receiver.submit(.remove(id))
        return shared.stats
    }

    public var engineStats: MediaEngineStats {
        let p = pacer.counters
        return MediaEngineStats(activeSessions: sessions.withLock { $0.count }, ticks: p.ticks,
                                lateTicks: p.late, portsFree: pool.available)
    }
}

/// Returns memory the process has freed to the kernel (glibc keeps it otherwise): after a
/// burst of calls or a SIP flood the resident size comes back down.
public func releaseFreeMemory() { _ = tf_release_free_memory() }

/// Blocks of 128 KiB and more get their own mapping, returned to the kernel when freed,
/// for the daemon's whole life (glibc would otherwise raise the threshold to the largest
/// block freed, and 4.8 MB recording buffers would then fragment the arenas). Measured
/// with the fuzzer's texml phase: RSS 5.9 MiB lower idle, and less left after a burst.
public func fixMmapThreshold() { _ = tf_fix_mmap_threshold(128 * 1024) }

/// The heap as the allocator sees it: bytes the program holds (`inUse`) and bytes freed but
/// kept by the allocator (`freeHeld`). Resident size minus these is what no one allocated;
/// `freeHeld` growing while `inUse` stays flat is fragmentation, not a leak.
public func heapStats() -> (inUse: UInt64, freeHeld: UInt64) {
    var used: UInt64 = 0, free: UInt64 = 0
    tf_heap_stats(&used, &free)
    return (used, free)
}
