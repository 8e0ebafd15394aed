import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The loopback HTTP server that serves TeXML documents to the daemon in end-to-end
/// tests and records every request (Tests/Support/webhook_server.py).
final class WebhookServer: @unchecked Sendable {
    let port: Int
    let docs: URL
    let logFile: URL
    private let process = Process()

    /// Starts the server with `documents` (path -> TeXML text) to serve.
    /// With `authToken` it checks every request's `X-Twilio-Signature` (logged as
    /// `signature`: valid, invalid or absent).
    init(documents: [String: String], files: [String: Data] = [:], authToken: String? = nil,
         ed25519PublicKey: String? = nil) throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("tf-hooks-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        docs = base.appendingPathComponent("docs")
        logFile = base.appendingPathComponent("requests.jsonl")
        try FileManager.default.createDirectory(at: docs, withIntermediateDirectories: true)
        for (path, text) in documents {
            let file = docs.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: file)
        }
        for (path, data) in files { try data.write(to: docs.appendingPathComponent(path)) }
        let script = Paths.repo.appendingPathComponent("Tests/Support/webhook_server.py").path
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [script, "--port", "0", "--docs", docs.path, "--log", logFile.path]
            + (authToken.map { ["--auth-token", $0] } ?? []) + (ed25519PublicKey.map { ["--ed25519-public-key", $0] } ?? [])
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // The first line on stdout is the port.
        var line = Data()
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let byte = out.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data([0x0A]) { break }
            line.append(byte)
        }
        guard let p = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespaces)) else {
            process.terminate()
            throw NSError(domain: "e2e", code: 2, userInfo: [NSLocalizedDescriptionKey: "webhook server did not start"])
        }
        port = p
    }

    var base: String { "http://127.0.0.1:\(port)" }

    /// Requests received so far, oldest first.
    var requests: [[String: Any]] {
        guard let data = try? Data(contentsOf: logFile) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// Waits for a request to `path`; returns its decoded form fields.
    func waitForRequest(path: String, timeout: TimeInterval = 20,
                        where match: ([String: String]) -> Bool = { _ in true }) -> [String: String]? {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            if let r = requests.first(where: { ($0["path"] as? String) == path && match(Self.fields($0)) }) { return Self.fields(r) }
            usleep(100_000)
        } while Date() < deadline
        return nil
    }

    /// Form fields of a logged request (POST body or GET query), first value of each name.
    static func fields(_ r: [String: Any]) -> [String: String] {
        var out: [String: String] = [:]
        // The server logs form and query fields as ordered [name, value] pairs.
        for key in ["form", "query_params"] {
            for pair in r[key] as? [[String]] ?? [] where pair.count == 2 {
                out[pair[0]] = out[pair[0]] ?? pair[1]
            }
        }
        return out
    }

    func stop() {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
    }

    /// A server nobody stopped is stopped when it goes away (it holds a port).
    deinit { stop() }
}
