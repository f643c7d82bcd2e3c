import CSockBenchLinux
import Foundation
import Glibc

/// The machine a run happened on: enough to tell whether two reports are comparable.
public struct EnvironmentInfo: Codable, Sendable {
    public var host: String
    public var kernel: String
    public var architecture: String
    public var cpus: Int
    /// Kernel settings that bound socket behaviour (buffer clamps, backlog, congestion control).
    public var sysctls: [String: String]
    public var descriptorLimit: UInt64

    static let sysctlPaths: [(name: String, path: String)] = [
        ("net.core.somaxconn", "/proc/sys/net/core/somaxconn"),
        ("net.core.rmem_max", "/proc/sys/net/core/rmem_max"),
        ("net.core.wmem_max", "/proc/sys/net/core/wmem_max"),
        ("net.ipv4.tcp_congestion_control", "/proc/sys/net/ipv4/tcp_congestion_control"),
        ("net.ipv4.tcp_rmem", "/proc/sys/net/ipv4/tcp_rmem"),
        ("net.ipv4.tcp_wmem", "/proc/sys/net/ipv4/tcp_wmem"),
        ("net.ipv4.ip_local_port_range", "/proc/sys/net/ipv4/ip_local_port_range"),
    ]

    public static func current() -> EnvironmentInfo {
        var names = utsname()
        uname(&names)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        var sysctls: [String: String] = [:]
        for (name, path) in sysctlPaths {
            if let text = try? String(contentsOfFile: path, encoding: .utf8) {
                sysctls[name] = text.trimmingWhitespace().split(whereSeparator: \.isWhitespace).joined(separator: " ")
            }
        }
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        return EnvironmentInfo(host: field(names.nodename), kernel: field(names.release), architecture: field(names.machine),
                               cpus: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), sysctls: sysctls,
                               descriptorLimit: UInt64(limit.rlim_cur))
    }
}
