import Foundation
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
    case .checkConfig(let path):
        do {
            let (config, flows) = try loadConfiguration(path: path)
            out.write("\(path): OK (\(config.tenants.count) tenants, \(config.numbers.count) numbers, \(flows.count) flows)")
            return 0
        } catch {
            err.write("tollfreed: \(error.description)")
            return error.status
        }
    case .check(let files):
        var bad = 0
        for file in files {
            if file.hasSuffix(".json") {
                do {
                    let (config, flows) = try loadConfiguration(path: file)
                    out.write("\(file): OK (config: \(config.numbers.count) numbers, \(flows.count) flows)")
                } catch {
                    bad += 1
                    err.write(error.description)
                }
            } else {
                do {
                    let doc = try TeXMLParser.parse(contentsOf: URL(fileURLWithPath: file))
                    out.write("\(file): OK (\(doc.verbs.count) verbs)")
                } catch {
                    bad += 1
                    err.write("\(error)")
                }
            }
        }
        return bad == 0 ? 0 : 1
    case .simulate(let options):
        return simulate(options, out: out, err: err)
    case .run(let options):
        do {
            let (config, flows) = try loadConfiguration(path: options.configPath, overrides: options)
            let logger = Logger(minimumLevel: LogLevel(name: config.logLevel) ?? .info)
            try Daemon(config: config, flows: flows, logger: logger).run()
            return 0
        } catch {
            err.write("tollfreed: \(error.description)")
            return error.status
        }
    case .cdrExport(let format, let configPath, let dataDirectory):
        var dir = dataDirectory
        if dir == nil {
            let path = configPath ?? CommandLineParser.defaultConfigPath()
            do { dir = try ConfigLoader.load(path: path).dataDirectory } catch {
                err.write("tollfreed: config: \(error)")
                return 2
            }
        }
        do {
            let store = try SQLiteCDRStore(directory: dir!, readOnly: true)
            let exporter = CDRExporter(format: format)
            var buffer = ""
            if let h = exporter.header { buffer += h + "\n" }
            try store.forEach { r in
                buffer += exporter.line(r) + "\n"
                if buffer.utf8.count > 1 << 16 { writeAll(1, buffer); buffer = "" }
            }
            writeAll(1, buffer)
            return 0
        } catch {
            err.write("tollfreed: cdr export: \(error)")
            return 1
        }
    }
}

private func writeAll(_ fd: Int32, _ s: String) {
    var bytes = Array(s.utf8)[...]
    while !bytes.isEmpty {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n <= 0 { return }
        bytes = bytes.dropFirst(n)
    }
}
