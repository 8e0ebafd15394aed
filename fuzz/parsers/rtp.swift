// libFuzzer target: the RTP header parser and the RFC 4733 event decoder (Sources/Media:
// RTPHeader.swift, and TelephoneEvent from DTMF.swift's payload rules): any datagram that
// reaches a call's port.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let raw = UnsafeRawBufferPointer(start: data, count: size)
    if let (header, offset, length) = RTPHeader.parse(raw) {
        guard offset >= 12, length >= 0, offset + length <= size else {
            fatalError("RTPHeader.parse: offset \(offset) length \(length) of \(size) bytes")
        }
        _ = header
    }
    return 0
}
