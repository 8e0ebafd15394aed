import Configuration
import Foundation
import Metering
import Observability
import RecordStore

/// The record store a daemon writes: the store itself, and the spooling layer when it is
/// PostgreSQL (its backlog gates admission; its timer must run).
struct DaemonRecordStore {
    var store: any CDRStore
    var spooling: SpoolingCDRStore?
}

/// Opens the record store the configuration names (`storage`), for the daemon and for the
/// commands that read records (`cdr export`, `sms export`, `bill`).
package enum RecordStoreFactory {
    /// For reading: SQLite in `dataDirectory` (read-only), or the PostgreSQL database,
    /// connected now (an unreachable database is an error naming it).
    package static func open(_ config: DaemonConfig?, dataDirectory: String, readOnly: Bool = true) throws -> any CDRStore {
        guard let config, case .postgres(let url, _, _) = config.storage else {
            return try SQLiteCDRStore(directory: dataDirectory, readOnly: readOnly)
        }
        return try PostgresCDRStore(url: url, node: config.nodeID, graceSeconds: Double(config.leaseGraceSeconds),
                                    readOnly: readOnly, connectNow: true)
    }

    /// For the daemon. PostgreSQL that cannot be reached does not stop the start: records
    /// are spooled (and admission stays open) until it is back; anything else wrong with
    /// the store is a start-up failure (status 1).
    static func openForDaemon(_ config: DaemonConfig, logger: Logger, metrics: MetricsRegistry) throws(StartupError) -> DaemonRecordStore {
        switch config.storage {
        case .sqlite:
            do { return DaemonRecordStore(store: try SQLiteCDRStore(directory: config.dataDirectory)) } catch {
                throw StartupError("data directory \(config.dataDirectory): \(error)", status: 1)
            }
        case .postgres(let url, _, let maxBytes):
            do {
                let pg = try PostgresCDRStore(url: url, node: config.nodeID, graceSeconds: Double(config.leaseGraceSeconds),
                                              logger: logger)
                let spooling = try SpoolingCDRStore(inner: pg, directory: config.effectiveSpoolDirectory, maxBytes: maxBytes,
                                                    logger: logger) { bytes, up in
                    metrics.set("tollfreed_record_spool_bytes", Double(bytes))
                    metrics.set("tollfreed_record_store_up", up ? 1 : 0)
                }
                logger.notice("cdr.store", ["kind": "postgres", "url": PostgresCDRStore.redacted(url), "node": config.nodeID,
                                            "reachable": spooling.isDatabaseUp, "spool": spooling.spoolPath,
                                            "spool_bytes": spooling.spoolBytes])
                return DaemonRecordStore(store: spooling, spooling: spooling)
            } catch {
                throw StartupError("records: \(error)", status: 1)
            }
        }
    }
}
