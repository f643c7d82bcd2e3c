/// `runs[].error_budget`: the scenario's budget against the errors the run saw.
public struct ErrorBudgetRecord: Codable, Sendable, Equatable {
    /// As written in the scenario (`10 errors`, `1% of attempts`).
    public var budget: String
    public var allowed: UInt64
    public var errors: UInt64
    /// Messages sent plus connection attempts.
    public var attempts: UInt64
    public var exceeded: Bool
    /// True when the scenario set no `error_budget` and the default (1% of attempts) applied.
    public var isDefault: Bool?
}

extension ErrorBudgetRecord {
    /// `budget` against what a load saw: errors over attempts (messages sent plus connection attempts).
    init(_ budget: ErrorBudget, result: WorkerResult, isDefault: Bool = false) {
        let attempts = result.messagesSent + UInt64(result.connectionsEstablished + result.connectionsFailed)
        let allowed = budget.allowed(attempts: attempts)
        let errors = result.errors.total
        self.init(budget: budget.description + (isDefault ? " (the default)" : ""), allowed: allowed, errors: errors,
                  attempts: attempts, exceeded: errors > allowed, isDefault: isDefault ? true : nil)
    }

    /// The `error-budget` event: at the end of the interval where the running count passed the
    /// allowance (or the end of the run when no interval shows it).
    func event(intervals: [IntervalRecord], runEndS: Double) -> RunEvent {
        var seen: UInt64 = 0
        let at = intervals.first(where: { seen += $0.errors; return seen > allowed })?.endS ?? runEndS
        return RunEvent(atS: at, kind: .errorBudget, message: "\(plural(errors, "error")) passed the error budget of \(budget) (\(allowed) allowed)")
    }
}
