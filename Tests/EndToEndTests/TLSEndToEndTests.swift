import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// SIP over TLS as a listener option: OPTIONS and a whole call over one TLS connection.
final class TLSEndToEndTests: XCTestCase {
    func testSIPOverTLSAnswersProbesAndCalls() throws {
        let (_, cert, key) = try selfSignedCertificate("tf-tls")
        let tlsPort = freePort()
        let d = try DaemonUnderTest(ringMs: 0) { cfg in
            var sip = cfg["sip"] as? [String: Any] ?? [:]
            sip["tls"] = ["listen": "127.0.0.1:\(tlsPort)", "certificate": cert, "key": key]
            cfg["sip"] = sip
        }
        defer { d.stop() }
        XCTAssertTrue(d.logShows("sips=127.0.0.1:\(tlsPort)"), d.logText.suffix(800).description)
        let r = runProgram("/usr/bin/python3", [Paths.repo.appendingPathComponent("Tests/Support/tls_sip_client.py").path,
                                                 "\(tlsPort)", "8005963057", "tls-call-1@127.0.0.1"], timeout: 30)
        XCTAssertEqual(r.status, 0, r.output + d.logText.suffix(1500))
        XCTAssertEqual(r.output.split(separator: "\n").map(String.init), ["OPTIONS 200", "INVITE 200", "BYE 200"], r.output)
        let rec = try XCTUnwrap(d.record(tag: "tls-call"))
        XCTAssertEqual(rec["disposition"] as? String, "completed")
        XCTAssertEqual(rec["hangup_by"] as? String, "caller")
    }

    func testAWorldReadableTLSKeyStopsTheStart() throws {
        let (_, cert, key) = try selfSignedCertificate("tf-tls-weak")
        chmod(key, 0o644)
        XCTAssertThrowsError(try DaemonUnderTest(ringMs: 0) { cfg in
            var sip = cfg["sip"] as? [String: Any] ?? [:]
            sip["tls"] = ["listen": "127.0.0.1:\(freePort())", "certificate": cert, "key": key]
            cfg["sip"] = sip
        }) { XCTAssertTrue("\($0)".contains("chmod 0600"), "\($0)") }
    }

    /// The TLS listener has its own trusted networks: a TLS INVITE from outside them gets
    /// 403 while the UDP listener (trusting everyone here) still answers.
    func testTheTLSListenerHasItsOwnTrustedNetworks() throws {
        let (_, cert, key) = try selfSignedCertificate("tf-tls-acl")
        let tlsPort = freePort()
        let d = try DaemonUnderTest(ringMs: 0) { cfg in
            var sip = cfg["sip"] as? [String: Any] ?? [:]
            sip["tls"] = ["listen": "127.0.0.1:\(tlsPort)", "certificate": cert, "key": key, "trusted_sources": ["203.0.113.0/24"]]
            cfg["sip"] = sip
        }
        defer { d.stop() }
        let r = runProgram("/usr/bin/python3", [Paths.repo.appendingPathComponent("Tests/Support/tls_sip_client.py").path,
                                                 "\(tlsPort)", "8005963057", "tls-acl-1@127.0.0.1"], timeout: 30)
        XCTAssertEqual(r.output.split(separator: "\n").map(String.init), ["OPTIONS 200", "INVITE 403"], r.output)
        XCTAssertEqual(d.sipp("uac_caller_bye.xml", dial: "8005963057", tag: "udp-still-open").status, 0)
    }
}
