import CSockBenchLinux
import Foundation
import Glibc

/// What this process holds: resident memory, descriptors, and the limits on them. Read from
/// /proc between intervals and at the edges of a run, never on the per-message path.
public enum ProcessResources {
    /// Resident set size now, from /proc/self/statm.
    public static func residentBytes() -> UInt64 {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = UInt64(fields[1]) else { return 0 }
        return pages * UInt64(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// The highest resident set size so far (VmHWM in /proc/self/status).
    public static func peakResidentBytes() -> UInt64? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kilobytes = UInt64(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
        return kilobytes * 1024
    }

    /// Descriptors open now (entries of /proc/self/fd).
    public static func openDescriptors() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
    }

    /// RLIMIT_NOFILE as (soft, hard).
    public static func descriptorLimit() -> (soft: Int, hard: Int) {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        return (Int(clamping: limit.rlim_cur), Int(clamping: limit.rlim_max))
    }

    /// Raises the soft descriptor limit toward `needed` (up to the hard limit); returns the soft limit after.
    @discardableResult
    public static func raiseDescriptorLimit(to needed: Int) -> Int {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let target = min(rlim_t(clamping: needed), limit.rlim_max)
        if target > limit.rlim_cur {
            limit.rlim_cur = target
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return descriptorLimit().soft
    }

    /// The kernel's ephemeral port range (net.ipv4.ip_local_port_range), both ends included.
    public static func ephemeralPortRange() -> ClosedRange<Int>? {
        guard let text = try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8) else { return nil }
        let ends = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { Int($0) }
        guard ends.count == 2, ends[0] <= ends[1] else { return nil }
        return ends[0]...ends[1]
    }

    /// Checks that `connections` concurrent client connections to one address fit the descriptor
    /// limit (raising the soft limit if it can) and the ephemeral port range; the error says how to raise them.
    /// `usesPorts` false: the connections go to unix sockets, which take no ephemeral port.
    public static func checkCapacity(connections: Int, transport: Socket.Transport, usesPorts: Bool = true) -> String? {
        // The engine's own descriptors (epoll, eventfd, files, the capture) on top of one per connection.
        let needed = connections + 64
        let soft = raiseDescriptorLimit(to: needed)
        if soft < needed {
            let hard = descriptorLimit().hard
            return "\(connections) connections need about \(needed) open descriptors, but RLIMIT_NOFILE allows \(soft) (hard limit \(hard)); "
                + "raise it with `ulimit -n \(needed)` (as root, or in /etc/security/limits.conf for the hard limit)"
        }
        if transport == .tcp, usesPorts, let range = ephemeralPortRange(), connections > range.count {
            return "\(connections) connections to one address need \(connections) ephemeral ports, but net.ipv4.ip_local_port_range "
                + "(\(range.lowerBound)-\(range.upperBound)) has \(range.count); widen it with `sysctl -w net.ipv4.ip_local_port_range=\"1024 65535\"`"
        }
        return nil
    }
}
