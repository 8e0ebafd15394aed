import Compliance
import Foundation
@testable import Media
import Metering
import Observability
import Signaling
import TeXML
import Webhooks
@testable import CallControl
@testable import Commands
@testable import Configuration
@testable import Daemon

/// An in-memory signaling port with a manual clock (swift-nio's `EmbeddedChannel` idea):
/// what the controller sends is recorded, timers fire only when the test advances the
/// clock, and work posted from other threads runs when the test drains it.
final class FakeSignalingPort: SignalingPort, @unchecked Sendable {
    enum Sent: Equatable {
        case respond(SIPCallHandle, status: Int, sdp: Bool, headers: [String])
        case bye(SIPCallHandle)
        case cancel(SIPCallHandle)
        case invite(SIPCallHandle, requestURI: String)
        case abandon(SIPCallHandle)
        case messageAnswer(status: Int)
        case optionsAnswer(status: Int)
    }

    private struct Timer { let id: UInt; let due: Int; let work: @Sendable () -> Void }

    private let lock = NSLock()
    private var posted: [@Sendable () -> Void] = []
    private let postedSignal = DispatchSemaphore(value: 0)
    private var timers: [Timer] = []
    private var nextTimer: UInt = 0
    private var nextHandle: UInt64 = 0
    private(set) var alive: Set<SIPCallHandle> = []
    private(set) var sent: [Sent] = []
    private(set) var sdpAnswers: [String] = []
    /// Milliseconds since the port was made (the manual clock).
    private(set) var now = 0
    /// The wall-clock time at `now == 0`.
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    /// A new dialog handle, as Sofia would make for an incoming request.
    func newHandle() -> SIPCallHandle {
        nextHandle += 1
        let h = SIPCallHandle.detached(serial: nextHandle)
        alive.insert(h)
        return h
    }

    /// The dialog is gone (as after Sofia's `terminated` event).
    func end(_ h: SIPCallHandle) { alive.remove(h) }

    /// Runs the timers due within `ms`, in order, with the clock moved to each.
    func advance(by ms: Int) {
        let end = now + ms
        while let next = timers.filter({ $0.due <= end }).min(by: { ($0.due, $0.id) < ($1.due, $1.id) }) {
            timers.removeAll { $0.id == next.id }
            now = next.due
            next.work()
        }
        now = end
    }

    /// Runs the work posted so far (in order), including what it posts.
    func runPosted() {
        while true {
            let work: [@Sendable () -> Void] = lock.withLock { defer { posted = [] }; return posted }
            if work.isEmpty { return }
            for w in work { w() }
        }
    }

    /// Waits up to `timeout` for work posted from another thread, then runs it. False
    /// when none came.
    @discardableResult
    func waitForPosted(timeout: Double = 10) -> Bool {
        guard postedSignal.wait(timeout: .now() + timeout) == .success else { return false }
        runPosted()
        return true
    }

    // MARK: SignalingPort

    func post(_ work: @escaping @Sendable () -> Void) {
        lock.withLock { posted.append(work) }
        postedSignal.signal()
    }

    func schedule(afterMilliseconds ms: Int, _ work: @escaping @Sendable () -> Void) -> SIPTimer? {
        nextTimer += 1
        timers.append(Timer(id: nextTimer, due: now + max(1, ms), work: work))
        return SIPTimer(id: nextTimer)
    }

    func cancel(_ timer: SIPTimer) { timers.removeAll { $0.id == timer.id } }
    func assertOnSignalingThread(_ function: StaticString, file: StaticString, line: UInt) {}

    func respond(_ handle: SIPCallHandle, status: Int, sdp: String?, headers: [String]) {
        if let sdp { sdpAnswers.append(sdp) }
        sent.append(.respond(handle, status: status, sdp: sdp != nil, headers: headers))
        if status >= 300 { alive.remove(handle) }
    }

    func adopt(_ handle: SIPCallHandle) {}
    func bye(_ handle: SIPCallHandle) { sent.append(.bye(handle)) }
    func cancel(_ handle: SIPCallHandle) { sent.append(.cancel(handle)) }
    func abandon(_ handle: SIPCallHandle) { alive.remove(handle); sent.append(.abandon(handle)) }
    func isAlive(_ handle: SIPCallHandle) -> Bool { alive.contains(handle) }

    func invite(requestURI: String, from: String, to: String, callID: String?, sdp: String, headers: [String]) -> SIPCallHandle? {
        let h = newHandle()
        sent.append(.invite(h, requestURI: requestURI))
        return h
    }

    func authenticate(_ handle: SIPCallHandle, scheme: String, realm: String, user: String, password: String) {}
    func respondToMessage(_ message: IncomingMessage, status: Int, headers: [String]) { sent.append(.messageAnswer(status: status)) }
    func respondToOptions(_ options: IncomingOptions, status: Int, headers: [String]) { sent.append(.optionsAnswer(status: status)) }
    var liveHandleCount: Int { alive.count }
    /// The manual clock as a date: `start` plus `now` milliseconds.
    func currentTime() -> Date { start.addingTimeInterval(Double(now) / 1000) }

    /// The statuses sent on `handle`, in order.
    func statuses(_ handle: SIPCallHandle) -> [Int] {
        sent.compactMap { if case .respond(let h, let s, _, _) = $0, h == handle { return s } else { return nil } }
    }
}

/// An in-memory media port: sessions are numbers, nothing is sent; what the controller
/// asked is recorded, and the test delivers media events itself.
final class FakeMediaPort: MediaPort, @unchecked Sendable {
    enum Call: Equatable {
        case open(MediaSessionID), configure(MediaSessionID), play(MediaSessionID, token: UInt64)
        case silence(MediaSessionID, ms: Int, token: UInt64), stopPlayback(MediaSessionID), close(MediaSessionID)
        case dtmf(MediaSessionID, Bool), bridge(MediaSessionID, MediaSessionID)
        case digits(MediaSessionID, String, token: UInt64)
        case listenForSpeech(MediaSessionID, endSilence: Double, token: UInt64), stopListeningForSpeech(MediaSessionID)
    }

    private var next: UInt64 = 0
    private(set) var calls: [Call] = []
    private(set) var open: Set<MediaSessionID> = []
    /// Ports left: `open` fails (as when the range is used up) at 0.
    var portsFree = 100

    /// The family each `open` asked for, in order (nil: the primary).
    private(set) var openedFamilies: [IPFamily?] = []

    func open(emergency: Bool, family: IPFamily?) -> (MediaSessionID, port: UInt16)? {
        openedFamilies.append(family)
        guard portsFree > 0 else { return nil }
        portsFree -= 1
        next += 1
        let id = MediaSessionID(raw: next)
        open.insert(id)
        calls.append(.open(id))
        return (id, 20_000 + UInt16(next % 10_000) * 2)
    }

    func configure(_ id: MediaSessionID, peer: MediaPeer) { calls.append(.configure(id)) }
    func play(_ id: MediaSessionID, audio: EncodedAudio, loops: Int, token: UInt64) { calls.append(.play(id, token: token)) }
    func playSilence(_ id: MediaSessionID, milliseconds: Int, token: UInt64) { calls.append(.silence(id, ms: milliseconds, token: token)) }
    func sendDigits(_ id: MediaSessionID, digits: String, token: UInt64) { calls.append(.digits(id, digits, token: token)) }
    func stopPlayback(_ id: MediaSessionID) { calls.append(.stopPlayback(id)) }
    func setDTMFDetection(_ id: MediaSessionID, enabled: Bool) { calls.append(.dtmf(id, enabled)) }
    func startRecording(_ id: MediaSessionID, spec: RecordingSpec, token: UInt64) -> Bool { true }
    func stopRecording(_ id: MediaSessionID, reason: Media.RecordingEndReason) {}
    func listenForSpeech(_ id: MediaSessionID, spec: SpeechListenSpec, token: UInt64) {
        calls.append(.listenForSpeech(id, endSilence: spec.endSilenceSeconds, token: token))
    }
    func stopListeningForSpeech(_ id: MediaSessionID) { calls.append(.stopListeningForSpeech(id)) }
    func bridge(_ a: MediaSessionID, _ b: MediaSessionID) { calls.append(.bridge(a, b)) }
    func relayOneWay(from: MediaSessionID, to: MediaSessionID) {}
    func unbridge(_ a: MediaSessionID, _ b: MediaSessionID?) {}
    func startCallRecording(_ id: MediaSessionID, path: String, maxSeconds: Int, dual: Bool, token: UInt64,
                            seal: (@Sendable ([UInt8]) throws -> [UInt8])?) -> Bool { true }
    func stopCallRecording(_ id: MediaSessionID, reason: Media.RecordingEndReason) {}
    func stats(_ id: MediaSessionID) -> MediaStats? { open.contains(id) ? MediaStats() : nil }

    func close(_ id: MediaSessionID) -> MediaStats? {
        guard open.remove(id) != nil else { return nil }
        portsFree += 1
        calls.append(.close(id))
        return MediaStats()
    }

    var engineStats: MediaEngineStats { MediaEngineStats(activeSessions: open.count, ticks: 0, lateTicks: 0, portsFree: portsFree) }
}
