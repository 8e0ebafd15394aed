import Foundation
import Metering

/// The version printed by `tollfreed --version`.
public let tollfreedVersion = "0.1.0"

/// A parsed command line.
public enum Command: Equatable {
    case help
    case version
    case run(RunOptions)
    case checkConfig(configPath: String)
    case check(files: [String])
    case simulate(SimulateOptions)
    case cdrExport(ExportOptions)
    case smsExport(ExportOptions)
    case bill(BillOptions)
    case recordingDecrypt(id: String, out: String, configPath: String?, dataDirectory: String?)
    case auditVerify(configPath: String?, dataDirectory: String?)
    case retentionRun(configPath: String?, dataDirectory: String?, dryRun: Bool)
    case keygen(out: String)
    /// Speak `text` the way `<Say>` does and write it as an 8 kHz WAV file.
    case say(text: String, voice: String, language: String, out: String)
}

/// Options of `tollfreed cdr export` and `tollfreed sms export`.
public struct ExportOptions: Equatable {
    public var format: CDRExportFormat = .csv
    public var configPath: String?
    public var dataDirectory: String?
    /// Records starting at or after this instant.
    public var from: Date?
    /// Records starting before this instant.
    public var to: Date?
}

/// Options of `tollfreed bill`.
public struct BillOptions: Equatable {
    /// "YYYY-MM".
    public var period: String
    public var tenant: String?
    public var format: String = "table"
    public var configPath: String?
    public var dataDirectory: String?
    /// Plans file (default: plans.json next to the config file).
    public var plansPath: String?
    /// Rate this CDR export (CSV or JSONL) instead of the live store.
    public var cdrsPath: String?
    /// Message records from this `sms export` file instead of the live store.
    public var messagesPath: String?
    /// 2FA attempts, JSON Lines.
    public var twoFactorPath: String?
}

/// Options of `tollfreed simulate`.
public struct SimulateOptions: Equatable {
    public var flow: String
    public var from: String = "+15551230000"
    public var to: String = "+18005963057"
    public var digits: String = ""
    public var webhookBase: String?
}

/// Options of `tollfreed run`; nil fields keep the config file's value.
public struct RunOptions: Equatable, Sendable {
    public var configPath: String
    public var sip: (host: String, port: Int)?
    public var rtpPorts: ClosedRange<Int>?
    public var dataDirectory: String?
    public var logLevel: String?

    public static func == (a: RunOptions, b: RunOptions) -> Bool {
        a.configPath == b.configPath && a.sip?.host == b.sip?.host && a.sip?.port == b.sip?.port
            && a.rtpPorts == b.rtpPorts && a.dataDirectory == b.dataDirectory && a.logLevel == b.logLevel
    }
}

/// A command-line mistake; the daemon prints it with the usage and exits with status 2.
public struct UsageError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ d: String) { description = d }
}

public enum CommandLineParser {
    public static let usage = """
    Usage:
      tollfreed run [--config FILE] [--sip HOST:PORT] [--rtp-ports LOW-HIGH] [--data DIR] [--log-level LEVEL]
      tollfreed check-config [--config FILE]
      tollfreed check FILE...
      tollfreed simulate FLOW [--from NUMBER] [--to NUMBER] [--digits KEYS] [--webhook-base URL]
      tollfreed cdr export [--format csv|jsonl] [--from TIME] [--to TIME] [--config FILE] [--data DIR]
      tollfreed sms export [--format csv|jsonl] [--from TIME] [--to TIME] [--config FILE] [--data DIR]
      tollfreed bill --period YYYY-MM [--tenant ID] [--format table|csv|json] [--config FILE] [--data DIR]
                     [--plans FILE] [--cdrs FILE] [--messages FILE] [--2fa FILE]
      tollfreed recording decrypt ID --out FILE [--config FILE] [--data DIR]
      tollfreed audit verify [--config FILE] [--data DIR]
      tollfreed retention run [--dry-run] [--config FILE] [--data DIR]
      tollfreed keygen --out FILE
      tollfreed --help | --version

    run            answer calls in the foreground until SIGTERM/SIGINT (graceful drain)
    check-config   validate the config and every call flow it names, then exit
    check          validate TeXML flow files and JSON config files; exit 1 if any is wrong
    simulate       run a flow without SIP and print what the caller would hear and do
                   (--digits "1#": keys pressed at each Gather/Record, "w" lets one time out)
    cdr export     print call detail records (CSV with a header row, or JSON Lines)
    sms export     print message detail records (CSV with a header row, or JSON Lines)
                   TIME: 2026-11-01 (UTC midnight) or 2026-11-01T05:00:00Z; --to is exclusive
    bill           one invoice per tenant for a calendar month in its time zone; --cdrs and
                   --messages rate export files instead of the live store (billing elsewhere),
                   --2fa adds 2FA attempts from a JSON Lines file
    recording decrypt  write a sealed recording (ID: its RE... sid or file name) as WAV; audited
    audit verify   check the audit log's hash chain; exit 1 when an entry was edited or removed
    retention run  delete recordings and transcripts past their tenant's retention; audited
    keygen         write a new AES-256 recording key (mode 0400) to FILE
    say            speak TEXT as <Say> would (--voice, --language) into --out FILE.wav

    --config FILE       JSON config (default: Config/tollfreed.json if present, else /etc/tollfreed/tollfreed.json)
    --sip HOST:PORT     SIP listen address, UDP and TCP (overrides sip.listen)
    --rtp-ports LOW-HIGH  RTP port range (overrides media.rtp_ports)
    --data DIR          data directory for records and recordings (overrides data_dir)
    --log-level LEVEL   error, warning, notice, info or debug
    """

    public static func defaultConfigPath(fileExists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }) -> String {
        fileExists("Config/tollfreed.json") ? "Config/tollfreed.json" : "/etc/tollfreed/tollfreed.json"
    }

    public static func parse(_ args: [String], defaultConfig: String = defaultConfigPath()) throws(UsageError) -> Command {
        guard let first = args.first else { throw UsageError("missing command") }
        var rest = Array(args.dropFirst())
        func value(_ flag: String) throws(UsageError) -> String {
            guard !rest.isEmpty, !rest[0].hasPrefix("--") else { throw UsageError("\(flag) needs a value") }
            return rest.removeFirst()
        }
        switch first {
        case "--help", "-h", "help":
            return .help
        case "--version", "-V", "version":
            return .version
        case "run":
            var o = RunOptions(configPath: defaultConfig)
            while !rest.isEmpty {
                let flag = rest.removeFirst()
                switch flag {
                case "--config": o.configPath = try value(flag)
                case "--sip":
                    let v = try value(flag)
                    guard let hp = ConfigLoader.hostPort(v) else { throw UsageError("--sip must be HOST:PORT, got '\(v)'") }
                    o.sip = hp
                case "--rtp-ports":
                    let v = try value(flag)
                    guard let r = ConfigLoader.portRange(v) else { throw UsageError("--rtp-ports must be LOW-HIGH within 1024-65535, got '\(v)'") }
                    o.rtpPorts = r
                case "--data": o.dataDirectory = try value(flag)
                case "--log-level":
                    let v = try value(flag)
                    guard ["error", "warning", "notice", "info", "debug"].contains(v) else { throw UsageError("--log-level must be error, warning, notice, info or debug") }
                    o.logLevel = v
                default: throw UsageError("unknown option '\(flag)' for run")
                }
            }
            return .run(o)
        case "check-config":
            var path = defaultConfig
            while !rest.isEmpty {
                let flag = rest.removeFirst()
                guard flag == "--config" else { throw UsageError("unknown option '\(flag)' for check-config") }
                path = try value(flag)
            }
            return .checkConfig(configPath: path)
        case "check":
            guard !rest.isEmpty else { throw UsageError("check needs at least one file") }
            if let flag = rest.first(where: { $0.hasPrefix("--") }) { throw UsageError("unknown option '\(flag)' for check") }
            return .check(files: rest)
        case "simulate":
            guard let flow = rest.first, !flow.hasPrefix("--") else { throw UsageError("simulate needs a flow file or URL") }
            rest.removeFirst()
            var o = SimulateOptions(flow: flow)
            while !rest.isEmpty {
                let flag = rest.removeFirst()
                switch flag {
                case "--from": o.from = try value(flag)
                case "--to": o.to = try value(flag)
                case "--digits":
                    let v = try value(flag)
                    guard v.allSatisfy({ "0123456789*#ABCDwW".contains($0) }) else { throw UsageError("--digits takes 0-9 * # A-D and w, got '\(v)'") }
                    o.digits = v
                case "--webhook-base": o.webhookBase = try value(flag)
                default: throw UsageError("unknown option '\(flag)' for simulate")
                }
            }
            return .simulate(o)
        case "cdr", "sms":
            guard rest.first == "export" else { throw UsageError("\(first): expected 'export'") }
            rest.removeFirst()
            var o = ExportOptions()
            while !rest.isEmpty {
                let flag = rest.removeFirst()
                switch flag {
                case "--format":
                    let v = try value(flag)
                    guard let f = CDRExportFormat(rawValue: v) else { throw UsageError("--format must be csv or jsonl, got '\(v)'") }
                    o.format = f
                case "--config": o.configPath = try value(flag)
                case "--data": o.dataDirectory = try value(flag)
                case "--from", "--to":
                    let v = try value(flag)
                    guard let d = ExportTime.parse(v) else { throw UsageError("\(flag) must be a date (2026-11-01) or UTC time (2026-11-01T05:00:00Z), got '\(v)'") }
                    if flag == "--from" { o.from = d } else { o.to = d }
                default: throw UsageError("unknown option '\(flag)' for \(first) export")
                }
            }
            return first == "cdr" ? .cdrExport(o) : .smsExport(o)
        case "recording", "audit", "retention":
            let sub = rest.isEmpty ? "" : rest.removeFirst()
            let expected = ["recording": "decrypt", "audit": "verify", "retention": "run"][first]!
            guard sub == expected else { throw UsageError("\(first): expected '\(expected)'") }
            var id: String?
            var out: String?
            var config: String?
            var data: String?
            var dryRun = false
            if first == "recording" {
                guard let v = rest.first, !v.hasPrefix("--") else { throw UsageError("recording decrypt needs a recording id") }
                id = rest.removeFirst()
            }
            while !rest.isEmpty {
                let flag = rest.removeFirst()
                switch flag {
                case "--out" where first == "recording": out = try value(flag)
                case "--dry-run" where first == "retention": dryRun = true
                case "--config": config = try value(flag)
                case "--data": data = try value(flag)
                default: throw UsageError("unknown option '\(flag)' for \(first) \(expected)")
                }
            }
            switch first {
            case "recording":
                guard let out else { throw UsageError("recording decrypt needs --out FILE") }
                return .recordingDecrypt(id: id!, out: out, configPath: config, dataDirectory: data)
            case "audit": return .auditVerify(configPath: config, dataDirectory: data)
            default: return .retentionRun(configPath: config, dataDirectory: data, dryRun: dryRun)
            }
        case "keygen":
            guard rest.count == 2, rest[0] == "--out" else { throw UsageError("keygen needs --out FILE") }
            return .keygen(out: rest[1])
        case "say":
            var voice = "alice", language = "en-US", out = "", words: [String] = []
            while !rest.isEmpty {
                let flag = rest.removeFirst()
                switch flag {
                case "--voice": voice = try value(flag)
                case "--language": language = try value(flag)
                case "--out": out = try value(flag)
                default:
                    guard !flag.hasPrefix("--") else { throw UsageError("unknown option '\(flag)' for say") }
                    words.append(flag)
                }
            }
            guard !out.isEmpty, !words.isEmpty else { throw UsageError("say needs --out FILE.wav and the text to speak") }
            return .say(text: words.joined(separator: " "), voice: voice, language: language, out: out)
        case "bill":
            var o = BillOptions(period: "")
            while !rest.isEmpty {
                let flag = rest.removeFirst()
                switch flag {
                case "--period":
                    o.period = try value(flag)
                    guard BillingPeriod(o.period) != nil else { throw UsageError("--period must be YYYY-MM, got '\(o.period)'") }
                case "--tenant": o.tenant = try value(flag)
                case "--format":
                    let v = try value(flag)
                    guard InvoiceFormat(rawValue: v) != nil else { throw UsageError("--format must be table, csv or json, got '\(v)'") }
                    o.format = v
                case "--config": o.configPath = try value(flag)
                case "--data": o.dataDirectory = try value(flag)
                case "--plans": o.plansPath = try value(flag)
                case "--cdrs": o.cdrsPath = try value(flag)
                case "--messages": o.messagesPath = try value(flag)
                case "--2fa": o.twoFactorPath = try value(flag)
                default: throw UsageError("unknown option '\(flag)' for bill")
                }
            }
            guard !o.period.isEmpty else { throw UsageError("bill needs --period YYYY-MM") }
            return .bill(o)
        default:
            throw UsageError("unknown command '\(first)'")
        }
    }
}

/// Times on the export and bill command lines.
public enum ExportTime {
    /// "2026-11-01" (UTC midnight) or an ISO-8601 UTC time with optional fraction
    /// ("2026-11-01T05:00:00Z", "2026-11-01T05:00:00.250Z").
    public static func parse(_ s: String) -> Date? {
        if s.count == 10, let d = CDRTime.parse(s + "T00:00:00Z") { return d }
        return CDRTime.parse(s)
    }
}
