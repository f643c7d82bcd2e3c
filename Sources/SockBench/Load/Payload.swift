/// The bytes a message carries. The first 8 bytes are the sequence number (little endian; fewer
/// when a message is shorter), UDP datagrams carry the send timestamp in bytes 8..<16, and the rest
/// is a fixed filler, so a receiver can verify every byte against a template with one memcmp.
public enum Payload {
    public static let sequenceBytes = 8
    public static let timestampOffset = 8

    @inline(__always)
    public static func filler(at offset: Int) -> UInt8 { UInt8(truncatingIfNeeded: offset &* 31 &+ 7) }

    /// A buffer of `size` filler bytes (at least 1 byte is allocated). The caller deallocates it.
    public static func makeTemplate(size: Int) -> UnsafeMutableRawPointer {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(size, 1), alignment: 16)
        fill(buffer, size: size)
        return buffer
    }

    /// Writes `size` filler bytes at `buffer`.
    public static func fill(_ buffer: UnsafeMutableRawPointer, size: Int) {
        for offset in 0..<size { buffer.storeBytes(of: filler(at: offset), toByteOffset: offset, as: UInt8.self) }
    }

    /// Writes the low `min(8, size)` bytes of `sequence` at `message`.
    @inline(__always)
    public static func writeSequence(_ sequence: UInt64, into message: UnsafeMutableRawPointer, size: Int) {
        var value = sequence.littleEndian
        withUnsafeBytes(of: &value) { bytes in
            message.copyMemory(from: bytes.baseAddress!, byteCount: min(sequenceBytes, size))
        }
    }

    /// The expected byte at `offset` of a message with this sequence number.
    @inline(__always)
    public static func expectedByte(sequence: UInt64, offset: Int) -> UInt8 {
        offset < sequenceBytes ? UInt8(truncatingIfNeeded: sequence >> UInt64(offset &* 8)) : filler(at: offset)
    }

    @inline(__always)
    public static func readUInt64(_ pointer: UnsafeRawPointer, at offset: Int) -> UInt64 {
        UInt64(littleEndian: pointer.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inline(__always)
    public static func writeUInt64(_ value: UInt64, _ pointer: UnsafeMutableRawPointer, at offset: Int) {
        pointer.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt64.self)
    }
}
