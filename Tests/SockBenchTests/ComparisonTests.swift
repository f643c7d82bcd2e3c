import Foundation
import FoundationXML
import Testing
@testable import SockBench

/// Comparisons, tolerances, baseline checks and JUnit output on hand-made runs.
@Suite struct ComparisonTests {
    static func setting(_ key: String, _ value: String) -> ScenarioMatrix.Setting {
        .init(key: key, value: value, text: "\(key.split(separator: ".").last!)=\(value)")
    }

    @Test func groupsByTheOtherKeysAndJudgesAgainstTheFirstValue() throws {
        var runs: [RunResult] = []
        for size in ["64", "1024"] {
            for nodelay in ["true", "false"] {
                let settings = [Self.setting("client.tcp_nodelay", nodelay), Self.setting("load.message_size", size)]
                // nodelay=false is twice as fast at 64 bytes and the same at 1024.
                let rate = nodelay == "false" && size == "64" ? 20_000.0 : 10_000
                runs += SyntheticRuns.repetitions(5, variant: "tcp_nodelay=\(nodelay), message_size=\(size)", settings: settings,
                                                  rate: rate, latencyNs: 100_000)
            }
        }
        let comparison = try #require(Comparison(runs: runs, matrixKeys: ["client.tcp_nodelay", "load.message_size"]))
        #expect(comparison.groups.map(\.name) == ["message_size=64", "message_size=1024"])
        #expect(comparison.notes.isEmpty)
        let small = comparison.groups[0]
        #expect(small.baseline == "tcp_nodelay=true")
        #expect(small.ranking == ["tcp_nodelay=false", "tcp_nodelay=true"])
        let throughput = try #require(small.metrics.first { $0.metric == "throughput.messages_per_second" })
        #expect(throughput.cells.map(\.verdict) == [.baseline, .better])
        #expect(abs((throughput.cells[1].deltaPercent ?? 0) - 100) < 0.01)
        #expect((throughput.cells[1].pValue ?? 1) < 0.05)
        let same = try #require(comparison.groups[1].metrics.first { $0.metric == "throughput.messages_per_second" })
        #expect(same.cells[1].verdict == .noSignificantDifference)
        let markdown = MarkdownReport.comparisonSection(comparison)
        #expect(markdown.contains("### message_size=64"))
        #expect(markdown.contains("+100.0% **better**"))
        #expect(markdown.contains("Mann-Whitney U"))
    }

    @Test func tooFewRepetitionsAreInconclusiveAndSaySo() throws {
        let runs = SyntheticRuns.repetitions(3, variant: "a", settings: [Self.setting("load.depth", "1")], rate: 10_000, latencyNs: 1000)
            + SyntheticRuns.repetitions(3, variant: "b", settings: [Self.setting("load.depth", "2")], rate: 30_000, latencyNs: 1000)
        let comparison = try #require(Comparison(runs: runs, matrixKeys: ["load.depth"]))
        #expect(comparison.groups[0].metrics[0].cells[1].verdict == .inconclusive)
        #expect(comparison.notes.first?.contains("repeat: 4 or more") == true)
    }

    @Test func tolerancesParseWithTheirDirection() throws {
        let tolerance = try Tolerance.parse("p99=+10%, throughput=-5%,errors.total=0%").get()
        #expect(tolerance.order == ["latency.p99", "throughput.messages_per_second", "errors.total"])
        #expect(tolerance.percent["latency.p99"] == 10 && tolerance.percent["throughput.messages_per_second"] == 5)
        for (bad, fragment) in [("p99=-10%", "write +10%"), ("throughput=+5%", "write -5%"), ("p98=+1%", "not a report field"),
                                ("p99=10", "in percent"), ("p99", "METRIC=PERCENT"), ("p99=+x%", "not a percentage")] {
            guard case .failure(let error) = Tolerance.parse(bad) else { Issue.record("\(bad) parsed"); continue }
            #expect(error.message.contains(fragment), "\(bad): \(error.message)")
        }
        let merged = Tolerance.default.merging(try Tolerance.parse("p99=+5%").get())
        #expect(merged.percent["latency.p99"] == 5 && merged.percent["latency.p50"] == 25)
    }

    /// The three cases a CI gate meets: clearly worse fails, equal passes, better passes and is reported.
    @Test func baselineCheckFailsOnlyOnSignificantRegressions() throws {
        let base = SyntheticRuns.report(SyntheticRuns.repetitions(5, rate: 10_000, latencyNs: 100_000))
        let baseline = Baseline(name: "main", report: base, source: "base.json")
        let tolerance = try Tolerance.parse("p99=+10%,throughput=-5%").get()
        func check(rate: Double, latency: UInt64, count: Int = 5) throws -> GateVerdict {
            let report = SyntheticRuns.report(SyntheticRuns.repetitions(count, rate: rate, latencyNs: latency))
            return GateVerdict(report: report, check: try BaselineCheck(report: report, baseline: baseline, tolerance: tolerance))
        }
        let worse = try check(rate: 5_000, latency: 300_000)
        #expect(worse.exitCode == 2)
        #expect(worse.line.hasPrefix("FAIL (exit 2): 2 of 2 checks failed"))
        let equal = try check(rate: 10_000, latency: 100_000)
        #expect(equal.exitCode == 0 && equal.line.hasPrefix("PASS"))
        let better = try check(rate: 20_000, latency: 50_000)
        #expect(better.exitCode == 0)
        #expect(better.line.contains("2 improved"))
        // Two samples against five cannot be significant (smallest p 2/21): beyond tolerance, but skipped, not failed.
        let few = try check(rate: 5_000, latency: 300_000, count: 2)
        #expect(few.exitCode == 0)
        #expect(few.cases.allSatisfy { $0.outcome == .skipped })
    }

    @Test func baselineRefusesADifferentWorkload() throws {
        let base = SyntheticRuns.report(SyntheticRuns.repetitions(5, rate: 10_000, latencyNs: 100_000))
        var other = base
        other.scenario.load.connections = 64
        #expect(throws: CheckError.self) {
            try BaselineCheck(report: other, baseline: Baseline(name: "main", report: base, source: "b"), tolerance: .default)
        }
        #expect(ReportCompatibility.problems(base.scenario, other.scenario) == ["connections 1 vs 64"])
    }
}
