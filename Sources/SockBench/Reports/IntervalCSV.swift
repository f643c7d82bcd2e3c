import Foundation

/// `intervals.csv`: one row per interval of every run, the same figures as `runs[].intervals[]`,
/// for spreadsheets and plotting tools. Latencies in nanoseconds; empty cells where a figure does
/// not apply (uncorrected latency outside open loop).
public enum IntervalCSV {
    public static let header = [
        "variant", "repetition", "start_s", "end_s", "messages_sent", "messages_received", "messages_per_second",
        "bits_per_second_sent", "bits_per_second_received", "latency_count", "latency_p50_ns", "latency_p90_ns",
        "latency_p99_ns", "latency_p999_ns", "latency_max_ns", "latency_uncorrected_p50_ns", "latency_uncorrected_p99_ns",
        "errors",
    ] + ErrorCounts.Category.allCases.map { "errors_\($0.rawValue)" } + [
        "connections_established", "connections_open", "resident_bytes", "open_descriptors",
        // TCP_INFO of the connections sampled as the interval ended (empty for UDP and conversations).
        "tcp_info_sampled_connections", "tcp_info_rtt_p50_ns", "tcp_info_rttvar_p50_ns", "tcp_info_snd_cwnd_p50_segments",
        "tcp_info_total_retrans", "tcp_info_lost",
    ]

    public static func render(_ report: Report) -> String {
        var lines = [header.joined(separator: ",")]
        for run in report.runs {
            for interval in run.intervals ?? [] {
                let latency = interval.latencyNs
                let uncorrected = interval.latencyUncorrectedNs
                let categories: [String] = ErrorCounts.Category.allCases.map { category in
                    interval.errorsByCategory.map { String($0[category]) } ?? ""
                }
                var fields: [String] = [
                    run.variant, run.repetition.map(String.init) ?? "1", number(interval.startS), number(interval.endS), "\(interval.messagesSent)", "\(interval.messagesReceived)",
                    number(interval.messagesPerSecond), number(interval.bitsPerSecondSent), number(interval.bitsPerSecondReceived),
                    "\(latency.count)", "\(latency.p50)", "\(latency.p90)", "\(latency.p99)", "\(latency.p999)", "\(latency.max)",
                    uncorrected.map { "\($0.p50)" } ?? "", uncorrected.map { "\($0.p99)" } ?? "", "\(interval.errors)",
                ]
                fields += categories
                fields += ["\(interval.connectionsEstablished)", "\(interval.connectionsOpen)", "\(interval.residentBytes)", "\(interval.openDescriptors)"]
                let tcp = interval.tcpInfo
                fields += [tcp.map { "\($0.sampledConnections)" }, tcp.map { "\($0.rttP50Ns)" }, tcp.map { "\($0.rttvarP50Ns)" },
                           tcp.map { "\($0.sndCwndP50Segments)" }, tcp.map { "\($0.totalRetrans)" }, tcp.map { "\($0.lost)" }].map { $0 ?? "" }
                lines.append(fields.map(escape).joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func number(_ value: Double) -> String { String(format: "%.3f", value) }

    /// RFC 4180: quote a field holding a comma, quote or line break.
    static func escape(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
