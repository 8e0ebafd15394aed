import CMediaIO
import Foundation
import Observability
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Commands the control thread queues for the receiver.
enum ReceiverCommand {
    case add(SessionShared)
    case peer(MediaSessionID, UDPEndpoint?, UInt8?)
    case remove(MediaSessionID)
}

/// One call as the receiver sees it. Lives only on the receiver thread.
struct ReceivingSession {
    let shared: SessionShared
    var remote: UDPEndpoint?
    var telephoneEventPT: UInt8?
}

/// Reads every RTP socket from one epoll thread, in batches of up to 32 datagrams per
/// `recvmmsg` call into buffers allocated once. Packets from anyone but the negotiated
/// peer are dropped and counted. The payload is where DTMF and recording will attach.
final class RTPReceiver: @unchecked Sendable {
    static let batch: Int32 = 32
    static let wakeKey = UInt64.max

    private let logger: Logger
    private let epfd: Int32
    private let wakeFD: Int32
    private let inbox = Mutex<[ReceiverCommand]>([])
    private let running = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)

    // Receiver-thread state, indexed by file descriptor.
    private var byFD: [ReceivingSession?] = []
    private var fdOf: [MediaSessionID: Int32] = [:]
    private var pending: [ReceiverCommand] = []
    private let batchBuffers: OpaquePointer
    private let keys: UnsafeMutablePointer<UInt64>
    private let maxEvents: Int32 = 256

    init(logger: Logger) throws {
        self.logger = logger
        epfd = tfm_epoll_create()
        wakeFD = tfm_eventfd()
        guard epfd >= 0, wakeFD >= 0, let b = tfm_batch_create(RTPReceiver.batch, 2048) else {
            throw MediaError("epoll/eventfd setup failed: errno \(errno)")
        }
        batchBuffers = b
        keys = .allocate(capacity: Int(maxEvents))
        _ = tfm_epoll_add(epfd, wakeFD, RTPReceiver.wakeKey)
    }

    deinit {
        close(epfd)
        close(wakeFD)
        tfm_batch_destroy(batchBuffers)
        keys.deallocate()
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

    func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        _ = tfm_eventfd_signal(wakeFD)
        done.wait()
    }

    private func run() {
        while running.load(ordering: .acquiring) {
            let n = tfm_epoll_wait(epfd, keys, maxEvents, 500)
            if n < 0 { logger.error("rtp.epoll_failed", ["errno": errno]); break }
            for e in 0..<Int(n) {
                let key = keys[e]
                if key == RTPReceiver.wakeKey {
                    tfm_eventfd_drain(wakeFD)
                    applyCommands()
                } else {
                    drain(fd: Int32(truncatingIfNeeded: key))
                }
            }
        }
        for case let s? in byFD { _ = tfm_epoll_del(epfd, s.shared.fd); s.shared.release() }
        byFD.removeAll()
        done.signal()
    }

    private func applyCommands() {
        inbox.withLock { swap(&$0, &pending) }
        for c in pending {
            switch c {
            case .add(let shared):
                let fd = Int(shared.fd)
                if byFD.count <= fd { byFD.append(contentsOf: repeatElement(nil, count: fd + 1 - byFD.count)) }
                byFD[fd] = ReceivingSession(shared: shared, remote: nil, telephoneEventPT: nil)
                fdOf[shared.id] = shared.fd
                _ = tfm_epoll_add(epfd, shared.fd, UInt64(fd))
            case .peer(let id, let remote, let te):
                guard let fd = fdOf[id] else { continue }
                byFD[Int(fd)]?.remote = remote
                byFD[Int(fd)]?.telephoneEventPT = te
            case .remove(let id):
                guard let fd = fdOf.removeValue(forKey: id), let s = byFD[Int(fd)] else { continue }
                _ = tfm_epoll_del(epfd, fd)
                byFD[Int(fd)] = nil
                s.shared.release()
            }
        }
        pending.removeAll(keepingCapacity: true)
    }

    private func drain(fd: Int32) {
        guard Int(fd) < byFD.count, let session = byFD[Int(fd)] else { return }
        while true {
            let n = tfm_batch_recv(fd, batchBuffers)
            if n <= 0 { return }
            for i in 0..<n {
                var length: Int32 = 0
                var addr: UInt32 = 0
                var port: UInt16 = 0
                let bytes = tfm_batch_packet(batchBuffers, i, &length, &addr, &port)
                guard let remote = session.remote, remote.matches(address: addr, port: port) else {
                    session.shared.dropped.wrappingAdd(1, ordering: .relaxed)
                    continue
                }
                guard let parsed = RTPHeader.parse(UnsafeRawBufferPointer(start: bytes, count: Int(length))) else {
                    session.shared.malformed.wrappingAdd(1, ordering: .relaxed)
                    continue
                }
                session.shared.received.wrappingAdd(1, ordering: .relaxed)
                if let te = session.telephoneEventPT, parsed.header.payloadType == te {
                    session.shared.events.wrappingAdd(1, ordering: .relaxed)
                }
            }
            if n < RTPReceiver.batch { return }
        }
    }
}
