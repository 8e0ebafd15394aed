import Foundation
import Media
import XCTest

/// A sipp UAS playing an agent or dispatcher, running in the background on its own port.
final class Agent: @unchecked Sendable {
    let port: UInt16
    private var thread: Thread?
    private let outcome = Mutex<(status: Int32, output: String)?>(nil)

    /// Starts `scenario` answering `calls` calls; `rtpPort` goes into its SDP answer.
    init(_ scenario: String, calls: Int = 1, rtpPort: UInt16 = 9, extra: [String] = [], timeout: Int = 60, port fixed: UInt16? = nil) {
        port = fixed ?? freePort()
        let args = ["-sf", Paths.scenarios.appendingPathComponent(scenario).path, "-i", "127.0.0.1", "-p", "\(port)",
                    "-m", "\(calls)", "-key", "calleertp", "\(rtpPort)", "-nostdin", "-timeout", "\(timeout)s",
                    "-timeout_error"] + extra
        let t = Thread { [outcome] in
            let r = runProgram("/usr/bin/sipp", args, timeout: TimeInterval(timeout + 10))
            outcome.withLock { $0 = r }
        }
        thread = t
        t.start()
        usleep(300_000) // let sipp bind its port
    }

    /// A SIP URI that reaches this agent.
    var uri: String { "sip:agent@127.0.0.1:\(port)" }

    /// Waits for sipp to exit and returns its status and output.
    func wait(timeout: TimeInterval = 60) -> (status: Int32, output: String) {
        let deadline = Date().addingTimeInterval(timeout)
        while outcome.withLock({ $0 }) == nil && Date() < deadline { usleep(20_000) }
        return outcome.withLock { $0 } ?? (-1, "agent still running after \(timeout)s")
    }
}

/// A daemon whose numbers run the given flow documents (written to a fresh directory).
func dialDaemon(flows: [String: String], numbers: [String: String], rtpPorts: Int = 100,
                configure: ((inout [String: Any]) -> Void)? = nil) throws -> DaemonUnderTest {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-dial-flows-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    // The shipped flows stay available for the numbers the test does not remap.
    try FileManager.default.copyItem(at: Paths.repo.appendingPathComponent("CallFlows"), to: dir)
    for (name, xml) in flows { try Data(xml.utf8).write(to: dir.appendingPathComponent(name)) }
    return try DaemonUnderTest(ringMs: 0, rtpPorts: rtpPorts) { cfg in
        cfg["flows_dir"] = dir.path
        var list = cfg["numbers"] as? [[String: Any]] ?? []
        for i in list.indices {
            if let did = list[i]["did"] as? String, let flow = numbers[did] { list[i]["flow"] = flow }
        }
        cfg["numbers"] = list
        configure?(&cfg)
    }
}

extension DaemonUnderTest {
    /// Places a call with sipp in a background thread; `wait()` the returned thread.
    func sippInBackground(_ scenario: String, dial: String, tag: String, rtpPort: UInt16 = 9,
                          extra: [String] = []) -> BackgroundCall {
        let call = BackgroundCall()
        let t = Thread { [self] in
            let r = sipp(scenario, dial: dial, tag: tag, rtpPort: rtpPort, extra: extra)
            call.result.withLock { $0 = r }
        }
        call.thread = t
        t.start()
        return call
    }

    /// Records whose `parent_call_id` is the call id of the record tagged `tag`.
    func legs(ofTag tag: String, timeout: TimeInterval = 10) -> [[String: Any]] {
        guard let parent = record(tag: tag, timeout: timeout)?["call_id"] as? String else { return [] }
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            let legs = records().filter { ($0["parent_call_id"] as? String) == parent }
            if !legs.isEmpty && legs.allSatisfy({ ($0["disposition"] as? String) != "active" }) { return legs }
            usleep(100_000)
        } while Date() < deadline
        return records().filter { ($0["parent_call_id"] as? String) == parent }
    }

    /// The samples of a recording: sealed files (healthcare) are decrypted through the
    /// audited `recording decrypt` command, as an authorised user would.
    func recordingSamples(path: String) throws -> [Int16] {
        guard path.hasSuffix(".enc") else { return try WAVFile.read(path: path) }
        let sid = String(URL(fileURLWithPath: path).lastPathComponent.split(separator: "-").last!.dropLast(".wav.enc".count))
        let out = dataDir.deletingLastPathComponent().appendingPathComponent("\(sid).wav").path
        let r = runProgram(Paths.daemon, ["recording", "decrypt", sid, "--out", out, "--config", configPath.path, "--data", dataDir.path])
        guard r.status == 0 else { throw NSError(domain: "e2e", code: 3, userInfo: [NSLocalizedDescriptionKey: r.output]) }
        return try WAVFile.read(path: out)
    }

    /// Per-channel RMS of a recording (decrypting a sealed one first).
    func recordingChannelRMS(path: String) throws -> [Double] {
        guard path.hasSuffix(".enc") else { return try Tone.channelRMS(wav: path) }
        _ = try recordingSamples(path: path)
        let sid = String(URL(fileURLWithPath: path).lastPathComponent.split(separator: "-").last!.dropLast(".wav.enc".count))
        return try Tone.channelRMS(wav: dataDir.deletingLastPathComponent().appendingPathComponent("\(sid).wav").path)
    }

    /// Waits until the daemon's log contains `text`.
    func waitForLog(_ text: String, timeout: TimeInterval = 15) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            if logText.contains(text) { return true }
            usleep(50_000)
        } while Date() < deadline
        return false
    }
}

/// A sipp call running in the background.
final class BackgroundCall: @unchecked Sendable {
    var thread: Thread?
    let result = Mutex<(status: Int32, output: String)?>(nil)

    func wait(timeout: TimeInterval = 90) -> (status: Int32, output: String) {
        let deadline = Date().addingTimeInterval(timeout)
        while result.withLock({ $0 }) == nil && Date() < deadline { usleep(20_000) }
        return result.withLock { $0 } ?? (-1, "call still running after \(timeout)s")
    }
}

/// Audio checks on what a peer received.
enum Tone {
    /// 8 kHz samples of a `frequency` Hz sine lasting `seconds`.
    static func samples(_ frequency: Double, seconds: Double, amplitude: Double = 8000) -> [Int16] {
        (0..<Int(seconds * 8000)).map { Int16(amplitude * sin(2 * Double.pi * frequency * Double($0) / 8000)) }
    }

    /// Decodes packets with the law their payload type names (0 PCMU, 8 PCMA).
    static func decode(_ packets: [ReceivedPacket]) -> [Int16] {
        packets.flatMap { p in p.payload.map { p.payloadType == 8 ? G711.alawDecode($0) : G711.ulawDecode($0) } }
    }

    /// Share of the signal's power at `frequency` (Goertzel), 0...1.
    static func purity(_ x: [Int16], frequency: Double) -> Double {
        guard !x.isEmpty else { return 0 }
        let w = 2 * Double.pi * frequency / 8000
        let coeff = 2 * cos(w)
        var s1 = 0.0, s2 = 0.0, total = 0.0
        for v in x {
            let d = Double(v)
            total += d * d
            let s0 = d + coeff * s1 - s2
            s2 = s1
            s1 = s0
        }
        let power = s1 * s1 + s2 * s2 - coeff * s1 * s2
        return total == 0 ? 0 : min(1, 2 * power / (Double(x.count) * total))
    }

    /// The highest `purity` over consecutive windows (default 100 ms). A recording places
    /// late packets by arrival time, so one tone can come out as pieces whose phases do not
    /// line up, and a single Goertzel over the whole file then partly cancels them (under
    /// load the shipped-flow test saw 0.03 and 0.19 for the agent's tone over the whole
    /// file). Each window holds whole cycles of 440 and 1000 Hz.
    static func peakPurity(_ x: [Int16], frequency: Double, window: Int = 800) -> Double {
        stride(from: 0, to: max(0, x.count - window + 1), by: window)
            .map { purity(Array(x[$0..<($0 + window)]), frequency: frequency) }.max() ?? 0
    }

    /// Per-channel RMS of a 16-bit WAV file.
    static func channelRMS(wav path: String) throws -> [Double] {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let (format, range) = try WAVFile.parse(bytes)
        let ch = format.channels
        var sums = [Double](repeating: 0, count: ch)
        var n = 0
        var o = range.lowerBound
        while o + 2 * ch <= range.upperBound {
            for c in 0..<ch {
                let v = Double(Int16(bitPattern: UInt16(bytes[o + 2 * c]) | UInt16(bytes[o + 2 * c + 1]) << 8))
                sums[c] += v * v
            }
            n += 1
            o += 2 * ch
        }
        return sums.map { n == 0 ? 0 : ($0 / Double(n)).squareRoot() }
    }
}

/// A minimal SIP caller over raw UDP, for races sipp's strictly ordered scenarios cannot
/// express (two requests in flight at once).
final class RawSIPCaller {
    let fd: Int32
    let port: UInt16
    let callID = "raw-\(UInt32.random(in: 0...UInt32.max))@127.0.0.1"
    private let daemonPort: UInt16
    private var toHeader = ""
    private var branch = 0

    init(daemonPort: UInt16) {
        self.daemonPort = daemonPort
        let (sock, bound) = bindLoopbackUDP()
        port = bound
        fd = sock
        var tv = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Sends `method` (CSeq `cseq`) in the dialog; `sdp` adds a body.
    func send(_ method: String, cseq: Int, dial: String, sdp: String? = nil) {
        branch += 1
        let body = sdp ?? ""
        let to = toHeader.isEmpty ? "To: <sip:\(dial)@127.0.0.1>" : toHeader
        let text = "\(method) sip:\(dial)@127.0.0.1:\(daemonPort) SIP/2.0\r\n"
            + "Via: SIP/2.0/UDP 127.0.0.1:\(port);rport;branch=z9hG4bK-raw-\(branch)-\(callID.prefix(8))\r\n"
            + "From: <sip:+15551230000@127.0.0.1:\(port)>;tag=rawcaller\r\n\(to)\r\nCall-ID: \(callID)\r\n"
            + "CSeq: \(cseq) \(method)\r\nContact: <sip:raw@127.0.0.1:\(port)>\r\nMax-Forwards: 70\r\n"
            + (sdp == nil ? "" : "Content-Type: application/sdp\r\n") + "Content-Length: \(body.utf8.count)\r\n\r\n" + body
        var to4 = sockaddr_in()
        to4.sin_family = sa_family_t(AF_INET)
        to4.sin_addr.s_addr = inet_addr("127.0.0.1")
        to4.sin_port = daemonPort.bigEndian
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { b in
            withUnsafePointer(to: &to4) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, b.baseAddress, b.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
    }

    /// Sends an out-of-dialog MESSAGE to `dial` with a raw body.
    func sendMessage(to dial: String, contentType: String?, body: [UInt8], from: String = "+15551230000") {
        branch += 1
        var head = "MESSAGE sip:\(dial)@127.0.0.1:\(daemonPort) SIP/2.0\r\n"
            + "Via: SIP/2.0/UDP 127.0.0.1:\(port);rport;branch=z9hG4bK-msg-\(branch)-\(UInt32.random(in: 0...UInt32.max))\r\n"
            + "From: <sip:\(from)@127.0.0.1:\(port)>;tag=m\(branch)\r\nTo: <sip:\(dial)@127.0.0.1>\r\n"
            + "Call-ID: msg-\(branch)-\(callID)\r\nCSeq: 1 MESSAGE\r\nMax-Forwards: 70\r\n"
        if let contentType { head += "Content-Type: \(contentType)\r\n" }
        head += "Content-Length: \(body.count)\r\n\r\n"
        sendBytes(Array(head.utf8) + body)
    }

    private func sendBytes(_ bytes: [UInt8]) {
        var to4 = sockaddr_in()
        to4.sin_family = sa_family_t(AF_INET)
        to4.sin_addr.s_addr = inet_addr("127.0.0.1")
        to4.sin_port = daemonPort.bigEndian
        _ = bytes.withUnsafeBytes { b in
            withUnsafePointer(to: &to4) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, b.baseAddress, b.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
    }

    /// Sends a MESSAGE and returns the status of its final response (nil without one).
    func message(to dial: String, contentType: String? = "text/plain;charset=UTF-8", body: [UInt8]) -> Int? {
        sendMessage(to: dial, contentType: contentType, body: body)
        let answers = responses(for: 0.8)
        return answers.compactMap { Int($0.dropFirst(8).prefix(3)) }.first { $0 >= 200 }
    }

    /// Responses received within `seconds` (requests from the daemon are ignored).
    func responses(for seconds: Double) -> [String] {
        var out: [String] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 65536, 0) }
            guard n > 0 else { continue }
            let text = String(decoding: buf[0..<n], as: UTF8.self)
            guard text.hasPrefix("SIP/2.0") else { continue }
            out.append(text)
            if toHeader.isEmpty, text.contains("CSeq: 1 INVITE"), text.hasPrefix("SIP/2.0 200"),
               let line = text.components(separatedBy: "\r\n").first(where: { $0.lowercased().hasPrefix("to:") }) {
                toHeader = line
            }
        }
        return out
    }

    /// Status codes of the responses whose CSeq is `cseq`.
    static func statuses(_ responses: [String], cseq: String) -> [Int] {
        responses.filter { $0.contains("CSeq: \(cseq)") }.compactMap { Int($0.dropFirst(8).prefix(3)) }
    }
}
