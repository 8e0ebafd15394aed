import CMediaIO
import Foundation
import Observability
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Commands the control thread queues for the receiver. Anything that allocates (detectors,
/// recording buffers) is made by the control thread and handed over here.
enum ReceiverCommand {
    case add(SessionShared)
    /// The peer, and its SRTP contexts (those with unchanged keys are kept).
    case peer(MediaSessionID, MediaPeer, srtp: SRTPContexts?)
    case remove(MediaSessionID)
    case inband(MediaSessionID, InbandDTMFDetector?)
    case startRecording(MediaSessionID, Recorder)
    case stopRecording(MediaSessionID, RecordingEndReason)
    /// Forward what this session receives to another session's peer (nil: stop).
    case relay(MediaSessionID, to: MediaSessionID?)
    /// Record a bridged call; the session is the caller (party 0), its relay partner joins.
    case startCallRecording(MediaSessionID, CallRecorder)
    case stopCallRecording(MediaSessionID, RecordingEndReason)
    /// Listen for one utterance (replacing a listener in progress, which is dropped).
    case startSpeech(MediaSessionID, SpeechListener)
    /// Stop listening; nothing is reported.
    case stopSpeech(MediaSessionID)
}

/// One call as the receiver sees it. Lives only on the receiver thread.
struct ReceivingSession {
    let shared: SessionShared
    var processor = PacketProcessor()
    /// File descriptor of the session this one relays into, or -1.
    var relayTo: Int32 = -1
    /// File descriptor of the session relaying into this one, or -1.
    var relayedBy: Int32 = -1
    /// SRTP: what protects packets a bridge relays to this session's peer.
    var relaySRTP: SRTPContext?
    /// G.722 <-> G.711 codec state for what this session relays (made on first need).
    var transcoder: G722Transcoder?
}

/// Seconds on CLOCK_MONOTONIC: the clock of recording deadlines.
@inline(__always)
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// Reads every RTP socket from one epoll thread, in batches of up to 32 datagrams per
/// `recvmmsg` call into buffers allocated once. Packets from anyone but the negotiated
/// peer are dropped and counted; the rest go through the session's `PacketProcessor`
/// (RFC 4733 and in-band DTMF, recording). While recordings are active the loop wakes at
/// least every 100 ms to apply silence and length deadlines even when no packets arrive.
/// (`@unchecked Sendable`: its sessions and buffers are touched only on the receiver thread;
/// other threads reach it through the locked command inbox and the eventfd.)
final class RTPReceiver: @unchecked Sendable {
    static let batch: Int32 = 32
    static let bufferSize: Int32 = 2048
    static let wakeKey = UInt64.max
    /// Marks an RTCP socket's epoll key (the low bits are its session's RTP descriptor).
    static let rtcpKey: UInt64 = 1 << 32
    /// How often (seconds) recording deadlines are checked at most.
    static let deadlineInterval = 0.02
    /// The pause after a busy pass (see `ReceiveCoalescing`).
    static let coalescing = ReceiveCoalescing()

    private let logger: Logger
    let onEvent: @Sendable (MediaEvent) -> Void
    /// A session latched onto a new peer address (NAT latching).
    let onLatch: @Sendable (MediaSessionID, UDPEndpoint) -> Void
    private let writer: RecordingWriter
    let epfd: Int32
    private let wakeFD: Int32
    private let inbox = Locked<[ReceiverCommand]>([])
    private let running = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)

    // Receiver-thread state, indexed by file descriptor.
    let byFD = SessionTable<ReceivingSession>()
    var fdOf: [MediaSessionID: Int32] = [:]
    private var pending: [ReceiverCommand] = []
    /// File descriptors of the sessions that are recording.
    private var recordingFDs: [Int32] = []
    /// File descriptors of the sessions listening for speech.
    var speechFDs: [Int32] = []
    private var lastDeadlineCheck = 0.0
    let batchBuffers: OpaquePointer
    private let keys: UnsafeMutablePointer<UInt64>
    private let scratch: UnsafeMutableBufferPointer<Int16>
    /// Outgoing buffer for relayed packets (bridged calls).
    private let relayBuffer = UnsafeMutableRawPointer.allocate(byteCount: Int(RTPReceiver.bufferSize) + SRTPKeys.trailer, alignment: 8)
    private let maxEvents: Int32 = 256
    /// Sessions whose packets are relayed to another (the coalescing pause depends on it).
    private var relayingSessions = 0

    init(logger: Logger, writer: RecordingWriter, onEvent: @escaping @Sendable (MediaEvent) -> Void,
         onLatch: @escaping @Sendable (MediaSessionID, UDPEndpoint) -> Void = { _, _ in }) throws {
        self.logger = logger
        self.writer = writer
        self.onEvent = onEvent
        self.onLatch = onLatch
        epfd = tfm_epoll_create()
        wakeFD = tfm_eventfd()
        guard epfd >= 0, wakeFD >= 0, let b = tfm_batch_create(RTPReceiver.batch, RTPReceiver.bufferSize) else {
            throw MediaError("epoll/eventfd setup failed: errno \(errno)")
        }
        batchBuffers = b
        keys = .allocate(capacity: Int(maxEvents))
        scratch = .allocate(capacity: Int(RTPReceiver.bufferSize))
        recordingFDs.reserveCapacity(1024)
        pending.reserveCapacity(256)
        _ = tfm_epoll_add(epfd, wakeFD, RTPReceiver.wakeKey)
    }

    deinit {
        close(epfd)
        close(wakeFD)
        tfm_batch_destroy(batchBuffers)
        keys.deallocate()
        scratch.deallocate()
        relayBuffer.deallocate()
    }

    func submit(_ c: ReceiverCommand) {
        inbox.withLock { $0.append(c) }
        _ = tfm_eventfd_signal(wakeFD)
    }

    func start() {
        running.store(true, ordering: .releasing)
        let t = Thread { [self] in run() }
        t.name = "rtp-recv"
        t.start()
    }

    /// Stops the thread; recordings in progress are written with reason `.hangup`.
    func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        _ = tfm_eventfd_signal(wakeFD)
        done.wait()
    }

    private func run() {
        while running.load(ordering: .acquiring) {
            let timeout: Int32 = recordingFDs.isEmpty && speechFDs.isEmpty ? 500 : 100
            let n = tfm_epoll_wait(epfd, keys, maxEvents, timeout)
            if n < 0 { logger.error("rtp.epoll_failed", ["errno": errno]); break }
            let woke = n >= RTPReceiver.coalescing.threshold ? monotonicNanoseconds() : 0
            for e in 0..<Int(n) {
                let key = keys[e]
                if key == RTPReceiver.wakeKey {
                    tfm_eventfd_drain(wakeFD)
                    applyCommands()
                } else if key & RTPReceiver.rtcpKey != 0 {
                    drainRTCP(session: Int(truncatingIfNeeded: key & 0xFFFF_FFFF))
                } else {
                    drain(fd: Int32(truncatingIfNeeded: key))
                }
            }
            if !recordingFDs.isEmpty || !speechFDs.isEmpty { checkDeadlines() }
            if woke > 0 {
                let busy = monotonicNanoseconds() &- woke
                let ns = RTPReceiver.coalescing.pause(ready: n, capacity: maxEvents, busyNanoseconds: busy,
                                                      relaying: relayingSessions > 0)
                if ns > 0 {
                    var pause = timespec(tv_sec: 0, tv_nsec: Int(ns))
                    clock_nanosleep(CLOCK_MONOTONIC, 0, &pause, nil)
                }
            }
        }
        applyCommands() // a stopRecording queued just before stop still carries its reason
        for i in byFD.indices where byFD[i]?.processor.recorder != nil { finishRecording(fd: i, reason: .hangup) }
        for i in byFD.indices where byFD[i]?.processor.call != nil && byFD[i]?.processor.party == 0 {
            finishCallRecording(fd: Int32(i), reason: .hangup)
        }
        for i in byFD.indices { if let s = byFD[i]?.shared { _ = tfm_epoll_del(epfd, s.fd); s.release() } }
        byFD.removeAll()
        fdOf.removeAll()
        done.signal()
    }

    private func applyCommands() {
        inbox.withLock { swap(&$0, &pending) }
        for c in pending {
            switch c {
            case .add(let shared):
                let fd = Int(shared.fd)
                byFD.grow(toInclude: fd)
                byFD[fd] = ReceivingSession(shared: shared)
                fdOf[shared.id] = shared.fd
                _ = tfm_epoll_add(epfd, shared.fd, UInt64(fd))
                if shared.rtcpFD >= 0 { _ = tfm_epoll_add(epfd, shared.rtcpFD, UInt64(fd) | RTPReceiver.rtcpKey) }
            case .peer(let id, let peer, let srtp):
                guard let fd = fdOf[id] else { continue }
                byFD[Int(fd)]?.processor.configure(peer)
                byFD[Int(fd)]?.keepOrReplace(srtp)
            case .inband(let id, let detector):
                guard let fd = fdOf[id] else { continue }
                byFD[Int(fd)]?.processor.inband = detector
            case .startRecording(let id, let recorder):
                guard let fd = fdOf[id] else {
                    // Closed before the command arrived: nothing was heard; report it all the same.
                    writer.finish(id, recorder, reason: .hangup)
                    continue
                }
                finishRecording(fd: Int(fd), reason: .stopped) // a new recording replaces the old
                byFD[Int(fd)]?.processor.recorder = recorder
                recordingFDs.append(fd)
            case .stopRecording(let id, let reason):
                guard let fd = fdOf[id] else { continue }
                finishRecording(fd: Int(fd), reason: reason)
            case .relay(let id, let target):
                guard let fd = fdOf[id] else { continue }
                setRelay(fd: fd, to: target.flatMap { fdOf[$0] } ?? -1)
            case .startCallRecording(let id, let recorder):
                guard let fd = fdOf[id] else {
                    writer.finish(id, call: recorder, reason: .hangup)
                    continue
                }
                finishCallRecording(fd: fd, reason: .stopped)
                byFD[Int(fd)]!.processor.call = recorder
                byFD[Int(fd)]!.processor.party = 0
                for p in [byFD[Int(fd)]!.relayTo, byFD[Int(fd)]!.relayedBy] where p >= 0 { joinCallRecording(partner: p, of: fd) }
            case .stopCallRecording(let id, let reason):
                guard let fd = fdOf[id] else { continue }
                finishCallRecording(fd: fd, reason: reason)
            case .startSpeech, .stopSpeech:
                applySpeech(c)
            case .remove(let id):
                removeSession(id)
            }
        }
        pending.removeAll(keepingCapacity: true)
    }

    /// Forgets a closed session: its speech, recordings and relays end, its sockets leave
    /// the epoll set, and its share of the socket is released.
    private func removeSession(_ id: MediaSessionID) {
        guard let fd = fdOf.removeValue(forKey: id), let s = byFD[Int(fd)] else { return }
        stopSpeech(fd: fd)
        finishRecording(fd: Int(fd), reason: .hangup)
        if s.processor.party == 0 { finishCallRecording(fd: fd, reason: .hangup) }
        setRelay(fd: fd, to: -1)
        if s.relayedBy >= 0, byFD[Int(s.relayedBy)]?.relayTo == fd { setRelay(fd: s.relayedBy, to: -1) }
        _ = tfm_epoll_del(epfd, fd)
        if s.shared.rtcpFD >= 0 { _ = tfm_epoll_del(epfd, s.shared.rtcpFD) }
        byFD[Int(fd)] = nil
        s.shared.release()
    }

    /// Points `fd`'s relay at `target` (-1: none), keeping the reverse links and the bridge
    /// recording's membership in step.
    private func setRelay(fd: Int32, to target: Int32) {
        guard let old = byFD[Int(fd)]?.relayTo else { return }
        defer { relayingSessions += ((byFD[Int(fd)]?.relayTo ?? -1) >= 0 ? 1 : 0) - (old >= 0 ? 1 : 0) }
        if old >= 0, byFD[Int(old)]?.relayedBy == fd { byFD[Int(old)]!.relayedBy = -1 }
        byFD[Int(fd)]!.relayTo = target
        if target < 0 {
            // A callee leaving the bridge leaves its recording too.
            if byFD[Int(fd)]!.processor.party == 1 { byFD[Int(fd)]!.processor.call = nil; byFD[Int(fd)]!.processor.party = 0 }
            return
        }
        guard byFD.indices.contains(Int(target)), byFD[Int(target)] != nil else { byFD[Int(fd)]!.relayTo = -1; return }
        byFD[Int(target)]!.relayedBy = fd
        // Whichever side records, the other joins as party 1.
        if byFD[Int(fd)]!.processor.call != nil && byFD[Int(fd)]!.processor.party == 0 {
            joinCallRecording(partner: target, of: fd)
        } else if byFD[Int(target)]!.processor.call != nil && byFD[Int(target)]!.processor.party == 0 {
            joinCallRecording(partner: fd, of: target)
        }
    }

    private func joinCallRecording(partner: Int32, of owner: Int32) {
        guard let rec = byFD[Int(owner)]?.processor.call, byFD.indices.contains(Int(partner)), byFD[Int(partner)] != nil else { return }
        byFD[Int(partner)]!.processor.call = rec
        byFD[Int(partner)]!.processor.party = 1
    }

    /// Hands the caller-side session's bridge recording (if any) to the writer.
    private func finishCallRecording(fd: Int32, reason: RecordingEndReason) {
        guard let s = byFD[Int(fd)], let rec = s.processor.call, s.processor.party == 0 else { return }
        byFD[Int(fd)]!.processor.call = nil
        for p in [s.relayTo, s.relayedBy] where p >= 0 {
            if byFD[Int(p)]?.processor.call === rec { byFD[Int(p)]!.processor.call = nil; byFD[Int(p)]!.processor.party = 0 }
        }
        writer.finish(s.shared.id, call: rec, reason: reason)
    }

    /// Hands the session's recording (if any) to the writer. `reason` nil: the one the
    /// recording's own rules set.
    private func finishRecording(fd: Int, reason: RecordingEndReason?) {
        guard fd < byFD.count, let session = byFD[fd], let recorder = session.processor.recorder else { return }
        byFD[fd]!.processor.recorder = nil
        if let k = recordingFDs.firstIndex(of: Int32(fd)) { recordingFDs.swapAt(k, recordingFDs.count - 1); recordingFDs.removeLast() }
        writer.finish(session.shared.id, recorder, reason: reason ?? recorder.endReason ?? .stopped)
    }

    /// Ends recordings and utterances whose silence or length deadline has passed, packets
    /// or not.
    private func checkDeadlines() {
        let now = monotonicSeconds()
        guard now - lastDeadlineCheck >= RTPReceiver.deadlineInterval else { return }
        lastDeadlineCheck = now
        var k = 0
        while k < recordingFDs.count {
            let fd = Int(recordingFDs[k])
            if byFD[fd]?.processor.recorder?.check(at: now) == true {
                finishRecording(fd: fd, reason: nil) // swaps the last one into k
            } else {
                k += 1
            }
        }
        k = 0
        while k < speechFDs.count {
            let fd = speechFDs[k]
            _ = byFD[Int(fd)]?.processor.speech?.check(at: now)
            if reportSpeech(fd: fd) { k += 1 }  // else it was removed: the last one is now at k
        }
    }

    /// Forwards a packet of session `i` to its bridge partner's peer, if it has one.
    @inline(__always)
    private func relay(from i: Int, _ packet: UnsafeRawBufferPointer) {
        let t = Int(byFD[i]!.relayTo)
        guard t >= 0, byFD[t] != nil, byFD[t]!.processor.sends, let to = byFD[t]!.processor.remote?.socketAddress else { return }
        var n = RTPRelay.rewrite(packet, from: byFD[i]!.processor.relayFormat, to: byFD[t]!.processor.relayFormat, out: relayBuffer,
                                 transcoder: &byFD[i]!.transcoder)
        guard n > 0 else { return }
        if let srtp = byFD[t]!.relaySRTP {
            guard let protected = srtp.protect(relayBuffer, length: n) else { return }
            n = protected
        }
        let fd = byFD[t]!.shared.fd
        if to.send(fd, relayBuffer, n) > 0 { byFD[t]!.shared.sent.wrappingAdd(1, ordering: .relaxed) }
    }

    private func drain(fd: Int32) {
        let i = Int(fd)
        guard i < byFD.count, byFD[i] != nil else { return }
        let shared = byFD[i].unsafelyUnwrapped.shared
        let id = shared.id
        let onEvent = self.onEvent
        let now = monotonicSeconds()
        while true {
            let n = tfm_batch_recv(fd, batchBuffers)
            if n <= 0 { break }
            for k in 0..<n {
                var length: Int32 = 0
                var raw = tfm_source_t()
                let bytes = tfm_batch_packet(batchBuffers, k, &length, &raw)
                let from = UDPEndpoint(raw)
                let datagram = UnsafeRawBufferPointer(start: bytes, count: Int(length))
                if RTCPPacket.isMultiplexedRTCP(datagram) {  // rtcp-mux (RFC 5761)
                    heardRTCP(datagram, session: i, from: from)
                    continue
                }
                let kind = byFD[i]!.processor.process(UnsafeRawBufferPointer(start: bytes, count: Int(length)),
                                                      from: from, now: now, scratch: scratch) { d, source in
                    onEvent(.dtmf(id, digit: d, source: source))
                }
                if let to = byFD[i]!.processor.takeLatch() { onLatch(id, to) }
                switch kind {
                case .dropped: shared.dropped.wrappingAdd(1, ordering: .relaxed)
                case .malformed: shared.malformed.wrappingAdd(1, ordering: .relaxed)
                case .telephoneEvent:
                    shared.received.wrappingAdd(1, ordering: .relaxed)
                    shared.events.wrappingAdd(1, ordering: .relaxed)
                    relay(from: i, UnsafeRawBufferPointer(start: bytes, count: byFD[i]!.processor.plainLength))
                case .audio:
                    shared.received.wrappingAdd(1, ordering: .relaxed)
                    relay(from: i, UnsafeRawBufferPointer(start: bytes, count: byFD[i]!.processor.plainLength))
                case .other: shared.received.wrappingAdd(1, ordering: .relaxed)
                }
            }
            if n < RTPReceiver.batch { break }
        }
        byFD[i]?.processor.publishReception(to: shared.quality)
        if byFD[i]?.processor.recorder?.endReason != nil { finishRecording(fd: i, reason: nil) }
        if let phase = byFD[i]?.processor.speech?.phase, phase != .waiting { reportSpeech(fd: fd) }
    }
}

