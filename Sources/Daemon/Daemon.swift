import CallControl
import Compliance
import Configuration
import Foundation
import Media
import Metering
import Observability
import RecordStore
import Routing
import Signaling
import TeXML
import Webhooks
#if canImport(Glibc)
import Glibc
#endif

/// Loads the config and every flow it names; any problem is a StartupError with status 2.
public func loadConfiguration(path: String, overrides: RunOptions? = nil) throws(StartupError) -> (DaemonConfig, [String: FlowDocument]) {
    var config: DaemonConfig
    do { config = try ConfigLoader.load(path: path) } catch { throw StartupError("config: \(error)", status: 2) }
    if let o = overrides {
        if let sip = o.sip { config.sipHost = sip.host; config.sipPort = sip.port }
        if let r = o.rtpPorts { config.rtpPorts = r }
        if let d = o.dataDirectory { config.dataDirectory = URL(fileURLWithPath: d).standardizedFileURL.path }
        if let l = o.logLevel { config.logLevel = l }
    }
    var flows: [String: FlowDocument] = [:]
    // Local flows (and local fallbacks) are parsed up front, so a broken file stops the
    // start rather than a call; URL flows are fetched per call.
    for n in config.numbers {
        for name in [n.flow, n.fallbackFlow].compactMap({ $0 }) where flows[name] == nil && !name.contains("://") {
            let file = config.flowPath(name)
            do {
                flows[name] = try TeXMLParser.parse(contentsOf: URL(fileURLWithPath: file))
            } catch {
                throw StartupError("call flow for \(n.did): \(error)", status: 2)
            }
        }
    }
    return (config, flows)
}

/// Owns startup, signals and graceful shutdown (swift-service-lifecycle style): the one
/// place that wires the modules together.
public final class Daemon: Sendable {
    private let config: DaemonConfig
    private let flows: [String: FlowDocument]
    private let logger: Logger
    private let reload: (@Sendable () throws(StartupError) -> (DaemonConfig, [String: FlowDocument]))?

    /// - Parameter reload: re-reads config and flows for SIGHUP (nil: reload unsupported).
    public init(config: DaemonConfig, flows: [String: FlowDocument], logger: Logger,
                reload: (@Sendable () throws(StartupError) -> (DaemonConfig, [String: FlowDocument]))? = nil) {
        self.config = config
        self.flows = flows
        self.logger = logger
        self.reload = reload
    }

    /// Runs until SIGTERM or SIGINT, then drains and returns. The services start in the
    /// order below and stop in the reverse order (`ServiceGroup`): health (not ready), the
    /// calls' drain (which stops media while SIP still runs), the memory trimmer, metrics,
    /// SIP, media, and the record writer last.
    public func run() throws(StartupError) {
        signal(SIGPIPE, SIG_IGN)
        fixMmapThreshold()  // before the services allocate
        let group = ServiceGroup(logger: logger)
        let records: RecordService
        do { records = try start(group) } catch {
            group.stopAll()
            throw error
        }
        group.runUntilStopped()
        logger.notice("daemon.stopped", ["records": (try? records.store.count()) ?? -1])
    }

    /// Wires the modules together and starts each service as soon as what it needs exists.
    private func start(_ group: ServiceGroup) throws(StartupError) -> RecordService {
        let metrics = MetricsRegistry()
        DaemonMetrics.describe(metrics)
        let records = try group.start(RecordService(config: config, logger: logger, metrics: metrics))
        let compliance = try ComplianceServices.load(config, logger: logger)
        compliance.record("daemon.started", subject: "pid \(getpid())",
                          detail: "key \(compliance.keys[0].idHex); sealed: \(compliance.encryptIndustries.map(\.rawValue).sorted().joined(separator: ","))",
                          logger: logger)
        group.afterStop { compliance.flush() }
        let prompts = try makePromptCache(metrics: metrics)
        let stack = SIPStack(logger: logger)
        stack.maxMessageBytes = config.maxSIPMessageBytes
        let box = Locked<CallController?>(nil)  // media callbacks made before the controller reach it
        let media = try group.start(MediaService(engine: try makeMediaEngine { event in
            stack.post { box.withLock { $0 }?.mediaEvent(event) }
        }))
        let controller = makeController(stack: stack, media: media.engine, records: records, prompts: prompts,
                                        compliance: compliance, metrics: metrics, telnyxSigner: try loadTelnyxSigner())
        box.withLock { $0 = controller }
        try group.start(SignalingService(stack: stack, controller: controller, config: config))
        try group.start(MemoryTrimService())
        let health = HealthService(stack: stack, notifier: ServiceNotifier(),
                                   status: "answering on \(config.sipHost):\(config.sipPort)") { [logger] in
            compliance.record("daemon.stopping", subject: "pid \(getpid())", logger: logger)
        }
        let metricsService = try config.metricsListen.map { listen throws(StartupError) in
            try group.start(MetricsService(listen: listen, health: health) {
                let collected = DispatchSemaphore(value: 0)
                stack.post { box.withLock { $0 }?.collectMediaMetrics(); collected.signal() }
                _ = collected.wait(timeout: .now() + 1)
                return metrics.render()
            })
        }
        try group.start(CallService(stack: stack, controller: controller, media: media,
                                    drainSeconds: Double(config.drainSeconds), logger: logger))
        try group.start(health)
        let reloader = ConfigReloader(running: config, read: reload, prompts: prompts, compliance: compliance,
                                      notifier: ServiceNotifier(), logger: logger) { policy in
            stack.post { box.withLock { $0 }?.apply(policy) }
        }
        group.onReload { reloader.reload() }
        if let path = config.controlSocket {
            // Last to start, first to stop: no operator command races the shutdown.
            try group.start(ControlService(path: path, actions: ControlActions(
                stack: stack, controller: controller, health: health, reloader: reloader, prompts: prompts,
                compliance: compliance, logger: logger, config: config)))
        }
        logReady(metricsPort: metricsService?.port)
        return records
    }

    /// The prompt cache, warmed: every prompt in every loaded flow is synthesised once, up front.
    private func makePromptCache(metrics: MetricsRegistry) throws(StartupError) -> PromptCache {
        let synthesizer: SpeechSynthesizer
        do { synthesizer = try SpeechSynthesizer(logger: logger) } catch { throw StartupError("\(error)", status: 1) }
        let prompts = PromptCache(synthesizer: synthesizer, logger: logger) { seconds in
            metrics.observe("tollfreed_tts_seconds", seconds, buckets: DaemonMetrics.latencyBuckets, [])
        }
        prompts.warm(flows.values)
        logIgnoredMarkup(flows, logger: logger)
        return prompts
    }

    private func makeMediaEngine(onEvent: @escaping @Sendable (MediaEvent) -> Void) throws(StartupError) -> MediaEngine {
        let media: MediaEngine
        do {
            // An emergency call may bridge one <Dial> leg: two ports for each reserved place.
            media = try MediaEngine(address: config.mediaAddress, secondaryAddress: config.secondaryMediaAddress, ports: config.rtpPorts,
                                    pacerPriority: config.pacerPriority, emergencyPortReserve: 2 * config.effectiveEmergencyReserve,
                                    rtcp: config.rtcp, logger: logger, onEvent: onEvent)
        } catch { throw StartupError("media: \(error)", status: 2) }
        let ports = (config.rtpPorts.upperBound - config.rtpPorts.lowerBound) / 2 + 1
        if ports < 2 * config.maxConcurrentCalls {
            logger.warning("config.rtp_ports_short", ["ports": ports, "max_concurrent": config.maxConcurrentCalls,
                                                      "detail": "every call and every <Dial> leg takes a port: bridged calls will be refused before max_concurrent"])
        }
        return media
    }

    /// The Ed25519 key that signs webhook requests as Telnyx does, if configured; its public
    /// key is logged for the apps that verify them.
    private func loadTelnyxSigner() throws(StartupError) -> Ed25519Signer? {
        guard let path = config.webhookSigningKeyFile else { return nil }
        do {
            let signer = try Ed25519Signer(pemFile: path)
            logger.notice("webhooks.signing", ["ed25519_public_key": signer.publicKeyBase64])
            return signer
        } catch {
            throw StartupError("webhooks.ed25519_key_file: \(error)", status: 2)
        }
    }

    private func makeController(stack: SIPStack, media: MediaEngine, records: RecordService, prompts: PromptCache,
                                compliance: ComplianceServices, metrics: MetricsRegistry, telnyxSigner: Ed25519Signer?) -> CallController {
        let webhooks = WebhookClient(logger: logger, timeout: Double(config.webhookTimeoutMilliseconds) / 1000,
                                     userAgent: "\(config.userAgent)/\(tollfreedVersion)", telnyxSigner: telnyxSigner) { seconds, ok in
            metrics.observe("tollfreed_webhook_request_seconds", seconds, buckets: DaemonMetrics.latencyBuckets,
                            [("outcome", ok ? "ok" : "error")])
        }
        // <Play> files are longer than TeXML documents: their own client, with a larger limit.
        let audioFetcher = WebhookClient(logger: logger, timeout: max(15, Double(config.webhookTimeoutMilliseconds) / 1000),
                                         userAgent: "\(config.userAgent)/\(tollfreedVersion)",
                                         maxBodyBytes: AudioSourceCache.maxFetchBytes, telnyxSigner: telnyxSigner)
        let services = CallServices(
            media: media, prompts: prompts,
            audio: AudioSourceCache(webhooks: audioFetcher, logger: logger),
            writer: records.writer, webhooks: webhooks, transcription: TranscriptionService(logger: logger),
            compliance: compliance, metrics: metrics, recordBacklog: records.spooling)
        return CallController(stack: stack, services: services, logger: logger, policy: CallPolicy(config: config, flows: flows))
    }

    private func logReady(metricsPort: UInt16?) {
        logger.notice("daemon.ready", ["sip": "\(config.sipHost):\(config.sipPort)",
                                       "sips": config.tls.map { "\($0.host):\($0.port)" } ?? "off", "rtp": "\(config.rtpPorts.lowerBound)-\(config.rtpPorts.upperBound)",
                                       "data": config.dataDirectory, "numbers": config.numbers.count, "flows": flows.count,
                                       "metrics": metricsPort.map { "\(config.metricsListen!.host):\($0)" } ?? "off",
                                       "pid": getpid(), "version": tollfreedVersion])
    }
}

/// SIGHUP: re-reads the config and flows; the new flows' prompts are synthesised and the
/// new policy handed to the controller. A broken config is logged and the old one keeps
/// serving; settings that need a restart are named.
struct ConfigReloader: Sendable {
    let running: DaemonConfig
    let read: (@Sendable () throws(StartupError) -> (DaemonConfig, [String: FlowDocument]))?
    let prompts: PromptCache
    let compliance: ComplianceServices
    let notifier: ServiceNotifier
    let logger: Logger
    let apply: @Sendable (CallPolicy) -> Void

    /// Serialises reloads: SIGHUP and the control socket's `reload` may come together.
    let serial = Locked(())

    /// What a reload applied.
    struct Outcome {
        var numbers: Int
        var flows: Int
        /// Changed settings that take effect only at the next start.
        var needsRestart: [String]
    }

    /// Reloads, and says how it went (SIGHUP ignores the answer; `tollfreed reload` shows it).
    @discardableResult
    func reload() -> Result<Outcome, StartupError> {
        guard let read else {
            logger.warning("daemon.reload_unsupported", ["detail": "restart to apply config changes"])
            return .failure(StartupError("reload is not supported by this daemon; restart to apply config changes", status: 1))
        }
        return serial.withLock { _ in
            notifier.notify("RELOADING=1\nSTATUS=reloading configuration")
            defer { notifier.notify("READY=1\nSTATUS=answering on \(running.sipHost):\(running.sipPort)") }
            do throws(StartupError) {
                let (next, nextFlows) = try read()
                let restartOnly = running.restartOnlyChanges(to: next)
                prompts.warm(nextFlows.values)
                logIgnoredMarkup(nextFlows, logger: logger)
                apply(CallPolicy(config: next, flows: nextFlows))
                logger.notice("config.reloaded", ["numbers": next.numbers.count, "flows": nextFlows.count,
                                                  "needs_restart": restartOnly.isEmpty ? "none" : restartOnly.joined(separator: ",")])
                compliance.record("config.reloaded", subject: "config", detail: "numbers=\(next.numbers.count) flows=\(nextFlows.count)", logger: logger)
                return .success(Outcome(numbers: next.numbers.count, flows: nextFlows.count, needsRestart: restartOnly))
            } catch {
                // The old configuration keeps serving.
                logger.error("config.reload_failed", ["reason": "\(error)"])
                return .failure(error)
            }
        }
    }
}

/// One warning per local flow that holds markup tollfreed ignores or skips.
func logIgnoredMarkup(_ flows: [String: FlowDocument], logger: Logger) {
    for (name, doc) in flows.sorted(by: { $0.key < $1.key }) where !doc.warnings.isEmpty {
        logger.warning("flow.unsupported_markup", ["flow": name, "count": doc.warnings.count,
                                                   "detail": doc.warnings.prefix(3).map(\.description).joined(separator: "; ")])
    }
}

extension PromptCache {
    /// Synthesises every prompt of `flows` ahead of the first call that needs it.
    func warm(_ flows: some Sequence<FlowDocument>) {
        for flow in flows {
            for say in flow.spokenPrompts() {
                let r = say.speechRequest
                request(SpeechKey(text: r.text, voice: r.voice, language: r.language, ssml: r.ssml)) { _ in }
            }
        }
    }
}
