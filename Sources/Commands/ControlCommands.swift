import Configuration
import Daemon
import Foundation
import Observability
#if canImport(Glibc)
import Glibc
#endif

/// `tollfreed status`, `calls`, `calls hangup`, `drain`, `undrain`, `reload`, `flows
/// reload`: one request to the running daemon over its control socket.
public struct ControlOptions: Equatable {
    var request: ControlRequest
    /// Print the daemon's JSON answer as it is (for scripts) instead of a table.
    var json = false
    var socketPath: String?
    var configPath: String?
}

/// Exit status when the daemon cannot be reached (no socket, refused, no answer).
let controlUnreachableStatus: Int32 = 3

extension CommandLineParser {
    /// The control commands: `status`, `calls [hangup ID]`, `drain`, `undrain`, `reload`,
    /// `flows reload NUMBER`, each with `--json`, `--socket PATH` and `--config FILE`.
    static func parseControl(_ command: String, _ rest: inout Arguments) throws(UsageError) -> Command {
        var request: ControlRequest
        switch command {
        case "status": request = .status
        case "drain": request = .drain
        case "undrain": request = .undrain
        case "reload": request = .reload
        case "calls":
            request = .calls
            if rest.first == "hangup" {
                _ = rest.next()
                guard let id = rest.first, !id.hasPrefix("--") else { throw UsageError("calls hangup needs a call id (CA...)") }
                request = .hangup(rest.next()!)
            }
        default:  // "flows"
            guard rest.next() == "reload" else { throw UsageError("flows: expected 'reload'") }
            guard let number = rest.first, !number.hasPrefix("--") else { throw UsageError("flows reload needs a NUMBER") }
            request = .flowsReload(rest.next()!)
        }
        var o = ControlOptions(request: request)
        let name = command == "flows" ? "flows reload" : (request.command == "calls.hangup" ? "calls hangup" : command)
        while let flag = rest.next() {
            switch flag {
            case "--json": o.json = true
            case "--socket": o.socketPath = try rest.value(flag)
            case "--config": o.configPath = try rest.value(flag)
            default: throw UsageError("unknown option '\(flag)' for \(name)")
            }
        }
        return .control(o)
    }
}

/// Sends the request, prints the answer; 0 when the daemon did it, 1 when it refused, 3
/// when it could not be reached.
func runControl(_ o: ControlOptions, out: FileDescriptorSink, err: FileDescriptorSink) -> Int32 {
    let path: String
    switch controlSocketPath(o) {
    case .success(let p): path = p
    case .failure(let e):
        err.write("tollfreed: \(e.description)")
        return 2
    }
    let text: String
    switch ControlClient.exchange(o.request.line, path: path) {
    case .success(let t): text = t
    case .failure(let e):
        err.write("tollfreed: cannot reach the daemon at \(path): \(e.description)")
        return controlUnreachableStatus
    }
    guard let answer = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
        err.write("tollfreed: the daemon's answer is not JSON: \(text.prefix(200))")
        return 1
    }
    let ok = answer["ok"] as? Bool == true
    if o.json {
        out.write(text.trimmingCharacters(in: .newlines))
    } else if ok {
        out.write(ControlTable.render(o.request, answer))
    }
    if !ok { err.write("tollfreed: \(answer["error"] as? String ?? "refused")") }
    return ok ? 0 : 1
}

/// `--socket`, else the config's `control.socket` (`--config`, or the default config when
/// it is there), else /run/tollfreed/control.sock.
func controlSocketPath(_ o: ControlOptions) -> Result<String, UsageError> {
    if let s = o.socketPath { return .success(s) }
    let fallback = DaemonConfig().controlSocket!
    let configPath = o.configPath ?? CommandLineParser.defaultConfigPath()
    guard o.configPath != nil || FileManager.default.fileExists(atPath: configPath) else { return .success(fallback) }
    do {
        let config = try ConfigLoader.load(path: configPath)
        guard let s = config.controlSocket else {
            return .failure(UsageError("the control socket is off in \(configPath) (control.socket); use --socket PATH"))
        }
        return .success(s)
    } catch {
        return .failure(UsageError("cannot read \(configPath) to find control.socket: \(error); use --socket PATH"))
    }
}

/// The client end of the control socket.
enum ControlClient {
    /// The longest answer read (4,000 calls are about 1 MB).
    static let maxAnswerBytes = 64 << 20

    /// Writes `line` and reads the answer until the daemon closes the connection (30 s at
    /// most: a reload warms new prompts first).
    static func exchange(_ line: String, path: String) -> Result<String, UsageError> {
        guard var addr = ControlSocketAddress.make(path) else { return .failure(UsageError("path too long")) }
        let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard s >= 0 else { return .failure(UsageError(String(cString: strerror(errno)))) }
        defer { close(s) }
        guard ControlSocketAddress.withSockaddr(&addr, { connect(s, $0, $1) }) == 0 else {
            let reason = String(cString: strerror(errno))
            return .failure(UsageError("\(reason) (is tollfreed running? is this its control.socket?)"))
        }
        var tv = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let request = Array((line + "\n").utf8)
        guard request.withUnsafeBytes({ send(s, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else {
            return .failure(UsageError("sending the request: \(String(cString: strerror(errno)))"))
        }
        var answer: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(s, &buf, buf.count, 0)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return .failure(UsageError("no answer within 30 s")) }
            if n == 0 { break }
            answer += buf[0..<n]
            if answer.count > maxAnswerBytes { return .failure(UsageError("answer longer than \(maxAnswerBytes) bytes")) }
        }
        guard !answer.isEmpty else { return .failure(UsageError("the daemon closed the connection without an answer")) }
        return .success(String(decoding: answer, as: UTF8.self))
    }
}
