@testable import Media
import Foundation
import Observability
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Collects engine events across threads.
private final class EventLog: @unchecked Sendable {
    private let cond = NSCondition()
    private var events: [MediaEvent] = []

    func add(_ e: MediaEvent) { cond.lock(); events.append(e); cond.broadcast(); cond.unlock() }

    /// Waits until `done` holds for the events so far, or `timeout` seconds.
    @discardableResult
    func wait(timeout: Double = 5, until done: ([MediaEvent]) -> Bool) -> [MediaEvent] {
        let deadline = Date().addingTimeInterval(timeout)
        cond.lock(); defer { cond.unlock() }
        while !done(events) && cond.wait(until: deadline) {}
        return events
    }

    func recording(_ token: UInt64, timeout: Double = 5) -> RecordingFile? {
        let all = wait(timeout: timeout) { $0.contains { Self.file($0, token) != nil } }
        return all.lazy.compactMap { Self.file($0, token) }.first
    }

    static func file(_ e: MediaEvent, _ token: UInt64) -> RecordingFile? {
        if case .recordingFinished(_, let t, let f) = e, t == token { return f }
        return nil
    }

    var digits: [(Character, DTMFSource)] {
        wait(timeout: 0) { _ in true }.compactMap {
            if case .dtmf(_, let d, let s) = $0 { return (d, s) }
            return nil
        }
    }
}

/// A UDP socket on loopback (127.0.0.1 or ::1) playing the caller's gateway.
final class Caller {
    let fd: Int32
    let endpoint: UDPEndpoint
    private let to: SocketAddress

    init(host: String = "127.0.0.1", enginePort: UInt16) throws {
        guard let fd = bindUDP(host: host, port: 0), let bound = UDPEndpoint(boundTo: fd) else { throw MediaError("bind failed") }
        self.fd = fd
        endpoint = bound
        to = UDPEndpoint(host: host, port: enginePort)!.socketAddress
    }

    deinit { close(fd) }

    func send(_ packet: [UInt8]) {
        let n = packet.withUnsafeBytes { to.send(fd, $0.baseAddress!, $0.count) }
        XCTAssertEqual(n, packet.count)
    }

    /// Waits up to `timeout` seconds for one datagram; its bytes and source.
    func receive(timeout: Double = 2) -> ([UInt8], UDPEndpoint)? {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, Int32(timeout * 1000)) == 1 else { return nil }
        var buf = [UInt8](repeating: 0, count: 2048)
        var sa = sockaddr_in6()
        var len = socklen_t(MemoryLayout<sockaddr_in6>.size)
        let n = withUnsafeMutablePointer(to: &sa) { sp in
            sp.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buf, buf.count, 0, $0, &len) }
        }
        guard n > 0 else { return nil }
        let from = Int32(sa.sin6_family) == AF_INET6 ? UDPEndpoint(sa) : UDPEndpoint(withUnsafeBytes(of: &sa) { $0.loadUnaligned(as: sockaddr_in.self) })
        return (Array(buf.prefix(n)), from)
    }
}

final class MediaEngineLoopbackTests: XCTestCase {
    private func makeEngine(_ log: EventLog) throws -> MediaEngine {
        let engine = try MediaEngine(address: "127.0.0.1", ports: 43_100...43_139,
                                     logger: Logger(minimumLevel: .debug, journald: false, sink: MemorySink())) { log.add($0) }
        engine.start()
        return engine
    }

    private func peer(_ caller: Caller) -> MediaPeer {
        MediaPeer(remote: caller.endpoint, law: .ulaw, payloadType: 0, telephoneEventPayloadType: 101, sending: false)
    }

    /// Sends comfort-noise packets (counted, never recorded) until the receiver accepts
    /// them: from then on the commands queued before are applied.
    private func waitUntilReceiving(_ engine: MediaEngine, _ id: MediaSessionID, from caller: Caller) throws {
        for i in 0..<500 {
            if let s = engine.stats(id), s.packetsReceived > 0 { usleep(20_000); return }
            caller.send(rtpPacket(pt: 13, seq: UInt16(i), ts: 0, payload: [0x40]))
            usleep(10_000)
        }
        XCTFail("the receiver never accepted a packet")
    }

    /// Sends packets in real time, each audio packet 20 ms after the one before by an
    /// absolute schedule (RFC 4733 events take no time): a recording lasts the time it ran
    /// and places frames by their timestamps checked against their arrival, so audio sent
    /// faster than it plays would not fit.
    private func send(_ packets: [[UInt8]], from caller: Caller) {
        let start = monotonicSeconds()
        var audio = 0
        for p in packets {
            caller.send(p)
            guard p[1] & 0x7F != 101 else { continue }
            audio += 1
            let wait = start + 0.02 * Double(audio) - monotonicSeconds()
            if wait > 0 { usleep(UInt32(wait * 1e6)) }
        }
    }

    func testRecordsThreeSecondsAndReportsBothKindsOfDTMF() throws {
        let log = EventLog()
        let engine = try makeEngine(log)
        defer { engine.stop() }
        let dir = try temporaryDirectory(self)
        let (id, port) = try XCTUnwrap(engine.open())
        let caller = try Caller(enginePort: port)
        engine.configure(id, peer: peer(caller))
        engine.setDTMFDetection(id, enabled: true)
        XCTAssertTrue(engine.startRecording(id, spec: RecordingSpec(path: dir + "/r1.wav", maxLengthSeconds: 3,
                                                                    silenceTimeoutSeconds: 0, trimSilence: false), token: 7))
        try waitUntilReceiving(engine, id, from: caller)
        let before = try XCTUnwrap(engine.stats(id))

        // 3.2 s of audio: a tone, an in-band "4", more tone; an RFC 4733 "7" in the middle.
        let audio = sine(440, seconds: 1) + Tones.dtmfSamples("4") + sine(440, seconds: 2)
        var packets = audioPackets(audio)
        var seq: UInt16 = 5000
        packets.insert(contentsOf: keyPressPackets(7, ts: 80_000, seq: &seq), at: 60)
        // Someone else's packets are dropped, not recorded.
        let stranger = try Caller(enginePort: port)
        for p in audioPackets(sine(1000, seconds: 0.2)) { stranger.send(p) }
        send(packets, from: caller)

        let file = try XCTUnwrap(log.recording(7))
        XCTAssertEqual(file.reason, .maxLength)
        XCTAssertEqual(file.durationMilliseconds, 3000)
        XCTAssertEqual(file.path, dir + "/r1.wav")
        let samples = try WAVFile.read(path: file.path)
        XCTAssertEqual(samples.count, 24_000)
        // The caller starts a little after the recording (silence before it).
        XCTAssertEqual(estimatedFrequency(Array(samples[2400..<8000])), 440, accuracy: 3)

        log.wait(timeout: 1) { evs in evs.filter { if case .dtmf = $0 { return true }; return false }.count >= 2 }
        let digits = log.digits
        XCTAssertEqual(digits.count, 2, "\(digits)")
        XCTAssertTrue(digits.contains { $0 == ("7", .rfc4733) })
        XCTAssertTrue(digits.contains { $0 == ("4", .inband) })

        // The last packets may still be in the socket when the recording ends.
        var stats = try XCTUnwrap(engine.stats(id))
        for _ in 0..<200 where stats.packetsReceived - before.packetsReceived < UInt64(packets.count) {
            usleep(10_000)
            stats = try XCTUnwrap(engine.stats(id))
        }
        XCTAssertEqual(stats.telephoneEvents, 9)
        XCTAssertEqual(stats.packetsReceived - before.packetsReceived, UInt64(packets.count))
        XCTAssertEqual(stats.packetsDropped - before.packetsDropped, 10)
    }

    func testSilenceTimeoutWithoutAnyPackets() throws {
        let log = EventLog()
        let engine = try makeEngine(log)
        defer { engine.stop() }
        let dir = try temporaryDirectory(self)
        let (id, port) = try XCTUnwrap(engine.open())
        let caller = try Caller(enginePort: port)
        engine.configure(id, peer: peer(caller))
        let started = Date()
        engine.startRecording(id, spec: RecordingSpec(path: dir + "/quiet.wav", maxLengthSeconds: 30, silenceTimeoutSeconds: 1), token: 8)
        let file = try XCTUnwrap(log.recording(8))
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertEqual(file.reason, .silence)
        XCTAssertEqual(file.durationMilliseconds, 0)
        XCTAssertGreaterThanOrEqual(elapsed, 0.95)
        XCTAssertLessThan(elapsed, 2.5)
        XCTAssertEqual(try WAVFile.read(path: file.path), [])
    }

    func testSilenceAfterSpeechIsTrimmed() throws {
        let log = EventLog()
        let engine = try makeEngine(log)
        defer { engine.stop() }
        let dir = try temporaryDirectory(self)
        let (id, port) = try XCTUnwrap(engine.open())
        let caller = try Caller(enginePort: port)
        engine.configure(id, peer: peer(caller))
        engine.startRecording(id, spec: RecordingSpec(path: dir + "/t.wav", maxLengthSeconds: 30, silenceTimeoutSeconds: 1), token: 9)
        try waitUntilReceiving(engine, id, from: caller)
        send(audioPackets([Int16](repeating: 0, count: 1600) + sine(440, seconds: 0.6) + [Int16](repeating: 0, count: 800)), from: caller)
        let file = try XCTUnwrap(log.recording(9))
        XCTAssertEqual(file.reason, .silence)
        XCTAssertEqual(file.durationMilliseconds, 600)
    }

    /// Waits until the session has received `count` packets since it opened.
    private func waitForPackets(_ engine: MediaEngine, _ id: MediaSessionID, _ count: UInt64) {
        let deadline = Date().addingTimeInterval(5)
        while (engine.stats(id)?.packetsReceived ?? 0) < count && Date() < deadline { usleep(2000) }
    }

    /// A stopped recording (finish key, hang-up) lasts from its start to its stop, whole
    /// 20 ms frames, whatever the caller sent; the tone is in it.
    private func assertLasted(_ file: RecordingFile, from t0: Double, stop t1: Double, reported t2: Double,
                              tone seconds: Double, line: UInt = #line) throws {
        XCTAssertGreaterThanOrEqual(file.durationMilliseconds, Int((t1 - t0) * 1000) - 25, line: line)
        XCTAssertLessThanOrEqual(file.durationMilliseconds, Int((t2 - t0) * 1000) + 40, line: line)
        let samples = try WAVFile.read(path: file.path)
        XCTAssertEqual(samples.count, file.durationMilliseconds * 8, line: line)
        // |sin| > 1/2 two thirds of the time.
        XCTAssertEqual(Double(samples.filter { abs(Int($0)) > 4000 }.count), seconds * 8000 * 2 / 3, accuracy: 100, line: line)
    }

    func testStopRecordingAndCloseStillWriteTheFile() throws {
        let log = EventLog()
        let engine = try makeEngine(log)
        defer { engine.stop() }
        let dir = try temporaryDirectory(self)
        let (id, port) = try XCTUnwrap(engine.open())
        let caller = try Caller(enginePort: port)
        engine.configure(id, peer: peer(caller))
        let spec = RecordingSpec(path: dir + "/a.wav", maxLengthSeconds: 60, silenceTimeoutSeconds: 0, trimSilence: false)

        var t0 = monotonicSeconds()
        engine.startRecording(id, spec: spec, token: 10)
        try waitUntilReceiving(engine, id, from: caller)
        var tone = audioPackets(sine(440, seconds: 0.4))
        var expected = engine.stats(id)!.packetsReceived + UInt64(tone.count)
        send(tone, from: caller)
        waitForPackets(engine, id, expected)
        var t1 = monotonicSeconds()
        engine.stopRecording(id, reason: .finishKey)
        let first = try XCTUnwrap(log.recording(10))
        XCTAssertEqual(first.reason, .finishKey)
        try assertLasted(first, from: t0, stop: t1, reported: monotonicSeconds(), tone: 0.4)

        // Hang-up: close without stopping; the recording is kept.
        var second = spec
        second.path = dir + "/b.wav"
        t0 = monotonicSeconds()
        engine.startRecording(id, spec: second, token: 11)
        try waitUntilReceiving(engine, id, from: caller)
        tone = audioPackets(sine(440, seconds: 0.5))
        expected = engine.stats(id)!.packetsReceived + UInt64(tone.count)
        send(tone, from: caller)
        waitForPackets(engine, id, expected)
        t1 = monotonicSeconds()
        engine.close(id)
        let file = try XCTUnwrap(log.recording(11))
        XCTAssertEqual(file.reason, .hangup)
        try assertLasted(file, from: t0, stop: t1, reported: monotonicSeconds(), tone: 0.5)
        XCTAssertFalse(engine.startRecording(id, spec: spec, token: 12), "closed session")
    }

    func testStopReasonGivenBeforeCloseWinsAndEngineStopFlushes() throws {
        let log = EventLog()
        let engine = try makeEngine(log)
        let dir = try temporaryDirectory(self)
        let (a, _) = try XCTUnwrap(engine.open())
        let (b, _) = try XCTUnwrap(engine.open())
        engine.startRecording(a, spec: RecordingSpec(path: dir + "/a.wav"), token: 20)
        engine.startRecording(b, spec: RecordingSpec(path: dir + "/b.wav"), token: 21)
        engine.stopRecording(a, reason: .stopped)
        engine.close(a)
        engine.stop() // b is still recording: written before stop returns
        let events = log.wait(timeout: 0) { _ in true }
        XCTAssertEqual(events.compactMap { EventLog.file($0, 20) }.first?.reason, .stopped)
        XCTAssertEqual(events.compactMap { EventLog.file($0, 21) }.first?.reason, .hangup)
        XCTAssertEqual(events.filter { if case .recordingFinished = $0 { return true }; return false }.count, 2)
    }

    func testUnwritablePathReportsFailure() throws {
        let log = EventLog()
        let engine = try makeEngine(log)
        defer { engine.stop() }
        let (id, _) = try XCTUnwrap(engine.open())
        engine.startRecording(id, spec: RecordingSpec(path: "/proc/nope/x.wav"), token: 30)
        engine.stopRecording(id, reason: .stopped)
        let events = log.wait { $0.contains { if case .recordingFailed(_, 30, _) = $0 { return true }; return false } }
        XCTAssertTrue(events.contains { if case .recordingFailed(id, 30, _) = $0 { return true }; return false })
    }

    /// An engine on ::1 sends RTP to an IPv6 peer and takes the peer's RTP (and nothing
    /// from another port of it); a dual-stack engine opens each family on its own address.
    func testIPv6SessionSendsAndReceivesOnLoopback() throws {
        let log = EventLog()
        let engine = try MediaEngine(address: "127.0.0.1", secondaryAddress: "::1", ports: 43_140...43_159,
                                     logger: Logger(minimumLevel: .debug, journald: false, sink: MemorySink())) { log.add($0) }
        engine.start()
        defer { engine.stop() }
        XCTAssertEqual(engine.address(of: .ipv6), "::1")
        let (id, port) = try XCTUnwrap(engine.open(family: .ipv6))
        let caller = try Caller(host: "::1", enginePort: port)
        XCTAssertEqual(caller.endpoint.family, .ipv6)
        var p = peer(caller)
        p.sending = true
        engine.configure(id, peer: p)
        engine.play(id, audio: EncodedAudio(samples: [Int16](repeating: 1000, count: 1600)), loops: 0, token: 1)
        let (packet, from) = try XCTUnwrap(caller.receive(), "RTP from the engine over IPv6")
        XCTAssertEqual(from, UDPEndpoint(host: "::1", port: port))
        XCTAssertEqual(RTPHeader.parse(packet.withUnsafeBytes { $0 })?.header.payloadType, 0)
        try waitUntilReceiving(engine, id, from: caller)
        let stranger = try Caller(host: "::1", enginePort: port)
        stranger.send(rtpPacket(pt: 0, seq: 1, ts: 0, payload: [UInt8](repeating: 0xFF, count: 160)))
        var dropped: UInt64 = 0
        for _ in 0..<200 where dropped == 0 { dropped = engine.stats(id)?.packetsDropped ?? 0; usleep(5_000) }
        XCTAssertEqual(dropped, 1, "another port of ::1 is not the peer")
        let (v4, _) = try XCTUnwrap(engine.open(family: .ipv4))
        let (primary, _) = try XCTUnwrap(engine.open())
        engine.close(v4)
        engine.close(primary)
        engine.close(id)
    }

    func testAnEngineWithoutAnAddressOfAFamilyOpensNoSessionOfIt() throws {
        let engine = try makeEngine(EventLog())
        defer { engine.stop() }
        XCTAssertNil(engine.open(family: .ipv6))
        XCTAssertNil(engine.address(of: .ipv6))
        XCTAssertThrowsError(try MediaEngine(address: "127.0.0.1", secondaryAddress: "127.0.0.2", ports: 43_160...43_169,
                                             logger: Logger(minimumLevel: .debug, journald: false, sink: MemorySink())) { _ in })
        XCTAssertThrowsError(try MediaEngine(address: "localhost", ports: 43_160...43_169,
                                             logger: Logger(minimumLevel: .debug, journald: false, sink: MemorySink())) { _ in })
    }
}
