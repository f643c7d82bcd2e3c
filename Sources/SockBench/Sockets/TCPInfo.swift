import CSockBenchLinux
import Glibc

/// The kernel's view of one TCP connection (`getsockopt(TCP_INFO)`), read when the client
/// closes it: the other witness, beside the capture, of RTT and retransmissions.
public struct TCPInfo: Sendable, Equatable {
    /// Smoothed RTT and its variation, in nanoseconds (the kernel keeps microseconds).
    public var rttNanoseconds: UInt64
    public var rttVarianceNanoseconds: UInt64
    /// Retransmissions of the segment at the head of the queue now (`tcpi_retransmits`).
    public var retransmits: UInt64
    /// Segments retransmitted over the connection's life (`tcpi_total_retrans`).
    public var totalRetransmissions: UInt64
    /// Congestion window, in segments.
    public var sendCongestionWindow: UInt64
    public var lost: UInt64
    /// The reordering degree the kernel assumes (3 until it sees reordering).
    public var reordering: UInt64

    /// Reads TCP_INFO; nil when the socket is not a connected TCP socket.
    public static func read(_ fd: Int32) -> TCPInfo? {
        var info = tcp_info()
        var length = socklen_t(MemoryLayout<tcp_info>.size)
        guard getsockopt(fd, Int32(IPPROTO_TCP), TCP_INFO, &info, &length) == 0 else { return nil }
        return TCPInfo(rttNanoseconds: UInt64(info.tcpi_rtt) * 1000, rttVarianceNanoseconds: UInt64(info.tcpi_rttvar) * 1000,
                       retransmits: UInt64(info.tcpi_retransmits), totalRetransmissions: UInt64(info.tcpi_total_retrans),
                       sendCongestionWindow: UInt64(info.tcpi_snd_cwnd), lost: UInt64(info.tcpi_lost),
                       reordering: UInt64(info.tcpi_reordering))
    }
}

/// TCP_INFO over every client connection of a run, gathered without allocating per connection.
public struct TCPInfoAccumulator: Sendable {
    public private(set) var connections: UInt64 = 0
    var rtt = LatencyHistogram()
    var rttVariance = LatencyHistogram()
    var congestionWindow = LatencyHistogram()
    var retransmits: UInt64 = 0
    var totalRetransmissions: UInt64 = 0
    var lost: UInt64 = 0
    var reorderingMax: UInt64 = 0

    public init() {}

    mutating func add(_ info: TCPInfo) {
        connections += 1
        rtt.record(info.rttNanoseconds)
        rttVariance.record(info.rttVarianceNanoseconds)
        congestionWindow.record(info.sendCongestionWindow)
        retransmits += info.retransmits
        totalRetransmissions += info.totalRetransmissions
        lost += info.lost
        reorderingMax = max(reorderingMax, info.reordering)
    }

    /// Retransmissions of a connection that was still connecting when it was read (its SYNs):
    /// counted against the window, without counting the connection.
    mutating func addWarmupRetransmissions(_ count: UInt64) {
        totalRetransmissions &+= count
    }

    mutating func merge(_ other: TCPInfoAccumulator) {
        connections += other.connections
        rtt.merge(other.rtt)
        rttVariance.merge(other.rttVariance)
        congestionWindow.merge(other.congestionWindow)
        retransmits += other.retransmits
        totalRetransmissions += other.totalRetransmissions
        lost += other.lost
        reorderingMax = max(reorderingMax, other.reorderingMax)
    }

    var totalRetransmissionCount: UInt64 { totalRetransmissions }

    /// The report's `tcp_info`; nil when no connection was read.
    public var summary: TCPInfoSummary? { summary(excluding: TCPInfoAccumulator()) }

    /// The report's `tcp_info` with what `warmup` (the same connections read as the window opened)
    /// had retransmitted taken off: `total_retrans` counts the measured window only.
    func summary(excluding warmup: TCPInfoAccumulator) -> TCPInfoSummary? {
        guard connections > 0 else { return nil }
        let windowRetransmissions = totalRetransmissions > warmup.totalRetransmissions ? totalRetransmissions - warmup.totalRetransmissions : 0
        return TCPInfoSummary(connections: connections, rttNs: .init(rtt), rttvarNs: .init(rttVariance),
                              sndCwndSegments: .init(congestionWindow), retransmits: retransmits,
                              totalRetrans: windowRetransmissions, lost: lost, reorderingMax: reorderingMax)
    }
}

/// TCP_INFO in `report.json` (`runs[].tcp_info`), summed or distributed over client connections.
public struct TCPInfoSummary: Codable, Sendable, Equatable {
    public var connections: UInt64
    public var rttNs: Spread
    public var rttvarNs: Spread
    public var sndCwndSegments: Spread
    /// Sums over connections.
    public var retransmits: UInt64
    public var totalRetrans: UInt64
    public var lost: UInt64
    public var reorderingMax: UInt64

    /// Minimum, median, mean and maximum across connections.
    public struct Spread: Codable, Sendable, Equatable {
        public var min: UInt64
        public var p50: UInt64
        public var mean: Double
        public var max: UInt64

        init(_ histogram: LatencyHistogram) {
            let summary = histogram.summary
            min = summary.min
            p50 = summary.p50
            mean = summary.mean
            max = summary.max
        }
    }
}
