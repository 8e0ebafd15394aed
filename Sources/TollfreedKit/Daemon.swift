import Compliance
import Foundation
import Synchronization
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

/// A failure that ends the process with a message and an exit status (2 for bad input,
/// 1 for runtime failures such as an address already in use).
public struct StartupError: Error, CustomStringConvertible {
    public var description: String
    public var status: Int32
    public init(_ d: String, status: Int32) { description = d; self.status = status }
}

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
public final class Daemon: @unchecked Sendable {
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

    /// Runs until SIGTERM or SIGINT, then drains and returns.
    public func run() throws(StartupError) {
        signal(SIGPIPE, SIG_IGN)
        let metrics = MetricsRegistry()
        DaemonMetrics.describe(metrics)
        let records = try RecordStoreFactory.openForDaemon(config, logger: logger, metrics: metrics)
        let store = records.store
        do {
            // This node's records an earlier process left active (with PostgreSQL away,
            // deferred into the spool, in its place before this process's records).
            let recovered = try store.recoverInterrupted()
            if recovered > 0 { logger.warning("cdr.recovered", ["interrupted": recovered]) }
        } catch { throw StartupError("records: \(error)", status: 1) }
        // A shared store hears from every node every checkpoint period (its lease), calls
        // or not.
        let writer = CDRWriter(store: store, logger: logger, node: config.nodeID, heartbeats: records.spooling != nil) { seconds in
            metrics.observe("tollfreed_record_write_seconds", seconds, buckets: DaemonMetrics.latencyBuckets)
        }
        records.spooling?.start()
        let compliance = try ComplianceServices.load(config, logger: logger)
        compliance.record("daemon.started", subject: "pid \(getpid())",
                          detail: "key \(compliance.keys[0].idHex); sealed: \(compliance.encryptIndustries.map(\.rawValue).sorted().joined(separator: ","))",
                          logger: logger)
        let synthesizer: SpeechSynthesizer
        do { synthesizer = try SpeechSynthesizer(logger: logger) } catch { throw StartupError("\(error)", status: 1) }
        let prompts = PromptCache(synthesizer: synthesizer, logger: logger)
        // Warm the cache: every prompt in every loaded flow is synthesised once, up front.
        for flow in flows.values {
            for say in flow.spokenPrompts() {
                let r = say.speechRequest
                prompts.request(SpeechKey(text: r.text, voice: r.voice, language: r.language)) { _ in }
            }
        }

        let stack = SIPStack(logger: logger)
        stack.maxMessageBytes = config.maxSIPMessageBytes
        let box = ControllerBox()
        let media: MediaEngine
        do {
            // An emergency call may bridge one <Dial> leg: two ports for each reserved place.
            media = try MediaEngine(address: config.mediaAddress, ports: config.rtpPorts, pacerPriority: config.pacerPriority,
                                    emergencyPortReserve: 2 * config.effectiveEmergencyReserve, logger: logger) { event in
                stack.post { box.controller?.mediaEvent(event) }
            }
        } catch { throw StartupError("media: \(error)", status: 2) }
        let ports = (config.rtpPorts.upperBound - config.rtpPorts.lowerBound) / 2 + 1
        if ports < 2 * config.maxConcurrentCalls {
            logger.warning("config.rtp_ports_short", ["ports": ports, "max_concurrent": config.maxConcurrentCalls,
                                                      "detail": "every call and every <Dial> leg takes a port: bridged calls will be refused before max_concurrent"])
        }

        let webhooks = WebhookClient(logger: logger, timeout: Double(config.webhookTimeoutMilliseconds) / 1000,
                                     userAgent: "\(config.userAgent)/\(tollfreedVersion)") { seconds, ok in
            metrics.observe("tollfreed_webhook_request_seconds", seconds, buckets: DaemonMetrics.latencyBuckets,
                            [("outcome", ok ? "ok" : "error")])
        }
        let services = CallServices(
            media: media, prompts: prompts,
            audio: AudioSourceCache(webhooks: webhooks, logger: logger,
                                    spoolDirectory: (config.dataDirectory as NSString).appendingPathComponent("spool")),
            writer: writer, webhooks: webhooks, transcription: TranscriptionService(logger: logger),
            compliance: compliance, metrics: metrics, recordBacklog: records.spooling)
        let policy = CallPolicy(config: config, flows: flows)
        let controller = CallController(stack: stack, services: services, logger: logger, policy: policy)
        box.controller = controller

        media.start()
        var tls: (host: String, port: Int, certificateDirectory: String)?
        if let t = config.tls {
            do { tls = (t.host, t.port, try TLSFiles.prepare(t, dataDirectory: config.dataDirectory)) } catch {
                media.stop()
                throw error
            }
        }
        do {
            try stack.start(host: config.sipHost, port: config.sipPort, tls: tls,
                            userAgent: "\(config.userAgent)/\(tollfreedVersion)", delegate: controller)
        } catch {
            media.stop()
            throw StartupError("sip: \(error)", status: 1)
        }
        stack.post { box.controller?.startCheckpoints() }
        stack.post { box.controller?.startMediaWatch() }
        // Sofia and the flows free a lot of small blocks after a burst (a flood keeps 32 s of
        // transactions); glibc keeps freed memory in the process unless asked to give it back.
        let trimmer = DispatchSource.makeTimerSource(queue: .global(qos: .utility))
        trimmer.schedule(deadline: .now() + 30, repeating: 30)
        trimmer.setEventHandler { releaseFreeMemory() }
        trimmer.resume()
        // Health: the signaling loop beats every second; /healthz fails when it stops.
        let heartbeat = Atomic<Int64>(Int64(Date().timeIntervalSince1970))
        let ready = Atomic<Bool>(true)
        @Sendable func beat() {
            heartbeat.store(Int64(Date().timeIntervalSince1970), ordering: .relaxed)
            stack.schedule(afterMilliseconds: 1000) { beat() }
        }
        stack.post { beat() }
        var metricsServer: MetricsServer?
        if let m = config.metricsListen {
            do {
                metricsServer = try MetricsServer(host: m.host, port: m.port, metrics: {
                    let collected = DispatchSemaphore(value: 0)
                    stack.post { box.controller?.collectMediaMetrics(); collected.signal() }
                    _ = collected.wait(timeout: .now() + 1)
                    return metrics.render()
                }, healthy: { Int64(Date().timeIntervalSince1970) - heartbeat.load(ordering: .relaxed) < 5 },
                   ready: { ready.load(ordering: .relaxed) })
            } catch {
                stack.stop()
                media.stop()
                throw error
            }
        }
        // systemd (Type=notify): ready once listening; the watchdog is fed from the
        // signaling thread's own event loop, so a stuck loop stops feeding it.
        let notifier = ServiceNotifier()
        notifier.notify("READY=1\nSTATUS=answering on \(config.sipHost):\(config.sipPort)\nMAINPID=\(getpid())")
        if let interval = notifier.watchdogInterval {
            @Sendable func feed() {
                notifier.notify("WATCHDOG=1")
                stack.schedule(afterMilliseconds: Int(interval * 1000)) { feed() }
            }
            stack.post { feed() }
        }
        logger.notice("daemon.ready", ["sip": "\(config.sipHost):\(config.sipPort)",
                                       "sips": config.tls.map { "\($0.host):\($0.port)" } ?? "off", "rtp": "\(config.rtpPorts.lowerBound)-\(config.rtpPorts.upperBound)",
                                       "data": config.dataDirectory, "numbers": config.numbers.count, "flows": flows.count,
                                       "metrics": metricsServer.map { "\(config.metricsListen!.host):\($0.port)" } ?? "off",
                                       "pid": getpid(), "version": tollfreedVersion])

        // Signals: handled on a queue, acted on from the signaling thread.
        let stopRequested = DispatchSemaphore(value: 0)
        let queue = DispatchQueue(label: "signals")
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT, SIGHUP] {
            signal(sig, SIG_IGN)
            let src = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            let log = logger
            let reload = self.reload
            let running = config
            src.setEventHandler { @Sendable in
                guard sig == SIGHUP else { stopRequested.signal(); return }
                guard let reload else { return log.warning("daemon.reload_unsupported", ["detail": "restart to apply config changes"]) }
                notifier.notify("RELOADING=1\nSTATUS=reloading configuration")
                do {
                    let (next, nextFlows) = try reload()
                    let restartOnly = running.restartOnlyChanges(to: next)
                    for flow in nextFlows.values {
                        for say in flow.spokenPrompts() {
                            let r = say.speechRequest
                            prompts.request(SpeechKey(text: r.text, voice: r.voice, language: r.language)) { _ in }
                        }
                    }
                    let policy = CallPolicy(config: next, flows: nextFlows)
                    stack.post { box.controller?.apply(policy) }
                    log.notice("config.reloaded", ["numbers": next.numbers.count, "flows": nextFlows.count,
                                                   "needs_restart": restartOnly.isEmpty ? "none" : restartOnly.joined(separator: ",")])
                    compliance.record("config.reloaded", subject: "config", detail: "numbers=\(next.numbers.count) flows=\(nextFlows.count)", logger: log)
                } catch {
                    // The old configuration keeps serving.
                    log.error("config.reload_failed", ["reason": "\(error)"])
                }
                notifier.notify("READY=1\nSTATUS=answering on \(running.sipHost):\(running.sipPort)")
            }
            src.resume()
            sources.append(src)
        }
        stopRequested.wait()

        // Graceful drain: refuse new calls (503 + Retry-After) at once; let the calls in
        // progress finish on their own for up to calls.drain_s; then end the rest with BYE
        // and wait (a few seconds) for their dialogs and records to close.
        let drainSeconds = Double(config.drainSeconds)
        logger.notice("daemon.stopping", ["drain_s": drainSeconds])
        ready.store(false, ordering: .relaxed)
        notifier.notify("STOPPING=1\nSTATUS=draining")
        compliance.record("daemon.stopping", subject: "pid \(getpid())", logger: logger)
        @Sendable func activeCalls() -> Int {
            let active = Locked(0)
            let done = DispatchSemaphore(value: 0)
            stack.post { active.withLock { $0 = box.controller?.activeCalls ?? 0 }; done.signal() }
            done.wait()
            return active.withLock { $0 }
        }
        func wait(upTo seconds: Double) {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline && activeCalls() > 0 { Thread.sleep(forTimeInterval: 0.05) }
        }
        stack.post { box.controller?.beginDrain() }
        wait(upTo: drainSeconds)
        let left = activeCalls()
        if left > 0 {
            logger.notice("daemon.drain_timeout", ["calls_ended": left])
            stack.post { box.controller?.beginShutdown() }
            wait(upTo: 5)
        }
        // Media stops first: recordings still being written are finished and reported to
        // their calls while the signaling thread still runs, so those calls close their
        // records; only then does SIP stop (nothing posts to it any more).
        media.stop()
        wait(upTo: 5)
        stack.stop()
        trimmer.cancel()
        writer.flush()
        records.spooling?.stop()
        if let s = records.spooling, s.spoolBytes > 0 {
            logger.warning("cdr.spool_left", ["bytes": s.spoolBytes, "path": s.spoolPath,
                                              "detail": "replayed by the next start once the database is reachable"])
        }
        metricsServer?.stop()
        for s in sources { s.cancel() }
        logger.notice("daemon.stopped", ["records": (try? store.count()) ?? -1])
    }
}

/// Lets media callbacks created before the controller reach it.
private final class ControllerBox: @unchecked Sendable {
    var controller: CallController?
}

extension CallPolicy {
    /// The per-call policy of a configuration.
    init(config: DaemonConfig, flows: [String: FlowDocument]) {
        self.init(
            directory: config.directory(), flows: flows,
            numbers: Dictionary(uniqueKeysWithValues: config.numbers.map { ($0.did, $0) }),
            tenants: Dictionary(uniqueKeysWithValues: config.tenants.map { ($0.id, $0) }),
            mediaAddress: config.mediaAddress, ringMilliseconds: config.ringMilliseconds,
            maxCallSeconds: config.maxCallSeconds,
            admission: .init(capacity: config.maxConcurrentCalls, emergencyReserve: config.effectiveEmergencyReserve,
                             allowPreemption: config.allowPreemption),
            emergency: EmergencyClassifier(resourcePriorityNamespaces: config.resourcePriorityNamespaces),
            sources: SourceFilter(trusted: config.trustedSources),
            tlsSources: config.tls?.trustedSources.map { SourceFilter(trusted: $0) },
            rateLimit: (config.inviteRatePerSource, config.inviteBurstPerSource),
            dataDirectory: config.dataDirectory, recordingURLBase: config.recordingURLBase,
            flowsDirectory: config.flowsDirectory, trunks: config.trunks,
            emergencyFailoverMilliseconds: config.emergencyFailoverMilliseconds,
            emergencyLastResort: config.emergencyLastResort,
            localSIPAddress: config.sipHost.contains(":") ? "[\(config.sipHost)]:\(config.sipPort)" : "\(config.sipHost):\(config.sipPort)")
        emergencyMarkingSources = config.emergencyMarkingSources
        rtpTimeoutSeconds = config.rtpTimeoutSeconds
        ackTimeoutMilliseconds = config.ackTimeoutMilliseconds
        halfOpenPerSource = config.halfOpenPerSource
        halfOpenMax = config.effectiveHalfOpenMax
        recordingsDirectory = config.effectiveRecordingsDirectory
        nodeID = config.nodeID
    }
}

extension DaemonConfig {
    /// Settings a reload cannot change in a running process (sockets, storage, keys).
    func restartOnlyChanges(to next: DaemonConfig) -> [String] {
        var out: [String] = []
        if sipHost != next.sipHost || sipPort != next.sipPort { out.append("sip.listen") }
        if mediaAddress != next.mediaAddress { out.append("media.address") }
        if rtpPorts != next.rtpPorts { out.append("media.rtp_ports") }
        if dataDirectory != next.dataDirectory { out.append("data_dir") }
        if effectiveRecordingsDirectory != next.effectiveRecordingsDirectory { out.append("recordings_dir") }
        if storage != next.storage { out.append("storage") }
        if nodeID != next.nodeID || leaseGraceSeconds != next.leaseGraceSeconds { out.append("node") }
        if metricsListen != next.metricsListen { out.append("metrics.listen") }
        if effectiveKeyFile != next.effectiveKeyFile || previousKeyFiles != next.previousKeyFiles { out.append("compliance keys") }
        if logLevel != next.logLevel { out.append("log_level") }
        return out
    }
}

extension CallPolicy {
    /// The trusted networks of the listener a request came in on.
    func trustedSources(tls: Bool) -> SourceFilter { tls ? (tlsSources ?? sources) : sources }
}
