/// How a sequence of runs ended when it did not simply finish: the report's `status` and `failure`.
struct RunEnding: Sendable {
    enum Status: String, Sendable {
        case ok
        /// A run could not measure at all (no connection, nothing exchanged, setup failed): exit 3.
        case failed
        /// A run measured, but the reference server died or the errors passed the budget: exit 3.
        case degraded
        /// SIGINT or SIGTERM: exit 130, with the runs so far.
        case interrupted
    }

    var status: Status
    var reason: String

    init(status: Status, reason: String) {
        self.status = status
        self.reason = reason
    }

    /// Why the sequence must stop after `run`, if it must.
    init?(_ run: RunResult) {
        let target = run.target
        let why = run.firstError.map { ": \($0)" } ?? ""
        let events = run.events ?? []
        if let interrupted = events.first(where: { $0.kind == .interrupted }) {
            self.init(status: .interrupted, reason: interrupted.message)
        } else if run.connections.established == 0 {
            self.init(status: .failed, reason: "no connection to \(target) could be established (\(run.connections.failed) of \(run.connections.requested) failed)\(why)")
        } else if (run.pattern == .requestResponse ? run.messages.received : run.messages.sent + run.messages.bytesReceived) == 0,
                  run.errors.total > 0 {
            self.init(status: .failed, reason: "nothing was exchanged with \(target)\(why)")
        } else if let exited = events.first(where: { $0.kind == .serverExited }) {
            self.init(status: .degraded, reason: exited.message)
        } else if let budget = run.errorBudget, budget.exceeded {
            self.init(status: .degraded, reason: "\(plural(budget.errors, "error")) in \(plural(budget.attempts, "attempt")) exceed\(budget.errors == 1 ? "s" : "") the error budget of \(budget.budget) (\(budget.allowed) allowed)")
        } else {
            return nil
        }
    }
}
