import Foundation

/// `latency.hlog`: the latency of every interval in HdrHistogram's interval-log format (version
/// 1.3), as Java's HistogramLogWriter writes it and HistogramLogProcessor and the Python
/// `hdrhistogram` package read it: a start time, the legend, then one line per interval with its
/// offset from the start and length in seconds, its max in milliseconds (the log's default unit
/// ratio of 1e6 for nanosecond values), and its histogram. Each run of a report is tagged
/// (`Tag=run1`, or the variant and repetition), so one file holds a matrix.
public enum IntervalLog {
    public static let fileName = "latency.hlog"

    /// True when some run kept its intervals' histograms (the log has something to say).
    public static func hasHistograms(_ report: Report) -> Bool { report.runs.contains(where: hasHistograms) }

    static func hasHistograms(_ run: RunResult) -> Bool { run.intervals?.contains { $0.latencyNs.histogram != nil } == true }

    /// The log, or nil when no run kept its intervals' histograms.
    public static func render(_ report: Report) -> String? {
        let runs = report.runs.filter(hasHistograms)
        guard !runs.isEmpty else { return nil }
        let base = runs.compactMap(\.windowStartUnixNs).min() ?? 0
        let seconds = Double(base) / 1e9
        var lines = [
            "#[Logged with sockbench \(report.tool.version): \(report.scenario.name)]",
            "#[Histogram log format version 1.3]",
            String(format: "#[StartTime: %.3f (seconds since epoch), %@]", seconds, StartTime.format(unixNanoseconds: base)),
            "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"",
        ]
        let tagged = report.runs.count > 1
        for (position, run) in report.runs.enumerated() where runs.contains(where: { $0.variant == run.variant && $0.repetition == run.repetition }) {
            let offset = Double((run.windowStartUnixNs ?? base) &- base) / 1e9
            let tag = tagged ? "Tag=" + self.tag(run, position: position) + "," : ""
            for interval in run.intervals ?? [] {
                guard let histogram = interval.latencyNs.histogram else { continue }
                lines.append(tag + String(format: "%.3f,%.3f,%.3f,", offset + interval.startS, interval.endS - interval.startS,
                                          Double(interval.latencyNs.max) / 1e6) + histogram)
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A tag HdrHistogram accepts (no comma, no white space): the variant and repetition, or `runN`.
    static func tag(_ run: RunResult, position: Int) -> String {
        let name = run.variant == "default" ? "run\(position + 1)" : run.variant + (run.repetition.map { "#\($0)" } ?? "")
        return String(name.map { $0.isLetter || $0.isNumber || "-_.#=".contains($0) ? $0 : "_" })
    }

    /// The report as report.json keeps it: interval histograms only in shard reports (which `merge`
    /// reads); elsewhere they live in latency.hlog alone.
    public static func strippingIntervalHistograms(_ report: Report) -> Report {
        guard report.shard == nil else { return report }
        var stripped = report
        for index in stripped.runs.indices {
            guard var intervals = stripped.runs[index].intervals else { continue }
            for slot in intervals.indices {
                intervals[slot].latencyNs.histogram = nil
                intervals[slot].latencyUncorrectedNs?.histogram = nil
            }
            stripped.runs[index].intervals = intervals
        }
        return stripped
    }
}
