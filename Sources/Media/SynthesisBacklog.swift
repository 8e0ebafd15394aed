/// How far text to speech is behind, so that the wait of a prompt asked for now is known
/// before callers feel it. Two signals, either of which counts:
/// - the prompts queued for the synthesis thread times how long one takes there lately
///   (leading: it sees a queue building before anyone waited);
/// - while any prompt is still in flight, how long the last prompts took from request to
///   audio (lagging, but it includes the conversion stage, which falls behind too when the
///   cores are busy).
/// A pure value: the prompt cache keeps it under its lock and passes the durations in.
public struct SynthesisBacklog: Sendable, Equatable {
    /// Prompts asked for and not yet started on the synthesis thread.
    public private(set) var queued = 0
    /// Prompts asked for and not yet ready.
    public private(set) var inFlight = 0
    /// Seconds one synthesis took on the synthesis thread, as a moving average (the last 10
    /// or so weigh most); 0 before the first.
    public private(set) var secondsPerSynthesis = 0.0
    /// Seconds from request to audio of the last prompts, as a moving average.
    public private(set) var recentLatency = 0.0

    public init() {}

    /// A prompt was asked for and waits for the synthesis thread.
    public mutating func enqueued() {
        queued += 1
        inFlight += 1
    }

    /// The synthesis thread took a prompt.
    public mutating func started() { queued = max(0, queued - 1) }

    /// The synthesis thread finished one after `seconds` (a failure counts too: it held the
    /// thread as long).
    public mutating func synthesized(seconds: Double) {
        secondsPerSynthesis = Self.average(secondsPerSynthesis, max(0, seconds))
    }

    /// A prompt is ready (or failed) `latency` seconds after it was asked for.
    public mutating func ready(latency: Double) {
        inFlight = max(0, inFlight - 1)
        recentLatency = Self.average(recentLatency, max(0, latency))
    }

    /// Seconds a prompt asked for now can be expected to wait for its audio; 0 when nothing
    /// is in flight (an old slow spell does not count once it is over).
    public var expectedWait: Double {
        guard inFlight > 0 else { return 0 }
        return max(Double(queued) * secondsPerSynthesis, recentLatency)
    }

    private static func average(_ old: Double, _ new: Double) -> Double {
        old == 0 ? new : old * 0.9 + new * 0.1
    }
}
