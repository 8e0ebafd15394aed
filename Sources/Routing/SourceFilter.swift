/// An IPv4 or IPv6 network in CIDR form (`10.0.0.0/8`, `2001:db8::/32`, or one address).
public struct CIDR: Sendable, Equatable, CustomStringConvertible {
    let address: [UInt8]
    let prefix: Int

    /// Parses `a.b.c.d[/n]` or an IPv6 address `[/n]`; nil when malformed.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let addr = CIDR.parseAddress(String(parts[0])) else { return nil }
        let maxPrefix = addr.count * 8
        if parts.count == 2 {
            guard let p = Int(parts[1]), (0...maxPrefix).contains(p) else { return nil }
            prefix = p
        } else {
            prefix = maxPrefix
        }
        address = addr
    }

    public var description: String { "\(CIDR.format(address))/\(prefix)" }

    /// True when `ip` (a textual address) lies in this network.
    public func contains(_ ip: String) -> Bool {
        guard let a = CIDR.parseAddress(ip), a.count == address.count else { return false }
        var bits = prefix
        for i in 0..<a.count where bits > 0 {
            let mask: UInt8 = bits >= 8 ? 0xFF : UInt8(0xFF << (8 - bits) & 0xFF)
            if a[i] & mask != address[i] & mask { return false }
            bits -= 8
        }
        return true
    }

    static func parseAddress(_ s: String) -> [UInt8]? {
        if s.contains(":") { return parseIPv6(s) }
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy(\.isNumber), let v = UInt8(p) else { return nil }
            out.append(v)
        }
        return out
    }

    static func parseIPv6(_ s: String) -> [UInt8]? {
        let halves = s.split(separator: "::", omittingEmptySubsequences: false).map(String.init)
        guard halves.count <= 2 else { return nil }
        func groups(_ h: String) -> [UInt16]? {
            if h.isEmpty { return [] }
            var out: [UInt16] = []
            for g in h.split(separator: ":", omittingEmptySubsequences: false) {
                guard (1...4).contains(g.count), let v = UInt16(g, radix: 16) else { return nil }
                out.append(v)
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        var words = head
        if halves.count == 2 {
            guard let tail = groups(halves[1]), head.count + tail.count < 8 else { return nil }
            words += [UInt16](repeating: 0, count: 8 - head.count - tail.count) + tail
        }
        guard words.count == 8 else { return nil }
        return words.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }

    static func format(_ a: [UInt8]) -> String {
        if a.count == 4 { return a.map(String.init).joined(separator: ".") }
        return stride(from: 0, to: a.count, by: 2).map { String(UInt16(a[$0]) << 8 | UInt16(a[$0 + 1]), radix: 16) }
            .joined(separator: ":")
    }
}

/// Which sources may place calls: trusted trunk networks. An empty list trusts everyone
/// (the default, for a daemon on loopback); a carrier deployment lists its trunks.
public struct SourceFilter: Sendable, Equatable {
    public var trusted: [CIDR]

    public init(trusted: [CIDR]) { self.trusted = trusted }

    /// True when a request from `source` ("ip:port" or "[v6]:port") may be served.
    public func allows(source: String) -> Bool {
        guard !trusted.isEmpty else { return true }
        let ip = SourceFilter.host(of: source)
        return trusted.contains { $0.contains(ip) }
    }

    /// The address part of "ip:port", "[v6]:port" or a bare address.
    public static func host(of source: String) -> String {
        if source.hasPrefix("["), let close = source.firstIndex(of: "]") {
            return String(source[source.index(after: source.startIndex)..<close])
        }
        if source.filter({ $0 == ":" }).count == 1, let colon = source.firstIndex(of: ":") {
            return String(source[..<colon])
        }
        return source
    }
}
