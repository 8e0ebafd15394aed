import Configuration
import Observability
import Daemon
import Foundation
import TeXML

/// `tollfreed check [--strict] FILE...`: `.json` files as configs (with their flows), others
/// as TeXML. Prints every error (`file:line:col: <Verb>: message`) and every warning
/// (`file:line:col: warning: <Verb>: message`: markup the platforms document that tollfreed
/// ignores or skips). 1 when a file has an error, or with `strict` a warning.
func checkFiles(_ files: [String], strict: Bool, out: FileDescriptorSink, err: FileDescriptorSink) -> Int32 {
    var failed = false
    for file in files {
        let (errors, warnings, summary) = file.hasSuffix(".json") ? checkConfigFile(file) : checkFlowFile(file)
        for e in errors { err.write("\(e)") }
        for w in warnings { err.write(warningLine(w)) }
        if errors.isEmpty, let summary {
            out.write("\(file): OK (\(summary)" + (warnings.isEmpty ? ")" : ", \(warnings.count) warnings)"))
        }
        if !errors.isEmpty || (strict && !warnings.isEmpty) { failed = true }
    }
    return failed ? 1 : 0
}

/// `file:line:col: warning: <Verb>: message`.
func warningLine(_ w: TeXMLError) -> String {
    let text = w.description
    let prefix = w.location.description + ": "
    return text.hasPrefix(prefix) ? prefix + "warning: " + text.dropFirst(prefix.count) : "warning: " + text
}

/// A TeXML file: all its errors (one per failing verb) and warnings.
private func checkFlowFile(_ file: String) -> (errors: [String], warnings: [TeXMLError], summary: String?) {
    let data: Data
    do {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: file))
        defer { try? handle.close() }
        data = try handle.read(upToCount: TeXMLParser.maxDocumentBytes + 1) ?? Data()
    } catch {
        return (["\(file):0:0: cannot read file: \((error as NSError).localizedDescription)"], [], nil)
    }
    let result = TeXMLParser.diagnose(data, source: file)
    return (result.errors.map(\.description), result.warnings, result.document.map { "\($0.verbs.count) verbs" })
}

/// A config file and the flows it names: its first error, and its flows' warnings.
private func checkConfigFile(_ file: String) -> (errors: [String], warnings: [TeXMLError], summary: String?) {
    do {
        let (config, flows) = try loadConfiguration(path: file)
        let warnings = flows.keys.sorted().flatMap { flows[$0]?.warnings ?? [] }
        return ([], warnings, "config: \(config.numbers.count) numbers, \(flows.count) flows")
    } catch {
        return ([error.description], [], nil)
    }
}
