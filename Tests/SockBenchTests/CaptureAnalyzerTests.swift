import Testing
@testable import SockBench

/// The streaming analysis on hand-built conversations whose every figure is known.
@Suite("capture analysis")
struct CaptureAnalyzerTests {
    static let client: UInt16 = 40_000
    static let server: UInt16 = 7
    static let ms: UInt64 = 1_000_000
    static let ack = DecodedPacket.ack

    /// Within the 3 significant digits a histogram keeps (its max is the top of the max's bucket).
    func close(_ value: UInt64, _ expected: UInt64) -> Bool { value >= expected && Double(value - expected) <= Double(expected) * 0.001 }

    /// Client → server and back, on Ethernet over IPv4.
    func c2s(_ flags: UInt8, _ seq: UInt32, ack: UInt32 = 0, payload: Int = 0, window: UInt16 = 65_535) -> [UInt8] {
        FrameBuilder().tcp(from: Self.client, to: Self.server, flags: flags, sequence: seq, acknowledgment: ack, window: window, payload: payload)
    }

    func s2c(_ flags: UInt8, _ seq: UInt32, ack: UInt32 = 0, payload: Int = 0, window: UInt16 = 65_535) -> [UInt8] {
        FrameBuilder().tcp(from: Self.server, to: Self.client, flags: flags, sequence: seq, acknowledgment: ack, window: window, payload: payload)
    }

    /// A connection with a handshake, coalesced messages, a delayed ACK, a retransmission, a segment
    /// out of order, a zero window, three keepalive probes one second apart, and a clean close.
    func conversation(_ analyzer: inout CaptureAnalyzer, snaplen: Int? = nil) {
        func feed(_ frame: [UInt8], at time: UInt64) { analyzer.feed(frame, at: time, captured: snaplen) }
        let syn = DecodedPacket.syn, fin = DecodedPacket.fin
        feed(c2s(syn, 1000), at: 0)
        feed(s2c(syn | Self.ack, 5000, ack: 1001), at: 10_000)
        feed(c2s(Self.ack, 1001, ack: 5001), at: 20_000)
        feed(c2s(Self.ack, 1001, ack: 5001, payload: 100), at: 100_000)
        feed(s2c(Self.ack, 5001, ack: 1101), at: 100_000 + 40 * Self.ms) // a delayed ACK
        feed(c2s(Self.ack, 1101, ack: 5001, payload: 100), at: 50 * Self.ms)
        feed(c2s(Self.ack, 1101, ack: 5001, payload: 100), at: 50 * Self.ms + 100) // retransmitted
        feed(c2s(Self.ack, 1301, ack: 5001, payload: 100), at: 60 * Self.ms) // leaves 1201..<1301 open
        feed(c2s(Self.ack, 1201, ack: 5001, payload: 100), at: 61 * Self.ms) // fills it: out of order
        feed(s2c(Self.ack, 5001, ack: 1401, payload: 50), at: 62 * Self.ms)
        feed(c2s(Self.ack, 1401, ack: 5051, window: 0), at: 63 * Self.ms) // zero window
        for probe in 0..<3 {
            let time = 1063 * Self.ms + UInt64(probe) * 1000 * Self.ms
            feed(c2s(Self.ack, 1400, ack: 5051), at: time) // one below the next sequence number
            feed(s2c(Self.ack, 5051, ack: 1401), at: time + 30_000)
        }
        feed(c2s(fin | Self.ack, 1401, ack: 5051), at: 4000 * Self.ms)
        feed(s2c(fin | Self.ack, 5051, ack: 1402), at: 4000 * Self.ms + 20_000)
        feed(c2s(Self.ack, 1402, ack: 5052), at: 4000 * Self.ms + 40_000)
    }

    @Test("handshake, segments, retransmission, reordering, zero window, keepalive, delayed ACK: every figure")
    func tcpConversation() throws {
        var analyzer = CaptureAnalyzer(configuration: .init(serverPort: Self.server, messageSizes: .init(clientToServer: 50, serverToClient: 25)),
                                       linkType: PacketDecoder.LinkType.ethernet)
        conversation(&analyzer)
        let result = analyzer.finish()
        #expect(result.packets.total == 20 && result.packets.clientToServer == 13 && result.packets.serverToClient == 7)
        #expect(result.flowCount == 1 && result.undecodedPackets == 0)
        let tcp = try #require(result.tcp)
        #expect(tcp.syn == 1 && tcp.synAck == 1 && tcp.fin == 2 && tcp.rst == 0)
        #expect(tcp.handshakes == 1)
        #expect(tcp.handshakeRttNs.min == 20_000 && tcp.synToSynAckNs.min == 10_000)
        #expect(tcp.dataSegments.clientToServer == 5 && tcp.dataSegments.serverToClient == 1)
        #expect(tcp.payloadBytes.clientToServer == 500 && tcp.payloadBytes.serverToClient == 50)
        #expect(tcp.pureAcks.clientToServer == 3 && tcp.pureAcks.serverToClient == 4)
        // 500 bytes of 50-byte messages in 5 segments; 50 bytes of 25-byte answers in 1.
        #expect(tcp.segmentsPerMessage == Directional(clientToServer: 0.5, serverToClient: 0.5))
        #expect(tcp.retransmissions == 1 && tcp.outOfOrder == 1 && tcp.zeroWindow == 1)
        #expect(tcp.keepalive.probes == 3 && tcp.keepalive.intervalNs.count == 2)
        #expect(tcp.keepalive.intervalNs.min == 1000 * Self.ms && close(tcp.keepalive.intervalNs.max, 1000 * Self.ms))
        #expect(tcp.keepalive.idleBeforeFirstProbeNs.min == 1000 * Self.ms)
        // Client data acknowledged after 40 ms (delayed) and after 2 ms (piggybacked on the answer).
        let delays = tcp.dataToAckDelayNs.clientToServer
        #expect(delays.count == 2 && delays.min == 2 * Self.ms && close(delays.max, 40 * Self.ms))
        #expect(tcp.dataToAckDelayNs.serverToClient.count == 1)
        #expect(tcp.payloadSizeBytes.clientToServer.max == 100 && tcp.payloadSizeBytes.serverToClient.p50 == 50)
        let flow = try #require(result.flows.first)
        #expect(flow.client == "127.0.0.1:40000" && flow.server == "127.0.0.1:7" && flow.handshakeRttNs == 20_000)
        #expect(flow.lastNs == 4000 * Self.ms + 40_000)
    }

    @Test("without a server port, the SYN orients a flow; with none seen, the higher port is the client")
    func orientation() throws {
        var bySyn = CaptureAnalyzer(configuration: .init(), linkType: 1)
        conversation(&bySyn)
        #expect(bySyn.finish().packets.clientToServer == 13)
        var byPort = CaptureAnalyzer(configuration: .init(), linkType: 1)
        byPort.feed(s2c(Self.ack, 9, ack: 1, payload: 10), at: 0)
        byPort.feed(c2s(Self.ack, 1, ack: 19, payload: 10), at: 1)
        let flow = try #require(byPort.finish().flows.first)
        #expect(flow.client.hasSuffix(":40000") && flow.packets.serverToClient == 1)
    }

    @Test("UDP datagrams per direction, RST counted, frames that are not TCP/UDP counted as undecoded")
    func udpResetAndUndecoded() throws {
        var analyzer = CaptureAnalyzer(configuration: .init(serverPort: 9), linkType: 1)
        for time in 0..<3 { analyzer.feed(FrameBuilder().udp(from: 5000, to: 9, payload: 64), at: UInt64(time)) }
        for time in 3..<5 { analyzer.feed(FrameBuilder().udp(from: 9, to: 5000, payload: 64), at: UInt64(time)) }
        analyzer.feed(FrameBuilder().tcp(from: 5001, to: 9, flags: DecodedPacket.rst, sequence: 1), at: 6)
        let arp = [UInt8](repeating: 0, count: 12) + [0x08, 0x06] + [UInt8](repeating: 0, count: 28)
        analyzer.feed(arp, at: 7)
        let result = analyzer.finish()
        #expect(result.packets.total == 7 && result.undecodedPackets == 1)
        #expect(result.bytes.total == UInt64(5 * FrameBuilder().udp(from: 1, to: 2, payload: 64).count
                                             + FrameBuilder().tcp(from: 1, to: 2, flags: 4, sequence: 1).count + arp.count))
        let udp = try #require(result.udp)
        #expect(udp.datagrams == Directional(clientToServer: 3, serverToClient: 2))
        #expect(udp.payloadBytes.clientToServer == 192)
        #expect(result.tcp?.rst == 1 && result.flowCount == 2)
    }

    @Test("the file keeps headers only unless payload is asked for; truncated captures analyse the same")
    func headersOnly() {
        let frame = c2s(Self.ack, 1, ack: 1, payload: 1000)
        var headers = CaptureAnalyzer(configuration: .init(), linkType: 1)
        #expect(headers.feed(frame, at: 0) == frame.count - 1000)
        var payload = CaptureAnalyzer(configuration: .init(), linkType: 1, storesPayload: true)
        #expect(payload.feed(frame, at: 0, captured: 128) == 128)
        // The analysis of a 66-byte snap equals that of the whole frames.
        var whole = CaptureAnalyzer(configuration: .init(serverPort: Self.server), linkType: 1)
        var short = CaptureAnalyzer(configuration: .init(serverPort: Self.server), linkType: 1)
        conversation(&whole)
        conversation(&short, snaplen: 66)
        #expect(whole.finish() == short.finish())
    }

    @Test("a capture that starts mid-connection still recognises keepalive probes")
    func midConnection() throws {
        var analyzer = CaptureAnalyzer(configuration: .init(serverPort: Self.server), linkType: 1)
        analyzer.feed(c2s(Self.ack, 500, ack: 900), at: 1)
        analyzer.feed(c2s(Self.ack, 499, ack: 900), at: 1_000 * Self.ms)
        analyzer.feed(c2s(Self.ack, 499, ack: 900), at: 2_000 * Self.ms)
        let tcp = try #require(analyzer.finish().tcp)
        #expect(tcp.keepalive.probes == 2 && tcp.pureAcks.clientToServer == 1 && tcp.handshakes == 0)
    }

    @Test("sequence numbers compare across the 2^32 wrap")
    func sequenceWrap() {
        var connection = TCPConnectionAnalysis()
        func send(_ sequence: UInt32, _ length: UInt32, at time: UInt64) -> SegmentAnalysis {
            connection.analyze(sequence: sequence, acknowledgment: 0, length: length, flags: Self.ack, window: 100, time: time, fromClient: true)
        }
        #expect(send(UInt32.max - 10, 20, at: 1).isDisjoint(with: [.anyRetransmission, .outOfOrder]))
        #expect(send(9, 10, at: 2).isDisjoint(with: [.anyRetransmission, .outOfOrder]))
        #expect(send(UInt32.max - 10, 20, at: 1_000 * Self.ms) == .retransmission)
        #expect(sequenceLess(UInt32.max, 1) && !sequenceLess(1, UInt32.max))
    }
}
