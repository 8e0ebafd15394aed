import CSofiaBridge
import Foundation
import Observability
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Owns Sofia's root and nua agent on one thread ("the signaling thread").
///
/// Every method except `post` and `stop` must be called on that thread: from delegate
/// callbacks, from `post`ed work or from timers. This is the daemon's control thread.
public final class SIPStack: @unchecked Sendable {
    /// Sofia's agent. Written by the signaling thread at start and before it is destroyed;
    /// read by `post` from any thread, under the lock, so no thread posts into freed memory.
    private let agent = Locked<UInt>(0)  // OpaquePointer bits (not Sendable); 0 = none
    let logger: Logger
    weak var delegate: (any SIPStackDelegate)?
    private let stopped = DispatchSemaphore(value: 0)
    private var thread: Thread?
    /// The signaling thread (`pthread_self` bits) while it runs; 0 before and after.
    private let owner = Atomic<UInt>(0)
    /// Live nua handles (pointer -> our serial). Signaling thread only.
    private var liveHandles: [UInt: UInt64] = [:]
    private var handleSerial: UInt64 = 0
    /// The largest SIP message accepted (bytes); 0 keeps Sofia's default. Set before `start`.
    public var maxMessageBytes = 0

    /// Dialog handles alive in Sofia right now (a leak shows here first). Signaling thread.
    public var liveHandleCount: Int { liveHandles.count }

    public init(logger: Logger) {
        self.logger = logger
    }

    /// The agent, on the signaling thread (which alone changes it).
    var sip: OpaquePointer? { OpaquePointer(bitPattern: agent.withLock { $0 }) }

    /// Starts the signaling thread listening on `host:port` (UDP and TCP), and for SIP over
    /// TLS on `tls` when given (`certificateDirectory` holds agent.pem and cafile.pem).
    /// Returns once listening, or throws when the address cannot be bound.
    public func start(host: String, port: Int, tls: (host: String, port: Int, certificateDirectory: String)? = nil,
                      userAgent: String, delegate: any SIPStackDelegate) throws {
        self.delegate = delegate
        let ready = DispatchSemaphore(value: 0)
        let hostPart = host.contains(":") ? "[\(host)]" : host
        let url = "sip:\(hostPart):\(port)"
        let tlsURL = tls.map { "sips:" + ($0.host.contains(":") ? "[\($0.host)]" : $0.host) + ":\($0.port)" }
        let certDir = tls?.certificateDirectory
        let maxMessage = maxMessageBytes
        let failure = Locked<String?>(nil)
        let t = Thread { [self] in
            _ = tf_sip_global_init()
            var err = [CChar](repeating: 0, count: 256)
            let magic = Unmanaged.passUnretained(self).toOpaque()
            let s = tf_sip_create(url, tlsURL, certDir, userAgent, maxMessage, { magic, event in
                guard let magic, let event else { return }
                Unmanaged<SIPStack>.fromOpaque(magic).takeUnretainedValue().dispatch(event.pointee)
            }, magic, &err, err.count)
            guard let s else {
                failure.withLock { $0 = String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
                ready.signal()
                return
            }
            owner.store(UInt(pthread_self()), ordering: .releasing)
            agent.withLock { $0 = UInt(bitPattern: s) }
            ready.signal()
            tf_sip_run(s)
            // From here on `post` drops work instead of queueing it into a root being freed.
            agent.withLock { $0 = 0 }
            tf_sip_destroy(s)
            owner.store(0, ordering: .releasing)
            self.stopped.signal()
        }
        t.name = "sip"
        t.stackSize = 1 << 20
        thread = t
        t.start()
        ready.wait()
        if let failure = failure.withLock({ $0 }) { throw SIPStackError(description: failure) }
    }

    /// True on the signaling thread, and while no signaling thread runs (before `start`,
    /// after `stop`: then nothing can race and the methods do nothing).
    public var isOnSignalingThread: Bool {
        let t = owner.load(ordering: .acquiring)
        return t == 0 || t == UInt(pthread_self())
    }

    /// Traps in debug builds when called off the signaling thread (the check of
    /// swift-nio's `NIOLoopBound`): everything but `start`, `stop` and `post` belongs to
    /// that thread, and so does every object whose state only it may touch (the call
    /// controller checks itself with this). Compiled out of release builds.
    @inline(__always)
    public func assertOnSignalingThread(_ function: StaticString, file: StaticString, line: UInt) {
        assert(isOnSignalingThread, "\(function) called off the signaling thread", file: file, line: line)
    }

    /// Shuts nua down (pending transactions finish) and stops the thread. Any thread;
    /// blocks until the thread has exited.
    public func stop() {
        guard sip != nil else { return }
        post { [self] in
            guard let s = sip else { return }
            tf_sip_shutdown(s)
        }
        stopped.wait()
    }

    /// Runs `work` on the signaling thread. Safe from any thread; dropped once the stack
    /// has stopped.
    public func post(_ work: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(WorkBox(work)).toOpaque()
        let sent = agent.withLock { bits -> Bool in
            guard let s = OpaquePointer(bitPattern: bits) else { return false }
            return tf_sip_post(s, { arg in
                Unmanaged<WorkBox>.fromOpaque(arg!).takeRetainedValue().work()
            }, box) == 0
        }
        if !sent { Unmanaged<WorkBox>.fromOpaque(box).release() }
    }

    /// Runs `work` on the signaling thread after `milliseconds`, taken as 1 ms when smaller
    /// (Sofia aborts on a 0 ms timer) and as `Int32.max` ms (about 24 days) when larger.
    /// Signaling thread only.
    @discardableResult
    public func schedule(afterMilliseconds ms: Int, _ work: @escaping @Sendable () -> Void) -> SIPTimer? {
        assertOnSignalingThread(function: #function)
        guard let s = sip else { return nil }
        let box = Unmanaged.passRetained(WorkBox(work)).toOpaque()
        guard let t = tf_sip_timer_start(s, UInt32(min(max(1, ms), Int(Int32.max))), { arg in
            Unmanaged<WorkBox>.fromOpaque(arg!).takeRetainedValue().work()
        }, box) else {
            Unmanaged<WorkBox>.fromOpaque(box).release()
            return nil
        }
        return SIPTimer(raw: UInt(bitPattern: t))
    }

    /// Cancels a timer that has not fired yet. Signaling thread only.
    public func cancel(_ timer: SIPTimer) {
        assertOnSignalingThread(function: #function)
        guard let s = sip, let p = UnsafeMutableRawPointer(bitPattern: timer.raw) else { return }
        if let arg = tf_sip_timer_cancel(s, p) { Unmanaged<WorkBox>.fromOpaque(arg).release() }
    }

    // MARK: Handles

    /// The handle for a pointer Sofia gave us: the live one, or a new serial.
    func handle(for pointer: UnsafeMutableRawPointer) -> SIPCallHandle {
        assertOnSignalingThread(function: #function)
        let raw = UInt(bitPattern: pointer)
        if let serial = liveHandles[raw] { return SIPCallHandle(pointer, serial: serial) }
        handleSerial += 1
        liveHandles[raw] = handleSerial
        return SIPCallHandle(pointer, serial: handleSerial)
    }

    /// Sofia's pointer when `handle` is still alive; nil once its dialog is gone (then
    /// nothing may be sent on it: the memory may belong to another dialog by now).
    func live(_ handle: SIPCallHandle) -> UnsafeMutableRawPointer? {
        assertOnSignalingThread(function: #function)
        return liveHandles[handle.raw] == handle.serial ? handle.pointer : nil
    }

    /// Frees the handle in Sofia and forgets it.
    func destroy(_ handle: SIPCallHandle) {
        guard let p = live(handle) else { return }
        liveHandles[handle.raw] = nil
        tf_sip_handle_destroy(p)
    }

    /// Lets a dialog go that never ended on its own: Sofia frees the handle (ending what is
    /// left of it) and no event for it reaches the delegate any more.
    public func abandon(_ handle: SIPCallHandle) { destroy(handle) }

    /// True while the handle's dialog exists in Sofia.
    public func isAlive(_ handle: SIPCallHandle) -> Bool { live(handle) != nil }

    // MARK: Requests and responses

    /// Sends a response (reason phrase from Sofia's table) with an optional SDP body and
    /// extra header lines ("Name: value", joined by CRLF).
    public func respond(_ handle: SIPCallHandle, status: Int, sdp: String? = nil, headers: [String] = []) {
        guard let p = live(handle) else { return }
        let extra = headers.isEmpty ? nil : headers.joined(separator: "\r\n")
        tf_sip_respond(p, Int32(status), sdp, extra)
    }

    /// Marks a handle as an accepted call, so later INVITEs on it are re-INVITEs.
    public func adopt(_ handle: SIPCallHandle) {
        guard let p = live(handle) else { return }
        tf_sip_bind(p, p)
    }

    /// Ends an established call with BYE.
    public func bye(_ handle: SIPCallHandle) {
        guard let p = live(handle) else { return }
        tf_sip_bye(p)
    }

    /// Places an outbound call (a B leg) with our SDP offer. `from` and `to` are header
    /// values such as `"+15551230000" <sip:+15551230000@127.0.0.1:5060>`. Events for the
    /// new dialog arrive like those of adopted calls (`.inviteResponse`, `.bye`,
    /// `.reInvite`, `.terminated`). `callID` sets the dialog's Call-ID (else Sofia makes
    /// one). Nil when Sofia refuses (e.g. a malformed URI).
    public func invite(requestURI: String, from: String, to: String, callID: String? = nil, sdp: String,
                       headers: [String] = []) -> SIPCallHandle? {
        guard let s = sip else { return nil }
        let extra = headers.isEmpty ? nil : headers.joined(separator: "\r\n")
        guard let h = tf_sip_invite(s, requestURI, from, to, callID, sdp, extra) else { return nil }
        return handle(for: h)
    }

    /// Answers a MESSAGE and releases its handle (unless it belongs to a call). Must be
    /// called while the `.message` event is being delivered (Sofia matches the response to
    /// the request being processed).
    public func respondToMessage(_ message: IncomingMessage, status: Int, headers: [String] = []) {
        respondCurrent(message.handle, status: status, headers: headers, release: !message.inDialog)
    }

    /// Answers an OPTIONS and releases its handle (unless it belongs to a call), while the
    /// `.options` event is being delivered.
    public func respondToOptions(_ options: IncomingOptions, status: Int, headers: [String] = []) {
        respondCurrent(options.handle, status: status, headers: headers, release: !options.inDialog)
    }

    private func respondCurrent(_ handle: SIPCallHandle, status: Int, headers: [String], release: Bool) {
        guard let s = sip, let p = live(handle) else { return }
        let extra = headers.isEmpty ? nil : headers.joined(separator: "\r\n")
        tf_sip_respond_current(s, p, Int32(status), extra)
        if release { destroy(handle) }
    }

    /// CANCELs an outbound INVITE that has not been answered.
    public func cancel(_ handle: SIPCallHandle) {
        guard let p = live(handle) else { return }
        tf_sip_cancel(p)
    }

    /// Answers a 401/407 on an outbound INVITE with digest credentials (nua re-sends it).
    public func authenticate(_ handle: SIPCallHandle, scheme: String, realm: String, user: String, password: String) {
        guard let p = live(handle) else { return }
        tf_sip_authenticate(p, scheme, realm, user, password)
    }
}

/// A pending timer on the signaling thread.
public struct SIPTimer: Sendable, Hashable {
    let raw: UInt
}

private final class WorkBox {
    let work: @Sendable () -> Void
    init(_ work: @escaping @Sendable () -> Void) { self.work = work }
}
