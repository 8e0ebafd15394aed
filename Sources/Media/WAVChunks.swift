/// The RIFF/WAVE chunk walk every WAV reader shares (the media engine's, and
/// transcription's): where the `fmt ` fields and the samples are, with what to make of the
/// format left to the reader.
extension WAVFile {
    /// What a `fmt ` chunk says, before any check of it.
    public struct FormatChunk: Sendable, Equatable {
        /// The format tag (1 PCM, 3 IEEE float, 6 A-law, 7 u-law); for
        /// WAVE_FORMAT_EXTENSIBLE (0xFFFE) the tag its sub-format GUID starts with.
        public var tag: Int
        /// A WAVE_FORMAT_EXTENSIBLE chunk too short to hold its sub-format (`tag` stays 0xFFFE).
        public var truncatedExtensible: Bool
        /// Interleaved channels, as written.
        public var channels: Int
        /// Frames per second, as written.
        public var sampleRate: Int
        /// Bits per sample, as written.
        public var bitsPerSample: Int
    }

    /// Why a file's chunks could not be walked to its samples.
    public enum ChunkProblem: Error, Sendable, Equatable, CustomStringConvertible {
        /// Fewer bytes than a RIFF header (the count).
        case tooShort(Int)
        /// No `RIFF`....`WAVE` header.
        case notRIFFWAVE
        /// A `fmt ` chunk shorter than its 16 fixed bytes.
        case truncatedFormat
        /// The `data` chunk comes before any `fmt ` chunk.
        case dataBeforeFormat
        /// No `fmt ` chunk at all.
        case noFormat
        /// A `fmt ` chunk but no `data` chunk.
        case noData

        /// The media engine's wording ("not a RIFF/WAVE file", "no data chunk", ...).
        public var description: String {
            switch self {
            case .tooShort, .notRIFFWAVE: "not a RIFF/WAVE file"
            case .truncatedFormat: "truncated fmt chunk"
            case .dataBeforeFormat: "data chunk before fmt chunk"
            case .noFormat: "no fmt chunk"
            case .noData: "no data chunk"
            }
        }
    }

    /// Walks the chunks of the WAV image `b` to its `data` chunk. `format` reads each `fmt `
    /// chunk on the way (and may refuse it); the last one's result comes back with the byte
    /// range of the samples. A `data` chunk whose size runs past the end (a recording never
    /// finalised, or 0xFFFFFFFF from a streaming writer) is taken as far as the image goes;
    /// other chunks are skipped. `problem` turns the walk's own failures into `E`.
    public static func chunks<F, E: Error>(_ b: [UInt8], problem: (ChunkProblem) -> E,
                                          format: (FormatChunk) throws(E) -> F) throws(E) -> (F, Range<Int>) {
        func u16(_ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 }
        func u32(_ o: Int) -> Int { u16(o) | u16(o + 2) << 16 }
        guard b.count >= 12 else { throw problem(.tooShort(b.count)) }
        guard b[0..<4].elementsEqual("RIFF".utf8), b[8..<12].elementsEqual("WAVE".utf8) else { throw problem(.notRIFFWAVE) }
        var result: F?
        var offset = 12
        while offset + 8 <= b.count {
            let id = b[offset..<(offset + 4)]
            let size = u32(offset + 4)
            let body = offset + 8
            if id.elementsEqual("fmt ".utf8) {
                guard size >= 16, body + 16 <= b.count else { throw problem(.truncatedFormat) }
                var chunk = FormatChunk(tag: u16(body), truncatedExtensible: false, channels: u16(body + 2),
                                        sampleRate: u32(body + 4), bitsPerSample: u16(body + 14))
                if chunk.tag == 0xFFFE { // WAVE_FORMAT_EXTENSIBLE: the sub-format GUID starts with the tag
                    if size >= 40, body + 26 <= b.count { chunk.tag = u16(body + 24) } else { chunk.truncatedExtensible = true }
                }
                result = try format(chunk)
            } else if id.elementsEqual("data".utf8) {
                guard let result else { throw problem(.dataBeforeFormat) }
                let end = size == 0xFFFF_FFFF ? b.count : min(b.count, body + size)
                return (result, body..<max(body, end))
            }
            offset = body + size + (size & 1) // chunks are padded to even sizes
        }
        throw problem(result == nil ? .noFormat : .noData)
    }
}
