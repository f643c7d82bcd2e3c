import Foundation

/// The Markdown a CI job appends to `$GITHUB_STEP_SUMMARY` (and every run's `summary.md`): the
/// verdict first, then every run's headline figures (rate, p50/p99, errors, the capture in one
/// line), then the tables behind the verdict, and the report's path relative to the working
/// directory (a CI log's absolute paths name a runner's checkout, not something a reader can open).
public enum CISummary {
    public static func render(report: Report, check: BaselineCheck? = nil, reportPath: String? = nil,
                              workingDirectory: String = FileManager.default.currentDirectoryPath) -> String {
        let verdict = GateVerdict(report: report, check: check)
        let mark = verdict.exitCode == 0 ? "✅" : "❌"
        var out = ["## \(mark) sockbench \(MarkdownReport.cell(report.scenario.name))", "", "`\(MarkdownReport.cell(verdict.line))`"]
        if !report.runs.isEmpty { out += ["", runsTable(report.runs)] }
        if let results = report.thresholds, !results.isEmpty { out += ["", "#" + MarkdownReport.thresholdSection(results)] }
        if let check { out += ["", "#" + MarkdownReport.baselineSection(check)] }
        if let comparison = report.comparison { out += ["", MarkdownReport.comparisonSection(comparison, heading: "### Comparison")] }
        if let reportPath { out += ["", "Full report: `\(relative(reportPath, to: workingDirectory))`"] }
        return out.joined(separator: "\n") + "\n"
    }

    /// One row per run: what it measured, how fast, its latency, its errors and its capture.
    static func runsTable(_ runs: [RunResult]) -> String {
        var rows = ["### Runs", "", "| run | rate | p50 | p99 | errors | capture |", "|---|---|---|---|---|---|"]
        for run in runs {
            var name = run.variant + (run.repetition.map { " #\($0)" } ?? "")
            name += " (\(run.transportName) \(run.pattern.rawValue))"
            let rate = run.pattern == .stream
                ? Format.bitRate(bytesPerSecond: max(run.throughput.bytesPerSecondSent, run.throughput.bytesPerSecondReceived))
                : Format.rate(run.throughput.messagesPerSecond)
            let latency = run.latencyNs.count > 0
            let errors = run.errors.total == 0 ? "0" : "**\(run.errors.total)**" + (run.firstError.map { ": \($0)" } ?? "")
            let capture = run.capture.map(TerminalSummary.captureText) ?? "off"
            let cells = [name, rate, latency ? Format.latency(run.latencyNs.p50) : "–", latency ? Format.latency(run.latencyNs.p99) : "–", errors, capture]
            rows.append("| " + cells.map(MarkdownReport.cell).joined(separator: " | ") + " |")
        }
        return rows.joined(separator: "\n")
    }

    /// `path` relative to `directory` (`reports/x/report.md`, `../other/report.md`); a relative
    /// path is already relative to the working directory and is kept.
    static func relative(_ path: String, to directory: String) -> String {
        guard path.hasPrefix("/"), directory.hasPrefix("/") else { return path }
        let target = URL(fileURLWithPath: path).standardizedFileURL.pathComponents
        let base = URL(fileURLWithPath: directory).standardizedFileURL.pathComponents
        var shared = 0
        while shared < min(target.count, base.count), target[shared] == base[shared] { shared += 1 }
        let parts = Array(repeating: "..", count: base.count - shared) + target[shared...]
        return parts.isEmpty ? "." : parts.joined(separator: "/")
    }
}
