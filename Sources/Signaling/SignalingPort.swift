import Foundation

/// What the call controller asks of signaling: responses and requests on dialogs, timers
/// and work on the signaling thread. `SIPStack` is the real one (Sofia-SIP); a test gives
/// the controller an in-memory one with a manual clock (swift-nio's `EmbeddedChannel`
/// idea: events in, actions out, no sockets, no sleeps).
///
/// Every method but `post` belongs to the signaling thread (`assertOnSignalingThread`).
public protocol SignalingPort: AnyObject, Sendable {
    /// Runs `work` on the signaling thread; safe from any thread.
    func post(_ work: @escaping @Sendable () -> Void)
    /// Runs `work` on the signaling thread after `ms` milliseconds.
    @discardableResult
    func schedule(afterMilliseconds ms: Int, _ work: @escaping @Sendable () -> Void) -> SIPTimer?
    /// Cancels a timer that has not fired yet.
    func cancel(_ timer: SIPTimer)
    /// Traps (debug builds) when called off the signaling thread.
    func assertOnSignalingThread(_ function: StaticString, file: StaticString, line: UInt)

    func respond(_ handle: SIPCallHandle, status: Int, sdp: String?, headers: [String])
    func adopt(_ handle: SIPCallHandle)
    func bye(_ handle: SIPCallHandle)
    func cancel(_ handle: SIPCallHandle)
    func abandon(_ handle: SIPCallHandle)
    func isAlive(_ handle: SIPCallHandle) -> Bool
    func invite(requestURI: String, from: String, to: String, callID: String?, sdp: String, headers: [String]) -> SIPCallHandle?
    func authenticate(_ handle: SIPCallHandle, scheme: String, realm: String, user: String, password: String)
    func respondToMessage(_ message: IncomingMessage, status: Int, headers: [String])
    func respondToOptions(_ options: IncomingOptions, status: Int, headers: [String])
    /// Dialog and request handles alive (a leak shows here first).
    var liveHandleCount: Int { get }
    /// The wall-clock time now, on the clock the port's timers run by: the controller
    /// stamps records and feeds its sessions with it (a test's port moves it by hand).
    func currentTime() -> Date
}

extension SignalingPort {
    /// The system clock.
    public func currentTime() -> Date { Date() }

    /// `assertOnSignalingThread` naming the caller.
    @inline(__always)
    public func assertOnSignalingThread(function: StaticString = #function, file: StaticString = #fileID, line: UInt = #line) {
        assertOnSignalingThread(function, file: file, line: line)
    }

    public func respond(_ handle: SIPCallHandle, status: Int, sdp: String? = nil) {
        respond(handle, status: status, sdp: sdp, headers: [])
    }

    public func respond(_ handle: SIPCallHandle, status: Int, headers: [String]) {
        respond(handle, status: status, sdp: nil, headers: headers)
    }

    public func respondToMessage(_ message: IncomingMessage, status: Int) {
        respondToMessage(message, status: status, headers: [])
    }

    public func respondToOptions(_ options: IncomingOptions, status: Int) {
        respondToOptions(options, status: status, headers: [])
    }
}

extension SIPStack: SignalingPort {}

extension SIPTimer {
    /// A timer no Sofia timer stands behind (an in-memory port's).
    public init(id: UInt) { raw = id }
    /// The id given to `init(id:)`.
    public var id: UInt { raw }
}

extension SIPCallHandle {
    /// A handle no Sofia dialog stands behind, for an in-memory port: never passed to Sofia.
    public static func detached(serial: UInt64) -> SIPCallHandle {
        SIPCallHandle(UnsafeMutableRawPointer(bitPattern: UInt(serial) << 4 | 0x8)!, serial: serial)
    }
}
