extension ReportMetric {
    static let stepPrefix = "steps."

    /// What `steps.NAME.FIELD` takes as FIELD: the run-level latency figures (`latency.p99` is the
    /// run's, `steps.get.p99` step get's), and `count`, the step's answers in the measured window.
    public static let stepFields = ["min", "mean", "p50", "p90", "p99", "p999", "p9999", "max", "count"]

    /// `steps.NAME.FIELD` as its step name and field, or nil. The field is after the last dot, so a
    /// step name may hold dots (`steps.login.v2.p99` is step `login.v2`).
    static func splitStep(_ name: String) -> (step: String, field: String)? {
        guard name.hasPrefix(stepPrefix) else { return nil }
        let rest = name.dropFirst(stepPrefix.count)
        guard let dot = rest.lastIndex(of: "."), dot != rest.startIndex else { return nil }
        return (String(rest[..<dot]), String(rest[rest.index(after: dot)...]))
    }

    /// The figure `steps.NAME.FIELD` of any step name: steps come from the scenario, so these are
    /// made on demand rather than listed in the catalogue. Nil for a field steps do not have.
    static func step(_ name: String) -> ReportMetric? {
        guard let (step, field) = splitStep(name), stepFields.contains(field) else { return nil }
        if field == "count" {
            return ReportMetric(name, .count, .higher, "answers of step \(step) in the measured window") { run in
                run.step(named: step).map { Double($0.count) }
            }
        }
        return latency(stepPrefix + step, "latency of step \(step)") { $0.step(named: step)?.latencyNs }.first { $0.name == name }
    }

    /// Every figure of each of these steps, step by step (what a baseline saves).
    static func stepMetrics(_ steps: [String]) -> [ReportMetric] {
        steps.flatMap { step in stepFields.compactMap { self.step("\(stepPrefix)\(step).\($0)") } }
    }

    /// `names` with, after each run-level latency figure (`latency.p99`), the same figure of every
    /// step (`steps.get.p99`, `steps.set.p99`) unless `names` lists it itself: a comparison or a
    /// baseline check that looks at the run's latency looks at each step's too.
    static func expandingSteps(_ names: [String], steps: [String]) -> [String] {
        var expanded: [String] = []
        for name in names {
            if !expanded.contains(name) { expanded.append(name) }
            guard let metric = named(name), metric.name.hasPrefix("latency."),
                  let field = metric.name.split(separator: ".").last.map(String.init), stepFields.contains(field) else { continue }
            for step in steps {
                let stepName = "\(stepPrefix)\(step).\(field)"
                if !names.contains(stepName), !expanded.contains(stepName) { expanded.append(stepName) }
            }
        }
        return expanded
    }

    /// `'steps.get.p98' is not a step field; write steps.NAME.FIELD with FIELD one of min, …; did you mean 'steps.get.p99'?`
    static func unknownStepFieldMessage(_ name: String) -> String {
        let fields = stepFields.joined(separator: ", ")
        guard let (step, field) = splitStep(name) else {
            return "'\(name)' is not a step field; write steps.NAME.FIELD with FIELD one of \(fields)"
        }
        var message = "'\(name)' is not a step field; write steps.NAME.FIELD with FIELD one of \(fields)"
        if let suggestion = KeySuggestion.closest(to: field, in: stepFields) { message += "; did you mean '\(stepPrefix)\(step).\(suggestion)'?" }
        return message
    }
}

extension Threshold {
    /// The step a `steps.NAME.FIELD` threshold is about; nil for any other field.
    public var stepName: String? { ReportMetric.splitStep(metric)?.step }

    /// Why this threshold cannot be checked on a scenario whose named steps are `stepNames`: it
    /// names a step the scenario does not have. Nil when it names none, or one that exists. A
    /// misspelt step name would otherwise fail every run with "no such figure", long after loading.
    public func unknownStepMessage(stepNames: [String]) -> String? {
        guard let step = stepName, !stepNames.contains(step) else { return nil }
        guard !stepNames.isEmpty else {
            return "'\(metric)' names step '\(step)', but the scenario has no named steps (give a conversation step a name: to set thresholds on it)"
        }
        var message = "'\(metric)' names step '\(step)', which the scenario does not have; its named steps are "
            + stepNames.map { "'\($0)'" }.joined(separator: ", ")
        if let suggestion = KeySuggestion.closest(to: step, in: stepNames), let field = ReportMetric.splitStep(metric)?.field {
            message += "; did you mean '\(ReportMetric.stepPrefix)\(suggestion).\(field)'?"
        }
        return message
    }
}
