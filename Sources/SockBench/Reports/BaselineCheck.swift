import Foundation

/// `sockbench check`: a report's variants against a baseline's, metric by metric. A metric fails
/// only when it moved the worse way by more than its tolerance *and* the rank-sum test says the
/// move is more than noise; an improvement never fails, it is reported.
public struct BaselineCheck: Sendable {
    public struct Result: Sendable, Equatable {
        public enum Outcome: String, Sendable {
            case withinTolerance = "within tolerance"
            case improved
            /// Beyond tolerance the worse way, but not significant: noise, passes.
            case notSignificant = "beyond tolerance, not significant"
            /// Beyond tolerance with too few samples to test: cannot fail, cannot pass honestly.
            case inconclusive
            case regressed
        }

        public var variant: String
        public var metric: String
        public var baseline: SampleSummary
        public var current: SampleSummary
        public var deltaPercent: Double?
        public var tolerancePercent: Double
        public var pValue: Double?
        public var outcome: Outcome
        public var message: String
    }

    public var baselineName: String
    public var results: [Result]

    public var regressions: [Result] { results.filter { $0.outcome == .regressed } }

    public init(report: Report, baseline: Baseline, tolerance: Tolerance) throws(CheckError) {
        let problems = ReportCompatibility.problems(baseline.scenario, report.scenario)
        guard problems.isEmpty else {
            throw CheckError("the report and baseline \(baseline.name) ran different workloads: \(problems.joined(separator: "; "))")
        }
        let variants = RunResult.byVariant(report.runs)
        let missing = variants.map(\.name).filter { name in !baseline.variants.contains { $0.name == name } }
        guard missing.isEmpty else {
            throw CheckError("baseline \(baseline.name) has no variant \(missing.map { "'\($0)'" }.joined(separator: ", ")); "
                + "it has \(baseline.variants.map { "'\($0.name)'" }.joined(separator: ", "))")
        }
        baselineName = baseline.name
        var results: [Result] = []
        for (variant, runs) in variants {
            let saved = baseline.variants.first { $0.name == variant }!
            for (name, percent) in tolerance.expandingSteps(RunResult.stepNames(runs)) {
                guard let metric = ReportMetric.named(name), let base = saved.samples[metric.name], let baseSummary = SampleSummary(base) else { continue }
                let values = runs.compactMap(metric.value)
                guard let summary = SampleSummary(values) else { continue }
                results.append(Self.judge(variant: variant, metric: metric, base: base, baseSummary: baseSummary,
                                          values: values, summary: summary, tolerance: percent))
            }
        }
        self.results = results
    }

    static func judge(variant: String, metric: ReportMetric, base: [Double], baseSummary: SampleSummary, values: [Double],
                      summary: SampleSummary, tolerance: Double) -> Result {
        let change = summary.median - baseSummary.median
        let delta = baseSummary.median == 0 ? (change == 0 ? 0 : nil) : 100 * change / baseSummary.median
        // Percent moved the worse way (negative: improved); a zero baseline that grew is infinitely worse.
        let worseBy: Double = switch metric.better {
        case .lower: delta ?? (change > 0 ? .infinity : 0)
        case .higher: -(delta ?? (change < 0 ? .infinity : 0))
        case .neutral: abs(delta ?? (change == 0 ? 0 : .infinity))
        }
        let testable = RankSumTest.smallestPValue(base.count, values.count) < Comparison.alpha
        let p = testable ? RankSumTest.test(base, values)?.pValue : nil
        let significant = (p ?? 1) < Comparison.alpha
        let moved = "\(metric.format(baseSummary.median)) → \(metric.format(summary.median)) ("
            + (delta.map { String(format: "%+.1f%%", $0) } ?? "from zero") + (p.map { String(format: ", p=%.3g", $0) } ?? "") + ")"
        let allowed = "tolerance \(metric.better == .higher ? "-" : "+")\(Quantity.trim(tolerance))%"
        let outcome: Result.Outcome
        let message: String
        if worseBy > tolerance {
            if !testable {
                outcome = .inconclusive
                message = "\(moved) beyond \(allowed), but \(base.count) against \(values.count) samples cannot tell it from noise: set repeat: 4 or more"
            } else if significant {
                outcome = .regressed
                message = "regressed: \(moved) beyond \(allowed)"
            } else {
                outcome = .notSignificant
                message = "\(moved) beyond \(allowed), but not significant: noise"
            }
        } else if worseBy < 0, significant, metric.better != .neutral {
            outcome = .improved
            message = "improved: \(moved)"
        } else {
            outcome = .withinTolerance
            message = "\(moved) within \(allowed)"
        }
        return Result(variant: variant, metric: metric.name, baseline: baseSummary, current: summary, deltaPercent: delta,
                      tolerancePercent: tolerance, pValue: p, outcome: outcome, message: message)
    }

    /// One check per variant and metric: regressions fail, inconclusive ones are skipped.
    public var cases: [CheckCase] {
        let several = Set(results.map(\.variant)).count > 1
        return results.map { result in
            let outcome: CheckCase.Outcome = switch result.outcome {
            case .regressed: .failed
            case .inconclusive: .skipped
            case .withinTolerance, .improved, .notSignificant: .passed
            }
            return CheckCase(suite: "baseline", name: "\(result.metric) vs \(baselineName)" + (several ? " [\(result.variant)]" : ""),
                             outcome: outcome, message: result.message, variant: result.variant)
        }
    }
}

/// Whether two reports measured the same workload, so their figures can be set side by side.
public enum ReportCompatibility {
    /// The differences that make a comparison meaningless, in words; empty when comparable.
    public static func problems(_ a: ScenarioRecord, _ b: ScenarioRecord) -> [String] {
        var problems: [String] = []
        func check<T: Equatable>(_ name: String, _ x: T, _ y: T) {
            if x != y { problems.append("\(name) \(x) vs \(y)") }
        }
        check("protocol", a.server.protocol, b.server.protocol)
        check("pattern", a.load.pattern, b.load.pattern)
        check("direction", a.load.direction ?? "-", b.load.direction ?? "-")
        check("connections", a.load.connections, b.load.connections)
        check("message_size", a.load.messageSizeBytes, b.load.messageSizeBytes)
        check("response_size", a.server.responseSizeBytes ?? 0, b.server.responseSizeBytes ?? 0)
        check("depth", a.load.depth, b.load.depth)
        check("rate", a.load.rate ?? "closed loop", b.load.rate ?? "closed loop")
        check("conversation", a.load.conversation ?? [], b.load.conversation ?? [])
        return problems
    }
}
