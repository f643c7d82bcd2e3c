import Testing
@testable import SockBench

@Suite("pcap frame decoder")
struct PacketDecoderTests {
    static let links: [FrameBuilder.Link] = [.ethernet, .vlan, .raw, .sll, .sll2, .null]

    @Test("TCP over IPv4 and IPv6 on every link type: ports, flags, sequence numbers and payload length")
    func decodesTCP() throws {
        for link in Self.links {
            for ipv6 in [false, true] {
                var builder = ipv6 ? FrameBuilder.ipv6Loopback() : FrameBuilder()
                builder.link = link
                let frame = builder.tcp(from: 40_000, to: 7, flags: DecodedPacket.ack | 0x08, sequence: 1_000, acknowledgment: 2_000,
                                        window: 512, payload: 100)
                let packet = try #require(PacketDecoder.decode(frame, linkType: builder.linkType), "\(link) ipv6=\(ipv6)")
                #expect(packet.transport == .tcp)
                #expect(packet.sourcePort == 40_000 && packet.destinationPort == 7)
                #expect(packet.sequence == 1_000 && packet.acknowledgment == 2_000 && packet.window == 512)
                #expect(packet.has(DecodedPacket.ack) && !packet.has(DecodedPacket.syn))
                #expect(packet.payloadLength == 100)
                #expect(packet.source.isIPv6 == ipv6)
                #expect(packet.headerEnd == frame.count - 100, "headers end where the payload starts")
            }
        }
    }

    @Test("addresses print as text, IPv6 compressed as RFC 5952 says")
    func addressText() throws {
        let v4 = try #require(PacketDecoder.decode(FrameBuilder().udp(from: 1, to: 2, payload: 0), linkType: 1))
        #expect(v4.source.description == "127.0.0.1")
        let v6 = try #require(PacketDecoder.decode(FrameBuilder.ipv6Loopback().udp(from: 1, to: 2, payload: 0), linkType: 1))
        #expect(v6.source.description == "::1")
        var builder = FrameBuilder.ipv6Loopback()
        builder.source = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]
        let other = try #require(PacketDecoder.decode(builder.udp(from: 1, to: 2, payload: 0), linkType: 1))
        #expect(other.source.description == "2001:db8::1:0:0:1")
    }

    @Test("a headers-only capture still gives the payload length from the IP header")
    func payloadFromIPLength() throws {
        for builder in [FrameBuilder(), FrameBuilder.ipv6Loopback()] {
            let frame = builder.tcp(from: 1234, to: 80, flags: DecodedPacket.ack, sequence: 1, payload: 1400)
            let headers = frame.count - 1400
            let packet = try frame.withUnsafeBytes { raw in
                try #require(PacketDecoder.decode(UnsafeRawBufferPointer(rebasing: raw[..<headers]), originalLength: frame.count, linkType: 1))
            }
            #expect(packet.payloadLength == 1400)
        }
    }

    @Test("UDP datagrams, and an IPv6 extension header before them")
    func decodesUDP() throws {
        let packet = try #require(PacketDecoder.decode(FrameBuilder().udp(from: 5000, to: 9, payload: 64), linkType: 1))
        #expect(packet.transport == .udp && packet.payloadLength == 64 && packet.destinationPort == 9)
        // Hop-by-hop options (next header 0) of 8 bytes, then UDP.
        let udp = FrameBuilder.be16(5000) + FrameBuilder.be16(9) + FrameBuilder.be16(8 + 10) + [0, 0] + [UInt8](repeating: 0, count: 10)
        let hopByHop: [UInt8] = [17, 0, 1, 4, 0, 0, 0, 0]
        var frame = FrameBuilder.ipv6Loopback().frame(protocol: 0, transport: hopByHop + udp)
        let extended = try #require(PacketDecoder.decode(frame, linkType: 1))
        #expect(extended.transport == .udp && extended.payloadLength == 10)
        // A non-first IPv6 fragment has no transport header to read.
        frame = FrameBuilder.ipv6Loopback().frame(protocol: 44, transport: [17, 0, 0x01, 0x00, 0, 0, 0, 1] + udp)
        #expect(PacketDecoder.decode(frame, linkType: 1) == nil)
    }

    @Test("non-IP frames, other IP protocols and unknown link types are not decoded")
    func rejectsOthers() {
        let arp = [UInt8](repeating: 0, count: 12) + [0x08, 0x06] + [UInt8](repeating: 0, count: 28)
        #expect(PacketDecoder.decode(arp, linkType: 1) == nil)
        let icmp = FrameBuilder().frame(protocol: 1, transport: [8, 0, 0, 0, 0, 1, 0, 1])
        #expect(PacketDecoder.decode(icmp, linkType: 1) == nil)
        let tcp = FrameBuilder().tcp(from: 1, to: 2, flags: DecodedPacket.syn, sequence: 0)
        #expect(PacketDecoder.decode(tcp, linkType: 147) == nil) // a user DLT
        // An IPv4 fragment after the first.
        var fragment = FrameBuilder().udp(from: 1, to: 2, payload: 8)
        fragment[14 + 6] = 0x00
        fragment[14 + 7] = 0x10
        #expect(PacketDecoder.decode(fragment, linkType: 1) == nil)
    }

    @Test("every truncation of valid frames decodes or gives nil, never reads past the end")
    func truncatedFrames() {
        var frames: [([UInt8], Int32)] = []
        for link in Self.links {
            for ipv6 in [false, true] {
                var builder = ipv6 ? FrameBuilder.ipv6Loopback() : FrameBuilder()
                builder.link = link
                frames.append((builder.tcp(from: 1, to: 2, flags: DecodedPacket.ack, sequence: 9, payload: 20), builder.linkType))
                frames.append((builder.udp(from: 1, to: 2, payload: 20), builder.linkType))
            }
        }
        var decoded = 0
        for (frame, linkType) in frames {
            for length in 0...frame.count {
                // Exact-size copies, so a read past the end would trip the address sanitizer or bounds checks in debug builds.
                let prefix = Array(frame[..<length])
                if prefix.withUnsafeBytes({ PacketDecoder.decode($0, originalLength: frame.count, linkType: linkType) }) != nil { decoded += 1 }
            }
        }
        #expect(decoded > 0)
    }

    @Test("20,000 seeded random and mutated frames: no crash, lengths never negative")
    func randomFrames() {
        var random = SeededGenerator(state: 0x5EED_CAF3)
        let templates = Self.links.flatMap { link -> [([UInt8], Int32)] in
            var builder = FrameBuilder()
            builder.link = link
            var v6 = FrameBuilder.ipv6Loopback()
            v6.link = link
            return [(builder.tcp(from: 1, to: 2, flags: 0x12, sequence: 5, payload: 40), builder.linkType),
                    (v6.udp(from: 3, to: 4, payload: 12), v6.linkType)]
        }
        for index in 0..<20_000 {
            var (frame, linkType) = templates[index % templates.count]
            if index % 4 == 0 {
                frame = (0..<Int.random(in: 0...120, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            } else {
                for _ in 0..<Int.random(in: 1...6, using: &random) {
                    frame[Int.random(in: 0..<frame.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
                frame = Array(frame.prefix(Int.random(in: 0...frame.count, using: &random)))
            }
            let original = frame.count + Int.random(in: 0...2000, using: &random)
            if let packet = frame.withUnsafeBytes({ PacketDecoder.decode($0, originalLength: original, linkType: linkType) }) {
                #expect(packet.payloadLength >= 0)
                #expect(packet.headerEnd >= 0)
            }
        }
    }
}
