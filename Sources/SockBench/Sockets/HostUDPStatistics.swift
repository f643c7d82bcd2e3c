/// The host's own UDP drop counters (the `Udp:` line of /proc/net/snmp plus the `Udp6` lines of
/// /proc/net/snmp6), read before and after a run: what any socket on this host (client, server,
/// proxy or a bystander) lost to a full receive buffer or another input error meanwhile.
/// Counters of the network namespace the reading process runs in.
public struct HostUDPStatistics: Sendable, Equatable {
    /// Datagrams dropped because a socket's receive buffer was full (`RcvbufErrors`, `Udp6RcvbufErrors`).
    public var rcvbufErrors: UInt64 = 0
    /// Every datagram not delivered for an input error, full buffers included (`InErrors`, `Udp6InErrors`).
    public var inErrors: UInt64 = 0

    public init(rcvbufErrors: UInt64 = 0, inErrors: UInt64 = 0) {
        self.rcvbufErrors = rcvbufErrors
        self.inErrors = inErrors
    }

    /// The UDP counters among the namespace's (`UdpRcvbufErrors`, `UdpInErrors`, plus their `Udp6`
    /// counterparts where IPv6 is on); nil when the IPv4 ones are missing.
    public init?(_ counters: KernelCounters) {
        guard let rcvbuf = counters["UdpRcvbufErrors"], let input = counters["UdpInErrors"] else { return nil }
        self.init(rcvbufErrors: rcvbuf + (counters["Udp6RcvbufErrors"] ?? 0), inErrors: input + (counters["Udp6InErrors"] ?? 0))
    }

    /// The counters from the text of /proc/net/snmp and /proc/net/snmp6 (parsed by `KernelCounters`);
    /// nil when the IPv4 `Udp:` lines are missing or malformed (the IPv6 file may be absent: IPv6 disabled).
    public static func parse(snmp: String, snmp6: String?) -> HostUDPStatistics? {
        HostUDPStatistics(KernelCounters.parse(snmp: snmp, snmp6: snmp6))
    }

    /// This host's counters now; nil where /proc/net/snmp cannot be read or parsed.
    public static func read() -> HostUDPStatistics? {
        KernelCounters.read().flatMap(HostUDPStatistics.init)
    }

    /// What the counters rose by since `earlier` (0 for one that went down: a namespace reset).
    public func since(_ earlier: HostUDPStatistics) -> HostUDPStatistics {
        HostUDPStatistics(rcvbufErrors: rcvbufErrors >= earlier.rcvbufErrors ? rcvbufErrors - earlier.rcvbufErrors : 0,
                          inErrors: inErrors >= earlier.inErrors ? inErrors - earlier.inErrors : 0)
    }
}
