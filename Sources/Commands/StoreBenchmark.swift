import CallControl
import Configuration
import Daemon
import Foundation
import Metering
import Observability
import RecordStore

/// `tollfreed bench-store` (hidden; bench/store.sh runs it): how many call records a store
/// takes per second through the daemon's writer (`CDRWriter`, group commit), each call an
/// active insert at admission and a finish, or one transaction per operation
/// (`--single`) for comparison.
///
///     tollfreed bench-store --store sqlite --dir DIR [--calls N] [--single]
///     tollfreed bench-store --store postgres --url URL [--calls N] [--single]
func storeBenchmark(_ args: [String], out: FileDescriptorSink, err: FileDescriptorSink) -> Int32 {
    var kind = "sqlite", dir: String?, url: String?, calls = 20_000, single = false
    var rest = args[...]
    while let flag = rest.popFirst() {
        switch flag {
        case "--store": kind = rest.popFirst() ?? ""
        case "--dir": dir = rest.popFirst()
        case "--url": url = rest.popFirst()
        case "--calls": calls = Int(rest.popFirst() ?? "") ?? 0
        case "--single": single = true
        default:
            err.write("tollfreed: bench-store: unknown option '\(flag)'")
            return 2
        }
    }
    guard calls > 0, (kind == "sqlite" && dir != nil) || (kind == "postgres" && url != nil) else {
        err.write("tollfreed: bench-store: --store sqlite --dir DIR | --store postgres --url URL, [--calls N] [--single]")
        return 2
    }
    let logger = Logger(minimumLevel: .warning)
    do {
        let store: any CDRStore
        if let url {
            let spool = FileManager.default.temporaryDirectory.appendingPathComponent("tf-bench-spool-\(getpid())").path
            defer { try? FileManager.default.removeItem(atPath: spool) }
            let pg = try PostgresCDRStore(url: url, node: "bench", connectNow: true)
            store = try SpoolingCDRStore(inner: pg, directory: spool, maxBytes: 1 << 30, logger: logger)
        } else {
            store = try SQLiteCDRStore(directory: dir!)
        }
        let (seconds, transactions) = try runStoreBenchmark(store, calls: calls, single: single, logger: logger)
        let ops = 2 * calls
        out.write(String(format: "store=%@ mode=%@ calls=%d operations=%d seconds=%.2f calls_per_s=%.0f operations_per_s=%.0f transactions=%d operations_per_transaction=%.1f",
                         kind, single ? "single" : "group", calls, ops, seconds, Double(calls) / seconds, Double(ops) / seconds,
                         transactions, Double(ops) / Double(max(1, transactions))))
        return 0
    } catch {
        err.write("tollfreed: bench-store: \(error)")
        return 1
    }
}

/// Writes `calls` calls (active insert, then finish 500 calls later, as a busy daemon
/// would) and returns the seconds until all were stored and the transaction count.
private func runStoreBenchmark(_ store: any CDRStore, calls: Int, single: Bool, logger: Logger) throws -> (Double, Int) {
    let start = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded() - 3600)
    let run = "\(getpid())-\(Int(Date().timeIntervalSince1970))"
    func record(_ i: Int, final: Bool) -> CallDetailRecord {
        let t = start.addingTimeInterval(Double(i) * 0.01)
        var r = CallDetailRecord(callID: "CAbench\(run)-\(i)", sipCallID: "bench-\(run)-\(i)@127.0.0.1", did: "+18005963057",
                                 tenant: "healthcare-client-001", fromNumber: "+12025550123", toNumber: "8005963057",
                                 startTime: t, answerTime: final ? t.addingTimeInterval(1) : nil,
                                 endTime: t.addingTimeInterval(final ? 61.5 : 0), disposition: final ? .completed : .active,
                                 sipCode: final ? 200 : 0, hangupBy: final ? .caller : .none, flow: "healthcare-intake.xml",
                                 rtpSent: 3000, rtpReceived: 3000)
        r.node = "bench"
        if final {
            r.quality = CallQuality(packetsExpected: 3075, packetsLost: 3, jitterMeanMs: 2.4, jitterMaxMs: 11.5, peerPacketsLost: 1,
                                    peerJitterMs: 3.1, roundTripMs: 42.7, mos: 4.3)
        }
        return r
    }
    let lag = 500
    let began = DispatchTime.now().uptimeNanoseconds
    var transactions = 0
    if single {
        for i in 0..<(calls + lag) {
            if i < calls { try store.apply([.insert(record(i, final: false))]) }
            if i >= lag { try store.apply([.finish(record(i - lag, final: true))]) }
        }
        transactions = 2 * calls
    } else {
        let count = Locked(0)
        let writer = CDRWriter(store: store, logger: logger, node: "bench") { _ in count.withLock { $0 += 1 } }
        for i in 0..<(calls + lag) {
            if i < calls { writer.begin(record(i, final: false)) }
            if i >= lag { writer.finish(record(i - lag, final: true)) }
        }
        writer.flush()
        transactions = count.withLock { $0 }
    }
    return (Double(DispatchTime.now().uptimeNanoseconds - began) / 1e9, transactions)
}
