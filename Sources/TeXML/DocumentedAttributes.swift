/// Attributes Twilio or Telnyx document that tollfreed does not implement, per element,
/// with the reason. A document using one gets a warning that says so (and no "did you
/// mean" guess, which is for typos); the call runs without it. Compiled from the
/// platforms' TwiML and TeXML references (docs/texml.md lists them per verb).
enum DocumentedAttributes {
    static let machineDetection = "answering-machine detection is not implemented"

    static let byElement: [String: [String: String]] = [
        "Say": ["gender": "espeak-ng voices only", "effect": "no audio effects", "voiceSpeed": "espeak-ng speaks at its own rate",
                "api_key_ref": "no external TTS provider"],
        "Play": ["mediaStorage": "no Telnyx media storage", "failoverUrl": "no failover source",
                 "continueOnError": "a failed Play is always skipped"],
        "Gather": ["maxSpeechTime": "utterances end at 60 s", "bargeIn": "speech and keys always stop the prompts",
                   "debug": "no debug mode", "useEnhanced": "one speech model", "transcriptionEngine": "PocketSphinx only",
                   "apiKeyRef": "no external recogniser", "region": "no external recogniser"],
        "Record": ["recordingConfigurationId": "no recording configurations", "transcriptionEngine": "PocketSphinx only"],
        "Dial": ["callReason": "no branded calling", "fromDisplayName": "the From display name is the caller ID",
                 "trim": "bridge recordings are not trimmed", "recordingChannels": "use record=\"...-dual\"",
                 "recordMaxLength": "bridge recordings last as long as the bridge", "recordingConfigurationId": "no recording configurations",
                 "recordingTrack": "both tracks are recorded", "sendRecordingUrl": "the recording URL is always sent",
                 "audioUrl": "ringback is a tone (ringTone)", "referUrl": "SIP REFER is not handled", "referMethod": "SIP REFER is not handled",
                 "events": "no event subscriptions", "passports": "no STIR/SHAKEN passports", "passDiversionHeader": "Diversion is not passed on",
                 "machineDetection": machineDetection, "machineDetectionTimeout": machineDetection,
                 "machineDetectionSpeechThreshold": machineDetection, "machineDetectionSpeechEndThreshold": machineDetection,
                 "machineDetectionSilenceTimeout": machineDetection, "detectionMode": machineDetection],
        "Number": nounAttributes.merging(["byoc": "calls go out through the tenant's trunk"]) { a, _ in a },
        "Sip": nounAttributes,
    ]

    static let nounAttributes: [String: String] = [
        "machineDetection": machineDetection, "machineDetectionTimeout": machineDetection,
        "machineDetectionSpeechThreshold": machineDetection, "machineDetectionSpeechEndThreshold": machineDetection,
        "machineDetectionSilenceTimeout": machineDetection, "amdStatusCallback": machineDetection,
        "amdStatusCallbackMethod": machineDetection, "detectionMode": machineDetection,
    ]

    /// Why `attribute` of `element` is not implemented, when a platform documents it.
    static func reason(_ element: String, _ attribute: String) -> String? {
        byElement[element]?[attribute]
    }
}
