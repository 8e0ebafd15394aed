/// Speech listening on the receiver thread (`<Gather input="speech">`).
extension RTPReceiver {
    func applySpeech(_ command: ReceiverCommand) {
        switch command {
        case .startSpeech(let id, let listener):
            guard let fd = fdOf[id] else { return }
            stopSpeech(fd: fd)
            byFD[Int(fd)]?.processor.speech = listener
            speechFDs.append(fd)
        case .stopSpeech(let id):
            if let fd = fdOf[id] { stopSpeech(fd: fd) }
        default:
            break
        }
    }

    /// Reports the onset and the end of the utterance on `fd`; false when it has ended (and
    /// the listener is gone).
    @discardableResult
    func reportSpeech(fd: Int32) -> Bool {
        guard let listener = byFD[Int(fd)]?.processor.speech, let id = byFD[Int(fd)]?.shared.id else { return false }
        if listener.phase != .waiting && !listener.startReported {
            byFD[Int(fd)]!.processor.speech!.startReported = true
            onEvent(.speechStarted(id, token: listener.token))
        }
        guard listener.phase == .ended else { return true }
        stopSpeech(fd: fd)
        onEvent(.speechCaptured(id, token: listener.token, samples: listener.utterance()))
        return false
    }

    func stopSpeech(fd: Int32) {
        guard byFD.indices.contains(Int(fd)), byFD[Int(fd)]?.processor.speech != nil else { return }
        byFD[Int(fd)]!.processor.speech = nil
        if let k = speechFDs.firstIndex(of: fd) { speechFDs.swapAt(k, speechFDs.count - 1); speechFDs.removeLast() }
    }
}
