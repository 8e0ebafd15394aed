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
        func str(_ p: UnsafePointer<CChar>?) -> String? { p.map { String(cString: $0) } }
        func body() -> String? {
            guard let p = ev.payload, ev.payload_len > 0 else { return nil }
            return String(decoding: UnsafeRawBufferPointer(start: p, count: ev.payload_len), as: UTF8.self)
        }
        let source = withUnsafeBytes(of: ev.source) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let overTLS = str(ev.transport)?.uppercased().hasSuffix("/TLS") ?? false
        switch tf_event_kind_t(UInt32(ev.kind)) {
        case TF_EV_INCOMING_INVITE:
            if adopted {
                delegate.sipStack(self, didReceive: .reInvite(handle, contentType: str(ev.content_type), body: body()))
            } else {
                delegate.sipStack(self, didReceive: .invite(IncomingInvite(
                    handle: handle, callID: str(ev.call_id) ?? "", requestUser: str(ev.request_user) ?? "",
                    fromUser: str(ev.from_user) ?? "", contentType: str(ev.content_type), body: body(),
                    priority: str(ev.priority), resourcePriority: str(ev.resource_priority),
                    contactUsable: ev.contact_ok != 0, source: source, overTLS: overTLS)))
            }
        case TF_EV_INVITE_RESPONSE:
            var r = InviteResponse(status: Int(ev.status), contentType: str(ev.content_type), body: body())
            r.challengeScheme = str(ev.auth_scheme)
            r.challengeRealm = str(ev.auth_realm)
            r.callID = str(ev.call_id)
            delegate.sipStack(self, didReceive: .inviteResponse(handle, r))
        case TF_EV_INCOMING_MESSAGE:
            var bytes: [UInt8] = []
            if let p = ev.payload, ev.payload_len > 0 {
                bytes = Array(UnsafeRawBufferPointer(start: p, count: ev.payload_len))
            }
            delegate.sipStack(self, didReceive: .message(IncomingMessage(
                handle: handle, callID: str(ev.call_id) ?? "", requestUser: str(ev.request_user) ?? "",
                fromUser: str(ev.from_user) ?? "", contentType: str(ev.content_type),
                charset: str(ev.charset).map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) },
                body: bytes, source: source, inDialog: adopted, overTLS: overTLS)))
        case TF_EV_INCOMING_OPTIONS:
            delegate.sipStack(self, didReceive: .options(IncomingOptions(handle: handle, source: source, inDialog: adopted)))
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
                destroy(handle)
            }
        case TF_EV_INCOMING_REQUEST:
            // REGISTER, SUBSCRIBE... outside a dialog: nua answered them; the handle it made
            // for the request is ours to free (kept, a flood of them would grow memory).
            if !adopted { destroy(handle) }
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
