/// TCP_INFO of a sample of one worker's connections, read on the worker's thread as it seals an
/// interval: RTT and congestion window over time, not only at the end.
///
/// At most `limit` connections per worker and interval, so the cost is a few `getsockopt` calls
/// per second however many connections there are; the storage is reserved up front and reused,
/// so sampling allocates nothing once the slot has been used.
struct IntervalTCPSamples: Sendable {
    static let limit = 16

    private(set) var connections: [TCPInfo]
    /// Segments the sampled connections retransmitted since each was last read (sampled before,
    /// read as the window opened, or opened since): the rise of their `tcpi_total_retrans`.
    private(set) var retransmissions: UInt64 = 0

    init() {
        connections = []
        connections.reserveCapacity(Self.limit)
    }

    var isFull: Bool { connections.count >= Self.limit }

    mutating func add(_ info: TCPInfo, retransmitted: UInt64) {
        guard !isFull else { return }
        connections.append(info)
        retransmissions &+= retransmitted
    }

    mutating func reset() {
        connections.removeAll(keepingCapacity: true)
        retransmissions = 0
    }
}
