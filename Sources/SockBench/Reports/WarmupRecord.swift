/// `runs[].warmup`: what happened before the measured window opened. Nothing here enters any
/// other figure of the run (errors, events, intervals, capture, TCP_INFO retransmissions); it is
/// kept so a warm-up that went wrong is still visible.
public struct WarmupRecord: Codable, Sendable, Equatable {
    public var durationS: Double
    public var errors: ErrorCounts
    /// The first warm-up errors with their moment (negative seconds: before the window).
    public var events: [RunEvent]?
    /// The capture's figures up to the window's opening (absent without capture).
    public var capture: CaptureAnalysis?
    /// TCP_INFO of the connections open as the window opened, read at that moment, and of those
    /// that closed before it.
    public var tcpInfo: TCPInfoAtWindowStart?
    /// What the kernel's TCP and UDP counters rose by from before the first connect to the window's
    /// opening (the namespace's, as `runs[].kernel_counters`): a connection storm's overflows land here.
    public var kernelCounters: [KernelCounterDelta]?

    public struct TCPInfoAtWindowStart: Codable, Sendable, Equatable {
        public var connections: UInt64
        /// Segments those connections had retransmitted by then (the open ones' are taken off
        /// `tcp_info.total_retrans`; the closed ones never enter it).
        public var totalRetrans: UInt64
    }
}
