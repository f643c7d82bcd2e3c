/// One named conversation step in `report.json` (`runs[].steps[]`): how many answered in the
/// measured window and their latency, in the same shape (summary and mergeable histogram) as the
/// run's own `latency_ns`.
public struct StepRecord: Codable, Sendable, Equatable {
    /// The step's `name:` in the scenario.
    public var name: String
    /// Steps answered in the measured window.
    public var count: UInt64
    /// From the start of the step's send (or the end of the step before it) to its last expected
    /// byte; in open loop an iteration's first step counts from the iteration's scheduled start.
    public var latencyNs: LatencySummary
    /// Open loop only: the same, timed from the actual send.
    public var latencyUncorrectedNs: LatencySummary?

    public init(name: String, count: UInt64, latencyNs: LatencySummary, latencyUncorrectedNs: LatencySummary? = nil) {
        self.name = name
        self.count = count
        self.latencyNs = latencyNs
        self.latencyUncorrectedNs = latencyUncorrectedNs
    }

    /// What the conversation engine measured for one step; `openLoop` adds the uncorrected figures,
    /// as the run's own latency does.
    public init(_ result: StepResult, openLoop: Bool) {
        self.init(name: result.name, count: result.count, latencyNs: result.latency.summary,
                  latencyUncorrectedNs: openLoop ? result.latencyUncorrected.summary : nil)
    }

    /// The names of the scenario's named conversation steps, in step order: what `steps.NAME.FIELD`
    /// thresholds are checked against when the scenario loads.
    public static func stepNames(_ scenario: Scenario) -> [String] {
        scenario.conversation.compactMap(\.name)
    }
}

extension RunResult {
    /// The step named `name`, when the run has it.
    public func step(named name: String) -> StepRecord? { steps?.first { $0.name == name } }

    /// The step names of `runs`, in the order they first appear.
    public static func stepNames(_ runs: [RunResult]) -> [String] {
        var names: [String] = []
        for run in runs {
            for step in run.steps ?? [] where !names.contains(step.name) { names.append(step.name) }
        }
        return names
    }
}
