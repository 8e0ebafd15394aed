import Foundation
import Metering
import Observability

/// `tollfreed bill`: one invoice per tenant for a calendar month, from the live store or
/// from export files (so billing can run on another machine).
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
    // Every time zone's month lies within a day either side of the UTC month.
    let (from, to) = period.utcBounds(marginSeconds: 86_400)
    let invoices: [Invoice]
    do {
        if let path = o.cdrsPath {
            try ExportFileReader.forEachCall(path: path) { try rater.add($0) }
        } else {
            let store = try SQLiteCDRStore(directory: o.dataDirectory ?? config.dataDirectory, readOnly: true)
            try store.forEachBillable(from: from, to: to) {
                try rater.addCall(tenant: $0.tenant, start: $0.startTime, disposition: $0.disposition,
                                  answered: $0.answered, billableSeconds: $0.billableSeconds)
            }
        }
        if let path = o.messagesPath {
            try ExportFileReader.forEachMessage(path: path) { try rater.add($0) }
        } else if o.cdrsPath == nil {
            let store = try SQLiteCDRStore(directory: o.dataDirectory ?? config.dataDirectory, readOnly: true)
            try store.forEachMessage(from: from, to: to) { try rater.add($0) }
        }
        if let path = o.twoFactorPath {
            try ExportFileReader.forEachTwoFactor(path: path) { try rater.add($0) }
        }
        invoices = try rater.invoices()
    } catch {
        err.write("tollfreed: bill: \(error)")
        return 1
    }
    out.write(InvoiceFormat.render(invoices, format: format))
    return 0
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
