import Configuration
import Foundation
import Signaling
import TeXML

/// What the control socket's `status` shows of the calls (signaling thread's view).
package struct ControlCallsStatus: Sendable, Equatable {
    package var calls: Int
    package var legs: Int
    package var capacity: Int
    package var emergencyCalls: Int
    package var emergencyReserve: Int
    /// Places of the emergency reserve taken now: calls past `capacity - reserve`.
    package var reserveUsed: Int
    package var portsFree: Int
    package var draining: Bool
}

/// One line of `tollfreed calls`: an inbound call, or an outbound `<Dial>` leg.
package struct ControlCallRow: Sendable, Equatable {
    package var id: String
    /// "call" or "leg".
    package var kind: String
    package var number: String
    package var tenant: String
    /// The caller (inbound) or the dialled target (leg); all but four digits masked for
    /// healthcare tenants.
    package var party: String
    package var state: String
    /// The verb the flow is on ("-" for a leg, or when none).
    package var verb: String
    package var seconds: Int
    package var emergency: Bool
    /// A call's bridged or ringing leg(s), or a leg's call.
    package var leg: String
}

/// What `calls hangup ID` found.
package enum OperatorHangupOutcome: Sendable, Equatable {
    case ending
    case alreadyEnding
    case notFound
    /// The id is an outbound leg's: its call is named, to hang up instead.
    case isLeg(parent: String)
}

extension CallController {
    /// The figures of `tollfreed status`.
    package func controlStatus() -> ControlCallsStatus {
        stack.assertOnSignalingThread()
        let p = admission.policy
        let reserveUsed = min(p.emergencyReserve, max(0, admission.active - (p.capacity - p.emergencyReserve)))
        return ControlCallsStatus(calls: calls.count, legs: legs.count, capacity: p.capacity,
                                  emergencyCalls: admission.activeEmergency, emergencyReserve: p.emergencyReserve,
                                  reserveUsed: reserveUsed, portsFree: media.engineStats.portsFree, draining: draining)
    }

    /// Every call and leg up, oldest first.
    package func controlCalls() -> [ControlCallRow] {
        stack.assertOnSignalingThread()
        let now = stack.currentTime()
        var rows: [(Date, ControlCallRow)] = calls.values.map { ($0.session.startTime, callRow($0, now: now)) }
        for leg in legs.values {
            let p = leg.state.placement
            let masked = policy.tenants[p.tenant]?.industry == .healthcare
            let state = leg.state.answerTime == nil ? "dialing" : "bridged"
            rows.append((p.start, ControlCallRow(
                id: p.callID, kind: "leg", number: p.did, tenant: p.tenant,
                party: masked ? Self.mask(p.target.label) : p.target.label, state: state, verb: "-",
                seconds: max(0, Int(now.timeIntervalSince(p.start))), emergency: p.emergency, leg: p.parentCallID)))
        }
        return rows.sorted { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1.id < $1.1.id) }.map(\.1)
    }

    private func callRow(_ e: Entry, now: Date) -> ControlCallRow {
        let s = e.session
        let masked = s.route.industry == .healthcare
        let legIDs = e.legs.values.compactMap { legs[$0]?.state.placement.callID }.sorted()
        return ControlCallRow(
            id: s.callID, kind: "call", number: s.route.did, tenant: s.route.tenant,
            party: masked ? Self.mask(s.fromNumber) : s.fromNumber, state: "\(s.phase)",
            verb: s.interpreter?.currentVerb?.name ?? "-", seconds: max(0, Int(now.timeIntervalSince(s.startTime))),
            emergency: s.emergency, leg: legIDs.isEmpty ? "-" : legIDs.joined(separator: ","))
    }

    /// Ends the call whose id (its `CA...` sid or SIP Call-ID) is `id`, as the daemon does
    /// at shutdown: BYE when answered, 480 when not yet; its legs end with it.
    package func operatorHangup(_ id: String) -> OperatorHangupOutcome {
        stack.assertOnSignalingThread()
        guard let (h, e) = calls.first(where: { $0.value.session.callID == id || $0.value.session.sipCallID == id }) else {
            if let leg = legs.values.first(where: { $0.state.placement.callID == id }) {
                return .isLeg(parent: leg.state.placement.parentCallID)
            }
            return .notFound
        }
        switch e.session.phase {
        case .hangingUp, .closing, .ended: return .alreadyEnding
        default: break
        }
        e.log.notice("call.operator_hangup", [:])
        withCall(h) { $0.session.operatorHangup(now: stack.currentTime()) }
        return .ending
    }

    /// Admits calls again after `beginDrain` (the control socket's `undrain`).
    package func endDrain() {
        stack.assertOnSignalingThread()
        draining = false
    }

    /// The local flow files a number answers with (its flow and fallback), for `flows
    /// reload`: nil when no such number is configured. URL flows are not listed.
    package func localFlows(forNumber dialed: String) -> (did: String, flows: [String], directory: String)? {
        stack.assertOnSignalingThread()
        guard let route = policy.directory.route(forDialed: dialed), let n = policy.numbers[route.did] else { return nil }
        let names = [n.flow, n.fallbackFlow].compactMap { $0 }.filter { !$0.contains("://") }
        return (route.did, names, policy.flowsDirectory)
    }

    /// Replaces loaded flow documents (by file name); calls in progress keep theirs.
    package func replaceFlows(_ documents: [String: FlowDocument]) {
        stack.assertOnSignalingThread()
        var next = policy
        for (name, doc) in documents { next.flows[name] = doc }
        apply(next)
    }
}

extension CallSession {
    /// An operator ends the call (`tollfreed calls hangup`): 480 before the answer, BYE after.
    mutating func operatorHangup(now: Date) -> [CallAction] {
        switch phase {
        case .fetching, .ringing, .earlyDial:
            activeDial = nil
            return end(disposition: .failed, code: 480, by: .daemon, now: now,
                       prefix: [.cancelRingTimer, .respond(status: 480, sdp: nil, headers: [])])
        case .answered, .active:
            return hangUp(now: now, disposition: .completed, log: "ended by an operator")
        case .hangingUp, .closing, .ended:
            return []
        }
    }
}
