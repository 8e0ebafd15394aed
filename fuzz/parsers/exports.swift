// libFuzzer target: the export-file reader behind `bill --cdrs/--messages/--2fa`
// (Sources/Metering without the SQLite store and the writer, and Sources/Formats): RFC 4180
// CSV and flat JSON Lines from another machine or another vendor. Errors are expected; a
// crash is not.
import Foundation

private let path = FileManager.default.temporaryDirectory.appendingPathComponent("tollfreed-fuzz-export-\(getpid())").path

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size)) else { return 0 }
    _ = try? ExportFileReader.forEachCall(path: path) { _ in }
    _ = try? ExportFileReader.forEachMessage(path: path) { _ in }
    _ = try? ExportFileReader.forEachTwoFactor(path: path) { _ in }
    return 0
}
