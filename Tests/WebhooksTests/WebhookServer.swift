import Foundation
import XCTest

/// Runs `Tests/Support/webhook_server.py` on 127.0.0.1 for a test and reads its request log.
final class WebhookServer {
    /// One request as the server logged it.
    struct Logged {
        var method: String
        var path: String
        var query: String
        var queryParams: [[String]]
        var form: [[String]]
        var body: String
        var headers: [String: String]
        var time: Double

        func header(_ name: String) -> String? {
            headers.first { $0.key.lowercased() == name.lowercased() }?.value
        }
    }

    let port: Int
    let docs: String
    let logPath: String
    private let process: Process
    private let dir: String

    static var scriptPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Support/webhook_server.py").path
    }

    /// Starts the server with an empty documents directory; throws when it does not report a port.
    init() throws {
        dir = NSTemporaryDirectory() + "webhook-server-\(UUID().uuidString)"
        docs = dir + "/docs"
        logPath = dir + "/requests.jsonl"
        try FileManager.default.createDirectory(atPath: docs, withIntermediateDirectories: true)
        let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }
        process = Process()
        if let python {
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = [Self.scriptPath]
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", Self.scriptPath]
        }
        process.arguments! += ["--port", "0", "--docs", docs, "--log", logPath]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        var line = Data()
        let deadline = Date().addingTimeInterval(15)
        while !line.contains(0x0A) && Date() < deadline {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let text = String(data: line, encoding: .utf8),
              let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.terminate()
            throw NSError(domain: "WebhookServer", code: 1,
                          userInfo: [NSLocalizedDescriptionKey: "webhook_server.py did not start (python3 missing? make deps installs it)"])
        }
        self.port = port
    }

    deinit { stop() }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// `http://127.0.0.1:PORT` + `path`.
    func url(_ path: String) -> URL { URL(string: "http://127.0.0.1:\(port)\(path)")! }

    /// Writes a document the server will serve at `/name`.
    func addDocument(_ name: String, _ content: String) throws {
        try Data(content.utf8).write(to: URL(fileURLWithPath: docs + "/" + name))
    }

    /// Every request logged so far.
    func requests() -> [Logged] {
        guard let data = FileManager.default.contents(atPath: logPath) else { return [] }
        return data.split(separator: 0x0A).compactMap { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else { return nil }
            return Logged(method: o["method"] as? String ?? "", path: o["path"] as? String ?? "",
                          query: o["query"] as? String ?? "", queryParams: o["query_params"] as? [[String]] ?? [],
                          form: o["form"] as? [[String]] ?? [], body: o["body"] as? String ?? "",
                          headers: o["headers"] as? [String: String] ?? [:], time: o["time"] as? Double ?? 0)
        }
    }

    /// Requests to `path`, polled until `count` have arrived or `timeout` passes.
    func requests(to path: String, atLeast count: Int, timeout: TimeInterval = 10) -> [Logged] {
        let deadline = Date().addingTimeInterval(timeout)
        var found = requests().filter { $0.path == path }
        while found.count < count && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
            found = requests().filter { $0.path == path }
        }
        return found
    }
}
