/// What the proxy injected, as `sockbench proxy` prints it at the end and the report records it.
public struct InjectedStatistics: Codable, Sendable, Equatable {
    public var connections: UInt64 = 0
    /// Datagrams (UDP) or bytes (TCP) forwarded, per direction.
    public var datagramsToServer: UInt64 = 0
    public var datagramsToClient: UInt64 = 0
    public var bytesToServer: UInt64 = 0
    public var bytesToClient: UInt64 = 0
    /// UDP: datagrams dropped, sent twice, and sent after the one behind them, on purpose.
    public var dropped: UInt64 = 0
    public var duplicated: UInt64 = 0
    public var reordered: UInt64 = 0
    /// Datagrams dropped because the rate-capped queue was full (not injected loss: congestion).
    public var queueDrops: UInt64 = 0
    /// TCP: connections reset after `reset_after` bytes, and stalls begun after `stall_after`.
    public var resets: UInt64 = 0
    public var stalls: UInt64 = 0
    /// TCP writes made smaller than the data at hand (`slice`).
    public var slicedWrites: UInt64 = 0

    public init() {}
}
