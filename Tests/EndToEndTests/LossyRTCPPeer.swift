import Foundation
import Media
#if canImport(Glibc)
import Glibc
#endif

/// A caller's media endpoint that misbehaves on purpose and speaks RTCP: it sends RTP with
/// every tenth packet left out and every other packet held back 10 ms, answers the
/// daemon's SRs with RRs that claim `claimedLost` of its packets lost and under-state the
/// delay since the SR by `hiddenDelayMs` (so the daemon must measure that round trip), and
/// keeps every RTCP packet the daemon sends (on RTP port + 1, or with rtcp-mux on the RTP
/// port). Its RTCP reading is written here from RFC 3550, not taken from the daemon.
final class LossyRTCPPeer: @unchecked Sendable {
    struct Report { var type: UInt8; var ssrc: UInt32; var blocks: [(ssrc: UInt32, fraction: UInt8, lost: Int32, jitter: UInt32)]; var cname: String?; var bye: Bool; var muxed: Bool }
    let port: UInt16
    let ssrc = UInt32.random(in: 1...UInt32.max)
    let claimedLost: Int32 = 20
    let hiddenDelayMs = 100
    /// Offered a=rtcp-mux: RTCP both ways on the RTP ports.
    let mux: Bool
    private let rtpFD: Int32, rtcpFD: Int32
    private let state = Mutex((reports: [Report](), lastSR: UInt32(0), srArrival: 0.0, daemonSSRC: UInt32(0), daemonRTPPort: UInt16(0)))
    private let running = Mutex(true)
    private var threads: [Thread] = []

    init(mux: Bool = false) {
        self.mux = mux
        var pair: (UInt16, Int32, Int32)?
        for _ in 0..<50 where pair == nil {
            let p = freePort() & ~1
            let a = Self.bound(p), b = Self.bound(p + 1)
            if a >= 0 && b >= 0 { pair = (p, a, b) } else { if a >= 0 { close(a) }; if b >= 0 { close(b) } }
        }
        (port, rtpFD, rtcpFD) = pair!
        for fd in [rtpFD, rtcpFD] {
            let t = Thread { [self] in receive(fd, muxed: fd == rtpFD) }
            threads.append(t)
            t.start()
        }
    }

    deinit { close(rtpFD); close(rtcpFD) }

    static func bound(_ port: UInt16) -> Int32 {
        let f = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_addr.s_addr = inet_addr("127.0.0.1")
        sa.sin_port = port.bigEndian
        guard withUnsafePointer(to: &sa, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(f, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }) == 0 else {
            close(f)
            return -1
        }
        var tv = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(f, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        return f
    }

    func stop() {
        running.withLock { $0 = false }
        for t in threads { while t.isExecuting { usleep(10_000) } }
    }

    var reports: [Report] { state.withLock { $0.reports } }
    /// The daemon's RTP port, once its first packet came.
    var daemonPort: UInt16? { let p = state.withLock { $0.daemonRTPPort }; return p == 0 ? nil : p }

    private func receive(_ fd: Int32, muxed: Bool) {
        var buf = [UInt8](repeating: 0, count: 2048)
        while running.withLock({ $0 }) {
            var from = sockaddr_in()
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            let n = buf.withUnsafeMutableBytes { b in
                withUnsafeMutablePointer(to: &from) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, b.baseAddress, 2048, 0, $0, &len) } }
            }
            guard n >= 8 else { continue }
            let bytes = Array(buf[0..<n])
            if muxed && !(200...204).contains(bytes[1]) {
                state.withLock { if $0.daemonRTPPort == 0 { $0.daemonRTPPort = UInt16(bigEndian: from.sin_port) } }
                continue  // the daemon's RTP
            }
            if let r = Self.parse(bytes, muxed: muxed) {
                state.withLock {
                    $0.reports.append(r)
                    if r.type == 200 {
                        $0.lastSR = Self.u32(bytes, 10)  // the middle 32 bits of the NTP time
                        $0.srArrival = Date().timeIntervalSince1970
                        $0.daemonSSRC = r.ssrc
                    }
                }
            }
        }
    }

    static func u32(_ b: [UInt8], _ i: Int) -> UInt32 { UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3]) }

    /// SR/RR with their blocks, SDES CNAME, BYE, from a compound packet.
    static func parse(_ b: [UInt8], muxed: Bool) -> Report? {
        var r = Report(type: 0, ssrc: 0, blocks: [], cname: nil, bye: false, muxed: muxed)
        var at = 0
        while at + 4 <= b.count {
            let count = Int(b[at] & 0x1F), type = b[at + 1], length = ((Int(b[at + 2]) << 8 | Int(b[at + 3])) + 1) * 4
            guard b[at] >> 6 == 2, at + length <= b.count else { return nil }
            switch type {
            case 200, 201:
                r.type = type
                r.ssrc = u32(b, at + 4)
                let first = at + (type == 200 ? 28 : 8)
                for k in 0..<count {
                    let o = first + k * 24
                    let word = u32(b, o + 4)
                    r.blocks.append((u32(b, o), UInt8(word >> 24), Int32(bitPattern: word << 8) >> 8, u32(b, o + 12)))
                }
            case 202:
                if b[at + 8] == 1 { r.cname = String(decoding: b[(at + 10)..<(at + 10 + Int(b[at + 9]))], as: UTF8.self) }
            case 203:
                r.bye = true
            default: break
            }
            at += length
        }
        return r.type == 0 ? nil : r
    }

    /// Sends `packets` 20 ms slots of RTP to `daemonPort`, leaving out every tenth (k % 10 == 5)
    /// and holding every other one back 10 ms; after each daemon SR, an RR back.
    func talk(to daemonPort: UInt16, packets: Int) {
        var packet = [UInt8](repeating: 0xFF, count: 172)
        let start = Date().timeIntervalSince1970
        var answered: UInt32 = 0
        for k in 0..<packets {
            let due = start + Double(k) * 0.02 + (k % 2 == 1 ? 0.010 : 0)
            let wait = due - Date().timeIntervalSince1970
            if wait > 0 { usleep(UInt32(wait * 1_000_000)) }
            if k % 10 != 5 {
                RTPHeader(marker: k == 0, payloadType: 0, sequence: UInt16(k), timestamp: UInt32(k * 160), ssrc: ssrc).write(to: &packet)
                send(packet, fd: rtpFD, port: daemonPort)
            }
            let sr = state.withLock { ($0.lastSR, $0.srArrival, $0.daemonSSRC) }
            // Held 150 ms (so there is delay to hide), then reported as held 50 ms.
            if sr.0 != 0 && sr.0 != answered && Date().timeIntervalSince1970 - sr.1 >= 0.15 {
                answered = sr.0
                sendReceiverReport(to: mux ? daemonPort : daemonPort + 1, about: sr.2, lastSR: sr.0, heldFor: Date().timeIntervalSince1970 - sr.1)
            }
        }
    }

    private func sendReceiverReport(to port: UInt16, about daemon: UInt32, lastSR: UInt32, heldFor: Double) {
        let dlsr = UInt32(max(0, (heldFor * 1000 - Double(hiddenDelayMs)) / 1000 * 65536))
        var p: [UInt8] = [0x81, 201, 0, 7]
        func put(_ v: UInt32) { p += [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        put(ssrc); put(daemon); put(UInt32(64) << 24 | UInt32(bitPattern: claimedLost) & 0xFF_FFFF)
        put(1000); put(80); put(lastSR); put(dlsr)
        send(p, fd: mux ? rtpFD : rtcpFD, port: port)
    }

    private func send(_ bytes: [UInt8], fd: Int32, port: UInt16) {
        var to = sockaddr_in()
        to.sin_family = sa_family_t(AF_INET)
        to.sin_addr.s_addr = inet_addr("127.0.0.1")
        to.sin_port = port.bigEndian
        _ = bytes.withUnsafeBytes { b in
            withUnsafePointer(to: &to) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, b.baseAddress, b.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
    }
}
