/// Reads the link, IP and TCP/UDP headers of one frame into a `DecodedPacket`.
///
/// Pure and defensive: every read is bounds-checked against the captured bytes, so truncated
/// frames, unknown link types, non-IP and non-TCP/UDP frames give `nil` instead of a crash.
/// Payload lengths come from the IP header, not from the captured length, so a capture that
/// keeps headers only still measures payload sizes exactly.
public enum PacketDecoder {
    /// Link types (pcap DLT values) the decoder reads.
    public enum LinkType {
        public static let null: Int32 = 0
        public static let ethernet: Int32 = 1
        public static let raw: Int32 = 12
        /// LINKTYPE_RAW as stored in files (libpcap maps it to DLT_RAW; kept for safety).
        public static let rawFile: Int32 = 101
        public static let loop: Int32 = 108
        public static let linuxSLL: Int32 = 113
        public static let ipv4: Int32 = 228
        public static let ipv6: Int32 = 229
        public static let linuxSLL2: Int32 = 276
    }

    static let tcpProtocol: UInt8 = 6
    static let udpProtocol: UInt8 = 17

    public static func decode(_ bytes: UnsafeRawBufferPointer, originalLength: Int, linkType: Int32) -> DecodedPacket? {
        guard let network = networkOffset(bytes, linkType: linkType) else { return nil }
        // Bytes of the frame the link layer accounts for; IP lengths of 0 (segmentation offload) fall back to it.
        let wireIPLength = originalLength - network
        guard network < bytes.count, wireIPLength > 0 else { return nil }
        switch bytes[network] >> 4 {
        case 4: return ipv4(bytes, at: network, wireLength: wireIPLength)
        case 6: return ipv6(bytes, at: network, wireLength: wireIPLength)
        default: return nil
        }
    }

    /// Where the IP header starts, after the link-layer header.
    static func networkOffset(_ bytes: UnsafeRawBufferPointer, linkType: Int32) -> Int? {
        switch linkType {
        case LinkType.ethernet:
            var offset = 12
            // Skip 802.1Q / 802.1ad tags.
            while let type = bytes.bigEndianUInt16(at: offset) {
                switch type {
                case 0x8100, 0x88A8: offset += 4
                case 0x0800, 0x86DD: return offset + 2
                default: return nil
                }
            }
            return nil
        case LinkType.raw, LinkType.rawFile, LinkType.ipv4, LinkType.ipv6: return 0
        case LinkType.null, LinkType.loop: return 4
        case LinkType.linuxSLL:
            guard let type = bytes.bigEndianUInt16(at: 14), type == 0x0800 || type == 0x86DD else { return nil }
            return 16
        case LinkType.linuxSLL2:
            guard let type = bytes.bigEndianUInt16(at: 0), type == 0x0800 || type == 0x86DD else { return nil }
            return 20
        default: return nil
        }
    }

    static func ipv4(_ bytes: UnsafeRawBufferPointer, at start: Int, wireLength: Int) -> DecodedPacket? {
        guard bytes.count >= start + 20 else { return nil }
        let headerLength = Int(bytes[start] & 0x0F) * 4
        guard headerLength >= 20, bytes.count >= start + headerLength,
              let total = bytes.bigEndianUInt16(at: start + 2), let fragment = bytes.bigEndianUInt16(at: start + 6)
        else { return nil }
        // A later fragment carries no transport header.
        guard fragment & 0x1FFF == 0 else { return nil }
        let ipLength = total == 0 ? wireLength : Int(total)
        guard ipLength >= headerLength else { return nil }
        let source = IPEndpointAddress(ipv4: bytes.bigEndianUInt32(at: start + 12)!)
        let destination = IPEndpointAddress(ipv4: bytes.bigEndianUInt32(at: start + 16)!)
        return transport(bytes, protocol: bytes[start + 9], at: start + headerLength, length: ipLength - headerLength,
                         source: source, destination: destination)
    }

    static func ipv6(_ bytes: UnsafeRawBufferPointer, at start: Int, wireLength: Int) -> DecodedPacket? {
        guard bytes.count >= start + 40, let payload = bytes.bigEndianUInt16(at: start + 4) else { return nil }
        let source = IPEndpointAddress(ipv6: bytes, at: start + 8)
        let destination = IPEndpointAddress(ipv6: bytes, at: start + 24)
        var next = bytes[start + 6]
        var offset = start + 40
        var remaining = payload == 0 ? wireLength - 40 : Int(payload)
        // Walk extension headers (hop-by-hop, routing, fragment, destination options, AH), bounded.
        for _ in 0..<8 {
            switch next {
            case 0, 43, 60, 51:
                guard bytes.count >= offset + 2 else { return nil }
                let length = next == 51 ? (Int(bytes[offset + 1]) + 2) * 4 : (Int(bytes[offset + 1]) + 1) * 8
                next = bytes[offset]
                offset += length
                remaining -= length
            case 44:
                guard let fragment = bytes.bigEndianUInt16(at: offset + 2), fragment & 0xFFF8 == 0 else { return nil }
                next = bytes[offset]
                offset += 8
                remaining -= 8
            default:
                guard remaining >= 0 else { return nil }
                return transport(bytes, protocol: next, at: offset, length: remaining, source: source, destination: destination)
            }
        }
        return nil
    }

    static func transport(_ bytes: UnsafeRawBufferPointer, protocol number: UInt8, at start: Int, length: Int,
                          source: IPEndpointAddress, destination: IPEndpointAddress) -> DecodedPacket? {
        guard let sourcePort = bytes.bigEndianUInt16(at: start), let destinationPort = bytes.bigEndianUInt16(at: start + 2) else {
            return nil
        }
        switch number {
        case tcpProtocol:
            guard bytes.count >= start + 20, let sequence = bytes.bigEndianUInt32(at: start + 4),
                  let acknowledgment = bytes.bigEndianUInt32(at: start + 8),
                  let window = bytes.bigEndianUInt16(at: start + 14) else { return nil }
            let headerLength = Int(bytes[start + 12] >> 4) * 4
            guard headerLength >= 20, headerLength <= length else { return nil }
            return DecodedPacket(transport: .tcp, source: source, sourcePort: sourcePort, destination: destination,
                                 destinationPort: destinationPort, payloadLength: length - headerLength,
                                 headerEnd: start + headerLength, flags: bytes[start + 13], sequence: sequence,
                                 acknowledgment: acknowledgment, window: window)
        case udpProtocol:
            guard length >= 8 else { return nil }
            return DecodedPacket(transport: .udp, source: source, sourcePort: sourcePort, destination: destination,
                                 destinationPort: destinationPort, payloadLength: length - 8, headerEnd: start + 8,
                                 flags: 0, sequence: 0, acknowledgment: 0, window: 0)
        default:
            return nil
        }
    }
}

/// The headers of one TCP segment or UDP datagram.
public struct DecodedPacket: Sendable, Equatable {
    public enum Transport: UInt8, Sendable { case tcp, udp }

    public var transport: Transport
    public var source: IPEndpointAddress
    public var sourcePort: UInt16
    public var destination: IPEndpointAddress
    public var destinationPort: UInt16
    /// Application bytes, from the IP header's length (exact even when the payload was not captured).
    public var payloadLength: Int
    /// Offset just past the transport header: a headers-only capture stores this much.
    public var headerEnd: Int
    public var flags: UInt8
    public var sequence: UInt32
    public var acknowledgment: UInt32
    public var window: UInt16

    public static let fin: UInt8 = 0x01
    public static let syn: UInt8 = 0x02
    public static let rst: UInt8 = 0x04
    public static let ack: UInt8 = 0x10

    @inline(__always) public func has(_ flag: UInt8) -> Bool { flags & flag != 0 }
}

/// An IPv4 or IPv6 address as two integers: cheap to hash and compare, no allocation.
public struct IPEndpointAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64
    public var isIPv6: Bool

    public init(ipv4: UInt32) {
        high = 0
        low = UInt64(ipv4)
        isIPv6 = false
    }

    init(ipv6 bytes: UnsafeRawBufferPointer, at offset: Int) {
        var high: UInt64 = 0
        var low: UInt64 = 0
        for i in 0..<8 { high = high << 8 | UInt64(bytes[offset + i]) }
        for i in 8..<16 { low = low << 8 | UInt64(bytes[offset + i]) }
        self.high = high
        self.low = low
        isIPv6 = true
    }

    public static func < (a: IPEndpointAddress, b: IPEndpointAddress) -> Bool {
        (a.isIPv6 ? 1 : 0, a.high, a.low) < (b.isIPv6 ? 1 : 0, b.high, b.low)
    }

    public var description: String {
        guard isIPv6 else {
            return (0..<4).map { String((low >> (24 - 8 * UInt64($0))) & 0xFF) }.joined(separator: ".")
        }
        let groups = (0..<8).map { index -> UInt64 in
            let word = index < 4 ? high : low
            return (word >> (48 - 16 * UInt64(index % 4))) & 0xFFFF
        }
        return compressIPv6(groups)
    }

    /// RFC 5952 text: the longest run of two or more zero groups becomes `::`.
    private func compressIPv6(_ groups: [UInt64]) -> String {
        var bestStart = -1, bestLength = 1, index = 0
        while index < 8 {
            var end = index
            while end < 8, groups[end] == 0 { end += 1 }
            if end - index > bestLength { (bestStart, bestLength) = (index, end - index) }
            index = end + 1
        }
        let text = groups.map { String($0, radix: 16) }
        guard bestStart >= 0 else { return text.joined(separator: ":") }
        let head = text[..<bestStart].joined(separator: ":")
        let tail = text[(bestStart + bestLength)...].joined(separator: ":")
        return head + "::" + tail
    }
}

extension UnsafeRawBufferPointer {
    @inline(__always)
    func bigEndianUInt16(at offset: Int) -> UInt16? {
        guard offset >= 0, offset + 2 <= count else { return nil }
        return UInt16(self[offset]) << 8 | UInt16(self[offset + 1])
    }

    @inline(__always)
    func bigEndianUInt32(at offset: Int) -> UInt32? {
        guard offset >= 0, offset + 4 <= count else { return nil }
        return UInt32(self[offset]) << 24 | UInt32(self[offset + 1]) << 16 | UInt32(self[offset + 2]) << 8 | UInt32(self[offset + 3])
    }
}
