import ArgumentParser
import Foundation
import SockBench

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare saved reports of the same scenario (different builds, machines or days).",
        discussion: """
        The first report is the baseline. For every variant the reports share, each metric gets the \
        median over the report's repetitions with its range, the change against the first report, and a \
        verdict from the Mann-Whitney U test (better / worse / no significant difference). Reports with \
        one run each have one sample per side: no verdict is possible, so run the scenario with \
        `repeat: 5` for comparisons that mean something.

        Reports that measured different workloads (protocol, pattern, connections, message size, depth, \
        rate) are refused: their figures are not comparable.

        Exit codes: 0 compared; 1 unreadable or incompatible reports.
        """
    )

    @Argument(help: "Two or more report.json files (or run folders holding one); the first is the baseline.")
    var reports: [String]

    @Option(name: .long, help: ArgumentHelp("Compare only these metrics (repeatable, e.g. --metric latency.p99).", valueName: "name"))
    var metric: [String] = []

    @Flag(name: .long, help: "Print the comparison as JSON instead of Markdown.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Append the Markdown comparison to this file (e.g. \"$GITHUB_STEP_SUMMARY\").", valueName: "file"))
    var summary: String?

    func validate() throws {
        guard reports.count >= 2 else { throw ValidationError("name at least two reports to compare") }
        for name in metric where ReportMetric.named(name) == nil {
            throw ValidationError("--metric: '\(name)' is not a report field; known: \(ReportMetric.allNames.joined(separator: ", "))")
        }
    }

    func run() throws {
        let comparison: Comparison
        do {
            comparison = try ReportSet.comparison(of: reports, metrics: metric.isEmpty ? Comparison.defaultMetrics : metric)
        } catch {
            throw CommandFailure.badInput(error.message)
        }
        let markdown = MarkdownReport.comparisonSection(comparison, heading: "## sockbench compare")
        if json {
            let data = try JSONEncoder.snakeCase.encode(comparison)
            FileHandleOutput.standardOutput(String(decoding: data, as: UTF8.self))
        } else {
            FileHandleOutput.standardOutput(markdown)
        }
        if let summary {
            try CIOutputs.appendSummary(markdown + "\n", to: summary)
        }
    }
}
