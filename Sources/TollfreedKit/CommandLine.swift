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
    case cdrExport(format: CDRExportFormat, configPath: String?, dataDirectory: String?)
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
public struct RunOptions: Equatable {
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
      tollfreed cdr export --format csv|jsonl [--config FILE] [--data DIR]
      tollfreed --help | --version

    run            answer calls in the foreground until SIGTERM/SIGINT (graceful drain)
    check-config   validate the config and every call flow it names, then exit
    check          validate TeXML flow files and JSON config files; exit 1 if any is wrong
    simulate       run a flow without SIP and print what the caller would hear and do
                   (--digits "1#": keys pressed at each Gather/Record, "w" lets one time out)
    cdr export     print call detail records (CSV with a header row, or JSON Lines)

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
        case "cdr":
            guard rest.first == "export" else { throw UsageError("cdr: expected 'export'") }
            rest.removeFirst()
            var format: CDRExportFormat?
            var config: String?
            var data: String?
            while !rest.isEmpty {
                let flag = rest.removeFirst()
                switch flag {
                case "--format":
                    let v = try value(flag)
                    guard let f = CDRExportFormat(rawValue: v) else { throw UsageError("--format must be csv or jsonl, got '\(v)'") }
                    format = f
                case "--config": config = try value(flag)
                case "--data": data = try value(flag)
                default: throw UsageError("unknown option '\(flag)' for cdr export")
                }
            }
            return .cdrExport(format: format ?? .csv, configPath: config, dataDirectory: data)
        default:
            throw UsageError("unknown command '\(first)'")
        }
    }
}
