/// A flow's identity with its two endpoints in a fixed order, so both directions find it.
struct FlowKey: Hashable {
    var lowAddress: IPEndpointAddress
    var lowPort: UInt16
    var highAddress: IPEndpointAddress
    var highPort: UInt16
    var transport: DecodedPacket.Transport

    init(_ packet: DecodedPacket) {
        let sourceFirst = (packet.source, packet.sourcePort) <= (packet.destination, packet.destinationPort)
        lowAddress = sourceFirst ? packet.source : packet.destination
        lowPort = sourceFirst ? packet.sourcePort : packet.destinationPort
        highAddress = sourceFirst ? packet.destination : packet.source
        highPort = sourceFirst ? packet.destinationPort : packet.sourcePort
        transport = packet.transport
    }
}

/// One end of a flow: an address and a port.
struct FlowEndpoint: Hashable {
    var address: IPEndpointAddress
    var port: UInt16
}

/// What one side of a flow sent (its sequence space is tracked in `TCPConnectionAnalysis`).
struct DirectionState {
    var packets: UInt64 = 0
    var bytes: UInt64 = 0
    var dataSegments: UInt64 = 0
    var pureAcks: UInt64 = 0
    var payloadBytes: UInt64 = 0
    /// The newest new-data segment, for the delay until the other side acknowledges it.
    var lastDataTime: UInt64 = 0
    var lastDataEnd: UInt32 = 0
    var awaitingAck = false
    /// The previous keepalive probe of the current idle period.
    var lastProbeTime: UInt64?
}

/// One value per direction of a flow while the analysis runs; `Directional` is its report form.
struct Sides<Value> {
    var toServer: Value
    var toClient: Value

    init(_ both: Value) {
        toServer = both
        toClient = both
    }

    init(sender: Value, receiver: Value, fromClient: Bool) {
        toServer = fromClient ? sender : receiver
        toClient = fromClient ? receiver : sender
    }

    /// The value of the side that sent a packet.
    @inline(__always) func sender(fromClient: Bool) -> Value { fromClient ? toServer : toClient }
    @inline(__always) func receiver(fromClient: Bool) -> Value { fromClient ? toClient : toServer }

    func directional<Figure>(_ figure: (Value) -> Figure) -> Directional<Figure> {
        Directional(clientToServer: figure(toServer), serverToClient: figure(toClient))
    }
}

extension Sides where Value == LatencyHistogram {
    /// Records for the direction a packet went (mutated in place: no copy of the histogram).
    @inline(__always)
    mutating func record(_ value: UInt64, fromClient: Bool) {
        if fromClient { toServer.record(value) } else { toClient.record(value) }
    }

    var summaries: Directional<LatencySummary> { directional(\.summary) }
}

extension Sides where Value == DirectionState {
    mutating func add(_ other: Sides<DirectionState>) {
        toServer.add(other.toServer)
        toClient.add(other.toClient)
    }
}

/// Sequence numbers wrap at 2^32: compare them by their signed distance (RFC 793 arithmetic).
@inline(__always) func sequenceLess(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: a &- b) < 0 }

extension DirectionState {
    /// Zeroes the counts, keeping the pending data-to-ACK measurement.
    mutating func resetCounts() {
        packets = 0
        bytes = 0
        dataSegments = 0
        pureAcks = 0
        payloadBytes = 0
    }
}

/// Everything the analysis keeps about one flow: a few hundred bytes, no allocation per packet.
struct FlowState {
    var transport: DecodedPacket.Transport
    var client: IPEndpointAddress
    var clientPort: UInt16
    var server: IPEndpointAddress
    var serverPort: UInt16
    var sides = Sides(DirectionState())
    var firstTime: UInt64
    var lastTime: UInt64
    /// The last packet that was not a keepalive probe, for the idle time before the first probe.
    var lastActivity: UInt64
    var syns: UInt64 = 0
    var synAcks: UInt64 = 0
    var synTime: UInt64?
    var synAckTime: UInt64?
    var handshakeRTT: UInt64?
    /// Wireshark's sequence analysis of this connection (TCP only).
    var sequence = TCPConnectionAnalysis()
    /// Segments `tcp.analysis.retransmission` matches, and the fast and spurious ones among them.
    var retransmissions: UInt64 = 0
    var fastRetransmissions: UInt64 = 0
    var spuriousRetransmissions: UInt64 = 0
    var duplicateAcks: UInt64 = 0
    var outOfOrder: UInt64 = 0
    var zeroWindow: UInt64 = 0
    var keepaliveProbes: UInt64 = 0
    var fin: UInt64 = 0
    var rst: UInt64 = 0

    /// How a flow learnt which side is the client; a UDP flow oriented by its first datagram may
    /// turn round when the analysis ends (`CaptureAnalyzer.orientByPeers`).
    enum Orientation { case serverPort, syn, firstPacket }
    var orientation: Orientation

    /// Orients a new flow: the side sending to the server port is the client; without a known
    /// port, the side sending a bare SYN; a UDP flow's first datagram goes to the server; a TCP
    /// flow seen mid-connection has its client on the higher (ephemeral) port.
    init(first packet: DecodedPacket, serverPort: UInt16?, time: UInt64) {
        let sourceIsClient: Bool
        if let serverPort, packet.destinationPort == serverPort || packet.sourcePort == serverPort {
            sourceIsClient = packet.destinationPort == serverPort
            orientation = .serverPort
        } else if packet.transport == .tcp, packet.has(DecodedPacket.syn) {
            sourceIsClient = !packet.has(DecodedPacket.ack)
            orientation = .syn
        } else {
            sourceIsClient = packet.transport == .udp || packet.sourcePort >= packet.destinationPort
            orientation = .firstPacket
        }
        transport = packet.transport
        client = sourceIsClient ? packet.source : packet.destination
        clientPort = sourceIsClient ? packet.sourcePort : packet.destinationPort
        server = sourceIsClient ? packet.destination : packet.source
        self.serverPort = sourceIsClient ? packet.destinationPort : packet.sourcePort
        firstTime = time
        lastTime = time
        lastActivity = time
    }

    /// Zeroes what the flow counted, keeping its endpoints, sequence analysis and handshake times.
    mutating func resetCounts() {
        syns = 0
        synAcks = 0
        sides.toServer.resetCounts()
        sides.toClient.resetCounts()
        retransmissions = 0
        fastRetransmissions = 0
        spuriousRetransmissions = 0
        duplicateAcks = 0
        outOfOrder = 0
        zeroWindow = 0
        keepaliveProbes = 0
        fin = 0
        rst = 0
    }

    /// The same flow with client and server swapped.
    func reversed() -> FlowState {
        var flow = self
        (flow.client, flow.server) = (server, client)
        (flow.clientPort, flow.serverPort) = (serverPort, clientPort)
        (flow.sides.toServer, flow.sides.toClient) = (sides.toClient, sides.toServer)
        return flow
    }

    @inline(__always)
    func isFromClient(_ packet: DecodedPacket) -> Bool {
        packet.sourcePort == clientPort && packet.source == client
    }
}
