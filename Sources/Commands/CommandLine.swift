import CallControl
import Configuration
import Daemon
import Foundation
import Metering

/// A parsed command line.
public enum Command: Equatable {
    case help
    case version
    case run(RunOptions)
    case checkConfig(configPath: String)
    case check(files: [String], strict: Bool)
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
    /// A request to the running daemon over its control socket.
    case control(ControlOptions)
    /// `help COMMAND` / `COMMAND --help`.
    case helpCommand(String)
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
      tollfreed check [--strict] FILE...
      tollfreed simulate FLOW [--from NUMBER] [--to NUMBER] [--digits KEYS] [--webhook-base URL]
      tollfreed cdr export [--format csv|jsonl] [--from TIME] [--to TIME] [--config FILE] [--data DIR]
      tollfreed sms export [--format csv|jsonl] [--from TIME] [--to TIME] [--config FILE] [--data DIR]
      tollfreed bill --period YYYY-MM [--tenant ID] [--format table|csv|json] [--config FILE] [--data DIR]
                     [--plans FILE] [--cdrs FILE] [--messages FILE] [--2fa FILE]
      tollfreed recording decrypt ID --out FILE [--config FILE] [--data DIR]
      tollfreed audit verify [--config FILE] [--data DIR]
      tollfreed retention run [--dry-run] [--config FILE] [--data DIR]
      tollfreed keygen --out FILE
      tollfreed say TEXT... --out FILE.wav [--voice VOICE] [--language LANG]
      tollfreed status | calls | drain | undrain | reload [--json] [--socket PATH] [--config FILE]
      tollfreed calls hangup CALL_ID | flows reload NUMBER [--json] [--socket PATH] [--config FILE]
      tollfreed help [COMMAND] | --help | --version

    run            answer calls in the foreground until SIGTERM/SIGINT (graceful drain)
    check-config   validate the config and every call flow it names, then exit
    check          validate TeXML flow files and JSON config files: every error and every
                   warning (markup tollfreed ignores); exit 1 on an error (--strict: on a warning too)
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
    status         the running daemon: calls up, capacity, emergency reserve, ports, draining
    calls          one line per call and leg up; calls hangup CALL_ID ends one (audited)
    drain/undrain  refuse new calls (503, /readyz fails) / admit them again (audited)
    reload         re-read config and flows as SIGHUP does, and report errors (audited)
    flows reload   re-read one number's flow file(s) (audited)
    help COMMAND   that command's options and exit status

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
        var rest = Arguments(Array(args.dropFirst()))
        switch first {
        case "--help", "-h": return .help
        case "help":
            guard let word = rest.next() else { return .help }
            guard CommandHelp.text(word) != nil else { throw UsageError("no help for '\(word)': not a command") }
            return .helpCommand(word)
        case _ where CommandHelp.text(first) != nil && (rest.remaining.contains("--help") || rest.remaining.contains("-h")):
            return .helpCommand(first)
        case "--version", "-V", "version": return .version
        case "run": return try parseRun(&rest, defaultConfig: defaultConfig)
        case "check-config": return try parseCheckConfig(&rest, defaultConfig: defaultConfig)
        case "check": return try parseCheck(rest)
        case "simulate": return try parseSimulate(&rest)
        case "cdr", "sms": return try parseExport(first, &rest)
        case "recording", "audit", "retention": return try parseStoreCommand(first, &rest)
        case "keygen": return try parseKeygen(rest)
        case "say": return try parseSay(&rest)
        case "bill": return try parseBill(&rest)
        case "status", "calls", "drain", "undrain", "reload", "flows": return try parseControl(first, &rest)
        default: throw UsageError("unknown command '\(first)'")
        }
    }
}

extension CommandLineParser {
    /// The arguments after the command word, taken from the front.
    struct Arguments {
        private(set) var remaining: [String]

        init(_ remaining: [String]) { self.remaining = remaining }

        var isEmpty: Bool { remaining.isEmpty }
        var first: String? { remaining.first }

        /// The next argument (a flag, or a word such as `export`), nil when none is left.
        mutating func next() -> String? { remaining.isEmpty ? nil : remaining.removeFirst() }

        /// The value after `flag`: a missing one, or another flag in its place, is an error.
        mutating func value(_ flag: String) throws(UsageError) -> String {
            guard !remaining.isEmpty, !remaining[0].hasPrefix("--") else { throw UsageError("\(flag) needs a value") }
            return remaining.removeFirst()
        }
    }

    /// `run [--config FILE] [--sip HOST:PORT] [--rtp-ports LOW-HIGH] [--data DIR] [--log-level LEVEL]`.
    static func parseRun(_ rest: inout Arguments, defaultConfig: String) throws(UsageError) -> Command {
        var o = RunOptions(configPath: defaultConfig)
        while let flag = rest.next() {
            switch flag {
            case "--config": o.configPath = try rest.value(flag)
            case "--sip":
                let v = try rest.value(flag)
                guard let hp = ConfigLoader.hostPort(v) else { throw UsageError("--sip must be HOST:PORT, got '\(v)'") }
                o.sip = hp
            case "--rtp-ports":
                let v = try rest.value(flag)
                guard let r = ConfigLoader.portRange(v) else { throw UsageError("--rtp-ports must be LOW-HIGH within 1024-65535, got '\(v)'") }
                o.rtpPorts = r
            case "--data": o.dataDirectory = try rest.value(flag)
            case "--log-level":
                let v = try rest.value(flag)
                guard ["error", "warning", "notice", "info", "debug"].contains(v) else { throw UsageError("--log-level must be error, warning, notice, info or debug") }
                o.logLevel = v
            default: throw UsageError("unknown option '\(flag)' for run")
            }
        }
        return .run(o)
    }

    /// `check-config [--config FILE]`.
    static func parseCheckConfig(_ rest: inout Arguments, defaultConfig: String) throws(UsageError) -> Command {
        var path = defaultConfig
        while let flag = rest.next() {
            guard flag == "--config" else { throw UsageError("unknown option '\(flag)' for check-config") }
            path = try rest.value(flag)
        }
        return .checkConfig(configPath: path)
    }

    /// `check [--strict] FILE...`.
    static func parseCheck(_ rest: Arguments) throws(UsageError) -> Command {
        let strict = rest.remaining.contains("--strict")
        let files = rest.remaining.filter { $0 != "--strict" }
        guard !files.isEmpty else { throw UsageError("check needs at least one file") }
        if let flag = files.first(where: { $0.hasPrefix("--") }) { throw UsageError("unknown option '\(flag)' for check") }
        return .check(files: files, strict: strict)
    }

    /// `simulate FLOW [--from NUMBER] [--to NUMBER] [--digits KEYS] [--webhook-base URL]`.
    static func parseSimulate(_ rest: inout Arguments) throws(UsageError) -> Command {
        guard let flow = rest.first, !flow.hasPrefix("--") else { throw UsageError("simulate needs a flow file or URL") }
        _ = rest.next()
        var o = SimulateOptions(flow: flow)
        while let flag = rest.next() {
            switch flag {
            case "--from": o.from = try rest.value(flag)
            case "--to": o.to = try rest.value(flag)
            case "--digits":
                let v = try rest.value(flag)
                guard v.allSatisfy({ "0123456789*#ABCDwW".contains($0) }) else { throw UsageError("--digits takes 0-9 * # A-D and w, got '\(v)'") }
                o.digits = v
            case "--webhook-base": o.webhookBase = try rest.value(flag)
            default: throw UsageError("unknown option '\(flag)' for simulate")
            }
        }
        return .simulate(o)
    }

    /// `cdr export` and `sms export` (`command` is `cdr` or `sms`): format, time range,
    /// config and data directory.
    static func parseExport(_ command: String, _ rest: inout Arguments) throws(UsageError) -> Command {
        guard rest.next() == "export" else { throw UsageError("\(command): expected 'export'") }
        var o = ExportOptions()
        while let flag = rest.next() {
            switch flag {
            case "--format":
                let v = try rest.value(flag)
                guard let f = CDRExportFormat(rawValue: v) else { throw UsageError("--format must be csv or jsonl, got '\(v)'") }
                o.format = f
            case "--config": o.configPath = try rest.value(flag)
            case "--data": o.dataDirectory = try rest.value(flag)
            case "--from", "--to":
                let v = try rest.value(flag)
                guard let d = ExportTime.parse(v) else { throw UsageError("\(flag) must be a date (2026-11-01) or UTC time (2026-11-01T05:00:00Z), got '\(v)'") }
                if flag == "--from" { o.from = d } else { o.to = d }
            default: throw UsageError("unknown option '\(flag)' for \(command) export")
            }
        }
        return command == "cdr" ? .cdrExport(o) : .smsExport(o)
    }

    /// `recording decrypt ID --out FILE`, `audit verify` and `retention run [--dry-run]`
    /// (`command` is the first word), each with `--config FILE` and `--data DIR`.
    static func parseStoreCommand(_ command: String, _ rest: inout Arguments) throws(UsageError) -> Command {
        let sub = rest.next() ?? ""
        let expected = ["recording": "decrypt", "audit": "verify", "retention": "run"][command]!
        guard sub == expected else { throw UsageError("\(command): expected '\(expected)'") }
        var id: String?
        var out: String?
        var config: String?
        var data: String?
        var dryRun = false
        if command == "recording" {
            guard let v = rest.first, !v.hasPrefix("--") else { throw UsageError("recording decrypt needs a recording id") }
            id = rest.next()
        }
        while let flag = rest.next() {
            switch flag {
            case "--out" where command == "recording": out = try rest.value(flag)
            case "--dry-run" where command == "retention": dryRun = true
            case "--config": config = try rest.value(flag)
            case "--data": data = try rest.value(flag)
            default: throw UsageError("unknown option '\(flag)' for \(command) \(expected)")
            }
        }
        switch command {
        case "recording":
            guard let out else { throw UsageError("recording decrypt needs --out FILE") }
            return .recordingDecrypt(id: id!, out: out, configPath: config, dataDirectory: data)
        case "audit": return .auditVerify(configPath: config, dataDirectory: data)
        default: return .retentionRun(configPath: config, dataDirectory: data, dryRun: dryRun)
        }
    }

    /// `keygen --out FILE`.
    static func parseKeygen(_ rest: Arguments) throws(UsageError) -> Command {
        guard rest.remaining.count == 2, rest.remaining[0] == "--out" else { throw UsageError("keygen needs --out FILE") }
        return .keygen(out: rest.remaining[1])
    }

    /// `say TEXT... --out FILE.wav [--voice VOICE] [--language LANG]`: the words not
    /// after a flag are the text.
    static func parseSay(_ rest: inout Arguments) throws(UsageError) -> Command {
        var voice = "alice", language = "en-US", out = "", words: [String] = []
        while let flag = rest.next() {
            switch flag {
            case "--voice": voice = try rest.value(flag)
            case "--language": language = try rest.value(flag)
            case "--out": out = try rest.value(flag)
            default:
                guard !flag.hasPrefix("--") else { throw UsageError("unknown option '\(flag)' for say") }
                words.append(flag)
            }
        }
        guard !out.isEmpty, !words.isEmpty else { throw UsageError("say needs --out FILE.wav and the text to speak") }
        return .say(text: words.joined(separator: " "), voice: voice, language: language, out: out)
    }

    /// `bill --period YYYY-MM [--tenant ID] [--format table|csv|json] [--config FILE]
    /// [--data DIR] [--plans FILE] [--cdrs FILE] [--messages FILE] [--2fa FILE]`.
    static func parseBill(_ rest: inout Arguments) throws(UsageError) -> Command {
        var o = BillOptions(period: "")
        while let flag = rest.next() {
            switch flag {
            case "--period":
                o.period = try rest.value(flag)
                guard BillingPeriod(o.period) != nil else { throw UsageError("--period must be YYYY-MM, got '\(o.period)'") }
            case "--tenant": o.tenant = try rest.value(flag)
            case "--format":
                let v = try rest.value(flag)
                guard InvoiceFormat(rawValue: v) != nil else { throw UsageError("--format must be table, csv or json, got '\(v)'") }
                o.format = v
            case "--config": o.configPath = try rest.value(flag)
            case "--data": o.dataDirectory = try rest.value(flag)
            case "--plans": o.plansPath = try rest.value(flag)
            case "--cdrs": o.cdrsPath = try rest.value(flag)
            case "--messages": o.messagesPath = try rest.value(flag)
            case "--2fa": o.twoFactorPath = try rest.value(flag)
            default: throw UsageError("unknown option '\(flag)' for bill")
            }
        }
        guard !o.period.isEmpty else { throw UsageError("bill needs --period YYYY-MM") }
        return .bill(o)
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
