/// The fixed 12-byte RTP header (RFC 3550), without CSRCs or extensions on send.
public struct RTPHeader: Sendable, Equatable {
    public var marker: Bool
    public var payloadType: UInt8
    public var sequence: UInt16
    public var timestamp: UInt32
    public var ssrc: UInt32

    public static let size = 12

    public init(marker: Bool, payloadType: UInt8, sequence: UInt16, timestamp: UInt32, ssrc: UInt32) {
        self.marker = marker
        self.payloadType = payloadType
        self.sequence = sequence
        self.timestamp = timestamp
        self.ssrc = ssrc
    }

    /// Writes the header into the first 12 bytes of `buffer` (no allocation).
    @inline(__always)
    public func write(to buffer: UnsafeMutableRawPointer) {
        buffer.storeBytes(of: 0x80, toByteOffset: 0, as: UInt8.self) // V=2, P=0, X=0, CC=0
        buffer.storeBytes(of: (marker ? 0x80 : 0) | (payloadType & 0x7F), toByteOffset: 1, as: UInt8.self)
        buffer.storeBytes(of: sequence.bigEndian, toByteOffset: 2, as: UInt16.self)
        buffer.storeBytes(of: timestamp.bigEndian, toByteOffset: 4, as: UInt32.self)
        buffer.storeBytes(of: ssrc.bigEndian, toByteOffset: 8, as: UInt32.self)
    }

    /// Parses a received packet. Returns the header and the payload offset, or nil when
    /// the packet is not RTP version 2 or is truncated.
    public static func parse(_ packet: UnsafeRawBufferPointer) -> (header: RTPHeader, payloadOffset: Int, payloadLength: Int)? {
        guard packet.count >= size else { return nil }
        let b0 = packet[0]
        guard b0 >> 6 == 2 else { return nil }
        let csrcCount = Int(b0 & 0x0F)
        var offset = size + 4 * csrcCount
        guard packet.count >= offset else { return nil }
        if b0 & 0x10 != 0 { // header extension
            guard packet.count >= offset + 4 else { return nil }
            let words = Int(packet[offset + 2]) << 8 | Int(packet[offset + 3])
            offset += 4 + 4 * words
            guard packet.count >= offset else { return nil }
        }
        var end = packet.count
        if b0 & 0x20 != 0 { // padding: last byte is the pad count
            let pad = Int(packet[packet.count - 1])
            guard pad >= 1, end - pad >= offset else { return nil }
            end -= pad
        }
        let seq = UInt16(packet[2]) << 8 | UInt16(packet[3])
        let ts = UInt32(packet[4]) << 24 | UInt32(packet[5]) << 16 | UInt32(packet[6]) << 8 | UInt32(packet[7])
        let ssrc = UInt32(packet[8]) << 24 | UInt32(packet[9]) << 16 | UInt32(packet[10]) << 8 | UInt32(packet[11])
        let h = RTPHeader(marker: packet[1] & 0x80 != 0, payloadType: packet[1] & 0x7F,
                          sequence: seq, timestamp: ts, ssrc: ssrc)
        return (h, offset, end - offset)
    }
}
