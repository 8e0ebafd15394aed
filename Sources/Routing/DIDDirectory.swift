/// Industries the product serves; each has its own compliance rules and flow template.
public enum Industry: String, Sendable, Codable, CaseIterable {
    case healthcare, legal, fleet, general
}

/// What a dialed number leads to.
public struct DIDRoute: Sendable, Equatable {
    /// The number in E.164.
    public var did: String
    /// The owning tenant's identifier.
    public var tenant: String
    /// The tenant's industry.
    public var industry: Industry
    /// The call flow to run (a key into the loaded flows, normally a file name).
    public var flow: String
    /// Every call to this DID is an emergency call (admitted and routed first).
    public var emergency: Bool

    public init(did: String, tenant: String, industry: Industry, flow: String, emergency: Bool = false) {
        self.did = did
        self.tenant = tenant
        self.industry = industry
        self.flow = flow
        self.emergency = emergency
    }
}

/// Looks dialed numbers up in the configured DIDs, whatever form they were dialed in.
public struct DIDDirectory: Sendable {
    private var routes: [String: DIDRoute] = [:]

    public init(_ routes: [DIDRoute]) {
        for r in routes { self.routes[r.did] = r }
    }

    /// The route for a dialed number (any form `PhoneNumber.e164` accepts), or nil.
    public func route(forDialed dialed: String) -> DIDRoute? {
        guard let e164 = PhoneNumber.e164(dialed) else { return nil }
        return routes[e164]
    }

    public var all: [DIDRoute] { routes.values.sorted { $0.did < $1.did } }
}
