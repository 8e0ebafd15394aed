import Configuration
import Foundation
import Observability
#if canImport(Glibc)
import Glibc
#endif

/// A part of the running daemon with a start and a stop (swift-service-lifecycle's
/// `Service`, without async): the record writer, media, signaling, metrics...
protocol DaemonService: AnyObject {
    /// The name in the startup and shutdown log lines.
    var name: String { get }
    /// Starts the service; a failure stops the daemon's start (the services already
    /// started are stopped in reverse order).
    func start() throws(StartupError)
    /// Stops the service; blocks until it has. Called once, only after a successful start.
    func stop()
}

/// The one owner of startup order, signals and shutdown order: services are started one
/// by one as the daemon is wired (each may need what the ones before it made) and stop in
/// the reverse order, whether the run ends by a signal or by a failed start. Signals are
/// taken over when the group is made, so a SIGTERM during the start is not lost: the run
/// ends as soon as the start completes. SIGHUP calls the reload handler.
final class ServiceGroup {
    private let logger: Logger
    private var started: [any DaemonService] = []
    private var finally: [() -> Void] = []
    private let signals: SignalWatcher

    init(logger: Logger) {
        self.logger = logger
        signals = SignalWatcher(logger: logger)
    }

    /// Starts `service` and keeps it for the shutdown. When it fails, the services already
    /// started are stopped (in reverse order) and its error is thrown.
    @discardableResult
    func start<S: DaemonService>(_ service: S) throws(StartupError) -> S {
        do {
            try service.start()
        } catch {
            logger.error("daemon.start_failed", ["service": service.name, "error": error.description])
            stopAll()
            throw error
        }
        started.append(service)
        return service
    }

    /// What SIGHUP does from now on (before this, SIGHUP is logged and ignored).
    func onReload(_ handler: @escaping @Sendable () -> Void) { signals.setReload(handler) }

    /// Waits for SIGTERM or SIGINT, then stops every service in reverse order.
    func runUntilStopped() {
        signals.waitForStop()
        stopAll()
        signals.cancel()
    }

    /// Work for after the last service has stopped (flushing what they left).
    func afterStop(_ work: @escaping () -> Void) { finally.append(work) }

    /// Stops the started services, last started first, then runs the `afterStop` work.
    func stopAll() {
        while let service = started.popLast() {
            logger.info("daemon.service_stopping", ["service": service.name])
            service.stop()
        }
        while let work = finally.popLast() { work() }
    }
}

/// SIGTERM/SIGINT (stop) and SIGHUP (reload), taken from the default handlers and
/// delivered on a queue of their own.
private final class SignalWatcher {
    private let stopRequested = DispatchSemaphore(value: 0)
    private let queue = DispatchQueue(label: "signals")
    private let sources: [any DispatchSourceSignal]
    private let reload = Locked<(@Sendable () -> Void)?>(nil)

    init(logger: Logger) {
        var sources: [any DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT, SIGHUP] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            let stop = stopRequested
            let reload = self.reload
            source.setEventHandler { @Sendable in
                guard sig == SIGHUP else {
                    stop.signal()
                    return
                }
                guard let handler = reload.withLock({ $0 }) else {
                    return logger.warning("daemon.reload_ignored", ["detail": "SIGHUP before the daemon was ready"])
                }
                handler()
            }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }

    func setReload(_ handler: @escaping @Sendable () -> Void) { reload.withLock { $0 = handler } }

    func waitForStop() { stopRequested.wait() }

    func cancel() {
        for s in sources { s.cancel() }
    }
}
