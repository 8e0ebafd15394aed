// libFuzzer target: the TeXML parser and the flow interpreter (all of Sources/TeXML): what
// a tenant's webhook or file can send. A parsed document is run for a few steps with
// simulated events, as a call would drive it.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    guard let doc = try? TeXMLParser.parse(bytes, source: "fuzz.xml") else { return 0 }
    var interp = FlowInterpreter(document: doc, baseURL: "http://127.0.0.1:9/flow.xml", callParameters: [])
    var actions = interp.start()
    for _ in 0..<32 {
        guard let next = actions.first(where: { $0.token != nil }), let token = next.token else { break }
        actions = interp.handle(.mediaFinished(token))
    }
    return 0
}

extension FlowAction {
    /// The token a media action finishes with, if any.
    var token: FlowToken? {
        switch self {
        case .say(_, let t), .play(_, let t), .sendDigits(_, let t), .beep(let t), .pause(_, let t): t
        default: nil
        }
    }
}
