import Configuration
import Foundation
import Metering
import Signaling

/// What is known of a new INVITE before admission control: the facts the gate decides on.
/// The controller gathers them (the per-source rate bucket is consulted only for trusted
/// sources, so untrusted floods spend no tokens).
struct InviteFacts: Equatable {
    /// The source is in the trusted networks for its transport.
    var sourceTrusted = true
    /// The source is within its request rate.
    var withinRate = true
    /// The Contact is one sip:/sips: URI we could send a BYE to (RFC 3261 8.1.1.8).
    var contactUsable = true
    /// Classified as an emergency call (trusted marking, or an emergency DID).
    var emergency = false
    /// Why the source may not open another answered-but-not-ACKed call, if it may not.
    var halfOpenRefusal: String?
    var draining = false
    /// The record spool is full (the database has been away that long).
    var recordBacklogFull = false
    /// The dialed number's flow, when the number is ours.
    var flow: String?
    /// The flow is loaded (a local file) or fetched per call (a URL).
    var flowAvailable = true
    /// The flow is a URL and text to speech is behind (`calls.tts_backlog_ms`): the call's
    /// first words would wait.
    var speechBacklogged = false
}

/// A refusal the caller gets with a record of the attempt.
struct InviteRefusal: Error, Equatable {
    var status: Int
    var disposition: Disposition
    var reason: String
    var headers: [String] = []
    /// The `reason` label of `tollfreed_admission_rejections_total` (default: by status).
    var rejection: String?
}

/// The gate's verdict on a new INVITE.
enum InviteVerdict: Equatable {
    /// Not a call of ours, or part of a flood: answered, counted, never recorded (a record
    /// per flooded INVITE would be disk load an attacker controls).
    case drop(InviteDrop)
    /// A caller we would serve who cannot be served now: refused with a record.
    case refuse(InviteRefusal)
    /// On to admission control.
    case admit

    /// The INVITE got as far as being classified (emergency or not).
    var classified: Bool {
        if case .drop(let d) = self { return !d.beforeClassification }
        return true
    }
}

/// Why an INVITE was dropped, and what it is answered.
enum InviteDrop: Equatable {
    case untrusted, rateLimited, badContact
    case halfOpen(String)
    case recordBacklogFull

    var status: Int {
        switch self {
        case .untrusted: 403
        case .badContact: 400
        case .rateLimited, .halfOpen, .recordBacklogFull: 503
        }
    }

    var headers: [String] {
        switch self {
        case .untrusted: []
        case .badContact: ["Warning: 399 tollfreed \"Contact must be one sip: or sips: URI\""]
        case .rateLimited, .halfOpen: ["Retry-After: 5"]
        case .recordBacklogFull: ["Retry-After: 30"]
        }
    }

    /// Dropped before the call was classified (its emergency marking never looked at).
    var beforeClassification: Bool {
        switch self {
        case .untrusted, .rateLimited, .badContact: true
        case .halfOpen, .recordBacklogFull: false
        }
    }
}

/// The order of the checks a new INVITE passes before admission control, and the offer it
/// carries. Pure functions: no I/O, no clock.
enum InviteGate {
    /// Screening first (source, rate, Contact: not our customers' calls), then the reasons
    /// an ordinary call waits (half-open flood, drain, record backlog) that never stop an
    /// emergency call, except the drain, then the number and its flow, then a speech backlog
    /// (ordinary calls only).
    static func verdict(_ f: InviteFacts) -> InviteVerdict {
        guard f.sourceTrusted else { return .drop(.untrusted) }
        guard f.withinRate else { return .drop(.rateLimited) }
        guard f.contactUsable else { return .drop(.badContact) }
        if !f.emergency, let why = f.halfOpenRefusal { return .drop(.halfOpen(why)) }
        if f.draining {
            return .refuse(InviteRefusal(status: 503, disposition: .busy, reason: "draining", headers: ["Retry-After: 30"]))
        }
        if !f.emergency && f.recordBacklogFull { return .drop(.recordBacklogFull) }
        guard let flow = f.flow else { return .refuse(InviteRefusal(status: 404, disposition: .rejected, reason: "unknown number")) }
        guard f.flowAvailable else {
            return .refuse(InviteRefusal(status: 500, disposition: .failed, reason: "flow \(flow) not loaded"))
        }
        if !f.emergency && f.speechBacklogged {
            return .refuse(InviteRefusal(status: 503, disposition: .busy, reason: "text-to-speech backlog",
                                         headers: ["Retry-After: 5"], rejection: "tts_backlog"))
        }
        return .admit
    }

    /// The INVITE's SDP offer: none (a late offer), parsed, or a refusal (a body that is not
    /// SDP, or SDP we cannot read).
    static func offer(body: String?, contentType: String?) -> Result<SessionDescription?, InviteRefusal> {
        guard let body, !body.isEmpty else { return .success(nil) }
        guard contentType?.lowercased() == "application/sdp" else {
            return .failure(InviteRefusal(status: 415, disposition: .rejected, reason: "body type \(contentType ?? "none")",
                                          headers: ["Accept: application/sdp"]))
        }
        do { return .success(try SDPParser.parse(body)) } catch {
            return .failure(InviteRefusal(status: 400, disposition: .rejected, reason: "malformed SDP: \(error)",
                                          headers: ["Warning: 399 tollfreed \"Malformed SDP: \(headerSafe("\(error)"))\""]))
        }
    }

    /// Text safe inside a quoted header value: no quotes, backslashes or control bytes,
    /// at most 120 characters.
    static func headerSafe(_ text: String) -> String {
        String(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F && $0 != "\"" && $0 != "\\" }.prefix(120).map(Character.init))
    }
}
