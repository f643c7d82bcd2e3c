/// How far each metric may move the worse way before `sockbench check` calls it a regression:
/// `p99=+10%,throughput=-5%`. Latency may rise by 10%, throughput may fall by 5%.
public struct Tolerance: Sendable, Equatable {
    /// Metric name to the allowed change in percent (a magnitude; the metric says which way is worse).
    public var percent: [String: Double]
    /// The metrics in the order they were written.
    public var order: [String]

    /// Wide enough for a shared 2-vCPU VM, where whole runs drift by up to 25% between batches.
    public static let defaultText = "p50=+25%,p99=+50%,throughput=-25%"
    public static let `default` = try! parse(defaultText).get()

    /// The widest tolerance: a figure a hundred times worse. Past that a check gates nothing.
    public static let maximumPercent = 10_000.0

    public static func parse(_ text: String) -> Result<Tolerance, CheckError> {
        var tolerance = Tolerance(percent: [:], order: [])
        for item in text.split(separator: ",").map({ $0.trimmingWhitespace() }) where !item.isEmpty {
            let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingWhitespace() }
            guard parts.count == 2 else {
                return .failure(CheckError("--tolerance: '\(item)' is not METRIC=PERCENT, e.g. p99=+10% or throughput=-5%"))
            }
            guard let metric = ReportMetric.named(parts[0]) else {
                return .failure(CheckError("--tolerance: " + ReportMetric.unknownFieldMessage(parts[0])))
            }
            var number = parts[1]
            guard number.hasSuffix("%") else { return .failure(CheckError("--tolerance: \(item): write the change in percent, e.g. +10%")) }
            number.removeLast()
            let sign = number.first.flatMap { "+-".contains($0) ? $0 : nil }
            if sign != nil { number.removeFirst() }
            guard let value = Double(number), value.isFinite, (0...maximumPercent).contains(value) else {
                return .failure(CheckError("--tolerance: \(item): '\(parts[1])' is not a percentage from 0% to \(Int(maximumPercent))%"))
            }
            let worse: Character? = switch metric.better {
            case .lower: "+"
            case .higher: "-"
            case .neutral: nil
            }
            if let sign, let worse, sign != worse {
                return .failure(CheckError("--tolerance: \(item): \(metric.name) gets worse when it \(worse == "+" ? "rises" : "falls"); write \(worse)\(number)%"))
            }
            if tolerance.percent[metric.name] == nil { tolerance.order.append(metric.name) }
            tolerance.percent[metric.name] = value
        }
        guard !tolerance.order.isEmpty else { return .failure(CheckError("--tolerance: no METRIC=PERCENT given")) }
        return .success(tolerance)
    }

    /// The metrics to check, in order, with their tolerance: after each run-level latency figure
    /// (`latency.p99`), the same figure of every named step (`steps.get.p99`) at the same tolerance,
    /// unless the tolerance sets that step's itself.
    public func expandingSteps(_ steps: [String]) -> [(metric: String, percent: Double)] {
        ReportMetric.expandingSteps(order, steps: steps).compactMap { name in
            let own = percent[name]
            if let own { return (name, own) }
            // A step figure added by the expansion: the tolerance of the run-level figure it follows.
            guard let field = ReportMetric.splitStep(name)?.field, let runLevel = percent["latency." + field] else { return nil }
            return (name, runLevel)
        }
    }

    /// The default tolerances with `other`'s entries added or replacing them.
    public func merging(_ other: Tolerance) -> Tolerance {
        var merged = self
        for name in other.order {
            if merged.percent[name] == nil { merged.order.append(name) }
            merged.percent[name] = other.percent[name]
        }
        return merged
    }
}
