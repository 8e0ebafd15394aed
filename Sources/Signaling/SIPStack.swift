import CSofiaBridge
import Foundation
import Observability

/// Identifies one SIP dialog (a nua handle) without exposing Sofia's pointer.
public struct SIPCallHandle: Hashable, Sendable, CustomStringConvertible {
    let raw: UInt
    init(_ pointer: UnsafeMutableRawPointer) { raw = UInt(bitPattern: pointer) }
    var pointer: UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: raw)! }
    public var description: String { "h" + String(raw, radix: 16) }
}

/// A new INVITE, flattened from Sofia's `sip_t`.
public struct IncomingInvite: Sendable {
    public var handle: SIPCallHandle
    public var callID: String
    public var requestUser: String
    public var requestHost: String
    public var fromUser: String
    public var fromHost: String
    public var fromDisplay: String?
    public var toUser: String
    /// Content type without parameters, nil without a body.
    public var contentType: String?
    public var body: String?
    /// `Priority` header value (RFC 3261), e.g. "emergency".
    public var priority: String?
    /// First `Resource-Priority` value (RFC 4412), e.g. "esnet.0".
    public var resourcePriority: String?
    /// Source address "ip:port" of the request.
    public var source: String
    /// True when the request came over TLS (the `sips` listener).
    public var overTLS: Bool = false
}

/// Events from the SIP stack, delivered on the stack's thread.
public enum SIPEvent: Sendable {
    /// A new call. Answer with `respond`; the handle stays valid until `.terminated`.
    case invite(IncomingInvite)
    /// A re-INVITE within an established call (hold, unhold, address change).
    case reInvite(SIPCallHandle, contentType: String?, body: String?)
    /// The caller's ACK for our 2xx; carries the SDP answer of a late-offer call.
    case ack(SIPCallHandle, contentType: String?, body: String?)
    /// The caller cancelled before answer (Sofia already sent 487).
    case cancel(SIPCallHandle)
    /// The caller hung up (Sofia already answered 200 to the BYE).
    case bye(SIPCallHandle)
    /// The dialog is gone; the handle is released right after this event.
    case terminated(SIPCallHandle, status: Int)
    /// A SIP INFO within a call (DTMF relay later).
    case info(SIPCallHandle, contentType: String?, body: String?)
    /// A response to an INVITE we sent (outbound leg): 18x, 2xx (ACK already sent), or a
    /// final failure. 100 Trying is not reported.
    case inviteResponse(SIPCallHandle, InviteResponse)
    /// A MESSAGE request (SMS over SIP). Answer it with
    /// ``SIPStack/respondToMessage(_:status:headers:)``, which also releases its handle.
    case message(IncomingMessage)
}

/// A MESSAGE request, flattened from Sofia's `sip_t`.
public struct IncomingMessage: Sendable {
    public var handle: SIPCallHandle
    public var callID: String
    public var requestUser: String
    public var fromUser: String
    /// Content type without parameters ("text/plain"), nil without one.
    public var contentType: String?
    /// The Content-Type's charset parameter, if given.
    public var charset: String?
    /// The body, as received (not yet decoded).
    public var body: [UInt8]
    /// Source address "ip:port" of the request.
    public var source: String
    /// True when the request arrived inside a call's dialog (its handle stays the call's).
    public var inDialog: Bool
    /// True when the request came over TLS (the `sips` listener).
    public var overTLS: Bool = false
}

extension SIPEvent {
    /// The dialog the event belongs to.
    public var handle: SIPCallHandle? {
        switch self {
        case .invite(let i): i.handle
        case .reInvite(let h, _, _), .ack(let h, _, _), .info(let h, _, _): h
        case .cancel(let h), .bye(let h): h
        case .terminated(let h, _): h
        case .inviteResponse(let h, _): h
        case .message(let m): m.handle
        }
    }
}

/// A response to an outbound INVITE.
public struct InviteResponse: Sendable, Equatable {
    public var status: Int
    public var contentType: String?
    public var body: String?
    /// For 401/407: the challenge's scheme and realm (quotes included), to answer with
    /// ``SIPStack/authenticate(_:scheme:realm:user:password:)``.
    public var challenge: (scheme: String, realm: String)? {
        guard let challengeScheme, let challengeRealm else { return nil }
        return (challengeScheme, challengeRealm)
    }
    var challengeScheme: String?
    var challengeRealm: String?

    public init(status: Int, contentType: String? = nil, body: String? = nil) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }
}

/// Receives stack events on the stack's thread.
public protocol SIPStackDelegate: AnyObject, Sendable {
    func sipStack(_ stack: SIPStack, didReceive event: SIPEvent)
}

/// Why the stack could not start.
public struct SIPStackError: Error, CustomStringConvertible {
    public var description: String
}

/// Owns Sofia's root and nua agent on one thread ("the signaling thread").
///
/// Every method except `post` and `stop` must be called on that thread: from delegate
/// callbacks, from `post`ed work or from timers. This is the daemon's control thread.
public final class SIPStack: @unchecked Sendable {
    private var sip: OpaquePointer?
    private let logger: Logger
    private weak var delegate: (any SIPStackDelegate)?
    private let stopped = DispatchSemaphore(value: 0)
    private var thread: Thread?

    public init(logger: Logger) {
        self.logger = logger
    }

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
        nonisolated(unsafe) var failure: String?
        let t = Thread { [self] in
            _ = tf_sip_global_init()
            var err = [CChar](repeating: 0, count: 256)
            let magic = Unmanaged.passUnretained(self).toOpaque()
            let s = tf_sip_create(url, tlsURL, certDir, userAgent, { magic, event in
                guard let magic, let event else { return }
                Unmanaged<SIPStack>.fromOpaque(magic).takeUnretainedValue().dispatch(event.pointee)
            }, magic, &err, err.count)
            guard let s else {
                failure = String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                ready.signal()
                return
            }
            self.sip = s
            ready.signal()
            tf_sip_run(s)
            tf_sip_destroy(s)
            self.sip = nil
            self.stopped.signal()
        }
        t.name = "sip"
        t.stackSize = 1 << 20
        thread = t
        t.start()
        ready.wait()
        if let failure { throw SIPStackError(description: failure) }
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

    /// Runs `work` on the signaling thread. Safe from any thread.
    public func post(_ work: @escaping @Sendable () -> Void) {
        guard let s = sip else { return }
        let box = Unmanaged.passRetained(WorkBox(work)).toOpaque()
        if tf_sip_post(s, { arg in
            Unmanaged<WorkBox>.fromOpaque(arg!).takeRetainedValue().work()
        }, box) != 0 {
            Unmanaged<WorkBox>.fromOpaque(box).release()
        }
    }

    /// Runs `work` on the signaling thread after `milliseconds`. Signaling thread only.
    @discardableResult
    public func schedule(afterMilliseconds ms: Int, _ work: @escaping @Sendable () -> Void) -> SIPTimer? {
        guard let s = sip else { return nil }
        let box = Unmanaged.passRetained(WorkBox(work)).toOpaque()
        guard let t = tf_sip_timer_start(s, UInt32(max(0, ms)), { arg in
            Unmanaged<WorkBox>.fromOpaque(arg!).takeRetainedValue().work()
        }, box) else {
            Unmanaged<WorkBox>.fromOpaque(box).release()
            return nil
        }
        return SIPTimer(raw: UInt(bitPattern: t))
    }

    /// Cancels a timer that has not fired yet. Signaling thread only.
    public func cancel(_ timer: SIPTimer) {
        guard let s = sip, let p = UnsafeMutableRawPointer(bitPattern: timer.raw) else { return }
        if let arg = tf_sip_timer_cancel(s, p) { Unmanaged<WorkBox>.fromOpaque(arg).release() }
    }

    /// Sends a response (reason phrase from Sofia's table) with an optional SDP body and
    /// extra header lines ("Name: value", joined by CRLF).
    public func respond(_ handle: SIPCallHandle, status: Int, sdp: String? = nil, headers: [String] = []) {
        let extra = headers.isEmpty ? nil : headers.joined(separator: "\r\n")
        tf_sip_respond(handle.pointer, Int32(status), sdp, extra)
    }

    /// Marks a handle as an accepted call, so later INVITEs on it are re-INVITEs.
    public func adopt(_ handle: SIPCallHandle) {
        tf_sip_bind(handle.pointer, handle.pointer)
    }

    /// Ends an established call with BYE.
    public func bye(_ handle: SIPCallHandle) { tf_sip_bye(handle.pointer) }

    /// Places an outbound call (a B leg) with our SDP offer. `from` and `to` are header
    /// values such as `"+15551230000" <sip:+15551230000@127.0.0.1:5060>`. Events for the
    /// new dialog arrive like those of adopted calls (`.inviteResponse`, `.bye`,
    /// `.reInvite`, `.terminated`). Nil when Sofia refuses (e.g. a malformed URI).
    public func invite(requestURI: String, from: String, to: String, sdp: String, headers: [String] = []) -> SIPCallHandle? {
        guard let s = sip else { return nil }
        let extra = headers.isEmpty ? nil : headers.joined(separator: "\r\n")
        guard let h = tf_sip_invite(s, requestURI, from, to, sdp, extra) else { return nil }
        return SIPCallHandle(h)
    }

    /// Answers a MESSAGE and releases its handle (unless it belongs to a call). Must be
    /// called while the `.message` event is being delivered (Sofia matches the response to
    /// the request being processed).
    public func respondToMessage(_ message: IncomingMessage, status: Int, headers: [String] = []) {
        guard let s = sip else { return }
        let extra = headers.isEmpty ? nil : headers.joined(separator: "\r\n")
        tf_sip_respond_current(s, message.handle.pointer, Int32(status), extra)
        if !message.inDialog { tf_sip_handle_destroy(message.handle.pointer) }
    }

    /// CANCELs an outbound INVITE that has not been answered.
    public func cancel(_ handle: SIPCallHandle) { tf_sip_cancel(handle.pointer) }

    /// Answers a 401/407 on an outbound INVITE with digest credentials (nua re-sends it).
    public func authenticate(_ handle: SIPCallHandle, scheme: String, realm: String, user: String, password: String) {
        tf_sip_authenticate(handle.pointer, scheme, realm, user, password)
    }

    private func dispatch(_ ev: tf_sip_event_t) {
        guard let delegate, let hp = ev.handle else {
            if ev.kind == Int32(TF_EV_SHUTDOWN_DONE.rawValue), ev.status >= 200, let s = sip { tf_sip_break(s) }
            return
        }
        let handle = SIPCallHandle(hp)
        let adopted = ev.handle_magic != nil
        func str(_ p: UnsafePointer<CChar>?) -> String? { p.map { String(cString: $0) } }
        func body() -> String? {
            guard let p = ev.payload, ev.payload_len > 0 else { return nil }
            return String(decoding: UnsafeRawBufferPointer(start: p, count: ev.payload_len), as: UTF8.self)
        }
        switch tf_event_kind_t(UInt32(ev.kind)) {
        case TF_EV_INCOMING_INVITE:
            if adopted {
                delegate.sipStack(self, didReceive: .reInvite(handle, contentType: str(ev.content_type), body: body()))
            } else {
                let src = withUnsafeBytes(of: ev.source) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                delegate.sipStack(self, didReceive: .invite(IncomingInvite(
                    handle: handle, callID: str(ev.call_id) ?? "", requestUser: str(ev.request_user) ?? "",
                    requestHost: str(ev.request_host) ?? "", fromUser: str(ev.from_user) ?? "",
                    fromHost: str(ev.from_host) ?? "", fromDisplay: str(ev.from_display),
                    toUser: str(ev.to_user) ?? "", contentType: str(ev.content_type), body: body(),
                    priority: str(ev.priority), resourcePriority: str(ev.resource_priority), source: src,
                    overTLS: str(ev.transport)?.uppercased().hasSuffix("/TLS") ?? false)))
            }
        case TF_EV_INVITE_RESPONSE:
            var r = InviteResponse(status: Int(ev.status), contentType: str(ev.content_type), body: body())
            r.challengeScheme = str(ev.auth_scheme)
            r.challengeRealm = str(ev.auth_realm)
            delegate.sipStack(self, didReceive: .inviteResponse(handle, r))
        case TF_EV_INCOMING_MESSAGE:
            let src = withUnsafeBytes(of: ev.source) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            var bytes: [UInt8] = []
            if let p = ev.payload, ev.payload_len > 0 {
                bytes = Array(UnsafeRawBufferPointer(start: p, count: ev.payload_len))
            }
            delegate.sipStack(self, didReceive: .message(IncomingMessage(
                handle: handle, callID: str(ev.call_id) ?? "", requestUser: str(ev.request_user) ?? "",
                fromUser: str(ev.from_user) ?? "", contentType: str(ev.content_type),
                charset: str(ev.charset).map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) },
                body: bytes, source: src, inDialog: adopted,
                overTLS: str(ev.transport)?.uppercased().hasSuffix("/TLS") ?? false)))
        case TF_EV_INCOMING_ACK:
            delegate.sipStack(self, didReceive: .ack(handle, contentType: str(ev.content_type), body: body()))
        case TF_EV_INCOMING_CANCEL:
            delegate.sipStack(self, didReceive: .cancel(handle))
        case TF_EV_INCOMING_BYE:
            delegate.sipStack(self, didReceive: .bye(handle))
        case TF_EV_INCOMING_INFO:
            delegate.sipStack(self, didReceive: .info(handle, contentType: str(ev.content_type), body: body()))
        case TF_EV_STATE:
            if logger.isEnabled(.debug) { logger.debug("sip.state", ["handle": handle, "callstate": Int(ev.callstate), "status": Int(ev.status)]) }
            if ev.callstate == Int32(TF_CS_TERMINATED.rawValue) {
                delegate.sipStack(self, didReceive: .terminated(handle, status: Int(ev.status)))
                tf_sip_handle_destroy(hp)
            }
        case TF_EV_INCOMING_OPTIONS:
            // nua answers OPTIONS itself; the handle it made for the request is ours to free.
            if !adopted { tf_sip_handle_destroy(hp) }
        case TF_EV_SHUTDOWN_DONE:
            if ev.status >= 200, let s = sip { tf_sip_break(s) }
        case TF_EV_ERROR:
            logger.warning("sip.error", ["status": Int(ev.status), "phrase": str(ev.phrase) ?? ""])
        default:
            if logger.isEnabled(.debug) {
                logger.debug("sip.event", ["nua_event": Int(ev.nua_event), "status": Int(ev.status)])
            }
        }
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
