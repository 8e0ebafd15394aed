import Foundation
#if canImport(Formats)
import Formats // (the fuzz targets compile Formats' sources into one module)
#endif

/// How call time is rounded for billing: the first `first` seconds are billed as a block,
/// then every started block of `next` seconds ("60/60" per minute, "6/6", "30/6").
public struct BillingIncrement: Sendable, Hashable, CustomStringConvertible {
    /// The minimum billed seconds of a call that lasted at least one second.
    public var first: Int
    /// The block size after the first block, in seconds.
    public var next: Int

    /// Whole minutes: 60/60.
    public static let perMinute = BillingIncrement(first: 60, next: 60)

    /// An increment of `first`/`next` seconds (both at least 1).
    public init(first: Int = 60, next: Int = 60) {
        precondition(first >= 1 && next >= 1, "billing increment blocks must be at least 1 second")
        self.first = first
        self.next = next
    }

    /// Parses `"60/60"`, `"6/6"`, `"30/6"`: two whole numbers of seconds, each 1...86400;
    /// nil for anything else.
    public init?(_ string: String) {
        let parts = string.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2,
              parts.allSatisfy({ !$0.isEmpty && $0.count <= 5 && $0.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } }),
              let f = Int(parts[0]), let n = Int(parts[1]), (1...86_400).contains(f), (1...86_400).contains(n) else {
            return nil
        }
        self.init(first: f, next: n)
    }

    /// `"first/next"`.
    public var description: String { "\(first)/\(next)" }

    /// Seconds billed for a call of `seconds` answered seconds: 0 for 0 (or less), else
    /// `first` plus every started `next` block beyond it.
    public func billedSeconds(_ seconds: Int) -> Int {
        guard seconds > 0 else { return 0 }
        guard seconds > first else { return first }
        let blocks = (seconds - first + next - 1) / next
        return first + blocks * next
    }
}

/// A price plan. Money is in micro-dollars (`$0.015` = 15_000) so no rounding happens
/// before the invoice total.
public struct Plan: Sendable, Equatable {
    public var id: String
    public var name: String
    /// Monthly fee in micro-dollars.
    public var monthlyFeeMicros: Int64
    /// Voice minutes included per month (inbound and outbound legs together).
    public var includedMinutes: Int
    /// SMS segments included per month.
    public var includedSMS: Int
    /// 2FA verification attempts included per month.
    public var included2FA: Int
    /// Phone numbers included in the plan.
    public var includedNumbers: Int
    /// Price of one voice minute over the allowance, micro-dollars.
    public var minuteOverageMicros: Int64
    /// Price of one SMS segment over the allowance, micro-dollars.
    public var smsOverageMicros: Int64
    /// Price of one 2FA attempt over the allowance, micro-dollars.
    public var twoFAOverageMicros: Int64
    /// How call time is rounded (a tenant may override it).
    public var increment: BillingIncrement

    /// A plan with the given terms.
    public init(id: String, name: String, monthlyFeeMicros: Int64, includedMinutes: Int, includedSMS: Int,
                included2FA: Int, includedNumbers: Int, minuteOverageMicros: Int64, smsOverageMicros: Int64,
                twoFAOverageMicros: Int64, increment: BillingIncrement = .perMinute) {
        self.id = id
        self.name = name
        self.monthlyFeeMicros = monthlyFeeMicros
        self.includedMinutes = includedMinutes
        self.includedSMS = includedSMS
        self.included2FA = included2FA
        self.includedNumbers = includedNumbers
        self.minuteOverageMicros = minuteOverageMicros
        self.smsOverageMicros = smsOverageMicros
        self.twoFAOverageMicros = twoFAOverageMicros
        self.increment = increment
    }
}

/// Why a plans file was refused: `source: plans[i].key: message`.
public struct PlanError: Error, CustomStringConvertible, Equatable {
    public var description: String
    /// An error with the given text.
    public init(_ description: String) { self.description = description }
}

/// The plans of `plans.json`, by id.
///
/// ```json
/// {"plans": [{"id": "starter", "name": "Starter", "monthly_fee": "99.00",
///             "included": {"minutes": 1000, "sms": 1000, "two_factor": 500, "numbers": 2},
///             "overage": {"minute": "0.015", "sms": "0.008", "two_factor": "0.05"},
///             "increment": "60/60"}]}
/// ```
/// Unknown keys are errors; money is a decimal string of dollars with at most 6 decimals
/// (never a JSON number, which would go through floating point); `increment` is optional
/// (60/60).
public struct PlanCatalog: Sendable, Equatable {
    /// Plans by id.
    public var plans: [String: Plan]

    /// A catalog of the given plans.
    public init(plans: [Plan]) {
        var byID: [String: Plan] = [:]
        for p in plans { byID[p.id] = p }
        self.plans = byID
    }

    /// Reads and validates a plans file.
    public static func load(path: String) throws(PlanError) -> PlanCatalog {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw PlanError("\(path): cannot read: \(error.localizedDescription)")
        }
        return try parse(data, source: path)
    }

    /// Parses and validates plans JSON; `source` names it in errors.
    public static func parse(_ data: Data, source: String) throws(PlanError) -> PlanCatalog {
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: data) } catch {
            throw PlanError("\(source): not valid JSON: \((error as NSError).userInfo["NSDebugDescription"] ?? error)")
        }
        let r = PlanReader(source: source)
        let top = try r.object(root, "", allowed: ["plans"])
        guard let list = top["plans"] as? [Any] else { throw r.fail("plans", "must be an array of plans") }
        var plans: [Plan] = []
        var seen = Set<String>()
        for (i, item) in list.enumerated() {
            let p = "plans[\(i)]"
            let plan = try r.plan(item, p)
            guard seen.insert(plan.id).inserted else { throw r.fail(p + ".id", "duplicate plan id '\(plan.id)'") }
            plans.append(plan)
        }
        return PlanCatalog(plans: plans)
    }

    /// Parses a money amount in dollars (`"99.00"`, `"0.015"`) into micro-dollars, exactly:
    /// digits with an optional fraction of 1 to 6 digits; nil for negatives, exponents,
    /// more than 6 decimals, or more than 12 integer digits.
    public static func parseMicros(_ s: String) -> Int64? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = parts.first, !whole.isEmpty, whole.count <= 12,
              whole.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        var micros = Int64(whole)! * 1_000_000
        if parts.count == 2 {
            let frac = parts[1]
            guard !frac.isEmpty, frac.count <= 6, frac.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
            micros += Int64(frac + String(repeating: "0", count: 6 - frac.count))!
        }
        return micros
    }
}

/// Strict reading of the plans JSON tree, with `source: path: message` errors.
private struct PlanReader {
    let json: JSONTreeReader<PlanError>

    init(source: String) { json = JSONTreeReader(source: source, topLevel: "top level", failure: PlanError.init) }

    func fail(_ path: String, _ msg: String) -> PlanError { json.fail(path, msg) }

    /// An object with exactly the keys `allowed`, less those `optional`.
    func object(_ v: Any, _ path: String, allowed: [String], optional: Set<String> = []) throws(PlanError) -> [String: Any] {
        let o = try json.object(v, path, allowed: allowed)
        try json.require(allowed.filter { !optional.contains($0) }, in: o, path)
        return o
    }

    func string(_ o: [String: Any], _ k: String, _ path: String) throws(PlanError) -> String {
        try json.requiredString(o, k, path)
    }

    func count(_ o: [String: Any], _ k: String, _ path: String) throws(PlanError) -> Int {
        try json.requiredInteger(o, k, path, in: 0...1_000_000_000, noun: "a whole number")
    }

    func money(_ o: [String: Any], _ k: String, _ path: String) throws(PlanError) -> Int64 {
        guard let s = o[k] as? String else {
            throw fail("\(path).\(k)", "must be a decimal string of dollars such as \"0.015\" (not a JSON number)")
        }
        guard let m = PlanCatalog.parseMicros(s) else {
            throw fail("\(path).\(k)", "'\(s)' is not a non-negative amount with at most 6 decimals")
        }
        return m
    }

    func plan(_ v: Any, _ p: String) throws(PlanError) -> Plan {
        let o = try object(v, p, allowed: ["id", "name", "monthly_fee", "included", "overage", "increment"],
                           optional: ["increment"])
        let id = try string(o, "id", p)
        let name = try string(o, "name", p)
        let fee = try money(o, "monthly_fee", p)
        let inc = try object(o["included"] as Any, p + ".included", allowed: ["minutes", "sms", "two_factor", "numbers"])
        let over = try object(o["overage"] as Any, p + ".overage", allowed: ["minute", "sms", "two_factor"])
        var increment = BillingIncrement.perMinute
        if let raw = o["increment"] {
            guard let s = raw as? String, let parsed = BillingIncrement(s) else {
                throw fail(p + ".increment", "must be \"first/next\" seconds such as \"60/60\", \"6/6\" or \"30/6\"")
            }
            increment = parsed
        }
        return Plan(id: id, name: name, monthlyFeeMicros: fee,
                    includedMinutes: try count(inc, "minutes", p + ".included"),
                    includedSMS: try count(inc, "sms", p + ".included"),
                    included2FA: try count(inc, "two_factor", p + ".included"),
                    includedNumbers: try count(inc, "numbers", p + ".included"),
                    minuteOverageMicros: try money(over, "minute", p + ".overage"),
                    smsOverageMicros: try money(over, "sms", p + ".overage"),
                    twoFAOverageMicros: try money(over, "two_factor", p + ".overage"),
                    increment: increment)
    }
}

