import Foundation
import Observability
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Commands the control thread queues for the pacer.
enum PacerCommand {
    case add(SessionShared, ssrc: UInt32, sequence: UInt16, timestamp: UInt32)
    /// The peer, and the SRTP context to protect with (kept when its key is unchanged).
    case peer(MediaSessionID, MediaPeer, srtp: SRTPContext?)
    case play(MediaSessionID, EncodedAudio, loops: Int, token: UInt64)
    case silence(MediaSessionID, ticks: Int, token: UInt64)
    /// Digits: as RFC 4733 events when the peer takes them, else as the in-band tones.
    case digits(MediaSessionID, [DigitTick], inband: EncodedAudio, token: UInt64)
    case stop(MediaSessionID)
    case remove(MediaSessionID)
    /// While muted the session sends nothing of its own: a bridge relays into it.
    case mute(MediaSessionID, Bool)
    /// NAT latching moved the peer: RTP (and RTCP) go there from now on.
    case latch(MediaSessionID, UDPEndpoint)
}

/// One call as the pacer sees it. Lives only on the pacer thread.
struct PacedSession {
    enum Playback {
        case idle
        case audio(EncodedAudio, offset: Int, playsLeft: Int, token: UInt64) // playsLeft 0 = forever
        case silence(ticksLeft: Int, token: UInt64)
        /// RFC 4733 events: the plan, the tick reached, the current event's timestamp.
        case digits([DigitTick], at: Int, eventTimestamp: UInt32, token: UInt64)
    }
    let shared: SessionShared
    var remote = SocketAddress()
    var hasRemote = false
    var sending = false
    var muted = false
    var law: G711.Law = .ulaw
    /// G.722 instead of `law` (`G722Codec.swift`), and the byte that fills silence.
    var g722 = false
    var silence = G711.Law.ulaw.silence
    var payloadType: UInt8 = 0
    /// The peer's telephone-event payload type (RFC 4733), if it offered one.
    var eventPayloadType: UInt8?
    var header: RTPHeader
    var playback: Playback = .idle
    /// Set the marker bit on the next packet sent (start of a talkspurt).
    var startOfSpurt = true
    /// Which of the clock's slots serves this call (see `Pacer.slots`).
    var slot = 0
    /// Whether a packet has gone out yet; until then the call moves to the next slot
    /// whenever its peer changes, so the first packet follows the answer closely.
    var started = false
    /// Its RTCP reports (`Pacer+RTCP.swift`).
    var rtcp = RTCPSchedule(seed: 1)
    /// SRTP: what protects its RTP and RTCP (nil: sent in the clear).
    var srtp: SRTPContext?
}

/// The one clock for all calls: every 20 ms it sends one packet for every session.
///
/// The 20 ms are cut into `slots` slots of 5 ms and each call is served in one of them: a
/// new call joins the slot that comes next, so its first packet leaves within 5 ms of the
/// answer instead of waiting up to 20, and the sends of thousands of calls are spread over
/// the period instead of leaving in one burst (which would delay the calls at its end).
/// Deadlines are absolute (CLOCK_MONOTONIC, TIMER_ABSTIME), so pacing does not drift; a
/// slot that wakes late is counted, and a pacer that falls far behind resynchronises.
/// (`@unchecked Sendable`: its sessions and packet buffer are touched only on the pacer
/// thread; other threads reach it through the locked command inbox.)
final class Pacer: @unchecked Sendable {
    static let packetSamples = 160 // 20 ms at 8 kHz
    static let slots = 4
    static let slotNanoseconds = 20_000_000 / Pacer.slots

    private let logger: Logger
    private let onEvent: @Sendable (MediaEvent) -> Void
    private let inbox = Locked<[PacerCommand]>([])
    private let running = Atomic<Bool>(false)
    private let ticks = Atomic<UInt64>(0)
    private let late = Atomic<UInt64>(0)
    private var thread: Thread?
    private let done = DispatchSemaphore(value: 0)

    // Pacer-thread state.
    private var sessions: ContiguousArray<PacedSession> = []
    private var index: [MediaSessionID: Int] = [:]
    private var pending: [PacerCommand] = []
    /// The slot being served (0..<slots).
    private var slot = 0
    /// The packet being sent, with room for SRTP's trailer.
    private let packet = UnsafeMutableRawPointer.allocate(byteCount: RTPHeader.size + Pacer.packetSamples + SRTPKeys.trailer, alignment: 8)
    /// RTCP: the report being written, and our CNAME ("tollfreed@ADDRESS").
    private let report = UnsafeMutableRawPointer.allocate(byteCount: RTCPPacket.maxWrittenBytes + SRTPKeys.trailer, alignment: 8)
    private let cname: UnsafeMutableRawBufferPointer

    /// SCHED_FIFO priority asked for the pacer thread; 0 = a normal thread.
    private let priority: Int

    init(logger: Logger, priority: Int = 0, cname: String = "tollfreed", onEvent: @escaping @Sendable (MediaEvent) -> Void) {
        self.logger = logger
        self.priority = priority
        self.onEvent = onEvent
        let name = Array(cname.utf8.prefix(32))
        self.cname = .allocate(byteCount: name.count, alignment: 1)
        self.cname.copyBytes(from: name)
        sessions.reserveCapacity(4096)
        pending.reserveCapacity(256)
    }

    deinit {
        packet.deallocate()
        report.deallocate()
        cname.deallocate()
    }

    var counters: (ticks: UInt64, late: UInt64) { (ticks.load(ordering: .relaxed), late.load(ordering: .relaxed)) }

    func submit(_ c: PacerCommand) { inbox.withLock { $0.append(c) } }

    func start() {
        running.store(true, ordering: .releasing)
        let t = Thread { [self] in run() }
        t.name = "rtp-pacer"
        thread = t
        t.start()
    }

    func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        done.wait()
    }

    /// Real-time scheduling keeps the one clock on time when the machine is busy: a tick
    /// that waits behind other threads delays every call's packet at once. Refused (no
    /// CAP_SYS_NICE and no RLIMIT_RTPRIO, e.g. LimitRTPRIO= in the unit): a warning, and
    /// the pacer runs as a normal thread.
    private func raisePriority() {
        guard priority > 0 else { return }
        var param = sched_param()
        param.sched_priority = Int32(priority)
        let rc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &param)
        if rc == 0 {
            logger.info("media.pacer_realtime", ["priority": priority])
        } else {
            logger.warning("media.pacer_realtime_refused", ["priority": priority, "errno": rc,
                           "hint": "allow it with LimitRTPRIO= (systemd) or set media.pacer_priority 0"])
        }
    }

    private func run() {
        raisePriority()
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        while running.load(ordering: .acquiring) {
            deadline.tv_nsec += Pacer.slotNanoseconds
            if deadline.tv_nsec >= 1_000_000_000 { deadline.tv_nsec -= 1_000_000_000; deadline.tv_sec += 1 }
            while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nil) == EINTR {}
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let lateNs = (now.tv_sec - deadline.tv_sec) * 1_000_000_000 + (now.tv_nsec - deadline.tv_nsec)
            if lateNs > 5_000_000 { late.wrappingAdd(1, ordering: .relaxed) }
            if lateNs > 200_000_000 {
                // Far behind (machine stalled): resynchronise instead of bursting.
                deadline = now
            }
            applyCommands()
            tick(now: UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec))
            slot += 1
            if slot == Pacer.slots {
                slot = 0
                ticks.wrappingAdd(1, ordering: .relaxed) // one 20 ms period
            }
        }
        for s in sessions { s.shared.release() }
        sessions.removeAll()
        index.removeAll()
        done.signal()
    }

    private func applyCommands() {
        inbox.withLock { swap(&$0, &pending) }
        guard !pending.isEmpty else { return }
        for c in pending { apply(c) }
        pending.removeAll(keepingCapacity: true)
    }

    private func apply(_ c: PacerCommand) {
        switch c {
        case .add(let shared, let ssrc, let seq, let ts):
            index[shared.id] = sessions.count
            var session = PacedSession(shared: shared, header: RTPHeader(marker: true, payloadType: 0, sequence: seq, timestamp: ts, ssrc: ssrc))
            session.rtcp = RTCPSchedule(seed: ssrc)
            session.slot = slot // commands are applied just before this slot is served
            sessions.append(session)
        case .peer(let id, let peer, let srtp):
            guard let i = index[id] else { return }
            sessions[i].keepOrReplace(srtp)
            if let r = peer.remote { sessions[i].remote = r.socketAddress; sessions[i].hasRemote = true } else { sessions[i].hasRemote = false }
            if !sessions[i].started { sessions[i].slot = slot }
            if !sessions[i].sending && peer.sending { sessions[i].startOfSpurt = true }
            sessions[i].sending = peer.sending
            sessions[i].law = peer.law
            sessions[i].g722 = peer.g722
            sessions[i].silence = peer.g722 ? G722.silence : peer.law.silence
            sessions[i].payloadType = peer.payloadType
            sessions[i].eventPayloadType = peer.telephoneEventPayloadType
            sessions[i].configureRTCP(peer, now: monotonicNanoseconds())
        case .play(let id, let audio, let loops, let token):
            guard let i = index[id] else { return }
            sessions[i].playback = .audio(audio, offset: 0, playsLeft: max(0, loops), token: token)
            sessions[i].startOfSpurt = true
        case .silence(let id, let ticks, let token):
            guard let i = index[id] else { return }
            sessions[i].playback = .silence(ticksLeft: ticks, token: token)
        case .digits(let id, let plan, let inband, let token):
            guard let i = index[id] else { return }
            if sessions[i].eventPayloadType != nil, !plan.isEmpty {
                sessions[i].playback = .digits(plan, at: 0, eventTimestamp: 0, token: token)
            } else {
                sessions[i].playback = .audio(inband, offset: 0, playsLeft: 1, token: token)
                sessions[i].startOfSpurt = true
            }
        case .stop(let id):
            guard let i = index[id] else { return }
            sessions[i].playback = .idle
        case .latch(let id, let to):
            guard let i = index[id] else { return }
            sessions[i].remote = to.socketAddress
            sessions[i].latchRTCP(to)
        case .mute(let id, let on):
            guard let i = index[id] else { return }
            if sessions[i].muted && !on { sessions[i].startOfSpurt = true }
            sessions[i].muted = on
        case .remove(let id):
            guard let i = index.removeValue(forKey: id) else { return }
            let last = sessions.count - 1
            sessions[i].sendReportIfDue(now: monotonicNanoseconds(), bye: true, cname: UnsafeRawBufferPointer(cname), buffer: report)
            sessions[i].shared.release()
            if i != last {
                sessions.swapAt(i, last)
                index[sessions[i].shared.id] = i
            }
            sessions.removeLast()
        }
    }

    private func tick(now: UInt64) {
        let packet = self.packet
        let report = self.report
        let cname = UnsafeRawBufferPointer(self.cname)
        let payload = packet + RTPHeader.size
        let n = Pacer.packetSamples
        let onEvent = self.onEvent
        let slot = self.slot
        // One exclusive access to the session array per tick, not one per field per session.
        sessions.withUnsafeMutableBufferPointer { sessions in
        for i in sessions.indices where sessions[i].slot == slot {
            // Fill the payload and advance playback, whether or not we send (on hold the
            // flow keeps its timing).
            if case .digits = sessions[i].playback {
                let finished = sessions[i].sendDigitTick(packet)
                sessions[i].header.timestamp &+= UInt32(n)
                if let token = finished { onEvent(.playbackFinished(sessions[i].shared.id, token: token)) }
                continue
            }
            let finished = sessions[i].advancePlayback(into: payload, samples: n)
            sessions[i].send(packet, samples: n)
            sessions[i].sendReportIfDue(now: now, bye: false, cname: cname, buffer: report)
            // The RTP clock runs on whether or not a packet went out.
            sessions[i].header.timestamp &+= UInt32(n)
            if let token = finished { onEvent(.playbackFinished(sessions[i].shared.id, token: token)) }
        }
        }
    }
}

extension PacedSession {
    /// Writes this tick's `n` samples of the playback (silence when idle or at the end of the
    /// audio) to `payload` and moves the playback on; returns the token of a playback that
    /// has just finished.
    @inline(__always)
    mutating func advancePlayback(into payload: UnsafeMutableRawPointer, samples n: Int) -> UInt64? {
        switch playback {
        case .idle:
            payload.initializeMemory(as: UInt8.self, repeating: silence, count: n)
        case .digits:
            payload.initializeMemory(as: UInt8.self, repeating: silence, count: n) // sent by sendDigitTick
        case .silence(let left, let token):
            payload.initializeMemory(as: UInt8.self, repeating: silence, count: n)
            if left <= 1 { playback = .idle; return token }
            playback = .silence(ticksLeft: left - 1, token: token)
        case .audio(let audio, let offset, let playsLeft, let token):
            let src = audio.bytes(law, g722: g722)
            let take = min(n, src.count - offset)  // a form not prepared (count 0): silence
            if take > 0 { payload.copyMemory(from: src.baseAddress! + offset, byteCount: take) }
            if take < n { (payload + max(0, take)).initializeMemory(as: UInt8.self, repeating: silence, count: n - max(0, take)) }
            let next = offset + n
            if next < audio.sampleCount {
                playback = .audio(audio, offset: next, playsLeft: playsLeft, token: token)
            } else if playsLeft == 0 {
                playback = .audio(audio, offset: 0, playsLeft: 0, token: token)
            } else if playsLeft == 1 {
                playback = .idle
                return token
            } else {
                playback = .audio(audio, offset: 0, playsLeft: playsLeft - 1, token: token)
            }
        }
        return nil
    }

    /// Sends the packet (`packet` holds room for the header, then the payload) to the peer
    /// when the session sends, has a peer and is not muted; otherwise the next packet that
    /// goes out starts a talkspurt.
    @inline(__always)
    mutating func send(_ packet: UnsafeMutableRawPointer, samples n: Int) {
        guard sending && hasRemote && !muted else {
            startOfSpurt = true
            return
        }
        header.payloadType = payloadType
        header.marker = startOfSpurt
        header.write(to: packet)
        if transmit(packet, bytes: RTPHeader.size + n) { startOfSpurt = false }
    }

    /// Sends `bytes` of `packet` to the peer, protected first when the session is SRTP (the
    /// buffer has room for the trailer); true (and the sequence moved on) when it left.
    @inline(__always)
    mutating func transmit(_ packet: UnsafeMutableRawPointer, bytes: Int) -> Bool {
        var bytes = bytes
        if let srtp {
            guard let n = srtp.protect(packet, length: bytes) else { return false }
            bytes = n
        }
        guard remote.send(shared.fd, packet, bytes) > 0 else { return false }
        started = true
        shared.sent.wrappingAdd(1, ordering: .relaxed)
        header.sequence &+= 1
        return true
    }
}

