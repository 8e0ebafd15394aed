import CallControl
import Foundation
import TeXML

/// `tollfreed flows reload NUMBER`: re-reads the local flow file(s) of one number (its flow
/// and its fallback) and hands them to the controller; new calls to every number using
/// those files get them, calls in progress keep theirs. A file that does not parse is
/// refused with its error and the loaded flow keeps serving. The rest of the config is
/// not read (that is `tollfreed reload`).
struct FlowReload {
    let actions: ControlActions

    func reload(number: String) -> [String: Any] {
        let controller = actions.controller
        guard let found = actions.onSignaling({ controller.localFlows(forNumber: number) }) else {
            return ControlActions.signalingTimeout
        }
        guard let (did, names, directory) = found else {
            return ControlJSON.failure("no number \(number) in the running configuration")
        }
        guard !names.isEmpty else {
            return ControlJSON.failure("\(did) answers with a URL flow, fetched for every call: there is no file to reload")
        }
        var documents: [String: FlowDocument] = [:]
        for name in names {
            let path = name.hasPrefix("/") ? name : (directory as NSString).appendingPathComponent(name)
            do {
                documents[name] = try TeXMLParser.parse(contentsOf: URL(fileURLWithPath: path))
            } catch {
                return ControlJSON.failure("flow \(name): \(error); the loaded flow keeps serving")
            }
        }
        let parsed = documents
        actions.prompts.warm(parsed.values)
        logIgnoredMarkup(parsed, logger: actions.logger)
        guard actions.onSignaling({ controller.replaceFlows(parsed) }) != nil else { return ControlActions.signalingTimeout }
        let warnings = documents.values.reduce(0) { $0 + $1.warnings.count }
        actions.logger.notice("flows.reloaded", ["number": did, "flows": names.joined(separator: ","), "warnings": warnings])
        return ["ok": true, "number": did, "flows": names.sorted(), "warnings": warnings]
    }
}
