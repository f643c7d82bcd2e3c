/// One threshold checked against one variant: what was measured and whether it held.
public struct ThresholdResult: Codable, Sendable, Equatable {
    public var expression: String
    public var metric: String
    /// The variant's name, `default` for a scenario without a matrix.
    public var variant: String
    /// The median over the variant's repetitions (the value itself for one run); nil when the
    /// runs have no such figure (no capture, no answers), which fails the threshold.
    public var measured: Double?
    /// The unit of `measured` (nanoseconds for latencies, per_second for rates, ...); absent for an unknown field.
    public var unit: ReportMetric.Unit?
    public var samples: Int
    public var passed: Bool
    /// `measured 3.10ms, allowed < 2.00ms`.
    public var message: String

    /// Every threshold against every variant of `runs`, in threshold order.
    public static func evaluate(_ thresholds: [Threshold], runs: [RunResult]) -> [ThresholdResult] {
        let variants = RunResult.byVariant(runs)
        return thresholds.flatMap { threshold in
            variants.map { variant, runs in evaluate(threshold, variant: variant, runs: runs) }
        }
    }

    static func evaluate(_ threshold: Threshold, variant: String, runs: [RunResult]) -> ThresholdResult {
        guard let metric = ReportMetric.named(threshold.metric) else {
            return ThresholdResult(expression: threshold.expression, metric: threshold.metric, variant: variant, measured: nil,
                                   samples: 0, passed: false, message: "unknown field \(threshold.metric)")
        }
        let values = runs.compactMap(metric.value)
        guard let median = SampleSummary(values)?.median else {
            let why = metric.name.hasPrefix("capture.") ? "the run has no capture analysis" : ReportMetric.splitStep(metric.name).map { step, _ in
                runs.contains { $0.step(named: step) != nil } ? "step '\(step)' was not answered in the measured window" : "the run has no step named '\(step)'"
            } ?? "the run has no such figure"
            return ThresholdResult(expression: threshold.expression, metric: metric.name, variant: variant, measured: nil, unit: metric.unit, samples: 0,
                                   passed: false, message: "no value (\(why)), allowed \(threshold.allowedText)")
        }
        let over = values.count > 1 ? " (median of \(values.count))" : ""
        return ThresholdResult(expression: threshold.expression, metric: metric.name, variant: variant, measured: median, unit: metric.unit,
                               samples: values.count, passed: threshold.holds(median),
                               message: "measured \(metric.format(median))\(over), allowed \(threshold.allowedText)")
    }
}
