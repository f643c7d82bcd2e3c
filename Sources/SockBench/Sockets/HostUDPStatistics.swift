import Foundation

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

    /// The counters from the text of /proc/net/snmp and /proc/net/snmp6; nil when the IPv4 `Udp:`
    /// lines are missing or malformed (the IPv6 file may be absent: IPv6 disabled).
    public static func parse(snmp: String, snmp6: String?) -> HostUDPStatistics? {
        // /proc/net/snmp: a header line of names, then a line of values, both starting "Udp:".
        let lines = snmp.split(separator: "\n").filter { $0.hasPrefix("Udp: ") }
        guard lines.count >= 2 else { return nil }
        let names = lines[0].split(separator: " ").dropFirst()
        let values = lines[1].split(separator: " ").dropFirst()
        guard names.count == values.count else { return nil }
        var fields: [Substring: UInt64] = [:]
        for (name, value) in zip(names, values) {
            guard let number = UInt64(value) else { return nil }
            fields[name] = number
        }
        guard let rcvbuf = fields["RcvbufErrors"], let input = fields["InErrors"] else { return nil }
        var statistics = HostUDPStatistics(rcvbufErrors: rcvbuf, inErrors: input)
        // /proc/net/snmp6: one "Name value" pair a line.
        for line in (snmp6 ?? "").split(separator: "\n") {
            let pair = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard pair.count == 2, let number = UInt64(pair[1]) else { continue }
            switch pair[0] {
            case "Udp6RcvbufErrors": statistics.rcvbufErrors += number
            case "Udp6InErrors": statistics.inErrors += number
            default: continue
            }
        }
        return statistics
    }

    /// This host's counters now; nil where /proc/net/snmp cannot be read or parsed.
    public static func read() -> HostUDPStatistics? {
        guard let snmp = try? String(contentsOfFile: "/proc/net/snmp", encoding: .utf8) else { return nil }
        return parse(snmp: snmp, snmp6: try? String(contentsOfFile: "/proc/net/snmp6", encoding: .utf8))
    }

    /// What the counters rose by since `earlier` (0 for one that went down: a namespace reset).
    public func since(_ earlier: HostUDPStatistics) -> HostUDPStatistics {
        HostUDPStatistics(rcvbufErrors: rcvbufErrors >= earlier.rcvbufErrors ? rcvbufErrors - earlier.rcvbufErrors : 0,
                          inErrors: inErrors >= earlier.inErrors ? inErrors - earlier.inErrors : 0)
    }
}
