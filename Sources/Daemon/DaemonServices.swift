import CallControl
import Configuration
import Foundation
import Media
import Metering
import Observability
import RecordStore
import Signaling
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The record store and its group-commit writer. Started first and stopped last: every
/// other part may still close a record while it stops.
final class RecordService: DaemonService {
    let name = "records"
    private let config: DaemonConfig
    private let logger: Logger
    private let metrics: MetricsRegistry
    private(set) var store: (any CDRStore)!
    private(set) var writer: CDRWriter!
    /// The PostgreSQL spool (nil with SQLite).
    private(set) var spooling: SpoolingCDRStore?

    init(config: DaemonConfig, logger: Logger, metrics: MetricsRegistry) {
        self.config = config
        self.logger = logger
        self.metrics = metrics
    }

    func start() throws(StartupError) {
        let records = try RecordStoreFactory.openForDaemon(config, logger: logger, metrics: metrics)
        do {
            // This node's records an earlier process left active (with PostgreSQL away,
            // deferred into the spool, in its place before this process's records).
            let recovered = try records.store.recoverInterrupted()
            if recovered > 0 { logger.warning("cdr.recovered", ["interrupted": recovered]) }
        } catch { throw StartupError("records: \(error)", status: 1) }
        let metrics = self.metrics
        // A shared store hears from every node every checkpoint period (its lease), calls
        // or not.
        writer = CDRWriter(store: records.store, logger: logger, node: config.nodeID, heartbeats: records.spooling != nil) { seconds in
            metrics.observe("tollfreed_record_write_seconds", seconds, buckets: DaemonMetrics.latencyBuckets)
        }
        store = records.store
        spooling = records.spooling
        spooling?.start()
    }

    func stop() {
        writer.flush()
        spooling?.stop()
        if let s = spooling, s.spoolBytes > 0 {
            logger.warning("cdr.spool_left", ["bytes": s.spoolBytes, "path": s.spoolPath,
                                              "detail": "replayed by the next start once the database is reachable"])
        }
    }
}

/// The media engine's pacer and receiver threads. Normally stopped by `CallService` while
/// SIP still runs (see there); stopping twice is harmless.
final class MediaService: DaemonService {
    let name = "media"
    let engine: MediaEngine
    private var running = false

    init(engine: MediaEngine) { self.engine = engine }

    func start() throws(StartupError) {
        engine.start()
        running = true
    }

    func stop() {
        guard running else { return }
        running = false
        engine.stop()
    }
}

/// The SIP stack with the call controller as its delegate: listening on start, shut down
/// (pending transactions finished) on stop.
final class SignalingService: DaemonService {
    let name = "signaling"
    let stack: SIPStack
    private let controller: CallController
    private let config: DaemonConfig

    init(stack: SIPStack, controller: CallController, config: DaemonConfig) {
        self.stack = stack
        self.controller = controller
        self.config = config
    }

    func start() throws(StartupError) {
        var tls: (host: String, port: Int, certificateDirectory: String)?
        if let t = config.tls { tls = (t.host, t.port, try TLSFiles.prepare(t, dataDirectory: config.dataDirectory)) }
        do {
            try stack.start(host: config.sipHost, port: config.sipPort, tls: tls,
                            userAgent: "\(config.userAgent)/\(tollfreedVersion)", delegate: controller)
        } catch {
            throw StartupError("sip: \(error)", status: 1)
        }
        stack.post { [controller] in
            controller.startCheckpoints()
            controller.startMediaWatch()
        }
    }

    func stop() { stack.stop() }
}

/// The calls themselves: on stop, the graceful drain. New calls are refused (503 +
/// Retry-After) at once; calls in progress may finish on their own for up to
/// `calls.drain_s`; the rest are ended with BYE. Media stops next, while SIP still runs,
/// so recordings still being written are finished and reported to their calls, which
/// close their records; only then may SIP stop.
final class CallService: DaemonService {
    let name = "calls"
    private let stack: SIPStack
    private let controller: CallController
    private let media: MediaService
    private let drainSeconds: Double
    private let logger: Logger

    init(stack: SIPStack, controller: CallController, media: MediaService, drainSeconds: Double, logger: Logger) {
        self.stack = stack
        self.controller = controller
        self.media = media
        self.drainSeconds = drainSeconds
        self.logger = logger
    }

    func start() throws(StartupError) {}

    func stop() {
        logger.notice("daemon.stopping", ["drain_s": drainSeconds])
        stack.post { [controller] in controller.beginDrain() }
        if !waitForCalls(upTo: drainSeconds) {
            logger.notice("daemon.drain_timeout", ["calls_ended": activeCalls()])
            stack.post { [controller] in controller.beginShutdown() }
            waitForCalls(upTo: 5)
        }
        media.stop()
        waitForCalls(upTo: 5)
    }

    /// Calls and legs up, asked of the signaling thread.
    private func activeCalls() -> Int {
        let active = Locked(-1)
        let done = DispatchSemaphore(value: 0)
        stack.post { [controller] in
            active.withLock { $0 = controller.activeCalls }
            done.signal()
        }
        _ = done.wait(timeout: .now() + 5)
        return active.withLock { $0 }
    }

    /// Waits until no call or leg is up (the controller says so), for up to `seconds`.
    @discardableResult
    private func waitForCalls(upTo seconds: Double) -> Bool {
        let idle = DispatchSemaphore(value: 0)
        stack.post { [controller] in controller.whenIdle { idle.signal() } }
        return idle.wait(timeout: .now() + seconds) == .success
    }
}

/// Liveness and readiness: the signaling loop beats every second (`/healthz` fails when it
/// stops, and under systemd the watchdog is fed from the same loop, so a stuck loop stops
/// feeding it); ready from the end of the start until the stop begins (`/readyz`).
final class HealthService: DaemonService, Sendable {
    let name = "health"
    private let stack: SIPStack
    private let notifier: ServiceNotifier
    private let status: String
    private let onStopping: @Sendable () -> Void
    private let heartbeat = Atomic<Int64>(Int64(Date().timeIntervalSince1970))
    private let readyFlag = Atomic<Bool>(false)
    /// Drained by an operator (`tollfreed drain`): not ready, though running.
    private let drainedFlag = Atomic<Bool>(false)

    /// - Parameter onStopping: runs when the stop begins (the audit entry).
    init(stack: SIPStack, notifier: ServiceNotifier, status: String, onStopping: @escaping @Sendable () -> Void) {
        self.stack = stack
        self.notifier = notifier
        self.status = status
        self.onStopping = onStopping
    }

    /// The signaling loop has beaten within the last 5 s.
    var healthy: Bool { Int64(Date().timeIntervalSince1970) - heartbeat.load(ordering: .relaxed) < 5 }
    var ready: Bool { readyFlag.load(ordering: .relaxed) && !drainedFlag.load(ordering: .relaxed) }

    /// `tollfreed drain` / `undrain`: `/readyz` fails while drained, and systemd's status
    /// line says so.
    func setDrained(_ drained: Bool) {
        drainedFlag.store(drained, ordering: .relaxed)
        notifier.notify(drained ? "STATUS=drained: new calls refused (tollfreed undrain admits them again)" : "STATUS=\(status)")
    }

    func start() throws(StartupError) {
        readyFlag.store(true, ordering: .relaxed)
        // READY first: systemd reads a watchdog ping before it as a start that never ended.
        notifier.notify("READY=1\nSTATUS=\(status)\nMAINPID=\(getpid())")
        stack.post { [self] in beat() }
        if let interval = notifier.watchdogInterval {
            stack.post { [self] in feedWatchdog(every: interval) }
        }
    }

    func stop() {
        readyFlag.store(false, ordering: .relaxed)
        notifier.notify("STOPPING=1\nSTATUS=draining")
        onStopping()
    }

    private func beat() {
        heartbeat.store(Int64(Date().timeIntervalSince1970), ordering: .relaxed)
        stack.schedule(afterMilliseconds: 1000) { [self] in beat() }
    }

    private func feedWatchdog(every interval: Double) {
        notifier.notify("WATCHDOG=1")
        stack.schedule(afterMilliseconds: Int(interval * 1000)) { [self] in feedWatchdog(every: interval) }
    }
}

/// The Prometheus and probe HTTP server (`metrics.listen`).
final class MetricsService: DaemonService {
    let name = "metrics"
    private let listen: DaemonConfig.HostPort
    private let render: () -> String
    private let health: HealthService
    private var server: MetricsServer?
    /// The bound port once started.
    var port: UInt16? { server?.port }

    init(listen: DaemonConfig.HostPort, health: HealthService, render: @escaping () -> String) {
        self.listen = listen
        self.health = health
        self.render = render
    }

    func start() throws(StartupError) {
        let health = self.health
        server = try MetricsServer(host: listen.host, port: listen.port, metrics: render,
                                   healthy: { health.healthy }, ready: { health.ready })
    }

    func stop() { server?.stop() }
}

/// Gives freed memory back to the kernel every 30 s: Sofia and the flows free many small
/// blocks after a burst (a flood keeps 32 s of transactions), and glibc keeps freed
/// memory in the process unless asked.
final class MemoryTrimService: DaemonService {
    let name = "memory-trim"
    private var timer: DispatchSourceTimer?

    func start() throws(StartupError) {
        let t = DispatchSource.makeTimerSource(queue: .global(qos: .utility))
        t.schedule(deadline: .now() + 30, repeating: 30)
        t.setEventHandler { releaseFreeMemory() }
        t.resume()
        timer = t
    }

    func stop() { timer?.cancel() }
}
