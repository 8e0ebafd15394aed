/// The HTTP side of ``MetricsServer``: where a request head ends, and the answer to it.
enum MetricsHTTP {
    /// What the server answers with, computed on its thread when a request head is complete.
    struct Handlers {
        var metrics: () -> String
        var healthy: () -> Bool
        var ready: () -> Bool
    }

    /// The length of the request head (through its blank line) at the start of `bytes`, or
    /// nil when the blank line has not arrived yet. A bare `\n\n` is accepted too.
    static func headLength(_ bytes: [UInt8]) -> Int? {
        var i = 0
        while i + 1 < bytes.count {
            if bytes[i] == 0x0A {
                if bytes[i + 1] == 0x0A { return i + 2 }
                if bytes[i + 1] == 0x0D, i + 2 < bytes.count, bytes[i + 2] == 0x0A { return i + 3 }
            }
            i += 1
        }
        return nil
    }

    /// The answer to a complete request head.
    static func answer(head: ArraySlice<UInt8>, handlers: Handlers) -> [UInt8] {
        let line = String(decoding: head.prefix { $0 != 0x0D && $0 != 0x0A }, as: UTF8.self)
        let parts = line.split(separator: " ")
        let path = parts.count >= 2 ? String(parts[1].split(separator: "?").first ?? "") : ""
        switch (parts.first.map(String.init), path) {
        case ("GET", "/metrics"):
            return response("200 OK", type: "text/plain; version=0.0.4", body: handlers.metrics())
        case ("GET", "/healthz"):
            return handlers.healthy() ? response("200 OK", body: "ok\n")
                : response("503 Service Unavailable", body: "signaling loop stalled\n")
        case ("GET", "/readyz"):
            return handlers.ready() ? response("200 OK", body: "ready\n")
                : response("503 Service Unavailable", body: "not ready\n")
        case ("GET", _):
            return response("404 Not Found", body: "try /metrics, /healthz or /readyz\n")
        default:
            return response("405 Method Not Allowed", body: "GET only\n")
        }
    }

    /// An HTTP/1.0 answer that closes the connection.
    static func response(_ status: String, type: String = "text/plain", body: String) -> [UInt8] {
        Array(("HTTP/1.0 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(body.utf8.count)\r\n"
               + "Connection: close\r\n\r\n\(body)").utf8)
    }
}
