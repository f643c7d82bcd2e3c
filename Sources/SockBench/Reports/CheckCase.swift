/// One pass/fail line of a CI gate: a threshold on one variant, or one metric against the baseline.
/// JUnit writes one testcase per check; the Markdown summary one table row.
public struct CheckCase: Sendable, Equatable {
    public enum Outcome: String, Sendable {
        case passed
        case failed
        /// Not decided (too few samples for a verdict); JUnit marks it skipped with the reason.
        case skipped
    }

    /// `thresholds` or `baseline`.
    public var suite: String
    public var name: String
    public var outcome: Outcome
    /// Measured against allowed, in words.
    public var message: String
    /// The matrix variant the check measured (`default` without a matrix).
    public var variant: String

    public init(suite: String, name: String, outcome: Outcome, message: String, variant: String = "default") {
        self.suite = suite
        self.name = name
        self.outcome = outcome
        self.message = message
        self.variant = variant
    }

    /// A report's threshold results as checks (one per threshold and variant).
    public static func thresholds(_ report: Report) -> [CheckCase] {
        let several = Set(report.runs.map(\.variant)).count > 1
        return (report.thresholds ?? []).map { result in
            CheckCase(suite: "thresholds", name: result.expression + (several ? " [\(result.variant)]" : ""),
                      outcome: result.passed ? .passed : .failed, message: result.message, variant: result.variant)
        }
    }
}
