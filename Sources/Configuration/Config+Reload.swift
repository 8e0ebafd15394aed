import Foundation

extension DaemonConfig {
    /// Settings a reload cannot change in a running process (sockets, storage, keys).
    package func restartOnlyChanges(to next: DaemonConfig) -> [String] {
        var out: [String] = []
        if sipHost != next.sipHost || sipPort != next.sipPort { out.append("sip.listen") }
        if mediaAddress != next.mediaAddress { out.append("media.address") }
        if secondaryMediaAddress != next.secondaryMediaAddress { out.append("media.secondary_address") }
        if rtpPorts != next.rtpPorts { out.append("media.rtp_ports") }
        if dataDirectory != next.dataDirectory { out.append("data_dir") }
        if effectiveRecordingsDirectory != next.effectiveRecordingsDirectory { out.append("recordings_dir") }
        if storage != next.storage { out.append("storage") }
        if nodeID != next.nodeID || leaseGraceSeconds != next.leaseGraceSeconds { out.append("node") }
        if metricsListen != next.metricsListen { out.append("metrics.listen") }
        if controlSocket != next.controlSocket { out.append("control.socket") }
        if effectiveKeyFile != next.effectiveKeyFile || previousKeyFiles != next.previousKeyFiles { out.append("compliance keys") }
        if logLevel != next.logLevel { out.append("log_level") }
        return out
    }
}
