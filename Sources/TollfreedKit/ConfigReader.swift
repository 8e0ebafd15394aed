import Foundation
import Metering
import Routing

/// Reads the JSON config section by section; every error names its key path.
struct ConfigReader {
    let source: String
    let base: String

    func fail(_ path: String, _ msg: String) -> ConfigError { ConfigError("\(source): \(path): \(msg)") }

    func object(_ v: Any, _ path: String, allowed: Set<String>) throws(ConfigError) -> [String: Any] {
        guard let o = v as? [String: Any] else { throw fail(path, "must be an object") }
        for k in o.keys.sorted() where !allowed.contains(k) {
            throw fail(path.isEmpty ? k : "\(path).\(k)", "unknown key (allowed: \(allowed.sorted().joined(separator: ", ")))")
        }
        return o
    }

    func string(_ o: [String: Any], _ k: String, _ path: String) throws(ConfigError) -> String? {
        guard let v = o[k] else { return nil }
        guard let s = v as? String, !s.isEmpty else { throw fail(path + k, "must be a non-empty string") }
        return s
    }

    func int(_ o: [String: Any], _ k: String, _ path: String, _ range: ClosedRange<Int>) throws(ConfigError) -> Int? {
        guard let v = o[k] else { return nil }
        guard let n = v as? NSNumber, !isJSONBool(v), n.doubleValue == n.doubleValue.rounded(),
              range.contains(n.intValue) else {
            throw fail(path + k, "must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return n.intValue
    }

    func path(_ p: String) -> String {
        p.hasPrefix("/") ? p : URL(fileURLWithPath: base).appendingPathComponent(p).standardizedFileURL.path
    }

    mutating func config(_ root: Any) throws(ConfigError) -> DaemonConfig {
        var c = DaemonConfig()
        let o = try object(root, "", allowed: ["sip", "media", "data_dir", "recordings_dir", "flows_dir", "calls", "log_level", "tenants",
                                               "numbers", "webhooks", "emergency", "trunks", "compliance", "metrics",
                                               "storage", "node"])
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
            let s = try object(sip, "sip", allowed: ["listen", "user_agent", "trusted_sources", "invite_rate_per_source",
                                                     "invite_burst_per_source", "tls", "max_message_bytes"])
            c.maxSIPMessageBytes = try int(s, "max_message_bytes", "sip.", 1500...1_048_576) ?? c.maxSIPMessageBytes
            if let t = s["tls"] {
                let to = try object(t, "sip.tls", allowed: ["listen", "certificate", "key", "trusted_sources"])
                guard let l = try string(to, "listen", "sip.tls."), let (h, p) = ConfigLoader.hostPort(l) else {
                    throw fail("sip.tls.listen", "is required, as HOST:PORT (e.g. 0.0.0.0:5061)")
                }
                guard let cert = try string(to, "certificate", "sip.tls."), let key = try string(to, "key", "sip.tls.") else {
                    throw fail("sip.tls", "needs certificate and key (PEM files)")
                }
                c.tls = DaemonConfig.TLSListener(host: h, port: p, certificate: path(cert), key: path(key))
                if let list = to["trusted_sources"] {
                    guard let items = list as? [String] else { throw fail("sip.tls.trusted_sources", "must be a list of CIDR networks") }
                    var nets: [CIDR] = []
                    for (i, item) in items.enumerated() {
                        guard let net = CIDR(item) else { throw fail("sip.tls.trusted_sources[\(i)]", "'\(item)' is not a network") }
                        nets.append(net)
                    }
                    c.tls?.trustedSources = nets
                }
            }
            c.inviteRatePerSource = try int(s, "invite_rate_per_source", "sip.", 0...100_000) ?? c.inviteRatePerSource
            c.inviteBurstPerSource = try int(s, "invite_burst_per_source", "sip.", 1...100_000) ?? c.inviteBurstPerSource
            if let t = s["trusted_sources"] {
                guard let list = t as? [String] else { throw fail("sip.trusted_sources", "must be a list of CIDR networks") }
                for (i, item) in list.enumerated() {
                    guard let net = CIDR(item) else {
                        throw fail("sip.trusted_sources[\(i)]", "'\(item)' is not a network such as 203.0.113.0/24 or 2001:db8::/32")
                    }
                    c.trustedSources.append(net)
                }
            }
            if let l = try string(s, "listen", "sip.") {
                guard let (h, p) = ConfigLoader.hostPort(l) else { throw fail("sip.listen", "must be HOST:PORT, got '\(l)'") }
                c.sipHost = h
                c.sipPort = p
            }
            c.userAgent = try string(s, "user_agent", "sip.") ?? c.userAgent
        }
    }

    /// The `media` section, `data_dir` and `flows_dir`.
    func readMedia(_ o: [String: Any], into c: inout DaemonConfig) throws(ConfigError) {
        if let media = o["media"] {
            let m = try object(media, "media", allowed: ["address", "rtp_ports", "pacer_priority"])
            c.mediaAddress = try string(m, "address", "media.") ?? c.mediaAddress
            c.pacerPriority = try int(m, "pacer_priority", "media.", 0...99) ?? c.pacerPriority
            if let r = try string(m, "rtp_ports", "media.") {
                guard let range = ConfigLoader.portRange(r) else { throw fail("media.rtp_ports", "must be LOW-HIGH within 1024-65535, got '\(r)'") }
                c.rtpPorts = range
            }
        }
        if let d = try string(o, "data_dir", "") { c.dataDirectory = path(d) }
        if let d = try string(o, "recordings_dir", "") { c.recordingsDirectory = path(d) }
        if let d = try string(o, "flows_dir", "") { c.flowsDirectory = path(d) }
    }

    /// The `calls` section.
    func readCalls(_ o: [String: Any], into c: inout DaemonConfig) throws(ConfigError) {
        if let calls = o["calls"] {
            let k = try object(calls, "calls", allowed: ["max_concurrent", "ring_ms", "max_duration_s", "emergency_reserve", "preemption",
                                                         "drain_s", "rtp_timeout_s", "ack_timeout_ms", "half_open_per_source",
                                                         "half_open_max"])
            c.rtpTimeoutSeconds = try int(k, "rtp_timeout_s", "calls.", 0...86_400) ?? c.rtpTimeoutSeconds
            c.ackTimeoutMilliseconds = try int(k, "ack_timeout_ms", "calls.", 500...32_000) ?? c.ackTimeoutMilliseconds
            c.halfOpenPerSource = try int(k, "half_open_per_source", "calls.", 0...100_000) ?? c.halfOpenPerSource
            c.halfOpenMax = try int(k, "half_open_max", "calls.", 0...100_000)
            c.drainSeconds = try int(k, "drain_s", "calls.", 0...3600) ?? c.drainSeconds
            c.maxConcurrentCalls = try int(k, "max_concurrent", "calls.", 1...100_000) ?? c.maxConcurrentCalls
            c.ringMilliseconds = try int(k, "ring_ms", "calls.", 0...120_000) ?? c.ringMilliseconds
            c.maxCallSeconds = try int(k, "max_duration_s", "calls.", 10...86_400) ?? c.maxCallSeconds
            c.emergencyReserve = try int(k, "emergency_reserve", "calls.", 0...c.maxConcurrentCalls)
            if let p = k["preemption"] {
                guard isJSONBool(p), let b = p as? Bool else { throw fail("calls.preemption", "must be true or false") }
                c.allowPreemption = b
            }
        }
    }

    /// The `emergency` section.
    func readEmergency(_ o: [String: Any], into c: inout DaemonConfig) throws(ConfigError) {
        if let em = o["emergency"] {
            let e = try object(em, "emergency", allowed: ["resource_priority_namespaces", "failover_timeout_ms", "last_resort",
                                                          "marking_sources"])
            if let t = e["marking_sources"] {
                guard let list = t as? [String] else { throw fail("emergency.marking_sources", "must be a list of CIDR networks") }
                c.emergencyMarkingSources = []
                for (i, item) in list.enumerated() {
                    guard let net = CIDR(item) else { throw fail("emergency.marking_sources[\(i)]", "'\(item)' is not a network") }
                    c.emergencyMarkingSources.append(net)
                }
            }
            c.emergencyFailoverMilliseconds = try int(e, "failover_timeout_ms", "emergency.", 1000...120_000) ?? c.emergencyFailoverMilliseconds
            if let lr = try string(e, "last_resort", "emergency.") {
                guard lr.hasPrefix("sip:") || lr.hasPrefix("sips:") else { throw fail("emergency.last_resort", "must be a SIP URI, got '\(lr)'") }
                c.emergencyLastResort = lr
            }
            if let ns = e["resource_priority_namespaces"] {
                guard let list = ns as? [String], list.allSatisfy({ !$0.isEmpty && !$0.contains(".") }) else {
                    throw fail("emergency.resource_priority_namespaces", "must be a list of namespace names such as \"esnet\"")
                }
                c.resourcePriorityNamespaces = list
            }
        }
    }

    /// The `metrics`, `compliance` and `webhooks` sections and `log_level`.
    func readOperations(_ o: [String: Any], into c: inout DaemonConfig) throws(ConfigError) {
        if let m = o["metrics"] {
            let k = try object(m, "metrics", allowed: ["listen"])
            if let l = try string(k, "listen", "metrics.") {
                if l == "off" { c.metricsListen = nil } else {
                    guard let (h, p) = ConfigLoader.hostPort(l) else { throw fail("metrics.listen", "must be HOST:PORT or \"off\", got '\(l)'") }
                    c.metricsListen = DaemonConfig.HostPort(host: h, port: p)
                }
            }
        }
        if let comp = o["compliance"] {
            let k = try object(comp, "compliance", allowed: ["key_file", "previous_key_files", "encrypt_recordings", "retention_years", "audit_log"])
            if let f = try string(k, "key_file", "compliance.") { c.recordingKeyFile = path(f) }
            if let f = try string(k, "audit_log", "compliance.") { c.auditLogFile = path(f) }
            if let list = k["previous_key_files"] {
                guard let files = list as? [String] else { throw fail("compliance.previous_key_files", "must be a list of files") }
                c.previousKeyFiles = files.map(path)
            }
            if let list = k["encrypt_recordings"] {
                guard let names = list as? [String] else { throw fail("compliance.encrypt_recordings", "must be a list of industries") }
                var set: Set<Industry> = []
                for n in names {
                    guard let i = Industry(rawValue: n) else { throw fail("compliance.encrypt_recordings", "unknown industry '\(n)'") }
                    set.insert(i)
                }
                c.encryptIndustries = set
            }
            if let r = k["retention_years"] {
                let ro = try object(r, "compliance.retention_years", allowed: Set(Industry.allCases.map(\.rawValue)))
                for ind in Industry.allCases {
                    if let y = try int(ro, ind.rawValue, "compliance.retention_years.", 1...100) { c.retentionYears[ind] = y }
                }
            }
        }
        if let hooks = o["webhooks"] {
            let w = try object(hooks, "webhooks", allowed: ["timeout_ms", "recording_url_base"])
            c.webhookTimeoutMilliseconds = try int(w, "timeout_ms", "webhooks.", 100...60_000) ?? c.webhookTimeoutMilliseconds
            c.recordingURLBase = try string(w, "recording_url_base", "webhooks.") ?? c.recordingURLBase
        }
        if let l = try string(o, "log_level", "") {
            guard ["error", "warning", "notice", "info", "debug"].contains(l) else { throw fail("log_level", "must be error, warning, notice, info or debug") }
            c.logLevel = l
        }
    }

    /// The `trunks` list.
    func readTrunks(_ o: [String: Any], into c: inout DaemonConfig) throws(ConfigError) {
        if let trunks = o["trunks"] {
            guard let list = trunks as? [Any] else { throw fail("trunks", "must be an array") }
            for (i, t) in list.enumerated() {
                let p = "trunks[\(i)]"
                let to = try object(t, p, allowed: ["name", "uri", "username", "password"])
                guard let name = try string(to, "name", p + ".") else { throw fail(p + ".name", "is required") }
                guard !c.trunks.contains(where: { $0.name == name }) else { throw fail(p + ".name", "duplicate trunk '\(name)'") }
                guard let uri = try string(to, "uri", p + "."), uri.hasPrefix("sip:") || uri.hasPrefix("sips:"), uri.contains("{number}") else {
                    throw fail(p + ".uri", "must be a SIP URI template containing {number}, e.g. sip:{number}@192.0.2.10:5060")
                }
                let user = try string(to, "username", p + "."), pass = try string(to, "password", p + ".")
                guard (user == nil) == (pass == nil) else { throw fail(p, "username and password go together") }
                c.trunks.append(.init(name: name, uriTemplate: uri, username: user, password: pass))
            }
        }
    }

    /// The `tenants` list (after the trunks they name).
    func readTenants(_ o: [String: Any], into c: inout DaemonConfig) throws(ConfigError) {
        guard let tenants = o["tenants"] as? [Any], !tenants.isEmpty else { throw fail("tenants", "must be a non-empty array") }
        for (i, t) in tenants.enumerated() {
            let p = "tenants[\(i)]"
            let to = try object(t, p, allowed: ["id", "name", "industry", "plan", "time_zone", "account_sid", "trunk",
                                                "billing_increment"])
            let increment = try string(to, "billing_increment", p + ".")
            if let inc = increment, BillingIncrement(inc) == nil {
                throw fail(p + ".billing_increment", "must be FIRST/NEXT seconds such as 60/60, 6/6 or 30/6, got '\(inc)'")
            }
            guard let id = try string(to, "id", p + ".") else { throw fail(p + ".id", "is required") }
            guard !c.tenants.contains(where: { $0.id == id }) else { throw fail(p + ".id", "duplicate tenant '\(id)'") }
            let ind = try string(to, "industry", p + ".") ?? "general"
            guard let industry = Industry(rawValue: ind) else {
                throw fail(p + ".industry", "must be one of \(Industry.allCases.map(\.rawValue).joined(separator: ", ")), got '\(ind)'")
            }
            let tz = try string(to, "time_zone", p + ".") ?? "UTC"
            guard TimeZone(identifier: tz) != nil else { throw fail(p + ".time_zone", "unknown time zone '\(tz)'") }
            c.tenants.append(.init(id: id, name: try string(to, "name", p + ".") ?? id, industry: industry,
                                   plan: try string(to, "plan", p + ".") ?? "starter", timeZone: tz,
                                   accountSID: try string(to, "account_sid", p + ".") ?? id,
                                   trunk: try string(to, "trunk", p + "."), billingIncrement: increment))
            if let tr = c.tenants.last?.trunk, !c.trunks.contains(where: { $0.name == tr }) {
                throw fail(p + ".trunk", "unknown trunk '\(tr)'")
            }
        }
    }

    /// The `numbers` list (after the tenants they name).
    func readNumbers(_ o: [String: Any], into c: inout DaemonConfig) throws(ConfigError) {
        guard let numbers = o["numbers"] as? [Any] else { throw fail("numbers", "must be an array") }
        for (i, n) in numbers.enumerated() {
            let p = "numbers[\(i)]"
            let no = try object(n, p, allowed: ["did", "tenant", "flow", "fallback_flow", "status_callback", "emergency",
                                                "messaging_webhook"])
            guard let raw = try string(no, "did", p + ".") else { throw fail(p + ".did", "is required") }
            guard let did = PhoneNumber.e164(raw) else { throw fail(p + ".did", "'\(raw)' is not a valid telephone number") }
            guard !c.numbers.contains(where: { $0.did == did }) else { throw fail(p + ".did", "duplicate number \(did)") }
            guard let tenant = try string(no, "tenant", p + ".") else { throw fail(p + ".tenant", "is required") }
            guard c.tenants.contains(where: { $0.id == tenant }) else { throw fail(p + ".tenant", "unknown tenant '\(tenant)'") }
            guard let flow = try string(no, "flow", p + ".") else { throw fail(p + ".flow", "is required") }
            let fallback = try string(no, "fallback_flow", p + ".")
            let statusCallback = try string(no, "status_callback", p + ".")
            let messaging = try string(no, "messaging_webhook", p + ".")
            if let m = messaging, !m.contains("://") { throw fail(p + ".messaging_webhook", "'\(m)' is not an http(s) URL") }
            for (key, value) in [("flow", flow), ("fallback_flow", fallback ?? ""), ("status_callback", statusCallback ?? ""),
                                 ("messaging_webhook", messaging ?? "")]
            where value.contains("://") {
                guard let u = URL(string: value), ["http", "https"].contains(u.scheme?.lowercased() ?? ""), u.host != nil else {
                    throw fail(p + "." + key, "'\(value)' is not an http(s) URL")
                }
            }
            var emergency = false
            if let e = no["emergency"] {
                guard isJSONBool(e), let b = e as? Bool else { throw fail(p + ".emergency", "must be true or false") }
                emergency = b
            }
            c.numbers.append(.init(did: did, tenant: tenant, flow: flow, fallbackFlow: fallback,
                                   statusCallback: statusCallback, emergency: emergency, messagingWebhook: messaging))
        }
    }
}

/// JSONSerialization gives booleans as a distinct NSNumber subclass; tell them from 0 and 1.
func isJSONBool(_ v: Any) -> Bool {
    String(describing: type(of: v)).contains("Boolean") || type(of: v) == Bool.self
}
