/// How the media threads take a renegotiation's SRTP contexts: a context whose suite and
/// key did not change is kept, because libsrtp's per-stream state (the rollover counter,
/// the replay window) must carry on; a new context for the same key would send key stream
/// a second time.
extension PacedSession {
    /// Takes the SRTP context of a renegotiation unless the one in use has the same suite
    /// and key: libsrtp's stream state (the rollover counter) must carry on, or key stream
    /// would be used twice.
    mutating func keepOrReplace(_ context: SRTPContext?) {
        guard let context else { srtp = nil; return }
        if let current = srtp, current.suite == context.suite, current.key == context.key { return }
        srtp = context
    }
}

extension ReceivingSession {
    /// Takes a renegotiation's SRTP contexts, keeping those whose keys did not change: the
    /// relay's outbound streams must carry on (rollover counter), and the peer's stream
    /// keeps its replay window.
    mutating func keepOrReplace(_ contexts: SRTPContexts?) {
        guard let contexts else { processor.srtp = nil; relaySRTP = nil; return }
        if let r = processor.srtp, r.suite == contexts.receive.suite, r.key == contexts.receive.key {} else {
            processor.srtp = contexts.receive
        }
        if let r = relaySRTP, r.suite == contexts.relaySend.suite, r.key == contexts.relaySend.key {} else {
            relaySRTP = contexts.relaySend
        }
    }
}
