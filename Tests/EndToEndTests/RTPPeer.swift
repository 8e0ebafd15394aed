import Foundation
import Media
#if canImport(Glibc)
import Glibc
#endif

/// One received RTP packet.
struct ReceivedPacket {
    var arrival: TimeInterval
    var marker: Bool
    var payloadType: UInt8
    var sequence: UInt16
    var timestamp: UInt32
    var ssrc: UInt32
    var payload: [UInt8]
    var sourcePort: UInt16
}

/// The caller's media endpoint: a UDP socket that records every packet the daemon sends,
/// and can send RTP back (from itself, or from a stray socket to test source filtering).
/// On 127.0.0.1, or on `host` ("::1" for an IPv6 peer; the daemon's media there too).
final class RTPPeer: @unchecked Sendable {
    let port: UInt16
    let host: String
    private let fd: Int32
    private let packets = Mutex<[ReceivedPacket]>([])
    private let running = Mutex(true)
    private var thread: Thread?

    init(host: String = "127.0.0.1") {
        self.host = host
        var p: UInt16 = 0
        var f: Int32 = -1
        if host != "127.0.0.1" { (f, p) = TestSocketAddress.bindUDP(host: host) ?? (-1, 0) }
        for _ in 0..<20 where host == "127.0.0.1" {
            p = freePort()
            f = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_addr.s_addr = inet_addr("127.0.0.1")
            sa.sin_port = p.bigEndian
            if withUnsafePointer(to: &sa, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(f, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }) == 0 { break }
            close(f)
        }
        port = p
        fd = f
        var tv = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let t = Thread { [self] in receiveLoop() }
        thread = t
        t.start()
    }

    deinit { close(fd) }

    private func receiveLoop() {
        var buf = [UInt8](repeating: 0, count: 2048)
        while running.withLock({ $0 }) {
            var from = sockaddr_in6()  // room for either family
            var len = socklen_t(MemoryLayout<sockaddr_in6>.size)
            let n = buf.withUnsafeMutableBytes { b in
                withUnsafeMutablePointer(to: &from) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, b.baseAddress, 2048, 0, $0, &len) } }
            }
            guard n >= 12 else { continue }
            let now = Date().timeIntervalSince1970
            let h = buf.withUnsafeBytes { RTPHeader.parse(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            guard let h else { continue }
            packets.withLock {
                $0.append(ReceivedPacket(arrival: now, marker: h.header.marker, payloadType: h.header.payloadType,
                                         sequence: h.header.sequence, timestamp: h.header.timestamp, ssrc: h.header.ssrc,
                                         payload: Array(buf[h.payloadOffset..<(h.payloadOffset + h.payloadLength)]),
                                         sourcePort: TestSocketAddress.port(of: from)))
            }
        }
    }

    func stop() { running.withLock { $0 = false }; while thread?.isExecuting == true { usleep(10_000) } }

    var received: [ReceivedPacket] { packets.withLock { $0 } }

    /// Waits until at least `count` packets arrived.
    func waitForPackets(_ count: Int, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline { if received.count >= count { return true }; usleep(20_000) }
        return false
    }

    /// Sends 8 kHz audio as PCMU (or PCMA) packets, 20 ms apart, from this socket. Frames
    /// `skip` picks (by index) are left out as if lost: their 20 ms and timestamps still pass.
    func send(samples: [Int16], toPort port: UInt16, law: G711.Law = .ulaw, skip: (Int) -> Bool = { _ in false }) {
        let to = TestSocketAddress(host: host, port: port)
        var packet = [UInt8](repeating: 0xFF, count: 172)
        let ssrc = UInt32.random(in: 1...UInt32.max)
        let frames = (samples.count + 159) / 160
        for i in 0..<frames {
            if skip(i) { usleep(20_000); continue }
            for j in 0..<160 {
                let k = i * 160 + j
                let v = k < samples.count ? samples[k] : 0
                packet[12 + j] = law == .ulaw ? G711.ulaw(v) : G711.alaw(v)
            }
            RTPHeader(marker: i == 0, payloadType: law == .ulaw ? 0 : 8, sequence: UInt16(i), timestamp: UInt32(i * 160), ssrc: ssrc)
                .write(to: &packet)
            _ = packet.withUnsafeBytes { b in to.withSockaddr { sendto(fd, b.baseAddress, b.count, 0, $0, $1) } }
            usleep(20_000)
        }
    }

    /// Sends `count` PCMU packets of silence to `port`, 20 ms apart, from this socket or,
    /// if `stray`, from a fresh socket the daemon never negotiated.
    func send(count: Int, toPort port: UInt16, stray: Bool, tone: Bool = false) {
        let to = TestSocketAddress(host: host, port: port)
        let s = stray ? socket(to.family, Int32(SOCK_DGRAM.rawValue), 0) : fd
        var packet = [UInt8](repeating: 0xFF, count: 172)
        let ssrc = UInt32.random(in: 1...UInt32.max)
        for i in 0..<count {
            if tone {
                // 440 Hz, continuous phase across packets, well above the silence threshold.
                for j in 0..<160 {
                    let n = Double(i * 160 + j)
                    packet[12 + j] = G711.ulaw(Int16(8000 * sin(2 * Double.pi * 440 * n / 8000)))
                }
            }
            RTPHeader(marker: i == 0, payloadType: 0, sequence: UInt16(i), timestamp: UInt32(i * 160), ssrc: ssrc)
                .write(to: &packet)
            _ = packet.withUnsafeBytes { b in to.withSockaddr { sendto(s, b.baseAddress, b.count, 0, $0, $1) } }
            usleep(20_000)
        }
        if stray { close(s) }
    }
}

/// Speech measurements of received G.711 audio.
struct SpeechMeasure {
    /// 20 ms frames whose RMS is above the silence threshold.
    var loudFrames: Int
    /// Time from the first to the last loud frame, in seconds.
    var speechSpan: Double

    /// Seconds from the first loud frame to the first silence of at least `gap` seconds.
    static func firstTalkspurt(_ packets: [ReceivedPacket], law: G711.Law, threshold: Double = 200, gap: Double = 1.0) -> Double {
        let loud = packets.map { p -> Bool in
            let samples = G711.decode(p.payload, law: law)
            return (samples.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(max(1, samples.count))).squareRoot() > threshold
        }
        guard let start = loud.firstIndex(of: true) else { return 0 }
        var last = start
        for i in start..<loud.count {
            if loud[i] { last = i } else if Double(i - last) * 0.02 >= gap { break }
        }
        return Double(last - start + 1) * 0.02
    }

    init(_ packets: [ReceivedPacket], law: G711.Law, threshold: Double = 200) {
        var loud: [Int] = []
        for (i, p) in packets.enumerated() {
            let samples = G711.decode(p.payload, law: law)
            let rms = (samples.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(max(1, samples.count))).squareRoot()
            if rms > threshold { loud.append(i) }
        }
        loudFrames = loud.count
        speechSpan = loud.isEmpty ? 0 : Double(loud.last! - loud.first! + 1) * 0.02
    }
}
