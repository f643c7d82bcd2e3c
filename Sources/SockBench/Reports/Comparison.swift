/// Variants side by side: per metric, each variant's median over its repetitions with the spread,
/// the change against the group's baseline, and whether that change is more than noise
/// (`RankSumTest`). Built from a matrix run's report, and by `sockbench compare` from saved reports.
public struct Comparison: Codable, Sendable, Equatable {
    public var method = RankSumTest.methodName
    /// A difference is called only when p < alpha.
    public var alpha = Comparison.alpha
    /// What differs between the variants of a group (`client.tcp_nodelay`, `report`).
    public var compared: String
    public var groups: [Group]
    /// Caveats a reader must see, such as too few repetitions for any verdict.
    public var notes: [String]

    public static let alpha = 0.05

    public struct Group: Codable, Sendable, Equatable {
        /// The settings the group's variants share (`message_size=64`); empty when there is one group.
        public var name: String
        /// The variant every other is compared against: the first one listed.
        public var baseline: String
        /// Variants best first by `rankedBy`'s median (absent when no metric ranks them).
        public var ranking: [String]?
        public var rankedBy: String?
        public var metrics: [MetricRow]
    }

    public struct MetricRow: Codable, Sendable, Equatable {
        public var metric: String
        public var unit: ReportMetric.Unit
        public var better: ReportMetric.Better
        public var cells: [Cell]
    }

    public struct Cell: Codable, Sendable, Equatable {
        public var variant: String
        public var summary: SampleSummary
        /// Median against the baseline's median, in percent (nil for the baseline, or a zero baseline).
        public var deltaPercent: Double?
        public var pValue: Double?
        public var verdict: Verdict
        /// The samples, one per repetition, in run order.
        public var values: [Double]
    }

    public enum Verdict: String, Codable, Sendable, CaseIterable {
        case baseline
        case better
        case worse
        /// A significant change in a figure that is neither better nor worse (segments per message).
        case higher
        case lower
        case noSignificantDifference = "no significant difference"
        /// Too few samples for the test to ever reach alpha.
        case inconclusive
    }

    /// One column of the comparison: a variant's runs within its group.
    public struct Entry: Sendable {
        public var group: String
        public var label: String
        public var runs: [RunResult]

        public init(group: String, label: String, runs: [RunResult]) {
            self.group = group
            self.label = label
            self.runs = runs
        }
    }

    /// The metrics a comparison shows, in order, when the runs have them.
    public static let defaultMetrics = [
        "throughput.messages_per_second", "throughput.requests_per_second", "throughput.connections_per_second", "throughput.bytes_per_second_sent",
        "throughput.bytes_per_second_received", "latency.p50", "latency.p99", "latency.p999", "latency_uncorrected.p99",
        "connect_latency.p50", "errors.total", "udp.loss_percent", "udp.jitter", "capture.segments_per_message.client_to_server",
        "capture.segments_per_message.server_to_client", "capture.retransmissions", "capture.handshake_rtt.p50", "cpu.client_per_message",
    ]

    public init(compared: String, entries: [Entry], metrics names: [String] = Comparison.defaultMetrics) {
        self.compared = compared
        let allRuns = entries.flatMap(\.runs)
        let streams = allRuns.contains { $0.pattern == .stream }
        // Each named step's latency follows the run's (`latency.p99`, then `steps.get.p99`, ...).
        let metrics = ReportMetric.expandingSteps(names, steps: RunResult.stepNames(allRuns)).compactMap(ReportMetric.named).filter { metric in
            // Byte rates repeat messages/s for fixed-size messages; they matter for streams.
            (streams || metric.unit != .bytesPerSecond) && allRuns.contains { metric.value(in: $0) != nil }
        }
        var groupNames: [String] = []
        for entry in entries where !groupNames.contains(entry.group) { groupNames.append(entry.group) }
        groups = groupNames.map { name in
            Self.group(name, entries: entries.filter { $0.group == name }, metrics: metrics)
        }
        var notes: [String] = []
        let sizes = entries.map { $0.runs.count }
        if let smallest = sizes.min(), entries.count > 1, RankSumTest.smallestPValue(smallest, smallest) >= alpha {
            notes.append("With \(plural(smallest, "sample")) per variant no difference can reach p < \(alpha): "
                + "set repeat: 4 or more (5 or more is better on a shared machine) for a verdict.")
        }
        self.notes = notes
    }

    static func group(_ name: String, entries: [Entry], metrics: [ReportMetric]) -> Group {
        let baseline = entries[0]
        let rows = metrics.compactMap { metric -> MetricRow? in
            let baseValues = baseline.runs.compactMap(metric.value)
            let cells = entries.compactMap { entry -> Cell? in
                let values = entry.runs.compactMap(metric.value)
                guard let summary = SampleSummary(values) else { return nil }
                if entry.label == baseline.label {
                    return Cell(variant: entry.label, summary: summary, deltaPercent: nil, pValue: nil, verdict: .baseline, values: values)
                }
                return cell(entry.label, values: values, summary: summary, against: baseValues, metric: metric)
            }
            return cells.isEmpty ? nil : MetricRow(metric: metric.name, unit: metric.unit, better: metric.better, cells: cells)
        }
        let primary = primaryMetric(entries.flatMap(\.runs))
        let lowerIsBetter = ReportMetric.named(primary)?.better == .lower
        let ranking = rows.first { $0.metric == primary }.map { row in
            row.cells.sorted { a, b in lowerIsBetter ? a.summary.median < b.summary.median : a.summary.median > b.summary.median }.map(\.variant)
        }
        return Group(name: name, baseline: baseline.label, ranking: entries.count > 1 ? ranking : nil,
                     rankedBy: entries.count > 1 && ranking != nil ? primary : nil, metrics: rows)
    }

    static func cell(_ label: String, values: [Double], summary: SampleSummary, against base: [Double], metric: ReportMetric) -> Cell {
        guard let baseSummary = SampleSummary(base) else {
            return Cell(variant: label, summary: summary, deltaPercent: nil, pValue: nil, verdict: .inconclusive, values: values)
        }
        let delta = baseSummary.median == 0 ? (summary.median == 0 ? 0 : nil) : 100 * (summary.median - baseSummary.median) / baseSummary.median
        let verdict: Verdict
        var pValue: Double?
        if RankSumTest.smallestPValue(base.count, values.count) >= alpha {
            verdict = .inconclusive
        } else {
            let p = RankSumTest.test(base, values)?.pValue ?? 1
            pValue = p
            verdict = p < alpha ? direction(of: summary.median - baseSummary.median, better: metric.better) : .noSignificantDifference
        }
        return Cell(variant: label, summary: summary, deltaPercent: delta, pValue: pValue, verdict: verdict, values: values)
    }

    /// Better or worse for a metric with a direction; higher or lower for a neutral one.
    static func direction(of change: Double, better: ReportMetric.Better) -> Verdict {
        switch better {
        case .lower: change < 0 ? .better : .worse
        case .higher: change > 0 ? .better : .worse
        case .neutral: change > 0 ? .higher : .lower
        }
    }

    /// The figure variants are ranked by: p99 latency in open loop (the rate is fixed, so
    /// throughput says nothing), messages (or transactions) per second otherwise.
    static func primaryMetric(_ runs: [RunResult]) -> String {
        runs.contains { $0.schedule != nil } ? "latency.p99" : "throughput.messages_per_second"
    }
}

extension Comparison.Group {
    /// The variant that is best by `rankedBy`, named only when the data backs it: the top of the
    /// ranking must be significantly better (p < alpha) than every other variant, each tested
    /// against it directly, not only against the baseline. Nil when no variant is (a ranking by
    /// medians alone may be noise).
    public var best: String? {
        guard let ranking, ranking.count > 1, let rankedBy, let metric = ReportMetric.named(rankedBy),
              let row = metrics.first(where: { $0.metric == rankedBy }),
              let top = row.cells.first(where: { $0.variant == ranking[0] }) else { return nil }
        let others = row.cells.filter { $0.variant != top.variant }
        guard !others.isEmpty else { return nil }
        let beatsAll = others.allSatisfy { other in
            guard top.summary.median != other.summary.median,
                  Comparison.direction(of: top.summary.median - other.summary.median, better: metric.better) == .better,
                  let p = RankSumTest.test(other.values, top.values)?.pValue else { return false }
            return p < Comparison.alpha
        }
        return beatsAll ? top.variant : nil
    }
}

extension Comparison {
    /// The comparison of a matrix report's own runs: the first matrix key is compared, the others group.
    public init?(runs: [RunResult], matrixKeys: [String]) {
        guard runs.count > 1 else { return nil }
        var entries: [Entry] = []
        for run in runs {
            let settings = run.settings ?? []
            let label = settings.first?.text ?? run.variant
            let group = settings.dropFirst().map(\.text).joined(separator: ", ")
            if let index = entries.firstIndex(where: { $0.group == group && $0.label == label }) {
                entries[index].runs.append(run)
            } else {
                entries.append(Entry(group: group, label: label, runs: [run]))
            }
        }
        self.init(compared: matrixKeys.first ?? "repetitions", entries: entries)
    }
}
