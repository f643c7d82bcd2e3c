/// What the wire showed during a run (or in a pcap file): the packet evidence a report puts
/// beside latency and throughput. Live runs and `sockbench analyze` produce the same figures
/// from the same packets.
public struct CaptureAnalysis: Codable, Sendable, Equatable {
    /// Every frame the capture delivered, decoded or not (what `tshark -r` counts).
    public var packets: Counts
    /// Sum of the frames' lengths on the wire (tshark's `frame.len`).
    public var bytes: Counts
    /// Frames that were not TCP or UDP over IP, or too short to read.
    public var undecodedPackets: UInt64
    /// TCP connections and UDP socket pairs seen. A 4-tuple used again by a new connection (a SYN
    /// with another initial sequence number) counts again, as tshark's `tcp.stream` does.
    public var flowCount: Int
    public var tcp: TCPFigures?
    public var udp: UDPFigures?
    /// Per-flow figures, in order of first packet, at most `CaptureAnalyzer.listedFlowLimit`.
    public var flows: [FlowRecord]
    public var flowsOmitted: Int

    /// A total and its split by direction (frames that are not TCP/UDP have no direction).
    public struct Counts: Codable, Sendable, Equatable {
        public var total: UInt64
        public var clientToServer: UInt64
        public var serverToClient: UInt64
    }
}

/// One figure per direction of a flow.
public struct Directional<Value: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    public var clientToServer: Value
    public var serverToClient: Value

    public init(clientToServer: Value, serverToClient: Value) {
        self.clientToServer = clientToServer
        self.serverToClient = serverToClient
    }
}

/// TCP evidence: how the byte streams were cut into segments and how the connections behaved.
public struct TCPFigures: Codable, Sendable, Equatable {
    /// Segments carrying payload (retransmitted ones included; keepalive probes excluded).
    public var dataSegments: Directional<UInt64>
    /// Segments with ACK and nothing else: no payload, SYN, FIN or RST.
    public var pureAcks: Directional<UInt64>
    public var payloadBytes: Directional<UInt64>
    /// Payload bytes per data segment.
    public var payloadSizeBytes: Directional<LatencySummary>
    /// The application message size the segment counts are divided by (request and response).
    public var messageSizeBytes: Directional<Int>?
    /// Data segments per application message: below 1 means writes were coalesced (Nagle,
    /// autocorking or pipelining), above 1 means messages were split. Absent without message sizes.
    public var segmentsPerMessage: Directional<Double>?
    public var syn: UInt64
    public var synAck: UInt64
    public var fin: UInt64
    public var rst: UInt64
    /// Handshakes seen whole: SYN, SYN-ACK, then the client's ACK.
    public var handshakes: UInt64
    /// SYN to the client's ACK of the SYN-ACK.
    public var handshakeRttNs: LatencySummary
    /// SYN to SYN-ACK (the server's share of the handshake).
    public var synToSynAckNs: LatencySummary
    /// Segments that resent bytes already seen on the wire: what `tcp.analysis.retransmission`
    /// matches in tshark 4.0 (plain, fast and spurious retransmissions), by the same rules.
    public var retransmissions: UInt64
    /// Of those, resent within 20 ms of two or more duplicate ACKs asking for them (`tcp.analysis.fast_retransmission`).
    public var fastRetransmissions: UInt64?
    /// Of those, resending bytes the other side had already acknowledged (`tcp.analysis.spurious_retransmission`).
    public var spuriousRetransmissions: UInt64?
    /// ACKs repeating the previous one with no data and the same window (`tcp.analysis.duplicate_ack`).
    public var duplicateAcks: UInt64?
    /// Segments below the highest sequence number that arrived within the connection's first RTT
    /// (3 ms without one) of it: reordered rather than resent (`tcp.analysis.out_of_order`).
    public var outOfOrder: UInt64
    /// Segments advertising a zero receive window, SYN, FIN and RST excepted (`tcp.analysis.zero_window`).
    public var zeroWindow: UInt64
    public var keepalive: Keepalive
    /// From a data segment to the first segment of the other side acknowledging it
    /// (listed by the direction of the data): delayed ACKs show as about 40 ms.
    public var dataToAckDelayNs: Directional<LatencySummary>

    public struct Keepalive: Codable, Sendable, Equatable {
        /// Probes: no payload or one byte, one below the next expected sequence number.
        public var probes: UInt64
        /// Between consecutive probes of one connection (tcp_keepintvl).
        public var intervalNs: LatencySummary
        /// From the connection's last other packet to its first probe (tcp_keepidle).
        public var idleBeforeFirstProbeNs: LatencySummary
    }
}

/// UDP evidence: datagrams per direction.
public struct UDPFigures: Codable, Sendable, Equatable {
    public var datagrams: Directional<UInt64>
    public var payloadBytes: Directional<UInt64>
}

/// One TCP connection or UDP socket pair.
public struct FlowRecord: Codable, Sendable, Equatable {
    public var transport: String
    public var client: String
    public var server: String
    /// First and last packet, in nanoseconds from the first packet of the capture.
    public var firstNs: UInt64
    public var lastNs: UInt64
    public var packets: Directional<UInt64>
    public var bytes: Directional<UInt64>
    public var payloadBytes: Directional<UInt64>
    public var dataSegments: Directional<UInt64>
    public var handshakeRttNs: UInt64?
    public var retransmissions: UInt64
    public var outOfOrder: UInt64
    public var zeroWindow: UInt64
    public var keepaliveProbes: UInt64
    public var fin: UInt64
    public var rst: UInt64
}
