// libFuzzer target: SDP parsing and offer/answer (Sources/Signaling: SDP.swift,
// OfferAnswer.swift, DTMFInfo.swift), and phone-number normalisation (Sources/Routing/
// PhoneNumber.swift): everything a caller's INVITE reaches in Swift before a call exists.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let offer = try? SDPParser.parse(text) {
        // An IPv4 and an IPv6 call (the offer is answered in its own family only).
        for address in ["127.0.0.1", "::1"] {
            let local = LocalMedia(address: address, port: 20000, sessionID: 1)
            if case .success(let (_, answer)) = OfferAnswer.answer(offer, local: local) {
                // Our answer must itself parse.
                guard (try? SDPParser.parse(answer)) != nil else { fatalError("our SDP answer does not parse:\n\(answer)") }
            }
            _ = OfferAnswer.acceptAnswer(offer, local: local)
        }
        _ = OfferAnswer.addressType(of: offer)
    }
    _ = DTMFInfo.digit(contentType: "application/dtmf-relay", body: text)
    _ = DTMFInfo.digit(contentType: "application/dtmf", body: text)
    if let n = PhoneNumber.e164(String(text.prefix(64))) {
        guard n.hasPrefix("+"), n.dropFirst().allSatisfy(\.isNumber) else { fatalError("e164 gave '\(n)'") }
    }
    return 0
}
