import Routing
import XCTest

final class AdmissionTests: XCTestCase {
    private func controller(capacity: Int = 4, reserve: Int = 1, preempt: Bool = true) -> AdmissionController<Int> {
        AdmissionController(policy: .init(capacity: capacity, emergencyReserve: reserve, allowPreemption: preempt, retryAfterSeconds: 7))
    }

    func testOrdinaryCallsStopAtCapacityMinusReserve() {
        var a = controller()
        XCTAssertEqual(a.request(1, emergency: false), .admit)
        XCTAssertEqual(a.request(2, emergency: false), .admit)
        XCTAssertEqual(a.request(3, emergency: false), .admit)
        XCTAssertEqual(a.request(4, emergency: false), .reject(retryAfterSeconds: 7), "the last place is the reserve")
        XCTAssertEqual(a.active, 3)
        a.release(2)
        XCTAssertEqual(a.request(5, emergency: false), .admit)
    }

    func testEmergencyUsesTheReserveThenPreemptsTheNewestOrdinaryCall() {
        var a = controller()
        for k in 1...3 { XCTAssertEqual(a.request(k, emergency: false), .admit) }
        XCTAssertEqual(a.request(10, emergency: true), .admit, "into the reserve")
        XCTAssertEqual(a.request(11, emergency: true), .admitPreempting(3), "newest ordinary call goes")
        XCTAssertEqual(a.request(12, emergency: true), .admitPreempting(2))
        XCTAssertEqual(a.active, 4)
        XCTAssertEqual(a.activeEmergency, 3)
        a.release(3) // the preempted call's end is harmless
        XCTAssertEqual(a.active, 4)
    }

    func testEmergencyIsAdmittedEvenWithoutPreemption() {
        var a = controller(capacity: 2, reserve: 0, preempt: false)
        XCTAssertEqual(a.request(1, emergency: false), .admit)
        XCTAssertEqual(a.request(2, emergency: false), .admit)
        XCTAssertEqual(a.request(3, emergency: true), .admit, "always admitted, over capacity")
        XCTAssertEqual(a.active, 3)
        XCTAssertEqual(a.request(4, emergency: false), .reject(retryAfterSeconds: 7))
    }

    func testEmergencyWithOnlyEmergencyCallsUpIsAdmitted() {
        var a = controller(capacity: 1, reserve: 1)
        XCTAssertEqual(a.request(1, emergency: true), .admit)
        XCTAssertEqual(a.request(2, emergency: true), .admit, "nothing to preempt: admitted anyway")
        a.release(1)
        a.release(2)
        XCTAssertEqual(a.active, 0)
    }

    func testClassifier() {
        let c = EmergencyClassifier(resourcePriorityNamespaces: ["esnet", "wps"])
        let line = DIDRoute(did: "+18888046762", tenant: "fleet", industry: .fleet, flow: "f.xml", emergency: true)
        let plain = DIDRoute(did: "+18005963057", tenant: "hc", industry: .healthcare, flow: "h.xml")
        XCTAssertTrue(c.isEmergency(route: line, priority: nil, resourcePriority: nil))
        XCTAssertFalse(c.isEmergency(route: plain, priority: nil, resourcePriority: nil))
        XCTAssertTrue(c.isEmergency(route: plain, priority: " Emergency ", resourcePriority: nil))
        XCTAssertFalse(c.isEmergency(route: plain, priority: "urgent", resourcePriority: nil))
        XCTAssertTrue(c.isEmergency(route: plain, priority: nil, resourcePriority: "esnet.0"))
        XCTAssertTrue(c.isEmergency(route: plain, priority: nil, resourcePriority: "dsn.flash, WPS.2"))
        XCTAssertFalse(c.isEmergency(route: plain, priority: nil, resourcePriority: "dsn.flash"))
        XCTAssertFalse(c.isEmergency(route: nil, priority: nil, resourcePriority: ""))
    }

    func testUntrustedMarkingsDoNotMakeAnEmergencyButTheLineDoes() {
        let c = EmergencyClassifier()
        let line = DIDRoute(did: "+18888046762", tenant: "fleet", industry: .fleet, flow: "f.xml", emergency: true)
        let plain = DIDRoute(did: "+18005963057", tenant: "hc", industry: .healthcare, flow: "h.xml")
        XCTAssertFalse(c.isEmergency(route: plain, priority: "emergency", resourcePriority: "esnet.0", markingsTrusted: false))
        XCTAssertTrue(c.claimsEmergency(priority: "emergency", resourcePriority: nil))
        XCTAssertTrue(c.isEmergency(route: line, priority: nil, resourcePriority: nil, markingsTrusted: false))
    }

    func testPreemptionVictimForAPortIsTheNewestOrdinaryCall() {
        var a = controller(capacity: 10, reserve: 1)
        _ = a.request(1, emergency: false)
        _ = a.request(2, emergency: false)
        _ = a.request(3, emergency: true)
        XCTAssertEqual(a.takePreemptionVictim(), 2)
        XCTAssertEqual(a.active, 2, "the victim no longer holds a place")
        a.release(2) // its end later is harmless
        XCTAssertEqual(a.active, 2)
        XCTAssertEqual(a.takePreemptionVictim(), 1)
        XCTAssertNil(a.takePreemptionVictim(), "emergency calls are never victims")
        var off = AdmissionController<Int>(policy: .init(capacity: 10, emergencyReserve: 1, allowPreemption: false))
        _ = off.request(1, emergency: false)
        XCTAssertNil(off.takePreemptionVictim())
    }
}
