import CallControl
import Configuration
import Dispatch
import Foundation
import Media
import Observability
import Signaling
import TeXML
#if canImport(Glibc)
import Glibc
#endif

/// The control socket as a service (`control.socket`). A socket that cannot be made (a
/// developer's `make run` without root cannot make /run/tollfreed) is logged as
/// `control.unavailable` and the daemon answers calls without it: calls come first.
final class ControlService: DaemonService {
    let name = "control"
    private let path: String
    private let actions: ControlActions
    private var server: ControlServer?

    init(path: String, actions: ControlActions) {
        self.path = path
        self.actions = actions
    }

    func start() throws(StartupError) {
        let actions = self.actions
        do {
            server = try ControlServer(path: path) { request, peer in actions.answer(request, peer: peer) }
            actions.logger.info("control.listening", ["socket": path])
        } catch {
            actions.logger.error("control.unavailable", ["socket": path, "reason": error.description,
                                                         "detail": "tollfreed status/calls/drain will not reach this daemon"])
        }
    }

    func stop() { server?.stop() }
}

/// What the control socket's commands do. Runs on the control thread; the calls are asked
/// of the signaling thread (`onSignaling`), which owns them.
struct ControlActions: Sendable {
    let stack: SIPStack
    let controller: CallController
    let health: HealthService
    let reloader: ConfigReloader
    let prompts: PromptCache
    let compliance: ComplianceServices
    let logger: Logger
    let config: DaemonConfig
    let started = Date()

    /// The answer to one request; every action is audited with the peer as its actor.
    func answer(_ request: ControlRequest, peer: ControlPeer) -> [String: Any] {
        let reply: [String: Any]
        switch request {
        case .status: reply = status()
        case .calls: reply = calls()
        case .hangup(let id): reply = hangup(id)
        case .drain: reply = setDrain(true)
        case .undrain: reply = setDrain(false)
        case .reload: reply = reload()
        case .flowsReload(let number): reply = FlowReload(actions: self).reload(number: number)
        }
        if request.isAction {
            let ok = reply["ok"] as? Bool == true
            let subject: String = switch request {
            case .hangup(let id): id
            case .flowsReload(let n): n
            default: "daemon"
            }
            compliance.record("control.\(request.command)", subject: subject,
                              detail: ok ? "ok" : "refused: \(reply["error"] ?? "")", actor: peer.actor, logger: logger)
            logger.notice("control.action", ["command": request.command, "subject": subject, "ok": ok,
                                             "uid": peer.uid, "pid": peer.pid])
        }
        return reply
    }

    /// Runs `body` on the signaling thread and waits for it (5 s at most: nil past that).
    func onSignaling<T: Sendable>(_ body: @escaping @Sendable () -> T) -> T? {
        let result = Locked<T?>(nil)
        let done = DispatchSemaphore(value: 0)
        stack.post {
            let value = body()
            result.withLock { $0 = value }
            done.signal()
        }
        guard done.wait(timeout: .now() + 5) == .success else { return nil }
        return result.withLock { $0 }
    }

    static var signalingTimeout: [String: Any] { ControlJSON.failure("the signaling thread did not answer within 5 s") }

    private func status() -> [String: Any] {
        guard let s = onSignaling({ [controller] in controller.controlStatus() }) else { return Self.signalingTimeout }
        return ["ok": true, "version": tollfreedVersion, "pid": Int(getpid()), "node": config.nodeID,
                "sip": "\(config.sipHost):\(config.sipPort)", "uptime_s": Int(Date().timeIntervalSince(started)),
                "calls": s.calls, "legs": s.legs, "capacity": s.capacity, "emergency_calls": s.emergencyCalls,
                "emergency_reserve": s.emergencyReserve, "emergency_reserve_used": s.reserveUsed,
                "ports_free": s.portsFree, "draining": s.draining]
    }

    private func calls() -> [String: Any] {
        guard let rows = onSignaling({ [controller] in controller.controlCalls() }) else { return Self.signalingTimeout }
        return ["ok": true, "calls": rows.map { r -> [String: Any] in
            ["id": r.id, "kind": r.kind, "number": r.number, "tenant": r.tenant, "party": r.party, "state": r.state,
             "verb": r.verb, "duration_s": r.seconds, "emergency": r.emergency, "leg": r.leg]
        }]
    }

    private func hangup(_ id: String) -> [String: Any] {
        guard let outcome = onSignaling({ [controller] in controller.operatorHangup(id) }) else { return Self.signalingTimeout }
        switch outcome {
        case .ending: return ["ok": true, "call": id, "result": "ending"]
        case .alreadyEnding: return ["ok": true, "call": id, "result": "already ending"]
        case .notFound: return ControlJSON.failure("no call \(id) is up")
        case .isLeg(let parent): return ControlJSON.failure("\(id) is a <Dial> leg of \(parent): hang up the call \(parent)")
        }
    }

    private func setDrain(_ drain: Bool) -> [String: Any] {
        guard let active = onSignaling({ [controller] in
            drain ? controller.beginDrain() : controller.endDrain()
            return controller.activeCalls
        }) else { return Self.signalingTimeout }
        health.setDrained(drain)
        return ["ok": true, "draining": drain, "calls": active]
    }

    private func reload() -> [String: Any] {
        switch reloader.reload() {
        case .success(let o):
            return ["ok": true, "numbers": o.numbers, "flows": o.flows, "needs_restart": o.needsRestart]
        case .failure(let e):
            return ControlJSON.failure("\(e.description); the running configuration keeps serving")
        }
    }
}
