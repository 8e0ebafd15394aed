import Foundation
import Metering
import XCTest

private let shippedPlansPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Config/plans.json").path
private let newYork = TimeZone(identifier: "America/New_York")!
private let november = BillingPeriod("2026-11")!
private let midNovember = utc("2026-11-10T15:00:00Z")

private func utc(_ s: String) -> Date { ISO8601DateFormatter().date(from: s)! }

/// A call record answered after 2 s that lasted `seconds` (nil: never answered).
private func call(_ tenant: String = "acme", at start: Date = midNovember, seconds: Int?,
                  disposition: Disposition = .completed, direction: CallDirection = .inbound) -> CallDetailRecord {
    let answer = seconds.map { _ in start.addingTimeInterval(2) }
    var r = CallDetailRecord(callID: "c", sipCallID: "c@192.0.2.10", did: "+18005550100", tenant: tenant,
                             fromNumber: "+12025550123", toNumber: "+18005550100", startTime: start, answerTime: answer,
                             endTime: (answer ?? start).addingTimeInterval(Double(seconds ?? 0)), disposition: disposition,
                             sipCode: answer == nil ? 487 : 200, hangupBy: .caller, flow: "test.xml")
    r.direction = direction
    return r
}

private func message(_ tenant: String = "acme", at time: Date = midNovember, segments: Int) -> MessageDetailRecord {
    MessageDetailRecord(messageID: "m", sipCallID: "m@192.0.2.10", did: "+18005550100", tenant: tenant,
                        fromNumber: "+12025550123", receivedTime: time, bodyLength: 10, encoding: .gsm7, segments: segments)
}

final class RatingTests: XCTestCase {
    private func catalog() throws -> PlanCatalog { try PlanCatalog.load(path: shippedPlansPath) }

    /// A rater for November with acme (starter, 3 numbers), pro (professional) and ent (enterprise).
    private func rater(increment: BillingIncrement? = nil, period: BillingPeriod = november) throws -> Rater {
        let accounts = [
            TenantAccount(id: "pro", name: "Pro Co", planID: "professional", timeZone: newYork, numbers: 5),
            TenantAccount(id: "acme", name: "Acme", planID: "starter", timeZone: newYork, numbers: 3, increment: increment),
            TenantAccount(id: "ent", name: "Ent Co", planID: "enterprise", timeZone: .gmt, numbers: 1, increment: increment),
        ]
        return Rater(catalog: try catalog(), accounts: accounts, period: period)
    }

    private func invoice(_ r: Rater, _ tenant: String) throws -> Invoice { try r.invoices().first { $0.tenantID == tenant }! }

    func testShippedPlans() throws {
        let c = try catalog()
        XCTAssertEqual(c.plans.count, 3)
        XCTAssertEqual(c.plans["starter"], Plan(id: "starter", name: "Starter", monthlyFeeMicros: 99_000_000, includedMinutes: 1000,
                                                includedSMS: 1000, included2FA: 500, includedNumbers: 2, minuteOverageMicros: 15_000,
                                                smsOverageMicros: 8_000, twoFAOverageMicros: 50_000, increment: .perMinute))
        XCTAssertEqual(c.plans["professional"], Plan(id: "professional", name: "Professional", monthlyFeeMicros: 299_000_000,
                                                     includedMinutes: 5000, includedSMS: 5000, included2FA: 2500, includedNumbers: 5,
                                                     minuteOverageMicros: 12_000, smsOverageMicros: 7_000, twoFAOverageMicros: 40_000))
        XCTAssertEqual(c.plans["enterprise"], Plan(id: "enterprise", name: "Enterprise", monthlyFeeMicros: 799_000_000,
                                                   includedMinutes: 15000, includedSMS: 15000, included2FA: 7500, includedNumbers: 15,
                                                   minuteOverageMicros: 10_000, smsOverageMicros: 6_000, twoFAOverageMicros: 35_000))
    }

    func testIncrements() {
        let m = BillingIncrement("60/60")!, six = BillingIncrement("6/6")!, thirty = BillingIncrement("30/6")!
        XCTAssertEqual(m, .perMinute)
        XCTAssertEqual([0, 1, 59, 60, 61, 120, 121].map(m.billedSeconds), [0, 60, 60, 60, 120, 120, 180])
        XCTAssertEqual([0, 1, 6, 7, 12, 13, 61].map(six.billedSeconds), [0, 6, 6, 12, 12, 18, 66])
        XCTAssertEqual([0, 1, 5, 30, 31, 36, 37, 61].map(thirty.billedSeconds), [0, 30, 30, 30, 36, 36, 42, 66])
        XCTAssertEqual(thirty, BillingIncrement(first: 30, next: 6))
        XCTAssertEqual(thirty.description, "30/6")
        for bad in ["60", "0/6", "6/0", "-6/6", "a/b", "6/6/6", " 6/6", "6/", "/6", ""] { XCTAssertNil(BillingIncrement(bad), bad) }
    }

    func testEmptyMonthStillInvoicesEveryAccountSortedByID() throws {
        let all = try rater().invoices()
        XCTAssertEqual(all.map(\.tenantID), ["acme", "ent", "pro"])
        XCTAssertEqual(all.map(\.totalCents), [9_900, 79_900, 29_900])
        for inv in all {
            XCTAssertEqual(inv.lines.map(\.kind), [.voice, .sms, .twoFactor])
            XCTAssertEqual(inv.lines.map(\.amountCents), [0, 0, 0])
            XCTAssertEqual(inv.period, november)
        }
    }

    func testExactlyTheAllowanceHasNoOverage() throws {
        var r = try rater()
        for _ in 0..<10 { try r.add(call(seconds: 6000)) }           // 1,000 minutes
        for _ in 0..<1000 { try r.add(message(segments: 1)) }
        try r.add(TwoFactorUsage(tenant: "acme", time: midNovember, count: 500))
        let inv = try invoice(r, "acme")
        XCTAssertEqual(inv.line(.voice)!.used, 60_000)
        XCTAssertEqual(inv.line(.voice)!.included, 60_000)
        XCTAssertEqual(inv.lines.map(\.overage), [0, 0, 0])
        XCTAssertEqual(inv.totalCents, 9_900)
        XCTAssertEqual(inv.calls, 10)
        XCTAssertEqual(inv.messages, 1000)
    }

    func testOneSecondOverBillsAWholeMinuteRoundedHalfUp() throws {
        var r = try rater()
        for _ in 0..<10 { try r.add(call(seconds: 6000)) }
        try r.add(call(seconds: 1))                                     // billed 60 s
        let voice = try invoice(r, "acme").line(.voice)!
        XCTAssertEqual(voice.used, 60_060)
        XCTAssertEqual(voice.overage, 60)
        XCTAssertEqual(voice.unitPriceMicros, 15_000)
        XCTAssertEqual(voice.amountCents, 2)                        // $0.015 -> 1.5 cents -> 2
        XCTAssertEqual(try invoice(r, "acme").totalCents, 9_902)
    }

    func testSixSecondIncrement() throws {
        var r = try rater(increment: BillingIncrement("6/6"))
        try r.add(call(seconds: 60_000))
        try r.add(call(seconds: 61))                                    // 66 s = 1.1 min over
        let acme = try invoice(r, "acme")
        XCTAssertEqual(acme.increment, BillingIncrement(first: 6, next: 6))
        XCTAssertEqual(acme.line(.voice)!.overage, 66)
        XCTAssertEqual(acme.line(.voice)!.amountCents, 2)          // 66 * 15,000 / 60 = 16,500 micros
        XCTAssertEqual(InvoiceFormat.quantity(acme.line(.voice)!.used, kind: .voice), "1001.1")
        // The plan's own increment where the tenant has none: professional at $0.012/min.
        var p = try rater()
        try p.add(call("pro", seconds: 300_000))
        try p.add(call("pro", seconds: 7))                             // 60/60: 60 s over
        XCTAssertEqual(try invoice(p, "pro").line(.voice)!.amountCents, 1)   // 1.2 cents
        XCTAssertEqual(try invoice(p, "pro").totalCents, 29_901)
    }

    func testThirtySixIncrement() throws {
        var r = try rater(increment: BillingIncrement("30/6"))
        try r.add(call("ent", seconds: 900_000))                       // exactly 15,000 min
        try r.add(call("ent", seconds: 5))                             // 30 s
        try r.add(call("ent", seconds: 31))                            // 36 s
        let voice = try invoice(r, "ent").line(.voice)!
        XCTAssertEqual(voice.used, 900_066)
        XCTAssertEqual(voice.overage, 66)
        XCTAssertEqual(voice.amountCents, 1)                        // 66 * 10,000 / 60 = 11,000 micros
        XCTAssertEqual(try invoice(r, "ent").totalCents, 79_901)
    }

    func testFreeCalls() throws {
        var r = try rater()
        try r.add(call(seconds: 0))                                     // answered, hung up at once
        try r.add(call(seconds: nil, disposition: .canceled))
        try r.add(call(seconds: nil, disposition: .rejected))
        try r.add(call(seconds: nil, disposition: .busy))
        try r.add(call(seconds: nil, disposition: .failed))
        try r.add(call(seconds: 30, disposition: .active))              // still up: not billed yet
        let inv = try invoice(r, "acme")
        XCTAssertEqual(inv.line(.voice)!.used, 0)
        XCTAssertEqual(inv.calls, 0)
        XCTAssertEqual(inv.unbilledCalls, 6)
        XCTAssertEqual(inv.totalCents, 9_900)
    }

    func testBilledDispositionsAndOutboundLegs() throws {
        var r = try rater()
        try r.add(call(seconds: 61))                                    // 120
        try r.add(call(seconds: 30, direction: .outbound))              // 60
        try r.add(call(seconds: 59, disposition: .preempted))           // 60
        try r.add(call(seconds: 121, disposition: .interrupted))        // 180
        XCTAssertEqual(try invoice(r, "acme").line(.voice)!.used, 420)
        XCTAssertEqual(try invoice(r, "acme").calls, 4)
    }

    func testMonthBoundariesInTheTenantTimeZone() throws {
        let lateNov30 = utc("2026-12-01T04:59:30Z")                // 23:59:30 Nov 30 in New York
        let earlyDec1 = utc("2026-12-01T05:00:10Z")                // 00:00:10 Dec 1 in New York
        XCTAssertTrue(november.contains(lateNov30, timeZone: newYork))
        XCTAssertFalse(november.contains(lateNov30, timeZone: .gmt))
        XCTAssertFalse(november.contains(earlyDec1, timeZone: newYork))
        XCTAssertTrue(november.contains(utc("2026-11-01T04:00:00Z"), timeZone: newYork))   // midnight EDT
        XCTAssertFalse(november.contains(utc("2026-11-01T03:59:59Z"), timeZone: newYork))
        var r = try rater()
        try r.add(call(at: lateNov30, seconds: 120))                    // spans midnight: November
        try r.add(call(at: earlyDec1, seconds: 600))                    // December
        try r.add(call("ent", at: lateNov30, seconds: 60))              // UTC tenant: December
        XCTAssertEqual(try invoice(r, "acme").line(.voice)!.used, 120)
        XCTAssertEqual(try invoice(r, "ent").line(.voice)!.used, 0)
        var december = try rater(period: BillingPeriod("2026-12")!)
        try december.add(call(at: lateNov30, seconds: 120))
        try december.add(call(at: earlyDec1, seconds: 600))
        XCTAssertEqual(try invoice(december, "acme").line(.voice)!.used, 600)
        XCTAssertEqual(try invoice(december, "acme").period.description, "2026-12")
    }

    func testSMSOverage() throws {
        var r = try rater()
        for _ in 0..<999 { try r.add(message(segments: 1)) }
        try r.add(message(segments: 3))
        try r.add(message(at: utc("2026-12-01T05:00:00Z"), segments: 5))   // December in New York
        let sms = try invoice(r, "acme").line(.sms)!
        XCTAssertEqual([sms.used, sms.included, sms.overage], [1002, 1000, 2])
        XCTAssertEqual(sms.amountCents, 2)                          // 2 * $0.008 = 1.6 cents
        XCTAssertEqual(try invoice(r, "acme").messages, 1000)
        for _ in 0..<20 { try r.add(message("pro", segments: 250)) }
        try r.add(message("pro", segments: 3))
        XCTAssertEqual(try invoice(r, "pro").line(.sms)!.amountCents, 2)      // 3 * $0.007 = 2.1 cents
    }

    func testTwoFactorOverageAndHalfCent() throws {
        var r = try rater()
        try r.add(TwoFactorUsage(tenant: "acme", time: midNovember, count: 400))
        try r.add(TwoFactorUsage(tenant: "acme", time: midNovember))        // count 1
        try r.add(TwoFactorUsage(tenant: "acme", time: midNovember, count: 149))
        try r.add(TwoFactorUsage(tenant: "acme", time: utc("2026-10-15T00:00:00Z"), count: 1000))
        XCTAssertEqual(try invoice(r, "acme").line(.twoFactor)!.overage, 50)
        XCTAssertEqual(try invoice(r, "acme").line(.twoFactor)!.amountCents, 250)
        XCTAssertEqual(try invoice(r, "acme").totalCents, 10_150)
        try r.add(TwoFactorUsage(tenant: "ent", time: midNovember, count: 7501))
        XCTAssertEqual(try invoice(r, "ent").line(.twoFactor)!.amountCents, 4)   // $0.035: exactly 3.5 cents -> 4
    }

    func testNumbersOverPlanIsFlagged() throws {
        let r = try rater()
        let acme = try invoice(r, "acme"), pro = try invoice(r, "pro")
        XCTAssertTrue(acme.numbersOverPlan)
        XCTAssertEqual([acme.numbers, acme.includedNumbers], [3, 2])
        XCTAssertFalse(pro.numbersOverPlan)
        XCTAssertEqual(acme.totalCents, 9_900)                      // flagged, not charged
        XCTAssertTrue(InvoiceFormat.render([acme], format: .table).contains("NUMBERS OVER PLAN"))
        XCTAssertFalse(InvoiceFormat.render([pro], format: .table).contains("NUMBERS OVER PLAN"))
    }

    func testHalfUpRoundingIsExact() {
        XCTAssertEqual(Rater.roundHalfUpToCents(numeratorMicros: 4_999, denominator: 1), 0)
        XCTAssertEqual(Rater.roundHalfUpToCents(numeratorMicros: 5_000, denominator: 1), 1)
        XCTAssertEqual(Rater.roundHalfUpToCents(numeratorMicros: 15_000, denominator: 1), 2)
        XCTAssertEqual(Rater.roundHalfUpToCents(numeratorMicros: 25_000, denominator: 1), 3)   // not banker's 2
        XCTAssertEqual(Rater.roundHalfUpToCents(numeratorMicros: 299_999, denominator: 60), 0)
        XCTAssertEqual(Rater.roundHalfUpToCents(numeratorMicros: 300_000, denominator: 60), 1)
        XCTAssertEqual(Rater.roundHalfUpToCents(numeratorMicros: -5_000, denominator: 1), -1)
        XCTAssertEqual(Rater.amountCents(quantity: 60, unitPriceMicros: 15_000, per: 60), 2)
        XCTAssertEqual(Rater.amountCents(quantity: 1, unitPriceMicros: 15_000, per: 60), 0)
        XCTAssertEqual(Rater.amountCents(quantity: Int64.max / 2, unitPriceMicros: 15_000, per: 60), 115_292_150_460_684_698)
    }

    func testMillionLongCallsDoNotOverflow() throws {
        var r = try rater()
        let long = call(seconds: 14_400)
        for _ in 0..<1_000_000 { try r.add(long) }
        let inv = try invoice(r, "acme")
        XCTAssertEqual(inv.line(.voice)!.used, 14_400_000_000)
        XCTAssertEqual(inv.line(.voice)!.overage, 14_399_940_000)
        XCTAssertEqual(inv.line(.voice)!.amountCents, 359_998_500)  // 239,999,000 min * $0.015
        XCTAssertEqual(inv.totalCents, 360_008_400)
        XCTAssertEqual(inv.calls, 1_000_000)
    }

    func testOutOfRangeUsageIsAnErrorNotATrap() throws {
        var r = try rater()
        XCTAssertThrowsError(try r.addCall(tenant: "acme", start: midNovember, disposition: .completed, answered: true,
                                           billableSeconds: Int.max - 10)) { error in
            XCTAssertTrue("\(error)".contains("billable_seconds \(Int.max - 10) is out of range 0...31622400"), "\(error)")
        }
        XCTAssertThrowsError(try r.addCall(tenant: "acme", start: midNovember, disposition: .completed, answered: true,
                                           billableSeconds: -1))
        XCTAssertThrowsError(try r.add(message(segments: -3)))
        XCTAssertThrowsError(try r.add(message(segments: 100_000)))
        XCTAssertThrowsError(try r.add(TwoFactorUsage(tenant: "acme", time: midNovember, count: -1)))
        XCTAssertThrowsError(try r.add(TwoFactorUsage(tenant: "acme", time: midNovember, count: Int.max)))
        XCTAssertEqual(try invoice(r, "acme").totalCents, 9_900, "nothing out of range was counted")
    }

    func testAmountsBeyondWhatAnInvoiceCanHoldAreAnErrorNotATrap() throws {
        let plan = #"{"plans": [{"id": "gold", "name": "Gold", "monthly_fee": "1", "included": {"minutes": 0, "sms": 0, "two_factor": 0, "numbers": 1}, "overage": {"minute": "999999999999.999999", "sms": "1", "two_factor": "1"}}]}"#
        let catalog = try PlanCatalog.parse(Data(plan.utf8), source: "p.json")
        var r = Rater(catalog: catalog, accounts: [TenantAccount(id: "g", name: "G", planID: "gold", timeZone: .gmt, numbers: 1)],
                      period: november)
        try r.addCall(tenant: "g", start: midNovember, disposition: .completed, answered: true, billableSeconds: 10_000_000)
        XCTAssertThrowsError(try r.invoices()) { error in
            XCTAssertTrue("\(error)".contains("g: voice amount is too large"), "\(error)")
        }
    }

    func testUnknownTenantsAndPlans() throws {
        var r = Rater(catalog: try catalog(), accounts: [
            TenantAccount(id: "acme", name: "Acme", planID: "starter", timeZone: newYork, numbers: 1),
            TenantAccount(id: "gold", name: "Gold", planID: "platinum", timeZone: newYork, numbers: 1),
        ], period: november)
        try r.add(call("nobody", seconds: 60))
        try r.add(message("nobody", segments: 1))
        try r.add(call("gold", seconds: 60))
        try r.add(call("nobody", at: utc("2026-10-01T00:00:00Z"), seconds: 60))   // other month
        XCTAssertEqual(r.unknownTenantRecords, 3)
        XCTAssertEqual(r.accountsWithoutPlan, ["gold"])
        XCTAssertEqual(try r.invoices().map(\.tenantID), ["acme"])
    }

    func testPlanParsingIsStrict() throws {
        func parse(_ s: String) -> String? {
            do { _ = try PlanCatalog.parse(Data(s.utf8), source: "p.json"); return nil } catch { return "\(error)" }
        }
        let good = #"{"id": "x", "name": "X", "monthly_fee": "10", "included": {"minutes": 1, "sms": 2, "two_factor": 3, "numbers": 4}, "overage": {"minute": "0.000001", "sms": "1.5", "two_factor": "0.05"}, "increment": "6/6"}"#
        let c = try PlanCatalog.parse(Data(#"{"plans": [\#(good)]}"#.utf8), source: "p.json")
        XCTAssertEqual(c.plans["x"]?.monthlyFeeMicros, 10_000_000)
        XCTAssertEqual(c.plans["x"]?.minuteOverageMicros, 1)
        XCTAssertEqual(c.plans["x"]?.smsOverageMicros, 1_500_000)
        XCTAssertEqual(c.plans["x"]?.increment, BillingIncrement(first: 6, next: 6))
        let noIncrement = good.replacingOccurrences(of: #", "increment": "6/6""#, with: "")
        XCTAssertEqual(try PlanCatalog.parse(Data(#"{"plans": [\#(noIncrement)]}"#.utf8), source: "p").plans["x"]?.increment, .perMinute)
        func with(_ from: String, _ to: String) -> String? { parse(#"{"plans": [\#(good.replacingOccurrences(of: from, with: to))]}"#) }
        XCTAssertEqual(with(#""name": "X""#, #""name": "X", "colour": "red""#)?.hasPrefix("p.json: plans[0].colour: unknown key"), true)
        XCTAssertEqual(with(#""sms": 2"#, #""sms": 2, "mms": 1"#)?.hasPrefix("p.json: plans[0].included.mms: unknown key"), true)
        XCTAssertEqual(with(#""minute": "0.000001""#, #""minute": "0.0000001""#)?.hasPrefix("p.json: plans[0].overage.minute:"), true)
        XCTAssertNotNil(with(#""monthly_fee": "10""#, #""monthly_fee": "-10""#))
        XCTAssertNotNil(with(#""monthly_fee": "10""#, #""monthly_fee": 10"#))
        XCTAssertNotNil(with(#""monthly_fee": "10""#, #""monthly_fee": "ten""#))
        XCTAssertEqual(with(#""sms": 2"#, #""sms": 2.5"#), "p.json: plans[0].included.sms: must be a whole number in 0...1000000000")
        XCTAssertNotNil(with(#""numbers": 4"#, #""numbers": true"#))
        XCTAssertNotNil(with(#""increment": "6/6""#, #""increment": "6""#))
        XCTAssertEqual(with(#""name": "X", "#, ""), "p.json: plans[0].name: missing")
        XCTAssertEqual(parse(#"{"plans": [\#(good), \#(good)]}"#), "p.json: plans[1].id: duplicate plan id 'x'")
        XCTAssertEqual(parse(#"{"plans": [], "extra": 1}"#)?.hasPrefix("p.json: extra: unknown key"), true)
        XCTAssertNotNil(parse("not json"))
        XCTAssertEqual(PlanCatalog.parseMicros("99.00"), 99_000_000)
        XCTAssertEqual(PlanCatalog.parseMicros("0.015"), 15_000)
        for bad in ["-1", "1.", ".5", "1.0000001", "abc", "", "1,5", "+1", "1e3", " 1"] { XCTAssertNil(PlanCatalog.parseMicros(bad), bad) }
    }

    func testFormats() throws {
        var r = try rater()
        try r.add(call(seconds: 60_030))                                // 1000.5 min with 60/60 -> 1001 billed
        try r.add(message(segments: 1))
        let acme = try invoice(r, "acme")
        XCTAssertEqual(InvoiceFormat.quantity(60_030, kind: .voice), "1000.5")
        XCTAssertEqual([60, 90, 20, 6, 3, 0].map { InvoiceFormat.quantity($0, kind: .voice) }, ["1", "1.5", "0.33", "0.1", "0.05", "0"])
        XCTAssertEqual(InvoiceFormat.dollars(cents: 123_456), "1234.56")
        XCTAssertEqual(InvoiceFormat.dollars(cents: 5), "0.05")
        XCTAssertEqual([15_000, 50_000, 99_000_000, 1].map { InvoiceFormat.price(micros: $0) }, ["0.015", "0.05", "99.00", "0.000001"])
        let csv = InvoiceFormat.render([acme], format: .csv).split(separator: "\n").map(String.init)
        XCTAssertEqual(csv, ["tenant,period,plan,item,used,included,overage,unit_price,amount",
                             "acme,2026-11,starter,plan_fee,,,,99.00,99.00",
                             "acme,2026-11,starter,voice_minutes,1001,1000,1,0.015,0.02",
                             "acme,2026-11,starter,sms_segments,1,1000,0,0.008,0.00",
                             "acme,2026-11,starter,2fa_attempts,0,500,0,0.05,0.00",
                             "acme,2026-11,starter,numbers,3,2,1,,0.00",
                             "acme,2026-11,starter,total,,,,,99.02"])
        let table = InvoiceFormat.render([acme], format: .table)
        XCTAssertTrue(table.contains("voice minutes"))
        XCTAssertTrue(table.contains("99.02"))
        let json = InvoiceFormat.render(try r.invoices(), format: .json)
        let array = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        XCTAssertEqual(array.map { $0["tenant"] as? String }, ["acme", "ent", "pro"])
        XCTAssertEqual(array[0]["total"] as? String, "99.02")
        XCTAssertEqual((array[0]["numbers"] as? [String: Any])?["over_plan"] as? Bool, true)
        let voice = try XCTUnwrap((array[0]["lines"] as? [[String: Any]])?.first)
        XCTAssertEqual(voice["billed_seconds"] as? Int, 60_060)
        XCTAssertEqual(voice["amount"] as? String, "0.02")
    }
}
