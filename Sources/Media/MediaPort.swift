/// What the call controller asks of media: RTP sessions on ports, prompts, recordings,
/// bridges and their counts. `MediaEngine` is the real one (sockets, the pacer and the
/// receiver); a test gives the controller an in-memory one and delivers `MediaEvent`s
/// itself.
public protocol MediaPort: AnyObject, Sendable {
    /// Opens a session on a free port, on the local address of `family` (nil: the primary
    /// one); nil when none is left (for ordinary calls, when only the emergency reserve is
    /// left) or there is no address of that family.
    func open(emergency: Bool, family: IPFamily?) -> (MediaSessionID, port: UInt16)?
    func configure(_ id: MediaSessionID, peer: MediaPeer)
    func play(_ id: MediaSessionID, audio: EncodedAudio, loops: Int, token: UInt64)
    func playSilence(_ id: MediaSessionID, milliseconds: Int, token: UInt64)
    func sendDigits(_ id: MediaSessionID, digits: String, token: UInt64)
    func stopPlayback(_ id: MediaSessionID)
    func setDTMFDetection(_ id: MediaSessionID, enabled: Bool)
    func startRecording(_ id: MediaSessionID, spec: RecordingSpec, token: UInt64) -> Bool
    func stopRecording(_ id: MediaSessionID, reason: RecordingEndReason)
    func listenForSpeech(_ id: MediaSessionID, spec: SpeechListenSpec, token: UInt64)
    func stopListeningForSpeech(_ id: MediaSessionID)
    func bridge(_ a: MediaSessionID, _ b: MediaSessionID)
    func relayOneWay(from: MediaSessionID, to: MediaSessionID)
    func unbridge(_ a: MediaSessionID, _ b: MediaSessionID?)
    func startCallRecording(_ id: MediaSessionID, path: String, maxSeconds: Int, dual: Bool, token: UInt64,
                            seal: (@Sendable ([UInt8]) throws -> [UInt8])?) -> Bool
    func stopCallRecording(_ id: MediaSessionID, reason: RecordingEndReason)
    /// The session's packet counts so far; nil once closed.
    func stats(_ id: MediaSessionID) -> MediaStats?
    /// Closes the session and frees its port; its final counts.
    func close(_ id: MediaSessionID) -> MediaStats?
    var engineStats: MediaEngineStats { get }
}

extension MediaEngine: MediaPort {}
