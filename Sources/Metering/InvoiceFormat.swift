import Foundation
#if canImport(Formats)
import Formats // (the fuzz targets compile Formats' sources into one module)
#endif

/// How `tollfreed bill` prints invoices. Money is printed as dollars with two decimals from
/// integer cents (`1234.56`), unit prices with 2 to 6 decimals (`0.015`), voice quantities
/// in minutes with up to 2 decimals (`1000.5`).
public enum InvoiceFormat: String, Sendable, CaseIterable {
    /// Aligned text, one block per tenant.
    case table
    /// One row per item with a header row: `tenant,period,plan,item,used,included,overage,unit_price,amount`;
    /// items `plan_fee`, `voice_minutes`, `sms_segments`, `2fa_attempts`, `numbers` (a count,
    /// amount 0.00) and `total`.
    case csv
    /// An array of invoice objects (money as strings, quantities as numbers).
    case json

    /// `invoices` in `format`, ending with a newline.
    public static func render(_ invoices: [Invoice], format: InvoiceFormat) -> String {
        switch format {
        case .table: return table(invoices)
        case .csv: return csv(invoices)
        case .json: return json(invoices)
        }
    }

    // MARK: Number formatting

    /// Cents as dollars with two decimals: `123456` → `1234.56`, `-5` → `-0.05`.
    public static func dollars(cents: Int64) -> String {
        let sign = cents < 0 ? "-" : ""
        let m = cents.magnitude
        let frac = m % 100
        return "\(sign)\(m / 100).\(frac < 10 ? "0" : "")\(frac)"
    }

    /// Micro-dollars as dollars with 2 to 6 decimals: `15_000` → `0.015`, `50_000` → `0.05`.
    public static func price(micros: Int64) -> String {
        let sign = micros < 0 ? "-" : ""
        let m = micros.magnitude
        var frac = String(m % 1_000_000)
        frac = String(repeating: "0", count: 6 - frac.count) + frac
        while frac.count > 2 && frac.hasSuffix("0") { frac.removeLast() }
        return "\(sign)\(m / 1_000_000).\(frac)"
    }

    /// A line quantity in its printed unit: voice seconds as minutes with up to 2 decimals
    /// (`60030` → `1000.5`, rounded half-up when not exact), other counts as they are.
    public static func quantity(_ value: Int64, kind: InvoiceLine.Kind) -> String {
        guard kind == .voice else { return String(value) }
        let sign = value < 0 ? "-" : ""
        let hundredths = (value.magnitude * 100 + 30) / 60
        let whole = hundredths / 100, frac = hundredths % 100
        if frac == 0 { return "\(sign)\(whole)" }
        if frac % 10 == 0 { return "\(sign)\(whole).\(frac / 10)" }
        return "\(sign)\(whole).\(frac < 10 ? "0" : "")\(frac)"
    }

    /// The item name of a line kind in CSV and JSON.
    public static func itemName(_ kind: InvoiceLine.Kind) -> String {
        switch kind {
        case .voice: return "voice_minutes"
        case .sms: return "sms_segments"
        case .twoFactor: return "2fa_attempts"
        }
    }

    // MARK: Table

    private static func table(_ invoices: [Invoice]) -> String {
        guard !invoices.isEmpty else { return "no invoices\n" }
        let widths = [16, 12, 12, 12, 12, 12]
        func row(_ cells: [String]) -> String {
            var out = "  " + cells[0] + String(repeating: " ", count: max(1, widths[0] - cells[0].count))
            for (i, c) in cells.enumerated().dropFirst() {
                out += String(repeating: " ", count: max(1, widths[i] - c.count)) + c
            }
            while out.hasSuffix(" ") { out.removeLast() }
            return out + "\n"
        }
        var out = ""
        for (n, inv) in invoices.enumerated() {
            if n > 0 { out += "\n" }
            out += "Invoice \(inv.period)  tenant \(inv.tenantID) (\(inv.tenantName))  plan \(inv.planID) (\(inv.planName))\n"
            out += "  time zone \(inv.timeZoneID), increment \(inv.increment), \(inv.calls) calls billed"
            out += " (\(inv.unbilledCalls) free), \(inv.messages) messages\n"
            out += row(["item", "used", "included", "overage", "unit price", "amount"])
            out += row(["plan fee", "", "", "", dollars(cents: inv.planFeeCents), dollars(cents: inv.planFeeCents)])
            for l in inv.lines {
                let label: String
                switch l.kind {
                case .voice: label = "voice minutes"
                case .sms: label = "sms segments"
                case .twoFactor: label = "2fa attempts"
                }
                out += row([label, quantity(l.used, kind: l.kind), quantity(l.included, kind: l.kind),
                            quantity(l.overage, kind: l.kind), price(micros: l.unitPriceMicros), dollars(cents: l.amountCents)])
            }
            out += row(["numbers", String(inv.numbers), String(inv.includedNumbers),
                        String(max(0, inv.numbers - inv.includedNumbers)), "", ""])
            out += row(["total", "", "", "", "", dollars(cents: inv.totalCents)])
            if inv.numbersOverPlan {
                out += "  NUMBERS OVER PLAN: \(inv.numbers) numbers held, plan \(inv.planID) includes \(inv.includedNumbers)\n"
            }
        }
        return out
    }

    // MARK: CSV

    private static func csv(_ invoices: [Invoice]) -> String {
        var out = "tenant,period,plan,item,used,included,overage,unit_price,amount\n"
        func row(_ inv: Invoice, _ cells: [String]) {
            out += ([inv.tenantID, inv.period.description, inv.planID] + cells).map(csvField).joined(separator: ",") + "\n"
        }
        for inv in invoices {
            let fee = dollars(cents: inv.planFeeCents)
            row(inv, ["plan_fee", "", "", "", fee, fee])
            for l in inv.lines {
                row(inv, [itemName(l.kind), quantity(l.used, kind: l.kind), quantity(l.included, kind: l.kind),
                          quantity(l.overage, kind: l.kind), price(micros: l.unitPriceMicros), dollars(cents: l.amountCents)])
            }
            row(inv, ["numbers", String(inv.numbers), String(inv.includedNumbers),
                      String(max(0, inv.numbers - inv.includedNumbers)), "", "0.00"])
            row(inv, ["total", "", "", "", "", dollars(cents: inv.totalCents)])
        }
        return out
    }

    /// RFC 4180 quoting when needed.
    private static func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    // MARK: JSON

    private static func json(_ invoices: [Invoice]) -> String {
        guard !invoices.isEmpty else { return "[]\n" }
        var objects: [String] = []
        for inv in invoices {
            var lines: [String] = []
            for l in inv.lines {
                var fields = ["\"item\": \(jsonString(itemName(l.kind)))",
                              "\"used\": \(quantity(l.used, kind: l.kind))",
                              "\"included\": \(quantity(l.included, kind: l.kind))",
                              "\"overage\": \(quantity(l.overage, kind: l.kind))"]
                if l.kind == .voice {
                    fields += ["\"billed_seconds\": \(l.used)", "\"overage_seconds\": \(l.overage)"]
                }
                fields += ["\"unit_price\": \(jsonString(price(micros: l.unitPriceMicros)))",
                           "\"amount\": \(jsonString(dollars(cents: l.amountCents)))"]
                lines.append("      {" + fields.joined(separator: ", ") + "}")
            }
            let body = [
                "\"tenant\": \(jsonString(inv.tenantID))",
                "\"tenant_name\": \(jsonString(inv.tenantName))",
                "\"period\": \(jsonString(inv.period.description))",
                "\"time_zone\": \(jsonString(inv.timeZoneID))",
                "\"plan\": \(jsonString(inv.planID))",
                "\"plan_name\": \(jsonString(inv.planName))",
                "\"increment\": \(jsonString(inv.increment.description))",
                "\"calls\": \(inv.calls)",
                "\"unbilled_calls\": \(inv.unbilledCalls)",
                "\"messages\": \(inv.messages)",
                "\"plan_fee\": \(jsonString(dollars(cents: inv.planFeeCents)))",
                "\"lines\": [\n" + lines.joined(separator: ",\n") + "\n    ]",
                "\"numbers\": {\"held\": \(inv.numbers), \"included\": \(inv.includedNumbers), \"over_plan\": \(inv.numbersOverPlan)}",
                "\"total\": \(jsonString(dollars(cents: inv.totalCents)))",
            ]
            objects.append("  {\n    " + body.joined(separator: ",\n    ") + "\n  }")
        }
        return "[\n" + objects.joined(separator: ",\n") + "\n]\n"
    }

    /// A JSON string literal (the exports' escaping).
    private static func jsonString(_ s: String) -> String { JSONText.quoted(s) }
}
