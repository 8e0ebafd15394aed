import CallControl
import Configuration
import Daemon
import Foundation
import Media
import Metering
import Observability
import TeXML
#if canImport(Glibc)
import Glibc
#endif

/// Entry point shared by the `tollfreed` executable: returns the exit status.
public func tollfreedMain(_ arguments: [String]) -> Int32 {
    let err = FileDescriptorSink(fd: 2)
    let out = FileDescriptorSink(fd: 1)
    // Hidden: the record store benchmark (bench/store.sh).
    if arguments.first == "bench-store" { return storeBenchmark(Array(arguments.dropFirst()), out: out, err: err) }
    let command: Command
    do {
        command = try CommandLineParser.parse(arguments)
    } catch {
        err.write("tollfreed: \(error)")
        err.write(CommandLineParser.usage)
        return 2
    }
    switch command {
    case .help:
        out.write(CommandLineParser.usage)
        return 0
    case .version:
        out.write("tollfreed \(tollfreedVersion)")
        return 0
    case .helpCommand(let word):
        out.write(CommandHelp.text(word) ?? CommandLineParser.usage)
        return 0
    case .control(let o):
        return runControl(o, out: out, err: err)
    case .checkConfig(let path):
        return checkConfig(path: path, out: out, err: err)
    case .check(let files, let strict):
        return checkFiles(files, strict: strict, out: out, err: err)
    case .simulate(let options):
        return simulate(options, out: out, err: err)
    case .run(let options):
        return runDaemon(options, err: err)
    case .cdrExport(let o):
        return exportRecords(o, messages: false, err: err)
    case .smsExport(let o):
        return exportRecords(o, messages: true, err: err)
    case .bill(let o):
        return bill(o, out: out, err: err)
    case .recordingDecrypt(let id, let outPath, let config, let data):
        return decryptRecording(id: id, out: outPath, configPath: config, dataDirectory: data, stdout: out, err: err)
    case .auditVerify(let config, let data):
        return verifyAudit(configPath: config, dataDirectory: data, out: out, err: err)
    case .retentionRun(let config, let data, let dryRun):
        return runRetention(configPath: config, dataDirectory: data, dryRun: dryRun, out: out, err: err)
    case .keygen(let path):
        return generateKey(path: path, out: out, err: err)
    case .say(let text, let voice, let language, let path):
        return speakToFile(SpeechKey(text: text, voice: voice, language: language), to: path, out: out, err: err)
    }
}

/// `tollfreed check-config`: loads the config and every flow it names.
func checkConfig(path: String, out: FileDescriptorSink, err: FileDescriptorSink) -> Int32 {
    do {
        let (config, flows) = try loadConfiguration(path: path)
        out.write("\(path): OK (\(config.tenants.count) tenants, \(config.numbers.count) numbers, \(flows.count) flows)")
        return 0
    } catch {
        err.write("tollfreed: \(error.description)")
        return error.status
    }
}

/// `tollfreed run`: the daemon in the foreground until it is stopped.
func runDaemon(_ options: RunOptions, err: FileDescriptorSink) -> Int32 {
    do {
        let (config, flows) = try loadConfiguration(path: options.configPath, overrides: options)
        let logger = Logger(minimumLevel: LogLevel(name: config.logLevel) ?? .info)
        try Daemon(config: config, flows: flows, logger: logger, reload: { () throws(StartupError) in
            try loadConfiguration(path: options.configPath, overrides: options)
        }).run()
        return 0
    } catch {
        err.write("tollfreed: \(error.description)")
        return error.status
    }
}

/// `tollfreed say`: speaks `speech` as `<Say>` would into an 8 kHz WAV file.
func speakToFile(_ speech: SpeechKey, to path: String, out: FileDescriptorSink, err: FileDescriptorSink) -> Int32 {
    do {
        let synthesizer = try SpeechSynthesizer(logger: Logger(minimumLevel: .warning))
        let samples = try synthesizer.synthesize(speech)
        try WAVFile.write(samples, to: path)
        out.write("\(path): \(samples.count) samples (\(String(format: "%.2f", Double(samples.count) / 8000)) s at 8 kHz)")
        return 0
    } catch {
        err.write("tollfreed: say: \(error)")
        return 1
    }
}

func writeAll(_ fd: Int32, _ s: String) { writeAll(fd, Array(s.utf8)) }

func writeAll(_ fd: Int32, _ b: [UInt8]) {
    b.withUnsafeBytes { raw in
        var off = 0
        while off < raw.count {
            let n = write(fd, raw.baseAddress! + off, raw.count - off)
            if n <= 0 { if n < 0 && errno == EINTR { continue }; return }
            off += n
        }
    }
}
