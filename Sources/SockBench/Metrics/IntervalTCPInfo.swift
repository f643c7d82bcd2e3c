/// TCP_INFO over the connections sampled at the end of one interval (`runs[].intervals[].tcp_info`):
/// medians across them, sums of what they retransmitted and hold as lost.
public struct IntervalTCPInfo: Codable, Sendable, Equatable {
    /// Connections read (at most 16 per worker thread): the sample the figures describe.
    public var sampledConnections: Int
    /// Smoothed RTT (`tcpi_rtt`): median and largest across the sample.
    public var rttP50Ns: UInt64
    public var rttMaxNs: UInt64
    /// RTT variation (`tcpi_rttvar`), median.
    public var rttvarP50Ns: UInt64
    /// Congestion window (`tcpi_snd_cwnd`), median and smallest, in segments.
    public var sndCwndP50Segments: UInt64
    public var sndCwndMinSegments: UInt64
    /// Segments the sampled connections retransmitted since each was last read (`tcpi_total_retrans` rise).
    public var totalRetrans: UInt64
    /// `tcpi_retransmits` summed: unacknowledged retransmissions of the segments at the heads of
    /// their queues right now (above 0 while a connection is in RTO backoff).
    public var retransmits: UInt64
    /// `tcpi_lost` summed: segments the sample holds as lost right now.
    public var lost: UInt64

    public init(sampledConnections: Int, rttP50Ns: UInt64, rttMaxNs: UInt64, rttvarP50Ns: UInt64, sndCwndP50Segments: UInt64,
                sndCwndMinSegments: UInt64, totalRetrans: UInt64, retransmits: UInt64, lost: UInt64) {
        self.sampledConnections = sampledConnections
        self.rttP50Ns = rttP50Ns
        self.rttMaxNs = rttMaxNs
        self.rttvarP50Ns = rttvarP50Ns
        self.sndCwndP50Segments = sndCwndP50Segments
        self.sndCwndMinSegments = sndCwndMinSegments
        self.totalRetrans = totalRetrans
        self.retransmits = retransmits
        self.lost = lost
    }

    /// The figures of every worker's sample of one interval; nil when no connection was read.
    init?(samples: [TCPInfo], retransmissions: UInt64) {
        guard !samples.isEmpty else { return nil }
        self.init(sampledConnections: samples.count,
                  rttP50Ns: Self.median(samples.map(\.rttNanoseconds)), rttMaxNs: samples.map(\.rttNanoseconds).max() ?? 0,
                  rttvarP50Ns: Self.median(samples.map(\.rttVarianceNanoseconds)),
                  sndCwndP50Segments: Self.median(samples.map(\.sendCongestionWindow)),
                  sndCwndMinSegments: samples.map(\.sendCongestionWindow).min() ?? 0,
                  totalRetrans: retransmissions,
                  retransmits: samples.reduce(0) { $0 &+ $1.retransmits }, lost: samples.reduce(0) { $0 &+ $1.lost })
    }

    /// The lower median (a value that was read, never an average of two).
    static func median(_ values: [UInt64]) -> UInt64 { values.lowerMedian ?? 0 }
}

extension Array where Element == UInt64 {
    /// The lower median (a value of the array, never an average of two); nil when empty.
    var lowerMedian: UInt64? { isEmpty ? nil : sorted()[(count - 1) / 2] }
}
