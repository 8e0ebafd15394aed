import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A SIP response as text, with the few fields the tests read.
struct SIPResponse {
    let text: String
    var status: Int { Int(text.split(separator: " ", maxSplits: 2).dropFirst().first ?? "") ?? 0 }
    /// The value of the first header named `name` (case-insensitive), without the name.
    func header(_ name: String) -> String? {
        for line in text.components(separatedBy: "\r\n").dropFirst() {
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { continue }
            if line[..<colon].trimmingCharacters(in: .whitespaces).lowercased() == name.lowercased() {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }
    var body: String { text.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n") }
}

/// One caller speaking SIP over its own UDP socket, written out by hand: the tests that
/// need headers, Contacts or SDP that sipp scenarios cannot vary, or many calls held up at
/// once without a process each.
final class SIPDialogCaller {
    let fd: Int32
    let localPort: UInt16
    let daemonPort: UInt16
    let callID: String
    private let fromTag = "t" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
    private(set) var toHeader: String?
    private var cseq = 1
    /// The From display name, with its quotes (e.g. `"Dr. Jane \"JJ\" Roe"`), or empty.
    var fromDisplay = ""

    /// `tag` prefixes the Call-ID so the test can find the call's record.
    init(daemonPort: UInt16, tag: String) {
        self.daemonPort = daemonPort
        (fd, localPort) = bindLoopbackUDP()
        callID = "\(tag)-\(UInt32.random(in: 0...UInt32.max))@127.0.0.1"
    }

    deinit { close(fd) }

    /// An SDP offer of PCMU from `address`:`rtpPort`.
    static func sdp(address: String = "127.0.0.1", rtpPort: UInt16 = 9, family: String = "IP4", extra: String = "") -> String {
        "v=0\r\no=- 1 1 IN \(family) \(address)\r\ns=-\r\nc=IN \(family) \(address)\r\nt=0 0\r\n" +
            "m=audio \(rtpPort) RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n" + extra
    }

    /// Sends raw bytes to the daemon's SIP port.
    func send(_ text: String) { send(bytes: Array(text.utf8)) }

    /// Sends raw bytes (not necessarily text) to the daemon's SIP port.
    func send(bytes: [UInt8]) {
        var to = sockaddr_in()
        to.sin_family = sa_family_t(AF_INET)
        to.sin_addr.s_addr = inet_addr("127.0.0.1")
        to.sin_port = daemonPort.bigEndian
        _ = bytes.withUnsafeBytes { b in
            withUnsafePointer(to: &to) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, b.baseAddress, b.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
    }

    /// The next datagram, or nil after `timeout` seconds.
    func receive(timeout: TimeInterval) -> String? {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, Int32(timeout * 1000)) == 1 else { return nil }
        var buf = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &buf, buf.count, 0)
        guard n > 0 else { return nil }
        return String(decoding: buf.prefix(n), as: UTF8.self)
    }

    /// Reads until a final (>= 200) response to `method`, answering nothing; requests the
    /// daemon sends meanwhile (BYE) are collected in `requests`.
    func finalResponse(to method: String = "INVITE", timeout: TimeInterval = 10) -> SIPResponse? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard let text = receive(timeout: deadline.timeIntervalSinceNow) else { return nil }
            if text.hasPrefix("SIP/2.0 ") {
                let r = SIPResponse(text: text)
                guard r.status >= 200, r.header("CSeq")?.hasSuffix(method) == true else { continue }
                if let to = r.header("To") { toHeader = to }
                return r
            }
            requests.append(text)
        }
        return nil
    }

    /// Requests the daemon sent to this caller (for instance its BYE).
    var requests: [String] = []

    /// Sends an INVITE for `dial` and returns the final response (not yet ACKed).
    func invite(dial: String, contact: String? = nil, headers: [String] = [], sdp: String? = SIPDialogCaller.sdp(),
                timeout: TimeInterval = 10) -> SIPResponse? {
        sendInvite(dial: dial, contact: contact, headers: headers, sdp: sdp)
        return finalResponse(timeout: timeout)
    }

    /// Sends an INVITE for `dial` without waiting for its response.
    func sendInvite(dial: String, contact: String? = nil, headers: [String] = [], sdp: String? = SIPDialogCaller.sdp()) {
        let body = sdp ?? ""
        var lines = [
            "INVITE sip:\(dial)@127.0.0.1:\(daemonPort) SIP/2.0",
            "Via: SIP/2.0/UDP 127.0.0.1:\(localPort);branch=z9hG4bK\(UInt32.random(in: 0...UInt32.max));rport",
            "From: \(fromDisplay.isEmpty ? "" : fromDisplay + " ")<sip:+15551230000@127.0.0.1>;tag=\(fromTag)",
            "To: <sip:\(dial)@127.0.0.1>",
            "Call-ID: \(callID)",
            "CSeq: \(cseq) INVITE",
            "Contact: \(contact ?? "<sip:caller@127.0.0.1:\(localPort)>")",
            "Max-Forwards: 70",
        ] + headers
        if sdp != nil { lines.append("Content-Type: application/sdp") }
        lines.append("Content-Length: \(body.utf8.count)")
        send(lines.joined(separator: "\r\n") + "\r\n\r\n" + body)
    }

    /// ACKs a final response to the INVITE (2xx: end-to-end ACK to the daemon).
    func ack() {
        send(inDialog("ACK", cseq: cseq))
    }

    /// Sends BYE and waits for its response.
    @discardableResult
    func bye(timeout: TimeInterval = 5) -> SIPResponse? {
        send(byeRequest())
        return finalResponse(to: "BYE", timeout: timeout)
    }

    /// The next BYE of this dialog, to send when the test chooses.
    func byeRequest() -> String {
        cseq += 1
        return inDialog("BYE", cseq: cseq)
    }

    /// Answers a request the daemon sent (its BYE) with 200.
    func answer(_ request: String) {
        let keep = request.components(separatedBy: "\r\n").filter {
            let l = $0.lowercased()
            return l.hasPrefix("via:") || l.hasPrefix("from:") || l.hasPrefix("to:") || l.hasPrefix("call-id:") || l.hasPrefix("cseq:")
        }
        send((["SIP/2.0 200 OK"] + keep + ["Content-Length: 0"]).joined(separator: "\r\n") + "\r\n\r\n")
    }

    /// Waits for the daemon's BYE and answers it; true when it came.
    func awaitBye(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let i = requests.firstIndex(where: { $0.hasPrefix("BYE ") }) {
                answer(requests.remove(at: i))
                return true
            }
            guard let text = receive(timeout: deadline.timeIntervalSinceNow) else { return false }
            if !text.hasPrefix("SIP/2.0 ") { requests.append(text) }
        }
        return false
    }

    /// Sends a SIP INFO digit (application/dtmf-relay) and waits for its response.
    @discardableResult
    func info(digit: Character) -> SIPResponse? {
        cseq += 1
        send(inDialog("INFO", cseq: cseq, contentType: "application/dtmf-relay", body: "Signal=\(digit)\r\nDuration=160\r\n"))
        return finalResponse(to: "INFO", timeout: 5)
    }

    private func inDialog(_ method: String, cseq: Int, contentType: String? = nil, body: String = "") -> String {
        let head = [
            "\(method) sip:\(callTarget) SIP/2.0",
            "Via: SIP/2.0/UDP 127.0.0.1:\(localPort);branch=z9hG4bK\(UInt32.random(in: 0...UInt32.max));rport",
            "From: \(fromDisplay.isEmpty ? "" : fromDisplay + " ")<sip:+15551230000@127.0.0.1>;tag=\(fromTag)",
            "To: \(toHeader ?? "<sip:x@127.0.0.1>")",
            "Call-ID: \(callID)",
            "CSeq: \(cseq) \(method)",
            "Max-Forwards: 70",
        ] + (contentType.map { ["Content-Type: \($0)"] } ?? []) + ["Content-Length: \(body.utf8.count)"]
        return head.joined(separator: "\r\n") + "\r\n\r\n" + body
    }

    private var callTarget: String { "daemon@127.0.0.1:\(daemonPort)" }
}
