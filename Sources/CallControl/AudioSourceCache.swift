import Configuration
import Foundation
import Media
import Observability
import Webhooks

/// Audio for `<Play>`: local files and http(s) URLs, WAV or MP3, decoded and resampled to 8 kHz
/// once, encoded in both G.711 laws, and kept for later calls (a URL is fetched once) up
/// to a byte and entry budget, the oldest evicted first: flows often make a URL per call
/// (a TTS service's, a per-caller greeting), which must not grow the daemon without end.
package final class AudioSourceCache: Sendable {
    typealias Completion = @Sendable (Result<EncodedAudio, MediaError>) -> Void

    private struct State {
        var ready: BoundedAudioStore<String>
        var waiting: [String: [Completion]] = [:]
    }

    private let state: Locked<State>
    private let queue = DispatchQueue(label: "audio-sources")
    private let webhooks: WebhookClient
    private let logger: Logger
    /// The Record beep, made once.
    let beep: EncodedAudio

    /// The default budgets: 64 MiB of audio (about 70 minutes, both laws), 1,024 sources.
    static let defaultMaxBytes = 64 << 20
    static let defaultMaxEntries = 1024
    /// The largest audio file fetched for `<Play>`: 16 MiB (about 17 minutes of 128 kbit/s
    /// MP3, or 17 minutes of 8 kHz 16-bit WAV). TeXML documents keep their 64 KiB limit;
    /// audio files are longer, so `webhooks` should be a client with this limit.
    package static let maxFetchBytes = 16 << 20

    /// - Parameter webhooks: the client `<Play>` URLs are fetched with (its body limit is
    ///   the largest file accepted; see `maxFetchBytes`).
    package init(webhooks: WebhookClient, logger: Logger,
                 maxEntries: Int = AudioSourceCache.defaultMaxEntries, maxBytes: Int = AudioSourceCache.defaultMaxBytes) {
        self.state = Locked(State(ready: BoundedAudioStore(maxEntries: maxEntries, maxBytes: maxBytes)))
        self.webhooks = webhooks
        self.logger = logger
        self.beep = Tones.beep()
    }

    /// Bytes of audio the cache holds now.
    var cachedBytes: Int { state.withLock { $0.ready.bytes } }

    /// Sources the cache holds now.
    var cachedEntries: Int { state.withLock { $0.ready.count } }

    /// Delivers the decoded audio for `source` (a path, file: URL or http(s) URL); a URL
    /// fetched now is signed with `signingToken` (the tenant's, as for every request).
    /// `wideband`: for a G.722 call, resampled to 16 kHz and G.722-encoded, an entry of its
    /// own beside the 8 kHz one (made only when a G.722 call asks for it).
    func load(_ source: String, signingToken: String? = nil, wideband: Bool = false, completion: @escaping Completion) {
        enum Next { case hit(EncodedAudio), wait, load }
        // NUL cannot be in a path or URL, so the wideband key never meets a source's.
        let key = wideband ? "\u{0}16k:" + source : source
        let next: Next = state.withLock { s in
            if let a = s.ready[key] { return .hit(a) }
            if s.waiting[key] != nil { s.waiting[key]!.append(completion); return .wait }
            s.waiting[key] = [completion]
            return .load
        }
        switch next {
        case .hit(let a): completion(.success(a))
        case .wait: break
        case .load:
            if source.hasPrefix("http://") || source.hasPrefix("https://"), let url = URL(string: source) {
                var request = WebhookRequest(url: url, method: "GET", parameters: [])
                request.signingToken = signingToken
                webhooks.fetch(request) { [self] result in
                    switch result {
                    case .success(let response):
                        queue.async { [self] in
                            do {
                                complete(key, .success(try EncodedAudio(audioFile: [UInt8](response.body), name: source, wideband: wideband)))
                            } catch {
                                complete(key, .failure(MediaError("\(error)")))
                            }
                        }
                    case .failure(let err):
                        complete(key, .failure(MediaError("\(source): \(err)")))
                    }
                }
            } else {
                let path = source.hasPrefix("file:") ? (URL(string: source)?.path ?? source) : source
                queue.async { [self] in
                    do { complete(key, .success(try EncodedAudio(audioAt: path, wideband: wideband))) } catch {
                        complete(key, .failure(MediaError("\(path): \(error)")))
                    }
                }
            }
        }
    }

    private func complete(_ key: String, _ result: Result<EncodedAudio, MediaError>) {
        let waiters: [Completion] = state.withLock { s in
            if case .success(let a) = result { s.ready.insert(a, for: key) }
            return s.waiting.removeValue(forKey: key) ?? []
        }
        switch result {
        case .success(let a):
            let wide = key.hasPrefix("\u{0}16k:")
            logger.info("play.loaded", ["source": wide ? String(key.dropFirst(5)) : key, "audio_ms": a.durationMilliseconds,
                                        "rate": wide ? 16000 : 8000])
        case .failure(let e): logger.error("play.load_failed", ["error": e])
        }
        for w in waiters { w(result) }
    }
}

