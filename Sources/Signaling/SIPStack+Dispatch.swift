import CSofiaBridge
import Foundation
import Observability

/// Turning Sofia's flattened events into `SIPEvent`s, on the signaling thread.
extension SIPStack {
    func dispatch(_ ev: tf_sip_event_t) {
        guard let delegate, let hp = ev.handle else {
            if ev.kind == Int32(TF_EV_SHUTDOWN_DONE.rawValue), ev.status >= 200, let s = sip { tf_sip_break(s) }
            return
        }
        let handle = handle(for: hp)
        let adopted = ev.handle_magic != nil
        let e = FlatEvent(ev)
        switch tf_event_kind_t(UInt32(ev.kind)) {
        case TF_EV_INCOMING_INVITE:
            if adopted {
                delegate.sipStack(self, didReceive: .reInvite(handle, contentType: e.str(ev.content_type), body: e.body))
            } else {
                var invite = IncomingInvite(
                    handle: handle, callID: e.str(ev.call_id) ?? "", requestUser: e.str(ev.request_user) ?? "",
                    fromUser: e.str(ev.from_user) ?? "", contentType: e.str(ev.content_type), body: e.body,
                    priority: e.str(ev.priority), resourcePriority: e.str(ev.resource_priority),
                    contactUsable: ev.contact_ok != 0, source: e.source, overTLS: e.overTLS)
                invite.fromDisplay = e.str(ev.from_display).flatMap(SIPHeaderText.displayName)
                invite.forwardedFrom = (e.str(ev.diversion) ?? e.str(ev.history_info)).flatMap(SIPHeaderText.firstURIUser)
                delegate.sipStack(self, didReceive: .invite(invite))
            }
        case TF_EV_INVITE_RESPONSE:
            var r = InviteResponse(status: Int(ev.status), contentType: e.str(ev.content_type), body: e.body)
            r.challengeScheme = e.str(ev.auth_scheme)
            r.challengeRealm = e.str(ev.auth_realm)
            r.callID = e.str(ev.call_id)
            delegate.sipStack(self, didReceive: .inviteResponse(handle, r))
        case TF_EV_INCOMING_MESSAGE:
            delegate.sipStack(self, didReceive: .message(IncomingMessage(
                handle: handle, callID: e.str(ev.call_id) ?? "", requestUser: e.str(ev.request_user) ?? "",
                fromUser: e.str(ev.from_user) ?? "", contentType: e.str(ev.content_type),
                charset: e.str(ev.charset).map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) },
                body: e.bytes, source: e.source, inDialog: adopted, overTLS: e.overTLS)))
        case TF_EV_INCOMING_OPTIONS:
            delegate.sipStack(self, didReceive: .options(IncomingOptions(handle: handle, source: e.source, inDialog: adopted)))
        case TF_EV_INCOMING_ACK:
            delegate.sipStack(self, didReceive: .ack(handle, contentType: e.str(ev.content_type), body: e.body))
        case TF_EV_INCOMING_CANCEL:
            delegate.sipStack(self, didReceive: .cancel(handle))
        case TF_EV_INCOMING_BYE:
            delegate.sipStack(self, didReceive: .bye(handle))
        case TF_EV_INCOMING_INFO:
            // Outside a dialog nua has answered it and nothing is ours to do; the handle it
            // made is ours to free (kept, about 1 % of a mutated flood stayed for good).
            guard adopted else { return destroy(handle) }
            delegate.sipStack(self, didReceive: .info(handle, contentType: e.str(ev.content_type), body: e.body))
        default:
            dispatchHousekeeping(ev, handle: handle, adopted: adopted, delegate: delegate)
        }
    }

    /// Dialog state, requests nua answered itself, shutdown and errors.
    private func dispatchHousekeeping(_ ev: tf_sip_event_t, handle: SIPCallHandle, adopted: Bool, delegate: any SIPStackDelegate) {
        switch tf_event_kind_t(UInt32(ev.kind)) {
        case TF_EV_STATE:
            if logger.isEnabled(.debug) { logger.debug("sip.state", ["handle": handle, "callstate": Int(ev.callstate), "status": Int(ev.status)]) }
            if ev.callstate == Int32(TF_CS_TERMINATED.rawValue) {
                delegate.sipStack(self, didReceive: .terminated(handle, status: Int(ev.status)))
                destroy(handle)
            }
        case TF_EV_INCOMING_REQUEST:
            // REGISTER, SUBSCRIBE... outside a dialog: nua answered them; the handle it made
            // for the request is ours to free (kept, a flood of them would grow memory).
            if !adopted { destroy(handle) }
        case TF_EV_SHUTDOWN_DONE:
            if ev.status >= 200, let s = sip { tf_sip_break(s) }
        case TF_EV_ERROR:
            logger.warning("sip.error", ["status": Int(ev.status), "phrase": ev.phrase.map { String(cString: $0) } ?? ""])
        default:
            if logger.isEnabled(.debug) {
                logger.debug("sip.event", ["nua_event": Int(ev.nua_event), "status": Int(ev.status)])
            }
        }
    }
}

/// The parts of a flattened Sofia event every kind reads: strings, the body, the source.
private struct FlatEvent {
    let ev: tf_sip_event_t
    init(_ ev: tf_sip_event_t) { self.ev = ev }

    func str(_ p: UnsafePointer<CChar>?) -> String? { p.map { String(cString: $0) } }

    /// The body as text (nil when there is none).
    var body: String? {
        guard let p = ev.payload, ev.payload_len > 0 else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: p, count: ev.payload_len), as: UTF8.self)
    }

    /// The body as bytes (a MESSAGE's may be any charset).
    var bytes: [UInt8] {
        guard let p = ev.payload, ev.payload_len > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: ev.payload_len))
    }

    /// "ip:port" of the request's source.
    var source: String { withUnsafeBytes(of: ev.source) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) } }

    var overTLS: Bool { str(ev.transport)?.uppercased().hasSuffix("/TLS") ?? false }
}
