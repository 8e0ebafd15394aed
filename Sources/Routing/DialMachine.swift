/// One party a `<Dial>` rings: a SIP URI already resolved from a `<Number>` (through a
/// trunk) or a `<Sip>` noun.
public struct DialTarget: Sendable, Hashable {
    /// Request-URI of the outbound INVITE.
    public var uri: String
    /// What the flow wrote (number or URI), for logs and callbacks.
    public var label: String
    /// Digest credentials, when the trunk or the `<Sip>` noun gives them.
    public var username: String?
    public var password: String?
    /// NAT latching for this leg's media (its trunk's `latching`).
    public var latching = false
    /// The trunk a `<Number>` goes through (its SRTP policy applies); nil for `<Sip>`.
    public var trunk: String?

    /// Creates a target.
    public init(uri: String, label: String, username: String? = nil, password: String? = nil) {
        self.uri = uri
        self.label = label
        self.username = username
        self.password = password
    }
}

/// The outcome of a `<Dial>`, named as TwiML/TeXML `DialCallStatus` values.
public enum DialStatus: String, Sendable, Hashable, CaseIterable {
    /// A callee answered and the bridged call ended.
    case completed
    /// Every callee was busy (486, 600, 603).
    case busy
    /// Nobody answered before the timeout (or the callee reported 408/480).
    case noAnswer = "no-answer"
    /// The call could not be placed (any other failure).
    case failed
    /// The caller hung up before anyone answered.
    case canceled

    /// The status a leg's final SIP response stands for.
    public static func forFailure(sipStatus: Int) -> DialStatus {
        if isBusy(sipStatus: sipStatus) { return .busy }
        switch sipStatus {
        case 408, 480: return .noAnswer
        default: return .failed
        }
    }

    /// Whether a final SIP response means the callee is busy: 486 Busy Here, 600 Busy
    /// Everywhere, 603 Decline.
    public static func isBusy(sipStatus: Int) -> Bool { [486, 600, 603].contains(sipStatus) }
}

/// How a `<Dial>` with several targets rings them.
public enum DialStrategy: Sendable, Hashable {
    /// All at once; the first to answer wins, the others are cancelled (TwiML behaviour).
    case simultaneous
    /// One after the other: the next target on busy, failure, or no answer within
    /// `stepMilliseconds`; then `lastResort` if given (emergency routing).
    case failover(stepMilliseconds: Int, lastResort: DialTarget?)
}

/// When a dialed call is recorded.
public enum DialRecording: Sendable, Hashable {
    case none
    /// From the start of ringing (`record-from-ringing[-dual]`).
    case fromRinging(dual: Bool)
    /// From the moment the callee answers (`record-from-answer[-dual]`).
    case fromAnswer(dual: Bool)

    public var dual: Bool {
        switch self {
        case .none: false
        case .fromRinging(let d), .fromAnswer(let d): d
        }
    }
}

/// What the I/O layer must do for a dial. Leg indexes refer to ``DialMachine/targets``.
public enum DialAction: Sendable, Hashable {
    /// Send an INVITE to `targets[index]` (a new outbound leg).
    case placeLeg(Int)
    /// CANCEL a leg that has not answered.
    case cancelLeg(Int)
    /// BYE a leg that answered (it lost the race, or the bridge is over).
    case hangUpLeg(Int)
    case startTimer(DialTimer, milliseconds: Int)
    case cancelTimer(DialTimer)
    /// Play ringback to the caller (true) or stop it (false).
    case ringback(Bool)
    /// Relay a ringing leg's early media (183 with SDP) to the caller, one way.
    case relayEarlyMedia(Int)
    /// Connect the caller and the leg both ways (ends any early-media relay).
    case bridge(Int)
    /// Undo `bridge`/`relayEarlyMedia`: the caller's own stream resumes.
    case unbridge
    /// Start the dial's recording (caller on one channel, callee on the other when dual).
    case startRecording(dual: Bool)
    case stopRecording
    /// A line for the log: event name and detail.
    case log(String, String)
    /// The dial is over; every leg has been told to end.
    case finished(DialResult)
}

/// Timers a dial uses.
public enum DialTimer: Sendable, Hashable {
    /// The `<Dial timeout>` ring time (simultaneous strategy).
    case ring
    /// One failover step's ring time, for the leg with this index.
    case step(Int)
    /// The `<Dial timeLimit>` guard on the bridged call.
    case timeLimit
}

/// The result reported to the flow.
public struct DialResult: Sendable, Hashable {
    public var status: DialStatus
    /// The leg that answered, if one did.
    public var answeredLeg: Int?
    /// Seconds the parties were connected.
    public var bridgedSeconds: Int

    public init(status: DialStatus, answeredLeg: Int?, bridgedSeconds: Int) {
        self.status = status
        self.answeredLeg = answeredLeg
        self.bridgedSeconds = bridgedSeconds
    }
}

/// The `<Dial>` state machine for one call (swift-nio style): no I/O, no clocks; every
/// event returns the ``DialAction``s to carry out. Times are seconds on any clock.
public struct DialMachine: Sendable {
    enum Leg: Sendable, Equatable {
        case notPlaced, trying, ringing, answered, over(DialStatus)
        var alive: Bool { self == .trying || self == .ringing }
    }

    /// Parties in the order they are tried (for failover: the last resort is last).
    public let targets: [DialTarget]
    public let strategy: DialStrategy
    public let ringMilliseconds: Int
    public let timeLimitSeconds: Int
    public let recording: DialRecording
    private var legs: [Leg]
    private var winner: Int?
    private var earlyLeg: Int?
    private var bridgedAt: Double?
    private var current = 0
    private var lastFailure: DialStatus = .failed
    public private(set) var result: DialResult?

    /// - Parameters:
    ///   - targets: at least one party.
    ///   - ringMilliseconds: `<Dial timeout>`; with failover each step rings at most this long.
    public init(targets: [DialTarget], strategy: DialStrategy, ringMilliseconds: Int,
                timeLimitSeconds: Int, recording: DialRecording) {
        var all = targets
        if case .failover(_, let last?) = strategy, !all.contains(last) { all.append(last) }
        self.targets = all
        self.strategy = strategy
        self.ringMilliseconds = ringMilliseconds
        self.timeLimitSeconds = timeLimitSeconds
        self.recording = recording
        legs = Array(repeating: .notPlaced, count: all.count)
    }

    /// True once the dial has produced its result.
    public var isFinished: Bool { result != nil }
    /// The leg the caller is bridged to, if any.
    public var bridgedLeg: Int? { bridgedAt == nil ? nil : winner }

    /// Starts ringing.
    public mutating func start(now: Double) -> [DialAction] {
        guard !targets.isEmpty else { return finish(.failed, now: now) }
        var out: [DialAction] = [.ringback(true)]
        if case .fromRinging(let dual) = recording { out.append(.startRecording(dual: dual)) }
        switch strategy {
        case .simultaneous:
            for i in targets.indices { legs[i] = .trying; out.append(.placeLeg(i)) }
            out.append(.startTimer(.ring, milliseconds: ringMilliseconds))
        case .failover:
            out += place(0)
        }
        return out
    }

    /// A provisional response: 180, or 183 (`early` when it carried SDP).
    public mutating func legRinging(_ i: Int, early: Bool) -> [DialAction] {
        guard result == nil, legs.indices.contains(i), legs[i].alive else { return [] }
        legs[i] = .ringing
        guard early, earlyLeg == nil, winner == nil else { return [] }
        earlyLeg = i
        return [.ringback(false), .relayEarlyMedia(i)]
    }

    /// A leg answered (2xx). The first one is bridged; any later one is hung up.
    public mutating func legAnswered(_ i: Int, now: Double) -> [DialAction] {
        guard legs.indices.contains(i) else { return [] }
        guard result == nil, winner == nil, legs[i].alive else {
            // Lost the race, or answered after we gave up (200 crossing our CANCEL): it
            // never connected.
            legs[i] = .over(.canceled)
            return [.hangUpLeg(i), .log("dial.leg_late_answer", "leg=\(i) target=\(targets[i].label)")]
        }
        winner = i
        legs[i] = .answered
        bridgedAt = now
        var out: [DialAction] = [.cancelTimer(.ring)]
        if case .failover = strategy { out.append(.cancelTimer(.step(i))) }
        for j in legs.indices where j != i && legs[j].alive {
            legs[j] = .over(.canceled)
            out.append(.cancelLeg(j))
        }
        out += [.ringback(false), .bridge(i)]
        if case .fromAnswer(let dual) = recording { out.append(.startRecording(dual: dual)) }
        out.append(.startTimer(.timeLimit, milliseconds: timeLimitSeconds * 1000))
        out.append(.log("dial.answered", "leg=\(i) target=\(targets[i].label)"))
        return out
    }

    /// A leg failed: final non-2xx response, or the transaction died.
    public mutating func legFailed(_ i: Int, sipStatus: Int, now: Double) -> [DialAction] {
        guard result == nil, legs.indices.contains(i), legs[i].alive else {
            if legs.indices.contains(i), legs[i].alive { legs[i] = .over(DialStatus.forFailure(sipStatus: sipStatus)) }
            return []
        }
        let status = DialStatus.forFailure(sipStatus: sipStatus)
        legs[i] = .over(status)
        lastFailure = status
        var out: [DialAction] = [.log("dial.leg_failed", "leg=\(i) target=\(targets[i].label) sip_status=\(sipStatus) status=\(status.rawValue)")]
        if earlyLeg == i {
            earlyLeg = nil
            out += [.unbridge, .ringback(true)]
        }
        switch strategy {
        case .simultaneous:
            guard !legs.contains(where: \.alive) else { return out }
            // Busy wins, then not answered (480, 408, a refused whisper), then failed.
            let status: DialStatus = legs.contains(.over(.busy)) ? .busy : legs.contains(.over(.noAnswer)) ? .noAnswer : .failed
            return out + finish(status, now: now)
        case .failover:
            return out + [.cancelTimer(.step(i))] + advance(now: now)
        }
    }

    /// The bridged callee hung up (or its dialog ended).
    public mutating func legEnded(_ i: Int, now: Double) -> [DialAction] {
        guard result == nil, legs.indices.contains(i) else { return [] }
        if winner == i {
            legs[i] = .over(.completed)
            return [.log("dial.callee_hung_up", "leg=\(i)")] + finish(.completed, now: now)
        }
        // An unanswered leg's dialog ended without a final response we saw.
        return legFailed(i, sipStatus: 408, now: now)
    }

    /// A timer expired.
    public mutating func timerFired(_ timer: DialTimer, now: Double) -> [DialAction] {
        guard result == nil else { return [] }
        switch timer {
        case .ring:
            guard winner == nil else { return [] }
            var out: [DialAction] = [.log("dial.no_answer", "after_ms=\(ringMilliseconds)")]
            for j in legs.indices where legs[j].alive {
                legs[j] = .over(.noAnswer)
                out.append(.cancelLeg(j))
            }
            return out + finish(.noAnswer, now: now)
        case .step(let i):
            guard winner == nil, legs.indices.contains(i), legs[i].alive else { return [] }
            legs[i] = .over(.noAnswer)
            lastFailure = .noAnswer
            var out: [DialAction] = [.cancelLeg(i), .log("dial.leg_no_answer", "leg=\(i) target=\(targets[i].label)")]
            if earlyLeg == i { earlyLeg = nil; out += [.unbridge, .ringback(true)] }
            return out + advance(now: now)
        case .timeLimit:
            guard let w = winner else { return [] }
            legs[w] = .over(.completed)
            return [.hangUpLeg(w), .log("dial.time_limit", "seconds=\(timeLimitSeconds)")] + finish(.completed, now: now)
        }
    }

    /// The caller hung up: end every leg.
    public mutating func callerHungUp(now: Double) -> [DialAction] {
        guard result == nil else { return [] }
        if let w = winner {
            legs[w] = .over(.completed)
            return [.hangUpLeg(w)] + finish(.completed, now: now)
        }
        var out: [DialAction] = []
        for j in legs.indices where legs[j].alive {
            legs[j] = .over(.canceled)
            out.append(.cancelLeg(j))
        }
        return out + finish(.canceled, now: now)
    }

    /// `hangupOnStar`: the caller pressed `*`; the callee is hung up, the caller stays.
    public mutating func hangupOnStar(now: Double) -> [DialAction] {
        guard result == nil, let w = winner else { return [] }
        legs[w] = .over(.completed)
        return [.hangUpLeg(w), .log("dial.hangup_on_star", "leg=\(w)")] + finish(.completed, now: now)
    }

    // MARK: - Internals

    private mutating func place(_ i: Int) -> [DialAction] {
        current = i
        legs[i] = .trying
        guard case .failover(let step, _) = strategy else { return [.placeLeg(i)] }
        let isLastResort = i == targets.count - 1 && i > 0
        return [.placeLeg(i), .startTimer(.step(i), milliseconds: isLastResort ? ringMilliseconds : min(step, ringMilliseconds)),
                .log("dial.failover_try", "leg=\(i) target=\(targets[i].label)")]
    }

    private mutating func advance(now: Double) -> [DialAction] {
        let next = current + 1
        guard next < targets.count else { return finish(lastFailure, now: now) }
        return place(next)
    }

    private mutating func finish(_ status: DialStatus, now: Double) -> [DialAction] {
        // Never more than timeLimit: the timer fires a little late, and a 2 s limit must not
        // report (or bill) 3 s.
        let seconds = bridgedAt.map { min(timeLimitSeconds, max(0, Int((now - $0).rounded(.up)))) } ?? 0
        let r = DialResult(status: status, answeredLeg: winner, bridgedSeconds: seconds)
        result = r
        var out: [DialAction] = [.cancelTimer(.ring), .cancelTimer(.timeLimit)]
        if case .failover = strategy { out.append(.cancelTimer(.step(current))) }
        if bridgedAt != nil || earlyLeg != nil { out.append(.unbridge) }
        out.append(.ringback(false))
        if recording != .none { out.append(.stopRecording) }
        out.append(.finished(r))
        return out
    }
}
