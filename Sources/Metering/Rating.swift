import Foundation

/// A calendar month to bill (`2026-11`), taken in each tenant's own time zone.
public struct BillingPeriod: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var year: Int
    /// 1...12.
    public var month: Int

    /// The month `year`-`month` (month 1...12, year 1...9999).
    public init(year: Int, month: Int) {
        precondition((1...12).contains(month) && (1...9999).contains(year), "bad billing period \(year)-\(month)")
        self.year = year
        self.month = month
    }

    /// Parses `YYYY-MM` (exactly four and two digits); nil for anything else.
    public init?(_ string: String) {
        let b = Array(string.utf8)
        guard b.count == 7, b[4] == UInt8(ascii: "-"),
              b.enumerated().allSatisfy({ $0.offset == 4 || ($0.element >= 48 && $0.element <= 57) }) else { return nil }
        let y = b[0..<4].reduce(0) { $0 * 10 + Int($1 - 48) }
        let m = b[5..<7].reduce(0) { $0 * 10 + Int($1 - 48) }
        guard (1...12).contains(m), y >= 1 else { return nil }
        self.init(year: y, month: m)
    }

    /// `YYYY-MM`.
    public var description: String {
        let y = String(year), m = String(month)
        return String(repeating: "0", count: max(0, 4 - y.count)) + y + "-" + (m.count == 1 ? "0" : "") + m
    }

    public static func < (a: BillingPeriod, b: BillingPeriod) -> Bool { (a.year, a.month) < (b.year, b.month) }

    /// The month in `timeZone`: from local midnight of the 1st (inclusive) to local
    /// midnight of the next month's 1st (exclusive).
    public func bounds(in timeZone: TimeZone) -> (start: Date, end: Date) {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = timeZone
        let next = month == 12 ? (year + 1, 1) : (year, month + 1)
        let start = cal.date(from: DateComponents(year: year, month: month, day: 1))!
        let end = cal.date(from: DateComponents(year: next.0, month: next.1, day: 1))!
        return (start, end)
    }

    /// Whether `date` falls in this calendar month in `timeZone`.
    public func contains(_ date: Date, timeZone: TimeZone) -> Bool {
        let (start, end) = bounds(in: timeZone)
        return date >= start && date < end
    }
}

/// A tenant as billing sees it.
public struct TenantAccount: Sendable {
    public var id: String
    public var name: String
    /// Id of the tenant's plan in the catalog.
    public var planID: String
    /// The tenant's time zone: its billing month starts at its local midnight.
    public var timeZone: TimeZone
    /// Phone numbers the tenant holds (compared with the plan's included numbers).
    public var numbers: Int
    /// Rounding of call time for this tenant, overriding the plan's; nil for the plan's.
    public var increment: BillingIncrement?

    /// An account with the given terms.
    public init(id: String, name: String, planID: String, timeZone: TimeZone, numbers: Int,
                increment: BillingIncrement? = nil) {
        self.id = id
        self.name = name
        self.planID = planID
        self.timeZone = timeZone
        self.numbers = numbers
        self.increment = increment
    }
}

/// One usage line of an invoice.
public struct InvoiceLine: Sendable, Equatable {
    /// What is metered.
    public enum Kind: String, Sendable, CaseIterable {
        /// Voice time; quantities in seconds, priced per minute.
        case voice
        /// SMS segments.
        case sms
        /// 2FA verification attempts.
        case twoFactor = "2fa"

        /// Quantity units per priced unit: 60 seconds per minute for voice, else 1.
        public var unitsPerPricedUnit: Int64 { self == .voice ? 60 : 1 }
    }

    public var kind: Kind
    /// Usage in the quantity unit (voice: billed seconds after increments; SMS: segments;
    /// 2FA: attempts).
    public var used: Int64
    /// The plan's allowance in the same unit (voice: included minutes × 60).
    public var included: Int64
    /// `max(0, used - included)`, in the same unit.
    public var overage: Int64
    /// Price of one priced unit over the allowance (voice: per minute), micro-dollars.
    public var unitPriceMicros: Int64
    /// `overage × unitPrice / unitsPerPricedUnit`, rounded half-up to the cent once, from
    /// the exact value.
    public var amountCents: Int64

    /// A line from usage and plan terms: computes overage and amount.
    public init(kind: Kind, used: Int64, included: Int64, unitPriceMicros: Int64) {
        self.kind = kind
        self.used = used
        self.included = included
        self.overage = max(0, used - included)
        self.unitPriceMicros = unitPriceMicros
        self.amountCents = Rater.amountCents(quantity: overage, unitPriceMicros: unitPriceMicros,
                                             per: kind.unitsPerPricedUnit)
    }
}

/// One tenant's bill for one period.
public struct Invoice: Sendable, Equatable {
    public var tenantID: String
    public var tenantName: String
    public var planID: String
    public var planName: String
    public var period: BillingPeriod
    /// Identifier of the time zone the period was taken in.
    public var timeZoneID: String
    /// The increment calls were rated with (tenant override or plan).
    public var increment: BillingIncrement
    /// The plan's monthly fee, rounded half-up to the cent.
    public var planFeeCents: Int64
    /// Voice, SMS and 2FA, in that order (always all three, even unused).
    public var lines: [InvoiceLine]
    /// Plan fee plus every line's amount.
    public var totalCents: Int64
    /// Numbers the tenant holds.
    public var numbers: Int
    /// Numbers the plan includes.
    public var includedNumbers: Int
    /// The tenant holds more numbers than the plan includes (flagged, not charged).
    public var numbersOverPlan: Bool
    /// Voice calls (inbound calls and outbound legs) that billed time.
    public var calls: Int
    /// Calls in the period that billed nothing (unanswered, rejected, 0 seconds, still active).
    public var unbilledCalls: Int
    /// Messages received in the period.
    public var messages: Int

    /// The line of `kind`.
    public func line(_ kind: InvoiceLine.Kind) -> InvoiceLine? { lines.first { $0.kind == kind } }
}

/// Why usage cannot be rated: a value out of range, or a sum or amount too large to hold.
public struct RatingError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Rates usage into invoices: feed it records one at a time (any order), then ask for the
/// invoices. Inputs are bounded and every sum is overflow-checked: out-of-range usage is
/// a `RatingError`, never a trap. A call belongs to the period its start time falls in, in the tenant's time
/// zone; a message by its received time; a 2FA usage line by its time.
public struct Rater: Sendable {
    /// The largest billable seconds of one call: 366 days (a record claiming more is damaged).
    public static let maxBillableSeconds = 31_622_400
    /// The most segments of one message (the 8-bit concatenation counter's limit).
    public static let maxSegments = 255
    /// The most 2FA attempts on one usage line.
    public static let maxTwoFactorCount = 1_000_000_000

    /// The period being billed.
    public let period: BillingPeriod
    /// Calls, messages and 2FA lines in the period (by UTC) of tenants not among the
    /// accounts (or whose plan the catalog lacks).
    public private(set) var unknownTenantRecords = 0
    /// Accounts whose plan the catalog does not define: not invoiced.
    public let accountsWithoutPlan: [String]

    private struct Slot: Sendable {
        var account: TenantAccount
        var plan: Plan
        var increment: BillingIncrement
        var start: Date
        var end: Date
        var billedSeconds: Int64 = 0
        var calls = 0
        var unbilledCalls = 0
        var segments: Int64 = 0
        var messages = 0
        var twoFactor: Int64 = 0

        func covers(_ d: Date) -> Bool { d >= start && d < end }
    }

    private var slots: [Slot] = []
    private var index: [String: Int] = [:]
    private var recent: [(String, Int)] = []
    private let utcBounds: (start: Date, end: Date)

    /// A rater for `period` over `accounts` (the first account of a duplicated id counts).
    public init(catalog: PlanCatalog, accounts: [TenantAccount], period: BillingPeriod) {
        self.period = period
        self.utcBounds = period.bounds(in: TimeZone(identifier: "UTC")!)
        var missing: [String] = []
        for a in accounts where index[a.id] == nil {
            guard let plan = catalog.plans[a.planID] else {
                missing.append(a.id)
                continue
            }
            let (start, end) = period.bounds(in: a.timeZone)
            index[a.id] = slots.count
            slots.append(Slot(account: a, plan: plan, increment: a.increment ?? plan.increment, start: start, end: end))
        }
        accountsWithoutPlan = missing
    }

    private mutating func slot(_ tenant: String, _ time: Date) -> Int? {
        // Records come from a few tenants: look them up among the last few first.
        var found: Int?
        for (t, i) in recent where t == tenant { found = i; break }
        if found == nil, let i = index[tenant] {
            found = i
            if recent.count < 8 { recent.append((tenant, i)) }
        }
        guard let i = found else {
            if time >= utcBounds.start && time < utcBounds.end { unknownTenantRecords += 1 }
            return nil
        }
        return slots[i].covers(time) ? i : nil
    }

    /// Adds a call record (inbound call or outbound `<Dial>` leg). It bills time when it
    /// was answered, has billable seconds and ended completed, preempted or interrupted;
    /// its billed seconds are its billable seconds rounded up by the increment.
    public mutating func add(_ call: CallDetailRecord) throws(RatingError) {
        try addCall(tenant: call.tenant, start: call.startTime, disposition: call.disposition,
                answered: call.answerTime != nil, billableSeconds: call.billableSeconds)
    }

    /// `add(_:)` from the fields rating reads (the store's lean billing query). Throws when
    /// `billableSeconds` is outside `0...maxBillableSeconds` or the tenant's sum overflows.
    public mutating func addCall(tenant: String, start: Date, disposition: Disposition, answered: Bool,
                                 billableSeconds: Int) throws(RatingError) {
        guard (0...Rater.maxBillableSeconds).contains(billableSeconds) else {
            throw RatingError("billable_seconds \(billableSeconds) is out of range 0...\(Rater.maxBillableSeconds)")
        }
        guard let i = slot(tenant, start) else { return }
        let billed: Bool
        switch disposition {
        case .completed, .preempted, .interrupted: billed = answered && billableSeconds > 0
        case .rejected, .canceled, .failed, .busy, .active: billed = false
        }
        if billed {
            slots[i].billedSeconds = try Rater.sum(slots[i].billedSeconds, slots[i].increment.billedSeconds(billableSeconds),
                                                   "\(tenant): billed seconds")
            slots[i].calls += 1
        } else {
            slots[i].unbilledCalls += 1
        }
    }

    /// Adds a message record (its segments, at least 1). Throws for segments outside
    /// `0...maxSegments`.
    public mutating func add(_ message: MessageDetailRecord) throws(RatingError) {
        guard (0...Rater.maxSegments).contains(message.segments) else {
            throw RatingError("segments \(message.segments) is out of range 0...\(Rater.maxSegments)")
        }
        guard let i = slot(message.tenant, message.receivedTime) else { return }
        slots[i].segments = try Rater.sum(slots[i].segments, max(1, message.segments), "\(message.tenant): SMS segments")
        slots[i].messages += 1
    }

    /// Adds 2FA attempts. Throws for a count outside `0...maxTwoFactorCount`.
    public mutating func add(_ usage: TwoFactorUsage) throws(RatingError) {
        guard (0...Rater.maxTwoFactorCount).contains(usage.count) else {
            throw RatingError("count \(usage.count) is out of range 0...\(Rater.maxTwoFactorCount)")
        }
        guard let i = slot(usage.tenant, usage.time) else { return }
        slots[i].twoFactor = try Rater.sum(slots[i].twoFactor, usage.count, "\(usage.tenant): 2FA attempts")
    }

    private static func sum(_ total: Int64, _ more: Int, _ what: @autoclosure () -> String) throws(RatingError) -> Int64 {
        let (s, overflow) = total.addingReportingOverflow(Int64(more))
        guard !overflow else { throw RatingError("\(what()) overflow") }
        return s
    }

    /// One invoice per account with a known plan, sorted by tenant id, usage or not. Throws
    /// when an amount or total would not fit in 64-bit cents.
    public func invoices() throws(RatingError) -> [Invoice] {
        try slots.sorted { $0.account.id < $1.account.id }.map { s throws(RatingError) in
            let p = s.plan
            let usage: [(InvoiceLine.Kind, Int64, Int64)] = [(.voice, s.billedSeconds, p.minuteOverageMicros),
                                                            (.sms, s.segments, p.smsOverageMicros),
                                                            (.twoFactor, s.twoFactor, p.twoFAOverageMicros)]
            for (kind, used, price) in usage where !Rater.amountFits(quantity: used, unitPriceMicros: price, per: kind.unitsPerPricedUnit) {
                throw RatingError("\(s.account.id): \(kind == .voice ? "voice" : kind == .sms ? "SMS" : "2FA") amount is too large")
            }
            let lines = [
                InvoiceLine(kind: .voice, used: s.billedSeconds, included: Int64(p.includedMinutes) * 60,
                            unitPriceMicros: p.minuteOverageMicros),
                InvoiceLine(kind: .sms, used: s.segments, included: Int64(p.includedSMS), unitPriceMicros: p.smsOverageMicros),
                InvoiceLine(kind: .twoFactor, used: s.twoFactor, included: Int64(p.included2FA),
                            unitPriceMicros: p.twoFAOverageMicros),
            ]
            let fee = Rater.roundHalfUpToCents(numeratorMicros: p.monthlyFeeMicros, denominator: 1)
            var total = fee
            for line in lines {
                let (t, overflow) = total.addingReportingOverflow(line.amountCents)
                guard !overflow else { throw RatingError("\(s.account.id): invoice total is too large") }
                total = t
            }
            return Invoice(tenantID: s.account.id, tenantName: s.account.name, planID: p.id, planName: p.name,
                           period: period, timeZoneID: s.account.timeZone.identifier, increment: s.increment,
                           planFeeCents: fee, lines: lines, totalCents: total,
                           numbers: s.account.numbers, includedNumbers: p.includedNumbers,
                           numbersOverPlan: s.account.numbers > p.includedNumbers,
                           calls: s.calls, unbilledCalls: s.unbilledCalls, messages: s.messages)
        }
    }

    // MARK: Exact money arithmetic

    /// Cents of `numeratorMicros / denominator` micro-dollars, rounded half-up (half away
    /// from zero) from the exact rational value. `denominator` must be positive.
    public static func roundHalfUpToCents(numeratorMicros: Int64, denominator: Int64) -> Int64 {
        let wide = (high: numeratorMicros < 0 ? Int64(-1) : 0, low: UInt64(bitPattern: numeratorMicros))
        return divideHalfUp(wide, by: denominator)
    }

    /// Cents of `quantity × unitPriceMicros / per` micro-dollars, rounded half-up once from
    /// the exact value; the product is taken in 128 bits, so it cannot overflow (only a
    /// result beyond Int64 cents traps). `per` must be positive.
    public static func amountCents(quantity: Int64, unitPriceMicros: Int64, per: Int64 = 1) -> Int64 {
        divideHalfUp(quantity.multipliedFullWidth(by: unitPriceMicros), by: per)
    }

    /// Whether `amountCents(quantity:unitPriceMicros:per:)` fits in Int64 for a non-negative
    /// quantity and price (conservatively: the exact quotient below 2^62 cents).
    static func amountFits(quantity: Int64, unitPriceMicros: Int64, per: Int64) -> Bool {
        guard quantity >= 0, unitPriceMicros >= 0, per > 0, per <= Int64.max / 10_000 else { return false }
        let product = quantity.multipliedFullWidth(by: unitPriceMicros)
        // product < d × 2^62 = (d / 4) × 2^64 when d = per × 10_000 (a multiple of 4).
        return UInt64(product.high) < UInt64(per * 10_000 / 4)
    }

    /// `n / (denominator × 10_000)` rounded half away from zero (10_000 micros per cent).
    private static func divideHalfUp(_ n: (high: Int64, low: UInt64), by denominator: Int64) -> Int64 {
        precondition(denominator > 0 && denominator <= Int64.max / 10_000, "bad money denominator \(denominator)")
        let d = denominator * 10_000
        let (q, r) = d.dividingFullWidth(n)
        let ar = r.magnitude
        guard ar >= d.magnitude - ar else { return q }
        return r < 0 ? q - 1 : q + 1
    }
}
