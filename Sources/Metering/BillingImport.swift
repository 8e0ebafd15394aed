/// Which tenants' records an invoice run rates: its own (billed) tenants are rated, other
/// configured tenants' records are none of its business, and a tenant the configuration
/// does not know is an error (usage that no invoice would ever carry).
public struct TenantScope: Sendable {
    /// Tenants being invoiced.
    public let billed: Set<String>
    /// Every tenant in the configuration (including the billed ones).
    public let configured: Set<String>

    /// A scope invoicing `billed` out of `configured`.
    public init(billed: Set<String>, configured: Set<String>) {
        self.billed = billed
        self.configured = configured.union(billed)
    }

    /// Whether to rate a record of `tenant`: true for a billed tenant, false for another
    /// configured one; throws for a tenant the configuration does not know.
    public func admits(_ tenant: String) throws(RatingError) -> Bool {
        if billed.contains(tenant) { return true }
        guard configured.contains(tenant) else {
            throw RatingError("unknown tenant '\(tenant.prefix(80))' (not in the configuration)")
        }
        return false
    }
}

extension Rater {
    /// Rates every call of a `cdr export` file (CSV or JSONL). An unanswered call without a
    /// tenant (a call to an unknown number) is free and nobody's; any problem with a line
    /// throws an `ImportError` naming `file:line`. Returns the repeats that were skipped.
    @discardableResult
    public mutating func rateCalls(exportFile path: String, scope: TenantScope) throws -> ImportReport {
        var recent: [(String, Bool)] = []   // records come from a few tenants
        return try ExportFileReader.forEachBillableCall(path: path) { c in
            guard !c.tenant.isEmpty else { return }
            var admitted: Bool?
            for (t, a) in recent where t == c.tenant { admitted = a; break }
            if admitted == nil {
                admitted = try scope.admits(c.tenant)
                if recent.count < 8 { recent.append((c.tenant, admitted!)) }
            }
            guard admitted! else { return }
            try addCall(tenant: c.tenant, start: c.startTime, disposition: c.disposition, answered: c.answered,
                        billableSeconds: c.billableSeconds)
        }
    }

    /// Rates every message of an `sms export` file, as `rateCalls(exportFile:scope:)`.
    @discardableResult
    public mutating func rateMessages(exportFile path: String, scope: TenantScope) throws -> ImportReport {
        try ExportFileReader.forEachMessage(path: path) { m in
            guard try scope.admits(m.tenant) else { return }
            try add(m)
        }
    }

    /// Rates every line of a 2FA usage file (JSON Lines), as `rateCalls(exportFile:scope:)`.
    @discardableResult
    public mutating func rateTwoFactor(file path: String, scope: TenantScope) throws -> ImportReport {
        try ExportFileReader.forEachTwoFactor(path: path) { u in
            guard try scope.admits(u.tenant) else { return }
            try add(u)
        }
    }
}
