import Foundation
import Metering
import Routing
import Signaling

/// The daemon's configuration (`Config/tollfreed.json`). See docs/configuration.md.
public struct DaemonConfig: Sendable, Equatable {
    public struct Tenant: Sendable, Equatable {
        public var id: String
        public var name: String
        public var industry: Industry
        public var plan: String
        public var timeZone: String
        /// The `AccountSid` sent to webhooks (`account_sid`); nil: one derived from the id.
        public var accountSID: String?
        /// Signs every webhook request as Twilio does (`X-Twilio-Signature`); nil: unsigned.
        public var authToken: String? = nil
        /// The trunk `<Number>` targets go out through (default: the first trunk).
        public var trunk: String? = nil
        /// Billing increment overriding the plan's ("6/6", "30/6", "60/60").
        public var billingIncrement: String? = nil
    }
    /// An outbound SIP trunk: where `<Dial><Number>` calls are sent.
    public struct Trunk: Sendable, Equatable {
        public var name: String
        /// A SIP URI template with `{number}`, e.g. `sip:{number}@127.0.0.1:5070`.
        public var uriTemplate: String
        /// Digest credentials, when the trunk challenges.
        public var username: String?
        public var password: String?
        /// NAT latching for `<Dial>` legs to this trunk.
        public var latching = false
        /// SRTP (SDES) on `<Dial>` legs to this trunk: `offer` sends keys a plain trunk can
        /// ignore, `require` offers RTP/SAVP only.
        public var srtp: SRTPPolicy = .off

        /// The Request-URI for `number`.
        public func uri(for number: String) -> String { uriTemplate.replacingOccurrences(of: "{number}", with: number) }
    }
    public struct Number: Sendable, Equatable {
        public var did: String
        public var tenant: String
        /// A flow file (relative to flows_dir) or an http(s) URL fetched per call.
        public var flow: String
        /// Used when `flow` (or a later webhook) cannot be fetched: a file or URL.
        public var fallbackFlow: String?
        /// Receives `CallStatus`/`CallDuration` when each call ends.
        public var statusCallback: String?
        public var emergency: Bool
        /// Receives inbound messages (SIP MESSAGE), form-encoded like Twilio/Telnyx.
        public var messagingWebhook: String? = nil

        /// True when the flow is fetched over HTTP for every call.
        public var isRemoteFlow: Bool { flow.hasPrefix("http://") || flow.hasPrefix("https://") }
    }

    public var sipHost: String = "127.0.0.1"
    public var sipPort: Int = 5060
    public var userAgent: String = "tollfreed"
    /// INVITEs per second and burst allowed from one source address (0 disables).
    public var inviteRatePerSource: Int = 50
    public var inviteBurstPerSource: Int = 100
    /// SIP over TLS: listen address and PEM certificate and key files (nil: no TLS).
    public var tls: TLSListener?
    /// A TLS listener.
    public struct TLSListener: Sendable, Equatable {
        public var host: String
        public var port: Int
        public var certificate: String
        public var key: String
        /// Networks allowed on this listener (nil: `sip.trusted_sources`).
        public var trustedSources: [CIDR]? = nil
        /// NAT latching for calls that come over this listener.
        public var latching = false
        /// SRTP (SDES) for calls over this listener: keys travel inside TLS.
        public var srtp: SRTPPolicy = .offer
    }
    /// Networks allowed to send INVITEs (empty: everyone, for loopback use).
    public var trustedSources: [CIDR] = []
    /// NAT latching for calls over the public (UDP/TCP) listener: off by default, since a
    /// latch there follows whoever sends from the caller's address first.
    public var latching = false
    /// SRTP for calls over the public listener: off by default, since SDES keys would cross
    /// the network in the clear with the SDP (use it only where that network is private).
    public var srtp: SRTPPolicy = .off
    /// Networks (IPv4 or IPv6 CIDR) media may be latched onto besides the negotiated address.
    public var latchingNetworks: [String] = []
    /// The address RTP is bound to and SDP advertises (IPv4 or IPv6); our own offers use it.
    public var mediaAddress: String = "127.0.0.1"
    /// Dual stack: an address of the other family, for peers whose SDP is in that family.
    public var secondaryMediaAddress: String?
    public var rtpPorts: ClosedRange<Int> = 20000...29999
    /// SCHED_FIFO priority of the media clock (pacer) thread; 0 leaves it a normal thread.
    public var pacerPriority = 10
    /// Calls whose estimated MOS is below this are logged as `call.poor_quality`.
    public var poorQualityMOS = 3.5
    /// Send RTCP (RFC 3550) and take it on port + 1. Off: no reports go out (records then
    /// lack the peer's loss and round-trip time); for a peer that cannot take RTCP, or to
    /// measure what RTCP costs.
    public var rtcp = true
    public var dataDirectory: String = "/var/lib/tollfreed"
    public var flowsDirectory: String = "/etc/tollfreed/callflows"
    public var maxConcurrentCalls: Int = 4000
    /// Places within `maxConcurrentCalls` kept for emergency calls (default 5 %).
    public var emergencyReserve: Int?
    /// When even the reserve is used up, end the newest non-emergency call for an emergency.
    public var allowPreemption: Bool = true
    /// RFC 4412 namespaces whose Resource-Priority marks an emergency call.
    public var resourcePriorityNamespaces: [String] = ["esnet", "ets", "wps"]
    /// Networks whose `Priority: emergency` / Resource-Priority markings are honoured (the
    /// carrier's SBC or dispatcher); markings from anywhere else are ignored.
    public var emergencyMarkingSources: [CIDR] = [CIDR("127.0.0.0/8")!, CIDR("::1/128")!]
    /// The largest SIP message accepted; larger ones get 513 and cost nothing.
    public var maxSIPMessageBytes = 16_384
    /// A call with no RTP from the caller for this long (not on hold) is ended; 0 never.
    public var rtpTimeoutSeconds = 60
    /// Half-open calls (200 sent, no ACK yet): how long they may wait, and how many one
    /// source address and all sources together may hold (0: no limit).
    public var ackTimeoutMilliseconds = 8000
    /// While a prompt has waited longer than this for text to speech, new ordinary calls to
    /// numbers whose flow is a URL (the flows that bring new text) get 503; 0 never.
    public var ttsBacklogMilliseconds = 1000
    /// How long a call's SIP dialog may outlive its record before it is freed by force
    /// (Sofia's own transactions time out after 32 s; a dialog left past that is a leak).
    public var dialogReleaseMilliseconds = 40_000
    public var halfOpenPerSource = 100
    public var halfOpenMax: Int?
    /// The half-open limit in force.
    public var effectiveHalfOpenMax: Int { halfOpenMax ?? max(200, maxConcurrentCalls / 10) }

    /// Emergency dials try each target this long before failing over to the next.
    public var emergencyFailoverMilliseconds: Int = 10_000
    /// Dialed after every emergency target failed (a SIP URI), if set.
    public var emergencyLastResort: String?
    public var trunks: [Trunk] = []
    /// Compliance: the key sealing recordings (default `<data_dir>/keys/recording.key`,
    /// created on first start), older keys still able to open files, the industries whose
    /// recordings are sealed, retention in years per industry, and the audit log.
    public var recordingKeyFile: String?
    public var previousKeyFiles: [String] = []
    public var encryptIndustries: Set<Industry> = [.healthcare]
    public var retentionYears: [Industry: Int] = [.healthcare: 7, .fleet: 2, .legal: 7, .general: 3]
    public var auditLogFile: String?

    /// Prometheus metrics and health probes ("HOST:PORT"); nil turns them off.
    public var metricsListen: HostPort? = HostPort(host: "127.0.0.1", port: 9464)
    /// The control socket (`control.socket`): a Unix socket, owner-only, for `tollfreed
    /// status`, `calls`, `drain`...; nil turns it off.
    public var controlSocket: String? = "/run/tollfreed/control.sock"

    /// A TCP listen address.
    public struct HostPort: Sendable, Equatable {
        public var host: String
        public var port: Int
    }

    /// Where recordings (and their transcripts) are written, one directory per tenant
    /// (`recordings_dir`; nil: `<data_dir>/recordings`). Nodes of a cluster may share it
    /// (their file names carry the node id).
    public var recordingsDirectory: String?
    /// The recordings directory in force.
    public var effectiveRecordingsDirectory: String {
        recordingsDirectory ?? RecordingLocation.defaultDirectory(dataDirectory: dataDirectory)
    }

    /// The key file in force.
    public var effectiveKeyFile: String { recordingKeyFile ?? (dataDirectory as NSString).appendingPathComponent("keys/recording.key") }
    /// The audit log in force.
    public var effectiveAuditLog: String { auditLogFile ?? (dataDirectory as NSString).appendingPathComponent("audit.log") }

    /// The reserve in force.
    public var effectiveEmergencyReserve: Int { emergencyReserve ?? max(1, maxConcurrentCalls / 20) }
    /// How long to ring (180) before answering, in milliseconds.
    public var ringMilliseconds: Int = 0
    /// On SIGTERM, calls in progress may finish on their own for this long before the
    /// daemon ends them with BYE.
    public var drainSeconds: Int = 30
    /// Calls longer than this are ended by the daemon (a stuck call must not bill forever).
    public var maxCallSeconds: Int = 14400
    public var logLevel: String = "info"
    /// How long a webhook may take before the fallback flow is used.
    public var webhookTimeoutMilliseconds: Int = 5000
    /// An Ed25519 private key (PEM): every webhook request then carries Telnyx's signature
    /// headers (`webhooks.ed25519_key_file`).
    public var webhookSigningKeyFile: String?
    /// Prefix of `RecordingUrl` values; the recording's file name is appended. Empty means
    /// `file://` URLs of the recordings under the data directory.
    public var recordingURLBase: String = ""
    public var tenants: [Tenant] = []
    public var numbers: [Number] = []
    /// Where records are kept (`storage`).
    public var storage: Storage = .sqlite
    /// This daemon's id in a cluster (`node.id`, default the host name), written into every
    /// record; a shared store keys its lease on it.
    public var nodeID: String = DaemonConfig.hostName()
    /// How long after a node's lease ended the other nodes close its active calls.
    public var leaseGraceSeconds: Int = 30

    /// The record store.
    public enum Storage: Sendable, Equatable {
        /// `cdr.sqlite` in the data directory.
        case sqlite
        /// A PostgreSQL database shared by the nodes, with a local spool for outages
        /// (`spoolDirectory` nil: `<data_dir>/record-spool`).
        case postgres(url: String, spoolDirectory: String?, spoolMaxBytes: Int)
    }

    /// The spool directory in force (PostgreSQL storage).
    public var effectiveSpoolDirectory: String {
        if case .postgres(_, let dir?, _) = storage { return dir }
        return (dataDirectory as NSString).appendingPathComponent("record-spool")
    }

    /// The machine's host name (the default node id).
    static func hostName() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }

    public init() {}

    /// The file a local flow name refers to (relative names live in `flowsDirectory`).
    public func flowPath(_ name: String) -> String {
        name.hasPrefix("/") ? name : (flowsDirectory as NSString).appendingPathComponent(name)
    }

    /// The DID directory built from tenants and numbers.
    public func directory() -> DIDDirectory {
        let byID = Dictionary(uniqueKeysWithValues: tenants.map { ($0.id, $0) })
        return DIDDirectory(numbers.compactMap { n in
            guard let t = byID[n.tenant] else { return nil }
            return DIDRoute(did: n.did, tenant: t.id, industry: t.industry, flow: n.flow, emergency: n.emergency)
        })
    }
}

/// A configuration problem, naming the file and the key at fault.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ d: String) { description = d }
}

/// Reads and validates the JSON config. Unknown keys are errors (a typo must not be
/// silently ignored); relative paths are resolved against the config file's directory.
public enum ConfigLoader {
    public static func load(path: String) throws(ConfigError) -> DaemonConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError("\(path): cannot read file")
        }
        let base = (URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent().path)
        return try parse(data, source: path, baseDirectory: base)
    }

    public static func parse(_ data: Data, source: String, baseDirectory: String) throws(ConfigError) -> DaemonConfig {
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw ConfigError("\(source): not valid JSON: \((error as NSError).userInfo["NSDebugDescription"] ?? error)")
        }
        var r = ConfigReader(source: source, base: baseDirectory)
        return try r.config(root)
    }

    /// Parses "HOST:PORT" (IPv6 as "[::1]:5060").
    public static func hostPort(_ s: String) -> (String, Int)? {
        let host: Substring
        let portPart: Substring
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]"), s[s.index(after: close)...].hasPrefix(":") else { return nil }
            host = s[s.index(after: s.startIndex)..<close]
            portPart = s[s.index(close, offsetBy: 2)...]
        } else {
            guard let colon = s.lastIndex(of: ":") else { return nil }
            host = s[..<colon]
            // An IPv6 address must be bracketed; "::1" alone is not host "::" port 1.
            guard !host.contains(":") else { return nil }
            portPart = s[s.index(after: colon)...]
        }
        guard !host.isEmpty, let port = Int(portPart), (0...65535).contains(port) else { return nil }
        return (String(host), port)
    }

    /// Parses "LOW-HIGH" with 1024 <= LOW < HIGH <= 65535 and at least two ports.
    public static func portRange(_ s: String) -> ClosedRange<Int>? {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let lo = Int(parts[0]), let hi = Int(parts[1]),
              lo >= 1024, hi <= 65535, hi > lo else { return nil }
        return lo...hi
    }
}
