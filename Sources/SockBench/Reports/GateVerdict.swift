/// The outcome of a run or check as CI sees it: the exit code and the one line printed last,
/// so a CI log shows at a glance what happened.
public struct GateVerdict: Sendable {
    public var exitCode: Int32
    public var line: String
    public var cases: [CheckCase]

    public init(report: Report, check: BaselineCheck? = nil) {
        cases = CheckCase.thresholds(report) + (check?.cases ?? [])
        let failed = cases.filter { $0.outcome == .failed }
        let skipped = cases.filter { $0.outcome == .skipped }.count
        let improved = check?.results.filter { $0.outcome == .improved }.count ?? 0
        if report.status == "interrupted" {
            exitCode = Interruption.exitCode
            line = "INTERRUPTED (exit 130): \(report.scenario.name): \(report.failure ?? "stopped by a signal"); the report holds the runs so far"
        } else if let failure = report.failure {
            exitCode = RunError.Code.runFailed.rawValue
            let word = report.status == "degraded" ? "DEGRADED" : "FAILED"
            line = "\(word) (exit 3): \(report.scenario.name): \(failure)"
        } else if let first = failed.first {
            exitCode = RunError.thresholdFailed
            line = "FAIL (exit 2): \(failed.count) of \(plural(cases.count, "check")) failed; first: \(first.name): \(first.message)" + Self.starvedNote(report)
        } else if cases.isEmpty {
            exitCode = 0
            line = "OK: \(report.scenario.name) measured, \(plural(report.runs.count, "run")); no thresholds or baseline to check" + Self.starvedNote(report)
        } else {
            exitCode = 0
            var extras: [String] = []
            if improved > 0 { extras.append("\(improved) improved") }
            if skipped > 0 { extras.append("\(skipped) inconclusive (too few repetitions)") }
            line = "PASS: \(cases.count - skipped) of \(plural(cases.count, "check")) passed" + (extras.isEmpty ? "" : " (\(extras.joined(separator: ", ")))")
                + Self.starvedNote(report)
        }
    }

    /// "; but 15 of 16 connections were starved …" when any connection never completed an exchange
    /// in its measured window (a server serving one connection at a time looks healthy otherwise).
    static func starvedNote(_ report: Report) -> String {
        let starved = report.runs.reduce(0) { $0 + ($1.connections.starved ?? 0) }
        guard starved > 0 else { return "" }
        let requested = report.runs.reduce(0) { $0 + $1.connections.requested }
        let runs = report.runs.count > 1 ? " over \(report.runs.count) runs" : ""
        return "; but \(starved) of \(plural(requested, "connection"))\(runs) \(starved == 1 ? "was" : "were") starved (never completed an exchange in the measured window)"
    }
}
