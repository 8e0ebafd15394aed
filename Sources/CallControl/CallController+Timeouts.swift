import Configuration
import Foundation
import Media
import Observability
import Signaling

/// Calls whose caller is gone without a word: no RTP (the RTP timeout), or no ACK (the
/// half-open limits).
extension CallController {
    /// Once a second: a call whose caller has sent no RTP for `rtpTimeoutSeconds` while it
    /// should (answered, not on hold) is ended with BYE; its record says `rtp_timeout`. One
    /// timer for all calls, not one per call.
    package func startMediaWatch(interval: Int = 1000) {
        stack.assertOnSignalingThread()
        stack.schedule(afterMilliseconds: interval) { [self] in
            if policy.rtpTimeoutSeconds > 0 { checkMediaTimeouts(now: stack.currentTime()) }
            startMediaWatch(interval: interval)
        }
    }

    func checkMediaTimeouts(now: Date) {
        let limit = Double(policy.rtpTimeoutSeconds)
        for (h, e) in calls {
            guard e.session.receivesFromCaller, let received = media.stats(e.media)?.packetsReceived else {
                e.rtpSeen.at = now // on hold or not up: the clock starts when media is expected
                continue
            }
            if received != e.rtpSeen.count {
                e.rtpSeen = (received, now)
            } else if now.timeIntervalSince(e.rtpSeen.at) >= limit {
                e.log.notice("call.rtp_timeout", ["seconds": policy.rtpTimeoutSeconds, "rtp_received": received])
                metrics.increment("tollfreed_rtp_timeouts_total")
                withCall(h) { $0.session.mediaTimedOut(seconds: policy.rtpTimeoutSeconds, now: now) }
            }
        }
    }

    /// Counts an INVITE refused for half-open calls; the log is rate-limited.
    func countHalfOpenRefusal(source: String, reason: String) {
        halfOpenRefusals += 1
        countRejection("half_open")
        if halfOpenRefusals == 1 || halfOpenRefusals % 1000 == 0 {
            logger.warning("sip.half_open_limit", ["source": source, "reason": reason, "refused_total": halfOpenRefusals])
        }
    }
}
