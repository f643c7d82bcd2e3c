import Foundation
import Testing
@testable import SockBench

/// summary.md and `--summary`: every run's headline figures, paths relative to the working directory.
@Suite("CI summary: headline figures and relative paths")
struct CISummaryTests {
    @Test("paths relative to the working directory, whatever the nesting")
    func relativePaths() {
        #expect(CISummary.relative("/work/repo/reports/q/20260101T000000Z/report.md", to: "/work/repo") == "reports/q/20260101T000000Z/report.md")
        #expect(CISummary.relative("/work/other/report.md", to: "/work/repo/sub") == "../../other/report.md")
        #expect(CISummary.relative("/work/repo/./a/../b/report.md", to: "/work/repo/") == "b/report.md")
        #expect(CISummary.relative("/work/repo", to: "/work/repo") == ".")
        #expect(CISummary.relative("/report.md", to: "/") == "report.md")
        #expect(CISummary.relative("out/report.md", to: "/work/repo") == "out/report.md")
    }

    @Test("one run without thresholds: its rate, p50, p99, errors and capture, and no absolute path")
    func singleRunHasFigures() {
        var run = SyntheticRuns.repetitions(1, rate: 12_345, latencyNs: 100_000)[0]
        run.repetition = nil
        run.errors.count(.reset)
        run.firstError = "connection reset | by peer"
        let report = SyntheticRuns.report([run], name: "single")
        let text = CISummary.render(report: report, reportPath: "/work/repo/reports/single/x/report.md", workingDirectory: "/work/repo")
        #expect(text.contains("### Runs"))
        let row = try? #require(text.split(separator: "\n").first { $0.hasPrefix("| default") })
        #expect(row?.contains(Format.rate(run.throughput.messagesPerSecond)) == true, "\(text)")
        #expect(row?.contains(Format.latency(run.latencyNs.p50)) == true && row?.contains(Format.latency(run.latencyNs.p99)) == true, "\(text)")
        #expect(row?.contains("**1**: connection reset \\| by peer") == true, "\(text)")
        #expect(row?.hasSuffix("| off |") == true, "no capture in the run: \(text)")
        #expect(text.contains("Full report: `reports/single/x/report.md`"))
        #expect(!text.contains("/work/repo"))
    }

    @Test("a matrix with repetitions: one row per run, variants and repetitions named")
    func everyRunHasARow() {
        let runs = SyntheticRuns.repetitions(3, variant: "nodelay=on", rate: 10_000, latencyNs: 50_000)
            + SyntheticRuns.repetitions(3, variant: "nodelay=off", rate: 5_000, latencyNs: 90_000)
        let text = CISummary.render(report: SyntheticRuns.report(runs))
        let rows = text.split(separator: "\n").filter { $0.hasPrefix("| nodelay=") }
        #expect(rows.count == 6, "\(text)")
        #expect(rows.first?.hasPrefix("| nodelay=on #1 (") == true && rows.last?.hasPrefix("| nodelay=off #3 (") == true, "\(rows)")
    }

    @Test("variant names with | and line breaks stay in their cells, in every table and the heading")
    func hostileNames() {
        let runs = SyntheticRuns.repetitions(2, variant: "payload=a|b", rate: 10_000, latencyNs: 50_000)
            + SyntheticRuns.repetitions(2, variant: "payload=x\ny|z\u{1B}[31m", rate: 5_000, latencyNs: 90_000)
        var report = SyntheticRuns.report(runs, name: "m|x\u{1}")
        report.thresholds = runs.map { ThresholdResult(expression: "errors.total == 0", metric: "errors.total", variant: $0.variant, measured: 0, samples: 2, passed: true, message: "measured 0 | ok") }
        let text = CISummary.render(report: report)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first == "## ✅ sockbench m\\|x ", "\(lines.first ?? "")")
        #expect(!text.contains("\u{1B}"))
        // Every table row has as many unescaped pipes as its header.
        for line in lines where line.hasPrefix("|") {
            let pipes = line.replacingOccurrences(of: "\\|", with: "").filter { $0 == "|" }.count
            #expect(pipes == 7 || pipes == 5, "\(line)")
        }
    }
}
