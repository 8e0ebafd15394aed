import Media
import Signaling

extension CallController {
    /// The prompt for `key` if it can play now. For a G.722 call (`key.wideband`) that is
    /// its 16 kHz form, else its 8 kHz one (the flows' prompts are synthesised at start-up
    /// at 8 kHz): that one plays at once, G.722-encoded from 8 kHz, and the 16 kHz form is
    /// made in the background for the next caller, so a G.722 caller never waits longer
    /// than a G.711 one for a prompt the cache has.
    func cachedPrompt(_ key: SpeechKey, tenant: String) -> EncodedAudio? {
        if let audio = services.prompts.cached(key) { return audio }
        guard key.wideband else { return nil }
        var narrow = key
        narrow.wideband = false
        guard let audio = services.prompts.cached(narrow) else { return nil }
        services.prompts.request(key, tenant: tenant) { _ in }
        return audio
    }
}
