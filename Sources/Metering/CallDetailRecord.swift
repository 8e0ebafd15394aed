import Foundation

/// How a call ended, as billing and ops read it.
public enum Disposition: String, Sendable, Codable, CaseIterable {
    /// Answered and ended normally by either side.
    case completed
    /// Refused before answer by the flow (Reject) or by us (unknown DID, no codec...).
    case rejected
    /// The caller cancelled before answer.
    case canceled
    /// Could not be set up or broke (no media port, failed ACK...).
    case failed
    /// Refused because the daemon was full or draining.
    case busy
    /// Ended by the daemon to make room for an emergency call.
    case preempted
    /// In progress: written at admission, checkpointed while the call is up.
    case active
    /// Left active by a process that died (crash, `kill -9`); closed at the next start
    /// with the end time of its last checkpoint, billable to that point.
    case interrupted
}

/// Which side ended the call.
public enum HangupSide: String, Sendable, Codable, CaseIterable {
    case caller, daemon, none
    /// The daemon ended the call: no RTP from the caller for `calls.rtp_timeout_s`.
    case rtpTimeout = "rtp_timeout"
    /// The caller never ACKed our 200 within `calls.ack_timeout_ms` (never connected).
    case ackTimeout = "ack_timeout"
}

/// Which way a call leg goes.
public enum CallDirection: String, Sendable, Codable, CaseIterable {
    /// A caller dialed one of our numbers.
    case inbound
    /// We dialed out for a `<Dial>` (a B leg); `parentCallID` names the inbound call.
    case outbound
}

/// One call's record. Times are UTC; durations are whole seconds except `durationMs`.
public struct CallDetailRecord: Sendable, Equatable, Codable {
    /// Our own identifier for the call (unique, also used in logs).
    public var callID: String
    /// The SIP Call-ID of the inbound dialog.
    public var sipCallID: String
    /// The dialed number in E.164 (empty if it did not normalise).
    public var did: String
    public var tenant: String
    /// Caller number as received (E.164 when it normalised).
    public var fromNumber: String
    /// Dialed number as received in the Request-URI.
    public var toNumber: String
    public var startTime: Date
    public var answerTime: Date?
    public var endTime: Date
    /// Answer to end, in milliseconds (0 if never answered).
    public var durationMs: Int
    /// Seconds billed: answered duration rounded up to whole seconds; 0 if not answered.
    /// Per-plan increments (60/60, 6/6...) are applied by rating, not here.
    public var billableSeconds: Int
    public var disposition: Disposition
    /// Final SIP status of the INVITE (200 for answered calls).
    public var sipCode: Int
    public var hangupBy: HangupSide
    public var flow: String
    public var emergency: Bool
    public var rtpSent: UInt64
    public var rtpReceived: UInt64
    public var rtpDropped: UInt64
    /// Recording URL(s) of the call, space-separated when the flow recorded more than once.
    public var recordingURL: String = ""
    /// Total recorded seconds.
    public var recordingSeconds: Int = 0
    public var direction: CallDirection = .inbound
    /// For an outbound leg: the call id of the inbound call it was dialed for.
    public var parentCallID: String = ""
    /// The daemon (cluster node, `node.id`) that handled the call; set by `CDRWriter`.
    public var node: String = ""
    /// Media quality of this leg (RTCP and receive statistics, MOS).
    public var quality = CallQuality()

    public init(callID: String, sipCallID: String, did: String, tenant: String, fromNumber: String,
                toNumber: String, startTime: Date, answerTime: Date?, endTime: Date,
                disposition: Disposition, sipCode: Int, hangupBy: HangupSide, flow: String,
                emergency: Bool = false, rtpSent: UInt64 = 0, rtpReceived: UInt64 = 0, rtpDropped: UInt64 = 0) {
        self.callID = callID
        self.sipCallID = sipCallID
        self.did = did
        self.tenant = tenant
        self.fromNumber = fromNumber
        self.toNumber = toNumber
        self.startTime = startTime
        self.answerTime = answerTime
        self.endTime = endTime
        let ms = answerTime.map { max(0, Int((endTime.timeIntervalSince($0) * 1000).rounded())) } ?? 0
        self.durationMs = ms
        self.billableSeconds = answerTime == nil ? 0 : (ms + 999) / 1000
        self.disposition = disposition
        self.sipCode = sipCode
        self.hangupBy = hangupBy
        self.flow = flow
        self.emergency = emergency
        self.rtpSent = rtpSent
        self.rtpReceived = rtpReceived
        self.rtpDropped = rtpDropped
    }
}

/// One change to the record store.
public enum CDROperation: Sendable {
    /// Insert a record (active at admission, or final for a refused call); never replaces one.
    case insert(CallDetailRecord)
    /// Close an active record with its final values (insert it if it was never begun). A
    /// record that is no longer active is never changed.
    case finish(CallDetailRecord)
    /// While calls are up: their answer time (once known) and the time they were last seen.
    case checkpoint([(callID: String, answerTime: Date?)], at: Date)
    /// Insert a message record; never replaces one.
    case message(MessageDetailRecord)
}

/// Storage for call records, kept small so a server database can replace SQLite.
public protocol CDRStore: Sendable {
    /// Applies operations in order, atomically (all or none) and durably.
    func apply(_ operations: [CDROperation]) throws
    /// Closes every record an earlier process left active as `interrupted`, ending at its
    /// last checkpoint. Returns how many.
    func recoverInterrupted() throws -> Int
    /// Records whose start time is in `from..<to` (either end open when nil), oldest
    /// first, passed one at a time (no full load into memory).
    func forEach(from: Date?, to: Date?, _ body: (CallDetailRecord) throws -> Void) throws
    /// The fields rating reads, for records starting in `from..<to` (a lean query for
    /// billing a month of a million calls).
    func forEachBillable(from: Date?, to: Date?, _ body: (BillableCall) throws -> Void) throws
    /// Message records received in `from..<to`, oldest first, one at a time.
    func forEachMessage(from: Date?, to: Date?, _ body: (MessageDetailRecord) throws -> Void) throws
    /// Number of stored records.
    func count() throws -> Int
}

/// What rating needs of a call record.
public struct BillableCall: Sendable {
    public var tenant: String
    public var startTime: Date
    public var disposition: Disposition
    public var answered: Bool
    public var billableSeconds: Int

    public init(tenant: String, startTime: Date, disposition: Disposition, answered: Bool, billableSeconds: Int) {
        self.tenant = tenant
        self.startTime = startTime
        self.disposition = disposition
        self.answered = answered
        self.billableSeconds = billableSeconds
    }
}

extension CDRStore {
    /// The lean billing query in terms of `forEach` (stores without a faster way).
    public func forEachBillable(from: Date?, to: Date?, _ body: (BillableCall) throws -> Void) throws {
        try forEach(from: from, to: to) { r in
            try body(BillableCall(tenant: r.tenant, startTime: r.startTime, disposition: r.disposition,
                                  answered: r.answerTime != nil, billableSeconds: r.billableSeconds))
        }
    }

    /// All records, oldest first, one at a time.
    public func forEach(_ body: (CallDetailRecord) throws -> Void) throws { try forEach(from: nil, to: nil, body) }

    /// Inserts final records.
    public func append(_ records: [CallDetailRecord]) throws { try apply(records.map { .insert($0) }) }
}
