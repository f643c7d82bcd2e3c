@testable import SockBench

/// Builds link-layer frames byte by byte for decoder and analyzer tests.
struct FrameBuilder {
    enum Link { case ethernet, vlan, raw, sll, sll2, null }

    var link: Link = .ethernet
    var ipv6 = false
    var source: [UInt8] = [127, 0, 0, 1]
    var destination: [UInt8] = [127, 0, 0, 1]

    var linkType: Int32 {
        switch link {
        case .ethernet, .vlan: PacketDecoder.LinkType.ethernet
        case .raw: PacketDecoder.LinkType.raw
        case .sll: PacketDecoder.LinkType.linuxSLL
        case .sll2: PacketDecoder.LinkType.linuxSLL2
        case .null: PacketDecoder.LinkType.null
        }
    }

    static func ipv6Loopback() -> FrameBuilder {
        FrameBuilder(ipv6: true, source: [UInt8](repeating: 0, count: 15) + [1], destination: [UInt8](repeating: 0, count: 15) + [1])
    }

    func tcp(from sourcePort: UInt16, to destinationPort: UInt16, flags: UInt8, sequence: UInt32, acknowledgment: UInt32 = 0,
             window: UInt16 = 65_535, payload: Int = 0, options: Int = 12) -> [UInt8] {
        var header = Self.be16(sourcePort) + Self.be16(destinationPort) + Self.be32(sequence) + Self.be32(acknowledgment)
        header += [UInt8((20 + options) / 4) << 4, flags] + Self.be16(window) + [0, 0, 0, 0]
        header += [UInt8](repeating: 1, count: options) // NOPs
        return frame(protocol: 6, transport: header + [UInt8](repeating: 0xAB, count: payload))
    }

    func udp(from sourcePort: UInt16, to destinationPort: UInt16, payload: Int) -> [UInt8] {
        let header = Self.be16(sourcePort) + Self.be16(destinationPort) + Self.be16(UInt16(8 + payload)) + [0, 0]
        return frame(protocol: 17, transport: header + [UInt8](repeating: 0xCD, count: payload))
    }

    func frame(protocol number: UInt8, transport: [UInt8]) -> [UInt8] {
        let ip: [UInt8]
        if ipv6 {
            ip = [0x60, 0, 0, 0] + Self.be16(UInt16(transport.count)) + [number, 64] + source + destination
        } else {
            ip = [0x45, 0] + Self.be16(UInt16(20 + transport.count)) + [0, 0, 0x40, 0, 64, number, 0, 0] + source + destination
        }
        let etherType: [UInt8] = ipv6 ? [0x86, 0xDD] : [0x08, 0x00]
        let linkHeader: [UInt8]
        switch link {
        case .ethernet: linkHeader = [UInt8](repeating: 0, count: 12) + etherType
        case .vlan: linkHeader = [UInt8](repeating: 0, count: 12) + [0x81, 0x00, 0x00, 0x07] + etherType
        case .raw: linkHeader = []
        case .sll: linkHeader = [UInt8](repeating: 0, count: 14) + etherType
        case .sll2: linkHeader = etherType + [UInt8](repeating: 0, count: 18)
        case .null: linkHeader = ipv6 ? [10, 0, 0, 0] : [2, 0, 0, 0]
        }
        return linkHeader + ip + transport
    }

    static func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
    static func be32(_ value: UInt32) -> [UInt8] { [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)] }
}

extension PacketDecoder {
    /// Decodes a test frame whose bytes are all "captured".
    static func decode(_ frame: [UInt8], linkType: Int32, originalLength: Int? = nil) -> DecodedPacket? {
        frame.withUnsafeBytes { decode($0, originalLength: originalLength ?? frame.count, linkType: linkType) }
    }
}

extension CaptureAnalyzer {
    /// Feeds a test frame at `time` nanoseconds, keeping only `captured` bytes as a short snaplen would.
    @discardableResult
    mutating func feed(_ frame: [UInt8], at time: UInt64, captured: Int? = nil) -> Int {
        let kept = min(captured ?? frame.count, frame.count)
        return frame.withUnsafeBytes { consume(UnsafeRawBufferPointer(rebasing: $0[..<kept]), originalLength: frame.count, time: time) }
    }
}
