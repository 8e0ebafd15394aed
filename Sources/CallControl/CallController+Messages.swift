import Configuration
import Foundation
import Metering
import Routing
import Signaling
import Webhooks

/// SMS over SIP: MESSAGE requests to our numbers.
extension CallController {
    func handleMessage(_ m: IncomingMessage, now: Date) {
        let id = PlatformSID.random("SM")
        let log = logger.with(["message": id])
        guard policy.trustedSources(tls: m.overTLS).allows(source: m.source) else {
            stack.respondToMessage(m, status: 403)
            countUntrusted(source: m.source)
            return
        }
        guard allowRate(source: m.source, now: now) else {
            stack.respondToMessage(m, status: 503, headers: ["Retry-After: 5"])
            return
        }
        let route = policy.directory.route(forDialed: m.requestUser)
        let fromNumber = PhoneNumber.e164(m.fromUser) ?? m.fromUser
        let webhook = route.flatMap { policy.numbers[$0.did]?.messagingWebhook }
        switch MessageRules.decide(m, route: route, webhook: webhook, messageID: id, fromNumber: fromNumber, now: now) {
        case .refuse(let status, let headers, let reason):
            stack.respondToMessage(m, status: status, headers: headers)
            metrics.increment("tollfreed_messages_total", [("result", String(status))])
            log.notice("sms.refused", ["to": m.requestUser, "status": status, "reason": reason, "source": m.source])
        case .accept(let record, let body, let webhook):
            services.writer.submit(message: record)
            metrics.increment("tollfreed_messages_total", [("result", "accepted")])
            stack.respondToMessage(m, status: webhook == nil ? 200 : 202)
            let masked = policy.tenants[record.tenant]?.industry == .healthcare
            // Never the body in the log: it is the customer's content (and PHI for healthcare).
            log.info("sms.received", ["tenant": record.tenant, "to": record.did,
                                      "from": masked ? Self.mask(fromNumber) : fromNumber, "length": record.bodyLength,
                                      "encoding": record.encoding.rawValue, "segments": record.segments])
            if let webhook, var request = WebhookRequest(location: webhook, method: "POST", parameters: MessageRules.webhookParameters(
                record, body: body, accountSID: accountSID(of: record.tenant))) {
                request.signingToken = signingToken(of: record.tenant)
                services.webhooks.notify(request)
            }
        }
    }
}
