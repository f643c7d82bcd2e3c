/// Turns packets into `CaptureAnalysis` as they arrive, one at a time, on the capture thread.
///
/// State is per flow (a dictionary of small structs) plus a few histograms for the totals;
/// a packet costs one decode, one dictionary lookup and a handful of counter updates, and
/// allocates only when it opens a new flow. A struct, so the per-packet path mutates it
/// without the dynamic exclusivity checks class properties carry.
public struct CaptureAnalyzer {
    public struct Configuration: Sendable, Equatable {
        /// The server's port orients flows (client to server); without it the SYN or the port order does.
        public var serverPort: UInt16?
        /// Application message sizes, to count segments per message (request, response).
        public var messageSizes: Directional<Int>?

        public init(serverPort: UInt16? = nil, messageSizes: Directional<Int>? = nil) {
            self.serverPort = serverPort
            self.messageSizes = messageSizes
        }
    }

    /// Flows listed one by one in a report; the totals always cover every flow.
    public static let listedFlowLimit = 1000

    public let configuration: Configuration
    /// What a headers-only capture keeps: true stores whole captured frames in the file.
    let storesPayload: Bool
    private let linkType: Int32
    private var flowIndex: [FlowKey: Int] = [:]
    private var flows: [FlowState] = []
    private var packetTotal: UInt64 = 0
    private var byteTotal: UInt64 = 0
    private var undecoded: UInt64 = 0
    private var firstTime: UInt64?

    private var payloadSize = Sides(LatencyHistogram())
    private var dataToAck = Sides(LatencyHistogram())
    private var handshake = LatencyHistogram()
    private var synToSynAck = LatencyHistogram()
    private var keepaliveInterval = LatencyHistogram()
    private var keepaliveIdle = LatencyHistogram()

    /// The figures up to the moment the measured window opened (`openWindow`), if it has.
    public private(set) var warmup: CaptureAnalysis?

    public init(configuration: Configuration, linkType: Int32, storesPayload: Bool = false) {
        self.configuration = configuration
        self.linkType = linkType
        self.storesPayload = storesPayload
    }

    /// Analyses one frame; returns how many of its bytes the capture file should keep
    /// (the headers, unless payload is stored).
    @discardableResult
    mutating func consume(_ frame: CapturedFrame) -> Int {
        consume(frame.bytes, originalLength: frame.originalLength, time: frame.timestampNanoseconds)
    }

    /// How many bytes of a frame the capture file keeps: the headers up to the end of the TCP or
    /// UDP header (64 bytes of a frame that does not decode), or every captured byte with payload.
    @inline(__always)
    static func storedLength(_ bytes: UnsafeRawBufferPointer, originalLength: Int, linkType: Int32, storesPayload: Bool) -> Int {
        if storesPayload { return bytes.count }
        guard let packet = PacketDecoder.decode(bytes, originalLength: originalLength, linkType: linkType) else { return min(bytes.count, 64) }
        return packet.headerEnd
    }

    @discardableResult
    public mutating func consume(_ bytes: UnsafeRawBufferPointer, originalLength: Int, time: UInt64) -> Int {
        packetTotal += 1
        byteTotal += UInt64(originalLength)
        if firstTime == nil { firstTime = time }
        guard let packet = PacketDecoder.decode(bytes, originalLength: originalLength, linkType: linkType) else {
            undecoded += 1
            return storesPayload ? bytes.count : min(bytes.count, 64)
        }
        let key = FlowKey(packet)
        var index: Int
        if let known = flowIndex[key] {
            index = known
            // A SYN with another initial sequence number on a known 4-tuple is a new connection (the port was reused).
            if packet.transport == .tcp, packet.flags & (DecodedPacket.syn | DecodedPacket.ack) == DecodedPacket.syn,
               flows[index].sequence.isNewConnection(synSequence: packet.sequence, fromClient: flows[index].isFromClient(packet)) {
                index = startFlow(key, packet, time: time)
            }
        } else {
            index = startFlow(key, packet, time: time)
        }
        var flow = flows[index]
        let fromClient = flow.isFromClient(packet)
        var sender = flow.sides.sender(fromClient: fromClient)
        var receiver = flow.sides.receiver(fromClient: fromClient)
        sender.packets += 1
        sender.bytes += UInt64(originalLength)
        if packet.transport == .tcp {
            tcp(packet, time: time, flow: &flow, sender: &sender, receiver: &receiver, fromClient: fromClient)
        } else {
            sender.payloadBytes += UInt64(packet.payloadLength)
            if packet.payloadLength > 0 { sender.dataSegments += 1 }
            flow.lastActivity = time
        }
        flow.sides = Sides(sender: sender, receiver: receiver, fromClient: fromClient)
        flow.lastTime = time
        flows[index] = flow
        return storesPayload ? bytes.count : packet.headerEnd
    }

    /// A new flow, which from now on receives the 4-tuple's packets.
    private mutating func startFlow(_ key: FlowKey, _ packet: DecodedPacket, time: UInt64) -> Int {
        let index = flows.count
        flowIndex[key] = index
        flows.append(FlowState(first: packet, serverPort: configuration.serverPort, time: time))
        return index
    }

    private mutating func tcp(_ packet: DecodedPacket, time: UInt64, flow: inout FlowState,
                              sender: inout DirectionState, receiver: inout DirectionState, fromClient: Bool) {
        let syn = packet.has(DecodedPacket.syn), fin = packet.has(DecodedPacket.fin)
        let rst = packet.has(DecodedPacket.rst), ack = packet.has(DecodedPacket.ack)
        let analysis = flow.sequence.analyze(sequence: packet.sequence, acknowledgment: packet.acknowledgment,
                                             length: UInt32(truncatingIfNeeded: packet.payloadLength), flags: packet.flags,
                                             window: packet.window, time: time, fromClient: fromClient)
        if analysis.contains(.zeroWindow) { flow.zeroWindow += 1 }
        if !analysis.isDisjoint(with: .anyRetransmission) {
            flow.retransmissions += 1
            if analysis.contains(.fastRetransmission) { flow.fastRetransmissions += 1 }
            if analysis.contains(.spuriousRetransmission) { flow.spuriousRetransmissions += 1 }
        }
        if analysis.contains(.outOfOrder) { flow.outOfOrder += 1 }
        if analysis.contains(.duplicateAck) { flow.duplicateAcks += 1 }

        // The other side's data this segment acknowledges.
        if ack, receiver.awaitingAck, !sequenceLess(packet.acknowledgment, receiver.lastDataEnd) {
            receiver.awaitingAck = false
            // Listed by the direction of the data, which the receiver sent.
            dataToAck.record(time &- receiver.lastDataTime, fromClient: !fromClient)
        }
        if rst {
            flow.rst += 1
            flow.lastActivity = time
            return
        }
        if analysis.contains(.keepAlive) {
            flow.keepaliveProbes += 1
            if let previous = sender.lastProbeTime {
                keepaliveInterval.record(time &- previous)
            } else {
                keepaliveIdle.record(time &- flow.lastActivity)
            }
            sender.lastProbeTime = time
            return
        }
        flow.lastActivity = time
        if syn { handshakeStep(packet, time: time, flow: &flow, fromClient: fromClient) }
        if fin { flow.fin += 1 }
        if !syn, ack, packet.payloadLength == 0, !fin {
            sender.pureAcks += 1
            if fromClient, flow.handshakeRTT == nil, flow.synAckTime != nil, let synTime = flow.synTime {
                let rtt = time &- synTime
                flow.handshakeRTT = rtt
                handshake.record(rtt)
            }
        }
        guard packet.payloadLength > 0 else { return }
        sender.dataSegments += 1
        sender.payloadBytes += UInt64(packet.payloadLength)
        sender.lastProbeTime = nil
        payloadSize.record(UInt64(packet.payloadLength), fromClient: fromClient)
        if analysis.isDisjoint(with: [.anyRetransmission, .outOfOrder]) {
            sender.lastDataTime = time
            sender.lastDataEnd = packet.sequence &+ UInt32(packet.payloadLength)
            sender.awaitingAck = true
        }
    }

    private mutating func handshakeStep(_ packet: DecodedPacket, time: UInt64, flow: inout FlowState, fromClient: Bool) {
        if packet.has(DecodedPacket.ack) {
            flow.synAcks += 1
            guard !fromClient, flow.synAckTime == nil else { return }
            flow.synAckTime = time
            if let synTime = flow.synTime { synToSynAck.record(time &- synTime) }
        } else {
            flow.syns += 1
            if fromClient, flow.synTime == nil { flow.synTime = time }
        }
    }

    // MARK: Warm-up

    /// The measured window opens: what was counted so far becomes `warmup`, and every count starts
    /// again from zero, SYN, SYN-ACK, FIN and RST included (packets are split by timestamp), while
    /// each connection keeps its sequence analysis (so the window's first segments are judged
    /// against what the warm-up sent, not taken as retransmissions). Handshakes and their RTT are
    /// connection setup, measured apart from the window as connect latency is: those figures keep
    /// every handshake the capture saw, since long-lived connections open in the warm-up.
    public mutating func openWindow() {
        guard warmup == nil else { return }
        warmup = finish()
        packetTotal = 0
        byteTotal = 0
        undecoded = 0
        payloadSize = Sides(LatencyHistogram())
        dataToAck = Sides(LatencyHistogram())
        keepaliveInterval = LatencyHistogram()
        keepaliveIdle = LatencyHistogram()
        for index in flows.indices { flows[index].resetCounts() }
    }

    // MARK: Result

    /// The figures so far (read once, after the last packet).
    public func finish() -> CaptureAnalysis {
        let flows = orientedByPeers()
        var tcpFlows = 0, udpFlows = 0
        var syn: UInt64 = 0, synAck: UInt64 = 0, fin: UInt64 = 0, rst: UInt64 = 0
        var retransmissions: UInt64 = 0, fast: UInt64 = 0, spurious: UInt64 = 0, duplicateAcks: UInt64 = 0
        var outOfOrder: UInt64 = 0, zeroWindow: UInt64 = 0, probes: UInt64 = 0
        var tcpTotals = Sides(DirectionState()), udpTotals = Sides(DirectionState())
        for flow in flows {
            if flow.transport == .tcp {
                tcpFlows += 1
                tcpTotals.add(flow.sides)
                syn += flow.syns
                synAck += flow.synAcks
                fin += flow.fin
                rst += flow.rst
                retransmissions += flow.retransmissions
                fast += flow.fastRetransmissions
                spurious += flow.spuriousRetransmissions
                duplicateAcks += flow.duplicateAcks
                outOfOrder += flow.outOfOrder
                zeroWindow += flow.zeroWindow
                probes += flow.keepaliveProbes
            } else {
                udpFlows += 1
                udpTotals.add(flow.sides)
            }
        }
        var tcp: TCPFigures?
        if tcpFlows > 0 {
            let sizes = configuration.messageSizes
            let perMessage = sizes.map { sizes in
                Directional(clientToServer: Self.segmentsPerMessage(tcpTotals.toServer, size: sizes.clientToServer),
                            serverToClient: Self.segmentsPerMessage(tcpTotals.toClient, size: sizes.serverToClient))
            }
            tcp = TCPFigures(
                dataSegments: tcpTotals.directional(\.dataSegments), pureAcks: tcpTotals.directional(\.pureAcks),
                payloadBytes: tcpTotals.directional(\.payloadBytes), payloadSizeBytes: payloadSize.summaries,
                messageSizeBytes: sizes, segmentsPerMessage: perMessage,
                syn: syn, synAck: synAck, fin: fin, rst: rst, handshakes: handshake.count,
                handshakeRttNs: handshake.summary, synToSynAckNs: synToSynAck.summary,
                retransmissions: retransmissions, fastRetransmissions: fast, spuriousRetransmissions: spurious,
                duplicateAcks: duplicateAcks, outOfOrder: outOfOrder, zeroWindow: zeroWindow,
                keepalive: .init(probes: probes, intervalNs: keepaliveInterval.summary, idleBeforeFirstProbeNs: keepaliveIdle.summary),
                dataToAckDelayNs: dataToAck.summaries)
        }
        let udp = udpFlows == 0 ? nil : UDPFigures(datagrams: udpTotals.directional(\.packets),
                                                   payloadBytes: udpTotals.directional(\.payloadBytes))
        // Every decoded packet belongs to a TCP or a UDP flow.
        var decoded = tcpTotals
        decoded.add(udpTotals)
        let start = firstTime ?? 0
        // Flows are listed and counted when they carried a packet here: after the window opened, the
        // warm-up's finished flows stay only as sequence state.
        let seen = warmup == nil ? flows[...] : flows.filter { $0.sides.toServer.packets + $0.sides.toClient.packets > 0 }[...]
        return CaptureAnalysis(
            packets: .init(total: packetTotal, clientToServer: decoded.toServer.packets, serverToClient: decoded.toClient.packets),
            bytes: .init(total: byteTotal, clientToServer: decoded.toServer.bytes, serverToClient: decoded.toClient.bytes),
            undecodedPackets: undecoded, flowCount: seen.count, tcp: tcp, udp: udp,
            flows: seen.prefix(Self.listedFlowLimit).map { $0.record(since: start) },
            flowsOmitted: max(0, seen.count - Self.listedFlowLimit))
    }

    /// Without a server port, a UDP flow's server is the end that more flows talk to (a server
    /// answering many clients), else the one that received the first datagram: a reference server on
    /// an ephemeral port is not mistaken for a client because its port is higher.
    func orientedByPeers() -> [FlowState] {
        guard configuration.serverPort == nil,
              flows.contains(where: { $0.transport == .udp && $0.orientation == .firstPacket }) else { return flows }
        var peers: [FlowEndpoint: Int] = [:]
        for flow in flows where flow.transport == .udp {
            peers[FlowEndpoint(address: flow.client, port: flow.clientPort), default: 0] += 1
            peers[FlowEndpoint(address: flow.server, port: flow.serverPort), default: 0] += 1
        }
        return flows.map { flow in
            guard flow.transport == .udp, flow.orientation == .firstPacket,
                  peers[FlowEndpoint(address: flow.client, port: flow.clientPort), default: 0]
                    > peers[FlowEndpoint(address: flow.server, port: flow.serverPort), default: 0] else { return flow }
            return flow.reversed()
        }
    }

    static func segmentsPerMessage(_ side: DirectionState, size: Int) -> Double {
        guard side.payloadBytes > 0, size > 0 else { return 0 }
        return Double(side.dataSegments) / (Double(side.payloadBytes) / Double(size))
    }
}

extension DirectionState {
    mutating func add(_ other: DirectionState) {
        packets += other.packets
        bytes += other.bytes
        dataSegments += other.dataSegments
        pureAcks += other.pureAcks
        payloadBytes += other.payloadBytes
    }
}

extension FlowState {
    func record(since start: UInt64) -> FlowRecord {
        func endpoint(_ address: IPEndpointAddress, _ port: UInt16) -> String {
            address.isIPv6 ? "[\(address)]:\(port)" : "\(address):\(port)"
        }
        return FlowRecord(
            transport: transport == .tcp ? "tcp" : "udp", client: endpoint(client, clientPort), server: endpoint(server, serverPort),
            firstNs: firstTime &- start, lastNs: lastTime &- start,
            packets: sides.directional(\.packets), bytes: sides.directional(\.bytes),
            payloadBytes: sides.directional(\.payloadBytes), dataSegments: sides.directional(\.dataSegments),
            handshakeRttNs: handshakeRTT, retransmissions: retransmissions, outOfOrder: outOfOrder, zeroWindow: zeroWindow,
            keepaliveProbes: keepaliveProbes, fin: fin, rst: rst)
    }
}
