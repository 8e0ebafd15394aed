/// Admission control with a reserve for emergency calls (swift-nio style: a value type
/// whose methods return decisions; the I/O layer acts on them).
///
/// - Non-emergency calls are admitted while fewer than `capacity - emergencyReserve`
///   calls are up; past that they are refused (503 with `Retry-After`).
/// - Emergency calls are always admitted. Up to `capacity` they use the reserve; beyond
///   it, when preemption is allowed, the newest non-emergency call is ended to make room.
public struct AdmissionController<Key: Hashable & Sendable>: Sendable {
    public struct Policy: Sendable, Equatable {
        public var capacity: Int
        public var emergencyReserve: Int
        public var allowPreemption: Bool
        public var retryAfterSeconds: Int
        public init(capacity: Int, emergencyReserve: Int, allowPreemption: Bool, retryAfterSeconds: Int = 5) {
            self.capacity = capacity
            self.emergencyReserve = min(max(0, emergencyReserve), capacity)
            self.allowPreemption = allowPreemption
            self.retryAfterSeconds = retryAfterSeconds
        }
    }

    public enum Decision: Equatable, Sendable {
        case admit
        /// Admit, and end this (newest non-emergency) call to make room.
        case admitPreempting(Key)
        /// Refuse with 503 and this Retry-After.
        case reject(retryAfterSeconds: Int)
    }

    public private(set) var policy: Policy
    /// Non-emergency calls in admission order (the last is the newest).
    private var normal: [Key] = []
    private var emergency: Set<Key> = []

    public init(policy: Policy) { self.policy = policy }

    public var active: Int { normal.count + emergency.count }
    public var activeEmergency: Int { emergency.count }

    /// Decides on a new call and, when admitted, counts it.
    public mutating func request(_ key: Key, emergency isEmergency: Bool) -> Decision {
        if !isEmergency {
            guard active < policy.capacity - policy.emergencyReserve else {
                return .reject(retryAfterSeconds: policy.retryAfterSeconds)
            }
            normal.append(key)
            return .admit
        }
        emergency.insert(key)
        if active - 1 < policy.capacity { return .admit }
        if policy.allowPreemption, let victim = normal.popLast() { return .admitPreempting(victim) }
        return .admit // always admitted, even over capacity
    }

    /// Takes the newest non-emergency call out (to be preempted for a resource other than a
    /// place, such as an RTP port, that an emergency call needs); nil when preemption is off
    /// or every call is an emergency.
    public mutating func takePreemptionVictim() -> Key? {
        guard policy.allowPreemption else { return nil }
        return normal.popLast()
    }

    /// A call the flow marked as an emergency after admission: it is never preempted from
    /// now on. Returns false when the key is unknown or already an emergency.
    @discardableResult
    public mutating func promote(_ key: Key) -> Bool {
        guard let i = normal.lastIndex(of: key) else { return false }
        normal.remove(at: i)
        emergency.insert(key)
        return true
    }

    /// New limits (a configuration reload); calls already admitted keep their places.
    public mutating func reconfigure(_ policy: Policy) { self.policy = policy }

    /// The call ended (or was preempted): its place is free.
    public mutating func release(_ key: Key) {
        if emergency.remove(key) != nil { return }
        if let i = normal.lastIndex(of: key) { normal.remove(at: i) }
    }
}

/// Decides whether a call is an emergency call.
public struct EmergencyClassifier: Sendable, Equatable {
    /// RFC 4412 namespaces whose Resource-Priority values mark an emergency (e.g. `esnet`,
    /// `ets`, `wps`); compared case-insensitively.
    public var resourcePriorityNamespaces: Set<String>

    public init(resourcePriorityNamespaces: [String] = ["esnet", "ets", "wps"]) {
        self.resourcePriorityNamespaces = Set(resourcePriorityNamespaces.map { $0.lowercased() })
    }

    /// True for an emergency line, `Priority: emergency` (RFC 3261), or a Resource-Priority
    /// value (`namespace.priority`, possibly several, comma-separated) in a configured namespace.
    /// The markings count only when `markingsTrusted` (they came from a network allowed to
    /// claim priority, RFC 4412 section 8); an emergency line is one whoever calls.
    public func isEmergency(route: DIDRoute?, priority: String?, resourcePriority: String?, markingsTrusted: Bool = true) -> Bool {
        if route?.emergency == true { return true }
        return markingsTrusted && claimsEmergency(priority: priority, resourcePriority: resourcePriority)
    }

    /// True when the request's markings claim an emergency (whoever sent them).
    public func claimsEmergency(priority: String?, resourcePriority: String?) -> Bool {
        if priority?.trimmingWhitespace().lowercased() == "emergency" { return true }
        for value in (resourcePriority ?? "").split(separator: ",") {
            let ns = value.trimmingWhitespace().split(separator: ".").first.map { $0.lowercased() } ?? ""
            if resourcePriorityNamespaces.contains(ns) { return true }
        }
        return false
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var s = self
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return s
    }
}
