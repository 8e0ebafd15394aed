import Configuration
import Foundation
import Media
import Metering
import Observability

/// The daemon's metrics: names, help texts and the update points of the call path.
package enum DaemonMetrics {
    package static let latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5]

    package static func describe(_ m: MetricsRegistry) {
        m.describe("tollfreed_calls_active", type: "gauge", help: "Calls in progress (inbound, with their dial legs counted separately).")
        m.describe("tollfreed_dial_legs_active", type: "gauge", help: "Outbound Dial legs in progress.")
        m.describe("tollfreed_calls_total", type: "counter", help: "Finished calls by number, tenant and disposition.")
        m.describe("tollfreed_emergency_calls_total", type: "counter", help: "Emergency calls admitted.")
        m.describe("tollfreed_admission_rejections_total", type: "counter", help: "INVITEs refused before a call existed, by reason.")
        m.describe("tollfreed_preemptions_total", type: "counter", help: "Ordinary calls ended to admit an emergency call.")
        m.describe("tollfreed_invite_to_answer_seconds", type: "histogram", help: "INVITE received to 200 OK sent (includes configured ring time).")
        m.describe("tollfreed_rtp_packets_total", type: "counter", help: "RTP packets of finished calls and legs, by direction.")
        m.describe("tollfreed_pacer_ticks_total", type: "counter", help: "20 ms media clock periods (each served in four 5 ms slots).")
        m.describe("tollfreed_pacer_late_ticks_total", type: "counter", help: "Media clock slots that woke more than 5 ms late.")
        m.describe("tollfreed_rtp_ports_free", type: "gauge", help: "RTP ports available.")
        m.describe("tollfreed_webhook_request_seconds", type: "histogram", help: "Webhook HTTP requests, by outcome.")
        m.describe("tollfreed_record_write_seconds", type: "histogram", help: "Record store transactions (group commit, fsync).")
        m.describe("tollfreed_dial_legs_total", type: "counter", help: "Outbound Dial legs placed and answered; emergency failovers.")
        m.describe("tollfreed_messages_total", type: "counter", help: "MESSAGE requests by result.")
        m.describe("tollfreed_rtp_timeouts_total", type: "counter", help: "Calls ended because the caller sent no RTP for calls.rtp_timeout_s.")
        m.describe("tollfreed_emergency_markings_ignored_total", type: "counter", help: "Emergency markings ignored: their source is not in emergency.marking_sources.")
        m.describe("tollfreed_half_open_calls", type: "gauge", help: "Calls answered and not yet ACKed.")
        m.describe("tollfreed_call_mos", type: "histogram", help: "Estimated MOS (ITU-T G.107 E-model) of finished calls and legs with media, by direction.")
        m.describe("tollfreed_call_jitter_ms", type: "histogram", help: "Mean RFC 3550 interarrival jitter of the peer's RTP, milliseconds, by direction.")
        m.describe("tollfreed_rtp_latched_total", type: "counter", help: "Calls and legs whose media was latched to where it comes from (NAT latching).")
        m.describe("tollfreed_poor_quality_calls_total", type: "counter", help: "Calls and legs whose MOS was under media.poor_quality_mos.")
        m.describe("tollfreed_speech_utterances_total", type: "counter",
                   help: "Gather speech utterances by outcome (recognized, empty, failed).")
        m.describe("tollfreed_speech_recognize_seconds", type: "histogram",
                   help: "End of an utterance to its words (queueing and PocketSphinx decoding).")
        m.describe("tollfreed_record_spool_bytes", type: "gauge", help: "Records waiting in the local spool for PostgreSQL (bytes).")
        m.describe("tollfreed_record_store_up", type: "gauge", help: "1 while PostgreSQL takes records, 0 while they are spooled.")
        m.describe("tollfreed_prompt_cache_bytes", type: "gauge", help: "Synthesised prompt audio held by the prompt cache (bounded by its byte budget).")
        m.describe("tollfreed_tts_seconds", type: "histogram",
                   help: "A prompt not in the cache: its first request to its audio ready (waiting for the synthesis thread included).")
        m.describe("tollfreed_tts_queued", type: "gauge", help: "Prompts waiting for the synthesis thread (every tenant's).")
        m.describe("tollfreed_prompt_cache_entries", type: "gauge", help: "Synthesised prompts held by the prompt cache.")
        m.describe("tollfreed_play_cache_bytes", type: "gauge", help: "Decoded <Play> audio held by the play cache (bounded by its byte budget).")
        m.describe("tollfreed_sip_handles", type: "gauge", help: "SIP dialog and request handles alive in Sofia (a leak shows here first).")
        m.describe("tollfreed_play_cache_entries", type: "gauge", help: "<Play> sources held by the play cache.")
        m.describe("tollfreed_heap_in_use_bytes", type: "gauge", help: "Heap the daemon holds (malloc, every arena): grows with a leak.")
        m.describe("tollfreed_heap_free_bytes", type: "gauge",
                   help: "Heap freed but kept by the allocator (fragments between live blocks): resident, yet no leak.")
    }
}

extension CallController {
    var metrics: MetricsRegistry { services.metrics }

    /// A call was admitted or ended: the gauges follow.
    func updateActiveGauges() {
        metrics.set("tollfreed_calls_active", Double(calls.count))
        metrics.set("tollfreed_dial_legs_active", Double(legs.count))
        metrics.set("tollfreed_half_open_calls", Double(halfOpen.count))
        if calls.isEmpty && legs.isEmpty && !idleWaiters.isEmpty {
            let waiters = idleWaiters
            idleWaiters = []
            for w in waiters { w() }
        }
    }

    /// Runs `done` once no call or leg is up (now, if none is).
    package func whenIdle(_ done: @escaping @Sendable () -> Void) {
        stack.assertOnSignalingThread()
        if calls.isEmpty && legs.isEmpty { return done() }
        idleWaiters.append(done)
    }

    func countFinished(_ r: CallDetailRecord) {
        if r.direction == .inbound {
            metrics.increment("tollfreed_calls_total", [("did", r.did), ("tenant", r.tenant), ("disposition", r.disposition.rawValue)])
        }
        metrics.increment("tollfreed_rtp_packets_total", [("direction", "sent")], by: Double(r.rtpSent))
        metrics.increment("tollfreed_rtp_packets_total", [("direction", "received")], by: Double(r.rtpReceived))
        metrics.increment("tollfreed_rtp_packets_total", [("direction", "dropped")], by: Double(r.rtpDropped))
        updateActiveGauges()
    }

    /// A new ordinary call refused because the record spool is full; logged at the first
    /// and every 1000th.
    func countBacklogRefusal(_ ctx: InviteContext) {
        backlogRefusals += 1
        countRejection("records_backlog")
        if backlogRefusals == 1 || backlogRefusals % 1000 == 0 {
            ctx.log.warning("call.refused", ["status": 503, "reason": "records backlog full",
                                             "spool_bytes": services.recordBacklog?.spoolBytes ?? 0, "refused_total": backlogRefusals])
        }
    }

    func countRejection(_ reason: String) {
        metrics.increment("tollfreed_admission_rejections_total", [("reason", reason)])
    }

    /// Gauges read at scrape time from the media engine and the prompt cache.
    package func collectMediaMetrics() {
        stack.assertOnSignalingThread()
        metrics.set("tollfreed_sip_handles", Double(stack.liveHandleCount))
        metrics.set("tollfreed_prompt_cache_bytes", Double(services.prompts.cachedBytes))
        metrics.set("tollfreed_prompt_cache_entries", Double(services.prompts.cachedEntries))
        metrics.set("tollfreed_tts_queued", Double(services.prompts.queuedSyntheses))
        metrics.set("tollfreed_play_cache_bytes", Double(services.audio.cachedBytes))
        metrics.set("tollfreed_play_cache_entries", Double(services.audio.cachedEntries))
        let s = media.engineStats
        metrics.set("tollfreed_pacer_ticks_total", Double(s.ticks))
        metrics.set("tollfreed_pacer_late_ticks_total", Double(s.lateTicks))
        metrics.set("tollfreed_rtp_ports_free", Double(s.portsFree))
        let heap = heapStats()
        metrics.set("tollfreed_heap_in_use_bytes", Double(heap.inUse))
        metrics.set("tollfreed_heap_free_bytes", Double(heap.freeHeld))
    }
}
