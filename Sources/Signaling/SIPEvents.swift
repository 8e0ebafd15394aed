import CSofiaBridge
import Foundation
import Observability

/// Identifies one SIP dialog (a nua handle) without exposing Sofia's pointer.
///
/// Sofia reuses a freed handle's address for the next one, so the pointer alone does not
/// name a dialog: a call still finishing (waiting for its recording) would be mistaken for
/// the next INVITE. Each handle gets a serial number of ours when the stack first sees it;
/// two handles are equal only when both match, and the stack refuses to pass a handle
/// whose dialog is gone to Sofia.
public struct SIPCallHandle: Hashable, Sendable, CustomStringConvertible {
    let raw: UInt
    let serial: UInt64
    init(_ pointer: UnsafeMutableRawPointer, serial: UInt64) {
        raw = UInt(bitPattern: pointer)
        self.serial = serial
    }
    var pointer: UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: raw)! }
    public var description: String { "h\(serial)" }
}

/// A new INVITE, flattened from Sofia's `sip_t`.
public struct IncomingInvite: Sendable {
    public var handle: SIPCallHandle
    public var callID: String
    public var requestUser: String
    public var fromUser: String
    /// Content type without parameters, nil without a body.
    public var contentType: String?
    public var body: String?
    /// `Priority` header value (RFC 3261), e.g. "emergency".
    public var priority: String?
    /// Every `Resource-Priority` value (RFC 4412), comma-joined, e.g. "esnet.0,wps.1".
    public var resourcePriority: String?
    /// False when the Contact is not one `sip:`/`sips:` URI with a host (a `tel:`, `*` or
    /// malformed Contact): such an INVITE must be refused, never answered.
    public var contactUsable: Bool = true
    /// Source address "ip:port" of the request.
    public var source: String
    /// True when the request came over TLS (the `sips` listener).
    public var overTLS: Bool = false
    /// The From display name, unquoted (a caller name where the network gives one).
    public var fromDisplay: String?
    /// Who forwarded the call: the user part of the first `Diversion` URI, else of the
    /// first `History-Info` entry.
    public var forwardedFrom: String?

    /// An INVITE with the given fields.
    public init(handle: SIPCallHandle, callID: String, requestUser: String, fromUser: String, contentType: String?,
                body: String?, priority: String?, resourcePriority: String?, contactUsable: Bool, source: String,
                overTLS: Bool) {
        self.handle = handle; self.callID = callID; self.requestUser = requestUser; self.fromUser = fromUser
        self.contentType = contentType; self.body = body; self.priority = priority
        self.resourcePriority = resourcePriority; self.contactUsable = contactUsable; self.source = source
        self.overTLS = overTLS
    }
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
    /// An OPTIONS request (a load balancer's probe, or in-dialog). Answer it with
    /// ``SIPStack/respondToOptions(_:status:headers:)`` while the event is delivered.
    case options(IncomingOptions)
}

/// An OPTIONS request.
public struct IncomingOptions: Sendable {
    public var handle: SIPCallHandle
    /// Source address "ip:port" of the request.
    public var source: String
    /// True when the request arrived inside a call's dialog.
    public var inDialog: Bool
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
        case .options(let o): o.handle
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
    /// The SIP Call-ID of the outbound dialog (what the trunk sees and bills by).
    public var callID: String?

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
