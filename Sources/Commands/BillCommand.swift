import CallControl
import Configuration
import Daemon
import Foundation
import Metering
import Observability

/// `tollfreed bill`: one invoice per tenant for a calendar month, from the live store or
/// from export files (so billing can run on another machine). It rates every record or
/// exits 1 naming the problem (`file:line` for files) and prints no invoice; repeated
/// records (same id and text) are rated once and reported on stderr.
func bill(_ o: BillOptions, out: FileDescriptorSink, err: FileDescriptorSink) -> Int32 {
    guard let period = BillingPeriod(o.period), let format = InvoiceFormat(rawValue: o.format) else {
        err.write("tollfreed: bill: bad --period or --format")
        return 2
    }
    let configPath = o.configPath ?? CommandLineParser.defaultConfigPath()
    let config: DaemonConfig
    do { config = try ConfigLoader.load(path: configPath) } catch {
        err.write("tollfreed: config: \(error)")
        return 2
    }
    let plansPath = o.plansPath ?? (URL(fileURLWithPath: configPath).deletingLastPathComponent().appendingPathComponent("plans.json").path)
    let catalog: PlanCatalog
    do { catalog = try PlanCatalog.load(path: plansPath) } catch {
        err.write("tollfreed: plans: \(error)")
        return 2
    }
    var accounts: [TenantAccount] = []
    for t in config.tenants where o.tenant == nil || o.tenant == t.id {
        guard catalog.plans[t.plan] != nil else {
            err.write("tollfreed: bill: tenant \(t.id) has plan '\(t.plan)', which \(plansPath) does not define")
            return 2
        }
        accounts.append(TenantAccount(id: t.id, name: t.name, planID: t.plan,
                                      timeZone: TimeZone(identifier: t.timeZone) ?? .gmt,
                                      numbers: config.numbers.filter { $0.tenant == t.id }.count,
                                      increment: t.billingIncrement.flatMap(BillingIncrement.init)))
    }
    if let only = o.tenant, accounts.isEmpty {
        err.write("tollfreed: bill: unknown tenant '\(only)'")
        return 2
    }
    var rater = Rater(catalog: catalog, accounts: accounts, period: period)
    let scope = TenantScope(billed: Set(accounts.map(\.id)), configured: Set(config.tenants.map(\.id)))
    let invoices: [Invoice]
    do {
        let reports = try rateUsage(o, config: config, into: &rater, scope: scope)
        invoices = try rater.invoices()
        for (path, r) in reports where r.duplicates > 0 {
            err.write("tollfreed: bill: \(path): \(r.duplicates) duplicate \(r.idField)\(r.duplicates == 1 ? "" : "s") counted once: "
                      + r.duplicateIDs.joined(separator: ", ") + (r.duplicates > r.duplicateIDs.count ? ", ..." : ""))
        }
    } catch {
        err.write("tollfreed: bill: \(error)")
        return 1
    }
    out.write(InvoiceFormat.render(invoices, format: format))
    return 0
}

/// Feeds calls, messages and 2FA attempts to `rater` from the export files given, else
/// from the store; returns each file's report (repeated records skipped).
private func rateUsage(_ o: BillOptions, config: DaemonConfig, into rater: inout Rater,
                       scope: TenantScope) throws -> [(String, ImportReport)] {
    // Every time zone's month lies within a day either side of the UTC month.
    let (from, to) = rater.period.utcBounds(marginSeconds: 86_400)
    var reports: [(String, ImportReport)] = []
    // The configured store (SQLite in the data directory, or PostgreSQL), opened once.
    var opened: (any CDRStore)?
    func store() throws -> any CDRStore {
        if let opened { return opened }
        let s = try RecordStoreFactory.open(config, dataDirectory: o.dataDirectory ?? config.dataDirectory)
        opened = s
        return s
    }
    if let path = o.cdrsPath {
        reports.append((path, try rater.rateCalls(exportFile: path, scope: scope)))
    } else {
        try store().forEachBillable(from: from, to: to) {
            try rater.addCall(tenant: $0.tenant, start: $0.startTime, disposition: $0.disposition,
                              answered: $0.answered, billableSeconds: $0.billableSeconds)
        }
    }
    if let path = o.messagesPath {
        reports.append((path, try rater.rateMessages(exportFile: path, scope: scope)))
    } else if o.cdrsPath == nil {
        try store().forEachMessage(from: from, to: to) { try rater.add($0) }
    }
    if let path = o.twoFactorPath {
        reports.append((path, try rater.rateTwoFactor(file: path, scope: scope)))
    }
    return reports
}

extension BillingPeriod {
    /// The UTC month widened by `marginSeconds` on both sides: a superset of the month in
    /// any time zone, for the store query (the rater then applies each tenant's zone).
    func utcBounds(marginSeconds: Double) -> (Date, Date) {
        var c = DateComponents()
        c.year = year
        c.month = month
        c.day = 1
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = .gmt
        let start = cal.date(from: c) ?? Date(timeIntervalSince1970: 0)
        let end = cal.date(byAdding: .month, value: 1, to: start) ?? start
        return (start.addingTimeInterval(-marginSeconds), end.addingTimeInterval(marginSeconds))
    }
}
