import ArgumentParser
import Foundation
import SockBench

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Gate CI: check a report against a saved baseline (and its own thresholds).",
        discussion: """
        For every variant and every metric in the tolerance list, the report's median is compared with the \
        baseline's. A metric fails when it moved the worse way by more than its tolerance AND the \
        Mann-Whitney U test over the repetitions calls the move significant (p < 0.05). An improvement \
        never fails; it is reported. With fewer than 4 repetitions on either side no move can be \
        significant: such a metric is reported as inconclusive (a skipped JUnit test), not failed.

        --tolerance adds to or replaces the defaults (\(Tolerance.defaultText)). Names are report fields \
        (latency.p99, throughput.messages_per_second, capture.retransmissions, ...) or the short forms \
        p50, p90, p99, p999, max, throughput, errors, retransmissions. A latency tolerance is written \
        +N% (it may rise by N%), a throughput tolerance -N% (it may fall by N%).

        Exit codes: 0 no regression and every threshold met; 1 bad input (unreadable report or baseline, \
        different workloads, a bad --tolerance); 2 a regression or a failed threshold. The last line \
        printed is the verdict.
        """
    )

    @Argument(help: "The report to check: a report.json, or the run folder holding it.")
    var report: String

    @Option(name: .long, help: ArgumentHelp("A baseline name (read from --baseline-dir) or a file: a saved baseline or another report.json.", valueName: "name|file"))
    var baseline: String

    @Option(name: .long, help: ArgumentHelp("Where named baselines live.", valueName: "dir"))
    var baselineDir = "baselines"

    @Option(name: .long, help: ArgumentHelp("Allowed changes, e.g. p99=+10%,throughput=-5%.", valueName: "list"))
    var tolerance: String?

    @Option(name: .long, help: ArgumentHelp("Also write the checks as JUnit XML to this file.", valueName: "file"))
    var junit: String?

    @Option(name: .long, help: ArgumentHelp("Append a Markdown summary to this file (e.g. \"$GITHUB_STEP_SUMMARY\").", valueName: "file"))
    var summary: String?

    @Flag(name: .long, help: "Print only the verdict.")
    var quiet = false

    func run() throws {
        var tolerances = Tolerance.default
        if let tolerance {
            switch Tolerance.parse(tolerance) {
            case .success(let given): tolerances = tolerances.merging(given)
            case .failure(let error): throw CommandFailure.badInput(error.message)
            }
        }
        let check: BaselineCheck
        let current: Report
        do {
            current = try ReportFile.load(report)
            let saved = try Baseline.load(Baseline.path(for: baseline, directory: baselineDir))
            check = try BaselineCheck(report: current, baseline: saved, tolerance: tolerances)
        } catch {
            throw CommandFailure.badInput(error.message)
        }
        if !quiet {
            for result in check.results {
                let variant = result.variant == "default" ? "" : " [\(result.variant)]"
                FileHandleOutput.standardOutput("  \(result.outcome == .regressed ? "FAIL" : "ok  ") \(result.metric)\(variant): \(result.message)")
            }
            for threshold in current.thresholds ?? [] {
                FileHandleOutput.standardOutput("  \(threshold.passed ? "ok  " : "FAIL") \(threshold.expression) [\(threshold.variant)]: \(threshold.message)")
            }
        }
        let verdict = GateVerdict(report: current, check: check)
        try CIOutputs.write(junit: junit, summary: summary, command: "check", report: current, verdict: verdict,
                            markdown: CISummary.render(report: current, check: check, reportPath: report))
        CIOutputs.printVerdict(verdict, quiet: quiet)
        if verdict.exitCode != 0 { throw ExitCode(verdict.exitCode) }
    }
}
