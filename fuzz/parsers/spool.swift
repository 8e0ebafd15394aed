// libFuzzer target: the record spool reader (Sources/RecordStore/SpoolCodec.swift and
// SpoolFile.swift with Metering's and Formats' sources): the bytes a crash, a full disk or a flipped
// bit can leave in records.spool before a replay. A damaged entry must be reported
// (SpoolDamage); a crash is a finding.
import Foundation

private let path = FileManager.default.temporaryDirectory.appendingPathComponent("tollfreed-fuzz-spool-\(getpid())").path

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size)) else { return 0 }
    guard var reader = try? SpoolReader(path: path) else { return 0 }
    while let next = try? reader.next() { _ = next }
    return 0
}
