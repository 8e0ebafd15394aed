import Foundation
import Observability
#if canImport(Glibc)
import Glibc
#endif

/// The configured RTP port range: even ports, handed out first-in first-out so a port
/// just released is the last to be reused (late packets of an old call rarely land in a
/// new one).
final class PortPool: Sendable {
    private struct Ring {
        var ports: [UInt16]
        var head = 0
        var count: Int
    }
    private let ring: Locked<Ring>

    init(range: ClosedRange<Int>) {
        var ports: [UInt16] = []
        var p = range.lowerBound + (range.lowerBound % 2)
        while p <= range.upperBound { ports.append(UInt16(p)); p += 2 }
        ring = Locked(Ring(ports: ports, count: ports.count))
    }

    var available: Int { ring.withLock { $0.count } }
    var capacity: Int { ring.withLock { $0.ports.count } }

    /// The next free port, unless only `reserve` (or fewer) are left.
    func take(leaving reserve: Int = 0) -> UInt16? {
        ring.withLock { r in
            guard r.count > max(0, reserve) else { return nil }
            let p = r.ports[r.head]
            r.head = (r.head + 1) % r.ports.count
            r.count -= 1
            return p
        }
    }

    func give(_ port: UInt16) {
        ring.withLock { r in
            let tail = (r.head + r.count) % r.ports.count
            r.ports[tail] = port
            r.count += 1
        }
    }
}
