import Formats
import Foundation
import Metering
import Routing
import Signaling

/// Reads the JSON config section by section; every error names its key path.
struct ConfigReader {
    let json: JSONTreeReader<ConfigError>
    let base: String

    init(source: String, base: String) {
        json = JSONTreeReader(source: source, failure: ConfigError.init)
        self.base = base
    }

    func path(_ p: String) -> String {
        p.hasPrefix("/") ? p : URL(fileURLWithPath: base).appendingPathComponent(p).standardizedFileURL.path
    }

    mutating func config(_ root: Any) throws(ConfigError) -> DaemonConfig {
        var c = DaemonConfig()
        let o = try json.object(root, "", allowed: ["sip", "media", "data_dir", "recordings_dir", "flows_dir", "calls", "log_level", "tenants",
                                                    "numbers", "webhooks", "emergency", "trunks", "compliance", "metrics",
                                                    "storage", "node", "control"])
        try readSIP(o, into: &c)
        try readMedia(o, into: &c)
        try readCalls(o, into: &c)
        try readEmergency(o, into: &c)
        try readOperations(o, into: &c)
        try readStorage(o, into: &c)
        try readTrunks(o, into: &c)
        try readTenants(o, into: &c)
        try readNumbers(o, into: &c)
        return c
    }

    /// The `sip` section.
    func readSIP(_ o: [String: Any], into c: inout DaemonConfig) throws(ConfigError) {
        if let sip = o["sip"] {
            let s = try json.object(sip, "sip", allowed: ["listen", "user_agent", "trusted_sources", "invite_rate_per_source",
                                                          "invite_burst_per_source", "tls", "max_message_bytes", "latching", "srtp"])
            c.latching = try json.bool(s, "latching", "sip") ?? c.latching
            c.srtp = try srtpPolicy(s, "sip") ?? c.srtp
            c.maxSIPMessageBytes = try json.integer(s, "max_message_bytes", "sip", in: 1500...1_048_576) ?? c.maxSIPMessageBytes
            if let t = s["tls"] {
                let to = try json.object(t, "sip.tls", allowed: ["listen", "certificate", "key", "trusted_sources", "latching", "srtp"])
                guard let l = try json.string(to, "listen", "sip.tls"), let (h, p) = ConfigLoader.hostPort(l) else {
                    throw json.fail("sip.tls.listen", "is required, as HOST:PORT (e.g. 0.0.0.0:5061)")
                }
                guard let cert = try json.string(to, "certificate", "sip.tls"), let key = try json.string(to, "key", "sip.tls") else {
                    throw json.fail("sip.tls", "needs certificate and key (PEM files)")
                }
                c.tls = DaemonConfig.TLSListener(host: h, port: p, certificate: path(cert), key: path(key))
                c.tls?.latching = try json.bool(to, "latching", "sip.tls") ?? false
                c.tls?.srtp = try srtpPolicy(to, "sip.tls") ?? .offer
                if let list = to["trusted_sources"] {
                    guard let items = list as? [String] else { throw json.fail("sip.tls.trusted_sources", "must be a list of CIDR networks") }
                    var nets: [CIDR] = []
                    for (i, item) in items.enumerated() {
                        guard let net = CIDR(item) else { throw json.fail("sip.tls.trusted_sources[\(i)]", "'\(item)' is not a network") }
                        nets.append(net)
                    }
                    c.tls?.trustedSources = nets
                }
            }
            c.inviteRatePerSource = try json.integer(s, "invite_rate_per_source", "sip", in: 0...100_000) ?? c.inviteRatePerSource
            c.inviteBurstPerSource = try json.integer(s, "invite_burst_per_source", "sip", in: 1...100_000) ?? c.inviteBurstPerSource
            if let t = s["trusted_sources"] {
                guard let list = t as? [String] else { throw json.fail("sip.trusted_sources", "must be a list of CIDR networks") }
                for (i, item) in list.enumerated() {
                    guard let net = CIDR(item) else {
                        throw json.fail("sip.trusted_sources[\(i)]", "'\(item)' is not a network such as 203.0.113.0/24 or 2001:db8::/32")
                    }
                    c.trustedSources.append(net)
                }
            }
            if let l = try json.string(s, "listen", "sip") {
                guard let (h, p) = ConfigLoader.hostPort(l) else { throw json.fail("sip.listen", "must be HOST:PORT, got '\(l)'") }
                c.sipHost = h
                c.sipPort = p
            }
            c.userAgent = try json.string(s, "user_agent", "sip") ?? c.userAgent
        }
    }

    /// The `media` section, `data_dir` and `flows_dir`.
    func readMedia(_ o: [String: Any], into c: inout DaemonConfig) throws(ConfigError) {
        if let media = o["media"] {
            let m = try json.object(media, "media", allowed: ["address", "secondary_address", "rtp_ports", "pacer_priority",
                                                              "poor_quality_mos", "latching_networks", "rtcp"])
            c.rtcp = try json.bool(m, "rtcp", "media") ?? c.rtcp
            if let list = m["latching_networks"] {
                guard let items = list as? [String] else { throw json.fail("media.latching_networks", "must be a list of CIDR networks") }
                for item in items where !ConfigLoader.isLatchingCIDR(item) {
                    throw json.fail("media.latching_networks", "'\(item)' is not an IPv4 (a.b.c.d/n) or IPv6 (2001:db8::/n) network")
                }
                c.latchingNetworks = items
            }
            try readMediaAddresses(m, into: &c)
            if let v = m["poor_quality_mos"] {
                guard !JSONTreeReader<ConfigError>.isBool(v), let d = (v as? NSNumber)?.doubleValue, (1...4.5).contains(d) else {
                    throw json.fail("media.poor_quality_mos", "must be a number from 1 to 4.5, got '\(v)'")
                }
                c.poorQualityMOS = d
            }
            c.pacerPriority = try json.integer(m, "pacer_priority", "media", in: 0...99) ?? c.pacerPriority
            if let r = try json.string(m, "rtp_ports", "media") {
                guard let range = ConfigLoader.portRange(r) else { throw json.fail("media.rtp_ports", "must be LOW-HIGH within 1024-65535, got '\(r)'") }
                c.rtpPorts = range
            }
        }
        if let d = try json.string(o, "data_dir", "") { c.dataDirectory = path(d) }
        if let d = try json.string(o, "recordings_dir", "") { c.recordingsDirectory = path(d) }
        if let d = try json.string(o, "flows_dir", "") { c.flowsDirectory = path(d) }
    }

    /// `media.address` and, for dual stack, `media.secondary_address` of the other family.
    func readMediaAddresses(_ m: [String: Any], into c: inout DaemonConfig) throws(ConfigError) {
        c.mediaAddress = try json.string(m, "address", "media") ?? c.mediaAddress
        if let why = ConfigLoader.mediaAddressProblem(c.mediaAddress) { throw json.fail("media.address", why) }
        guard let second = try json.string(m, "secondary_address", "media") else { return }
        if let why = ConfigLoader.mediaAddressProblem(second) { throw json.fail("media.secondary_address", why) }
        guard ConfigLoader.ipFamily(second) != ConfigLoader.ipFamily(c.mediaAddress) else {
            throw json.fail("media.secondary_address", "'\(second)' is of the same family as media.address '\(c.mediaAddress)'; "
                            + "it is the other family's address, for dual stack")
        }
        c.secondaryMediaAddress = second
    }

    /// The `calls` section.
    func readCalls(_ o: [String: Any], into c: inout DaemonConfig) throws(ConfigError) {
        if let calls = o["calls"] {
            let k = try json.object(calls, "calls", allowed: ["max_concurrent", "ring_ms", "max_duration_s", "emergency_reserve", "preemption",
                                                              "drain_s", "rtp_timeout_s", "ack_timeout_ms", "half_open_per_source",
                                                              "half_open_max", "dialog_release_ms", "tts_backlog_ms"])
            c.rtpTimeoutSeconds = try json.integer(k, "rtp_timeout_s", "calls", in: 0...86_400) ?? c.rtpTimeoutSeconds
            c.ackTimeoutMilliseconds = try json.integer(k, "ack_timeout_ms", "calls", in: 500...32_000) ?? c.ackTimeoutMilliseconds
            c.ttsBacklogMilliseconds = try json.integer(k, "tts_backlog_ms", "calls", in: 0...60_000) ?? c.ttsBacklogMilliseconds
            c.dialogReleaseMilliseconds = try json.integer(k, "dialog_release_ms", "calls", in: 1000...120_000) ?? c.dialogReleaseMilliseconds
            c.halfOpenPerSource = try json.integer(k, "half_open_per_source", "calls", in: 0...100_000) ?? c.halfOpenPerSource
            c.halfOpenMax = try json.integer(k, "half_open_max", "calls", in: 0...100_000)
            c.drainSeconds = try json.integer(k, "drain_s", "calls", in: 0...3600) ?? c.drainSeconds
            c.maxConcurrentCalls = try json.integer(k, "max_concurrent", "calls", in: 1...100_000) ?? c.maxConcurrentCalls
            c.ringMilliseconds = try json.integer(k, "ring_ms", "calls", in: 0...120_000) ?? c.ringMilliseconds
            c.maxCallSeconds = try json.integer(k, "max_duration_s", "calls", in: 10...86_400) ?? c.maxCallSeconds
            c.emergencyReserve = try json.integer(k, "emergency_reserve", "calls", in: 0...c.maxConcurrentCalls)
            c.allowPreemption = try json.bool(k, "preemption", "calls") ?? c.allowPreemption
        }
    }

    /// The `emergency` section.
    func readEmergency(_ o: [String: Any], into c: inout DaemonConfig) throws(ConfigError) {
        if let em = o["emergency"] {
            let e = try json.object(em, "emergency", allowed: ["resource_priority_namespaces", "failover_timeout_ms", "last_resort",
                                                               "marking_sources"])
            if let t = e["marking_sources"] {
                guard let list = t as? [String] else { throw json.fail("emergency.marking_sources", "must be a list of CIDR networks") }
                c.emergencyMarkingSources = []
                for (i, item) in list.enumerated() {
                    guard let net = CIDR(item) else { throw json.fail("emergency.marking_sources[\(i)]", "'\(item)' is not a network") }
                    c.emergencyMarkingSources.append(net)
                }
            }
            c.emergencyFailoverMilliseconds = try json.integer(e, "failover_timeout_ms", "emergency", in: 1000...120_000) ?? c.emergencyFailoverMilliseconds
            if let lr = try json.string(e, "last_resort", "emergency") {
                guard lr.hasPrefix("sip:") || lr.hasPrefix("sips:") else { throw json.fail("emergency.last_resort", "must be a SIP URI, got '\(lr)'") }
                c.emergencyLastResort = lr
            }
            if let ns = e["resource_priority_namespaces"] {
                guard let list = ns as? [String], list.allSatisfy({ !$0.isEmpty && !$0.contains(".") }) else {
                    throw json.fail("emergency.resource_priority_namespaces", "must be a list of namespace names such as \"esnet\"")
                }
                c.resourcePriorityNamespaces = list
            }
        }
    }

    /// The `metrics`, `compliance` and `webhooks` sections and `log_level`.
    func readOperations(_ o: [String: Any], into c: inout DaemonConfig) throws(ConfigError) {
        if let m = o["metrics"] {
            let k = try json.object(m, "metrics", allowed: ["listen"])
            if let l = try json.string(k, "listen", "metrics") {
                if l == "off" { c.metricsListen = nil } else {
                    guard let (h, p) = ConfigLoader.hostPort(l) else { throw json.fail("metrics.listen", "must be HOST:PORT or \"off\", got '\(l)'") }
                    c.metricsListen = DaemonConfig.HostPort(host: h, port: p)
                }
            }
        }
        if let ctl = o["control"] {
            let k = try json.object(ctl, "control", allowed: ["socket"])
            if let s = try json.string(k, "socket", "control") {
                let resolved = s == "off" ? nil : path(s)
                // sun_path holds 108 bytes with its NUL.
                guard !s.isEmpty, (resolved?.utf8.count ?? 0) < 108 else {
                    throw json.fail("control.socket", "must be a path of at most 107 bytes, or \"off\"")
                }
                c.controlSocket = resolved
            }
        }
        if let comp = o["compliance"] {
            let k = try json.object(comp, "compliance", allowed: ["key_file", "previous_key_files", "encrypt_recordings", "retention_years", "audit_log"])
            if let f = try json.string(k, "key_file", "compliance") { c.recordingKeyFile = path(f) }
            if let f = try json.string(k, "audit_log", "compliance") { c.auditLogFile = path(f) }
            if let list = k["previous_key_files"] {
                guard let files = list as? [String] else { throw json.fail("compliance.previous_key_files", "must be a list of files") }
                c.previousKeyFiles = files.map(path)
            }
            if let list = k["encrypt_recordings"] {
                guard let names = list as? [String] else { throw json.fail("compliance.encrypt_recordings", "must be a list of industries") }
                var set: Set<Industry> = []
                for n in names {
                    guard let i = Industry(rawValue: n) else { throw json.fail("compliance.encrypt_recordings", "unknown industry '\(n)'") }
                    set.insert(i)
                }
                c.encryptIndustries = set
            }
            if let r = k["retention_years"] {
                let ro = try json.object(r, "compliance.retention_years", allowed: Set(Industry.allCases.map(\.rawValue)))
                for ind in Industry.allCases {
                    if let y = try json.integer(ro, ind.rawValue, "compliance.retention_years", in: 1...100) { c.retentionYears[ind] = y }
                }
            }
        }
        if let hooks = o["webhooks"] {
            let w = try json.object(hooks, "webhooks", allowed: ["timeout_ms", "recording_url_base", "ed25519_key_file"])
            if let f = try json.string(w, "ed25519_key_file", "webhooks") { c.webhookSigningKeyFile = path(f) }
            c.webhookTimeoutMilliseconds = try json.integer(w, "timeout_ms", "webhooks", in: 100...60_000) ?? c.webhookTimeoutMilliseconds
            c.recordingURLBase = try json.string(w, "recording_url_base", "webhooks") ?? c.recordingURLBase
        }
        if let l = try json.string(o, "log_level", "") {
            guard ["error", "warning", "notice", "info", "debug"].contains(l) else { throw json.fail("log_level", "must be error, warning, notice, info or debug") }
            c.logLevel = l
        }
    }

    /// An `srtp` key: off, offer or require.
    func srtpPolicy(_ o: [String: Any], _ path: String) throws(ConfigError) -> SRTPPolicy? {
        guard let text = try json.string(o, "srtp", path) else { return nil }
        guard let policy = SRTPPolicy(rawValue: text) else { throw json.fail(path + ".srtp", "must be off, offer or require, not '\(text)'") }
        return policy
    }

    /// The `trunks` list.
    func readTrunks(_ o: [String: Any], into c: inout DaemonConfig) throws(ConfigError) {
        if let trunks = o["trunks"] {
            guard let list = trunks as? [Any] else { throw json.fail("trunks", "must be an array") }
            for (i, t) in list.enumerated() {
                let p = "trunks[\(i)]"
                let to = try json.object(t, p, allowed: ["name", "uri", "username", "password", "latching", "srtp"])
                guard let name = try json.string(to, "name", p) else { throw json.fail(p + ".name", "is required") }
                guard !c.trunks.contains(where: { $0.name == name }) else { throw json.fail(p + ".name", "duplicate trunk '\(name)'") }
                guard let uri = try json.string(to, "uri", p), uri.hasPrefix("sip:") || uri.hasPrefix("sips:"), uri.contains("{number}") else {
                    throw json.fail(p + ".uri", "must be a SIP URI template containing {number}, e.g. sip:{number}@192.0.2.10:5060")
                }
                let user = try json.string(to, "username", p), pass = try json.string(to, "password", p)
                guard (user == nil) == (pass == nil) else { throw json.fail(p, "username and password go together") }
                c.trunks.append(.init(name: name, uriTemplate: uri, username: user, password: pass,
                                      latching: try json.bool(to, "latching", p) ?? false,
                                      srtp: try srtpPolicy(to, p) ?? .off))
            }
        }
    }

    /// The `tenants` list (after the trunks they name).
    func readTenants(_ o: [String: Any], into c: inout DaemonConfig) throws(ConfigError) {
        guard let tenants = o["tenants"] as? [Any], !tenants.isEmpty else { throw json.fail("tenants", "must be a non-empty array") }
        for (i, t) in tenants.enumerated() {
            let p = "tenants[\(i)]"
            let to = try json.object(t, p, allowed: ["id", "name", "industry", "plan", "time_zone", "account_sid", "trunk",
                                                     "billing_increment", "auth_token"])
            let increment = try json.string(to, "billing_increment", p)
            if let inc = increment, BillingIncrement(inc) == nil {
                throw json.fail(p + ".billing_increment", "must be FIRST/NEXT seconds such as 60/60, 6/6 or 30/6, got '\(inc)'")
            }
            guard let id = try json.string(to, "id", p) else { throw json.fail(p + ".id", "is required") }
            guard !c.tenants.contains(where: { $0.id == id }) else { throw json.fail(p + ".id", "duplicate tenant '\(id)'") }
            let ind = try json.string(to, "industry", p) ?? "general"
            guard let industry = Industry(rawValue: ind) else {
                throw json.fail(p + ".industry", "must be one of \(Industry.allCases.map(\.rawValue).joined(separator: ", ")), got '\(ind)'")
            }
            let tz = try json.string(to, "time_zone", p) ?? "UTC"
            guard TimeZone(identifier: tz) != nil else { throw json.fail(p + ".time_zone", "unknown time zone '\(tz)'") }
            c.tenants.append(.init(id: id, name: try json.string(to, "name", p) ?? id, industry: industry,
                                   plan: try json.string(to, "plan", p) ?? "starter", timeZone: tz,
                                   accountSID: try json.string(to, "account_sid", p),
                                   trunk: try json.string(to, "trunk", p), billingIncrement: increment))
            c.tenants[c.tenants.count - 1].authToken = try authToken(to, p)
            if let tr = c.tenants.last?.trunk, !c.trunks.contains(where: { $0.name == tr }) {
                throw json.fail(p + ".trunk", "unknown trunk '\(tr)'")
            }
        }
    }

    /// The `numbers` list (after the tenants they name).
    func readNumbers(_ o: [String: Any], into c: inout DaemonConfig) throws(ConfigError) {
        guard let numbers = o["numbers"] as? [Any] else { throw json.fail("numbers", "must be an array") }
        for (i, n) in numbers.enumerated() {
            let p = "numbers[\(i)]"
            let no = try json.object(n, p, allowed: ["did", "tenant", "flow", "fallback_flow", "status_callback", "emergency",
                                                     "messaging_webhook"])
            guard let raw = try json.string(no, "did", p) else { throw json.fail(p + ".did", "is required") }
            guard let did = PhoneNumber.e164(raw) else { throw json.fail(p + ".did", "'\(raw)' is not a valid telephone number") }
            guard !c.numbers.contains(where: { $0.did == did }) else { throw json.fail(p + ".did", "duplicate number \(did)") }
            guard let tenant = try json.string(no, "tenant", p) else { throw json.fail(p + ".tenant", "is required") }
            guard c.tenants.contains(where: { $0.id == tenant }) else { throw json.fail(p + ".tenant", "unknown tenant '\(tenant)'") }
            guard let flow = try json.string(no, "flow", p) else { throw json.fail(p + ".flow", "is required") }
            let fallback = try json.string(no, "fallback_flow", p)
            let statusCallback = try json.string(no, "status_callback", p)
            let messaging = try json.string(no, "messaging_webhook", p)
            if let m = messaging, !m.contains("://") { throw json.fail(p + ".messaging_webhook", "'\(m)' is not an http(s) URL") }
            for (key, value) in [("flow", flow), ("fallback_flow", fallback ?? ""), ("status_callback", statusCallback ?? ""),
                                 ("messaging_webhook", messaging ?? "")]
            where value.contains("://") {
                guard let u = URL(string: value), ["http", "https"].contains(u.scheme?.lowercased() ?? ""), u.host != nil else {
                    throw json.fail(p + "." + key, "'\(value)' is not an http(s) URL")
                }
            }
            let emergency = try json.bool(no, "emergency", p) ?? false
            c.numbers.append(.init(did: did, tenant: tenant, flow: flow, fallbackFlow: fallback,
                                   statusCallback: statusCallback, emergency: emergency, messagingWebhook: messaging))
        }
    }

    /// A tenant's `auth_token`: a secret of 16 to 256 printable characters, or absent.
    private func authToken(_ tenant: [String: Any], _ path: String) throws(ConfigError) -> String? {
        guard let token = try json.string(tenant, "auth_token", path) else { return nil }
        guard (16...256).contains(token.count), token.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            throw json.fail(path + ".auth_token", "must be 16 to 256 printable characters without spaces")
        }
        return token
    }
}
