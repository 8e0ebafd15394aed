import Foundation

/// The version printed by `tollfreed --version`.
public let tollfreedVersion = "0.1.0"

/// Options of `tollfreed run`; nil fields keep the config file's value.
public struct RunOptions: Equatable, Sendable {
    public var configPath: String
    public var sip: (host: String, port: Int)?
    public var rtpPorts: ClosedRange<Int>?
    public var dataDirectory: String?
    public var logLevel: String?

    /// Options that run `configPath` as it is.
    public init(configPath: String) { self.configPath = configPath }

    public static func == (a: RunOptions, b: RunOptions) -> Bool {
        a.configPath == b.configPath && a.sip?.host == b.sip?.host && a.sip?.port == b.sip?.port
            && a.rtpPorts == b.rtpPorts && a.dataDirectory == b.dataDirectory && a.logLevel == b.logLevel
    }
}
