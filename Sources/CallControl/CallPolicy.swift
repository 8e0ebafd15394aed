import Configuration
import Media
import Foundation
import Routing
import Signaling
import TeXML

/// Everything the controller needs from the configuration, fixed for its lifetime.
package struct CallPolicy: Sendable {
    var directory: DIDDirectory
    var flows: [String: FlowDocument]
    var numbers: [String: DaemonConfig.Number]
    var tenants: [String: DaemonConfig.Tenant]
    /// `media.address`, and dual stack's `media.secondary_address` (`CallPolicy+MediaFamily.swift`).
    var mediaAddress: String
    var secondaryMediaAddress: String? = nil
    var ringMilliseconds: Int
    var maxCallSeconds: Int
    var admission: AdmissionController<SIPCallHandle>.Policy
    var emergency: EmergencyClassifier
    var sources: SourceFilter
    /// Trusted networks of the TLS listener (its own list, else `sources`).
    var tlsSources: SourceFilter? = nil
    var rateLimit: (perSecond: Int, burst: Int)
    var dataDirectory: String
    var recordingURLBase: String
    /// Where recordings go (`recordings_dir`), and this node's id, part of their file names
    /// so nodes sharing the directory never collide.
    var recordingsDirectory = ""
    var nodeID = ""
    var flowsDirectory: String
    /// Outbound trunks for `<Dial><Number>`, and the emergency routing rules.
    var trunks: [DaemonConfig.Trunk] = []
    var emergencyFailoverMilliseconds = 10_000
    var emergencyLastResort: String?
    /// Our SIP address ("host:port") for the From of outbound legs.
    var localSIPAddress = "127.0.0.1:5060"
    /// Networks whose emergency markings are honoured.
    var emergencyMarkingSources: [CIDR] = []
    /// End a call after this long without RTP from the caller (not on hold); 0 never.
    var rtpTimeoutSeconds = 0
    /// Half-open calls: ACK wait, per-source and total limits (0: none).
    var ackTimeoutMilliseconds = 8000
    /// New ordinary calls to URL flows are refused while a prompt has waited this long for
    /// synthesis (0: never).
    var ttsBacklogMilliseconds = 0
    /// A finished call's dialog still open after this long is freed by force.
    var dialogReleaseMilliseconds = 40_000
    var halfOpenPerSource = 0
    var halfOpenMax = 0
    /// `call.poor_quality` below this MOS.
    var poorQualityMOS = 3.5
    /// NAT latching: on the public listener, on the TLS listener; the networks beyond the
    /// negotiated address (trunks carry their own switch).
    var listenerLatching = false
    var tlsLatching = false
    var latchNetworks = LatchPolicy(networks: [])!
    /// SRTP on the public listener, on the TLS listener, and per trunk (by name).
    var listenerSRTP = SRTPPolicy.off
    var tlsSRTP = SRTPPolicy.offer
    var trunkSRTP: [String: SRTPPolicy] = [:]

    /// The latch for a call that came over the TLS listener or the other one; nil: off.
    func latch(overTLS: Bool) -> LatchPolicy? { (overTLS ? tlsLatching : listenerLatching) ? latchNetworks : nil }

    /// What we answer and offer with on a call's media: the address, and SRTP under the
    /// listener's policy (or the trunk's, for a leg) with a key of the session's own.
    func localMedia(port: UInt16, address: String, srtp: SRTPPolicy) -> LocalMedia {
        LocalMedia(address: address, port: port, sessionID: UInt64.random(in: 1...UInt64(Int64.max)),
                   srtp: srtp, srtpKey: srtp == .off ? nil : SRTPKeys.generateKey())
    }

    /// The SRTP policy of a call that came over the TLS listener or the other one.
    func srtp(overTLS: Bool) -> SRTPPolicy { overTLS ? tlsSRTP : listenerSRTP }

    /// True when `source` ("ip:port") may mark a call as an emergency.
    func trustsMarkings(from source: String) -> Bool {
        let host = SourceFilter.host(of: source)
        return emergencyMarkingSources.contains { $0.contains(host) }
    }
}

extension CallPolicy {
    /// The per-call policy of a configuration.
    package init(config: DaemonConfig, flows: [String: FlowDocument]) {
        self.init(
            directory: config.directory(), flows: flows,
            numbers: Dictionary(uniqueKeysWithValues: config.numbers.map { ($0.did, $0) }),
            tenants: Dictionary(uniqueKeysWithValues: config.tenants.map { ($0.id, $0) }),
            mediaAddress: config.mediaAddress, ringMilliseconds: config.ringMilliseconds,
            maxCallSeconds: config.maxCallSeconds,
            admission: .init(capacity: config.maxConcurrentCalls, emergencyReserve: config.effectiveEmergencyReserve,
                             allowPreemption: config.allowPreemption),
            emergency: EmergencyClassifier(resourcePriorityNamespaces: config.resourcePriorityNamespaces),
            sources: SourceFilter(trusted: config.trustedSources),
            tlsSources: config.tls?.trustedSources.map { SourceFilter(trusted: $0) },
            rateLimit: (config.inviteRatePerSource, config.inviteBurstPerSource),
            dataDirectory: config.dataDirectory, recordingURLBase: config.recordingURLBase,
            flowsDirectory: config.flowsDirectory, trunks: config.trunks,
            emergencyFailoverMilliseconds: config.emergencyFailoverMilliseconds,
            emergencyLastResort: config.emergencyLastResort,
            localSIPAddress: config.sipHost.contains(":") ? "[\(config.sipHost)]:\(config.sipPort)" : "\(config.sipHost):\(config.sipPort)")
        emergencyMarkingSources = config.emergencyMarkingSources
        secondaryMediaAddress = config.secondaryMediaAddress
        rtpTimeoutSeconds = config.rtpTimeoutSeconds
        ackTimeoutMilliseconds = config.ackTimeoutMilliseconds
        ttsBacklogMilliseconds = config.ttsBacklogMilliseconds
        dialogReleaseMilliseconds = config.dialogReleaseMilliseconds
        poorQualityMOS = config.poorQualityMOS
        listenerLatching = config.latching
        tlsLatching = config.tls?.latching ?? false
        latchNetworks = LatchPolicy(networks: config.latchingNetworks) ?? LatchPolicy(networks: [])!
        listenerSRTP = config.srtp
        tlsSRTP = config.tls?.srtp ?? .offer
        trunkSRTP = Dictionary(config.trunks.map { ($0.name, $0.srtp) }, uniquingKeysWith: { a, _ in a })
        halfOpenPerSource = config.halfOpenPerSource
        halfOpenMax = config.effectiveHalfOpenMax
        recordingsDirectory = config.effectiveRecordingsDirectory
        nodeID = config.nodeID
    }
}

extension CallPolicy {
    /// The trusted networks of the listener a request came in on.
    func trustedSources(tls: Bool) -> SourceFilter { tls ? (tlsSources ?? sources) : sources }
}
