import Foundation
import Testing
@testable import SockBench

/// The words the terminal summary, report.md and report.html print must be true and grammatical
/// on edge cases too: one connection, one sample, no significant difference, a degraded run.
@Suite("truthful text")
struct TruthfulTextTests {
    static func report(_ run: RunResult, status: String = "ok", failure: String? = nil) -> Report {
        var report = SyntheticRuns.report([run])
        report.status = status
        report.failure = failure
        return report
    }

    static func line(_ text: String, starting prefix: String) -> String? {
        text.split(separator: "\n").map(String.init).first { $0.hasPrefix(prefix) }
    }

    @Test("the errors line lists every category and its numbers add up to the total")
    func errorsLineSumsToTotal() throws {
        var run = SyntheticRuns.run(messagesPerSecond: 1000, latencyNs: 50_000)
        for category in ErrorCounts.Category.allCases { run.errors[category] = 1 }
        let text = TerminalSummary.render(Self.report(run), directory: "/tmp/r")
        let line = try #require(Self.line(text, starting: "  errors "), "\(text)")
        let total = ErrorCounts.Category.allCases.count
        #expect(line.hasPrefix("  errors       \(total) ("), "\(line)")
        for category in ErrorCounts.Category.allCases {
            #expect(line.contains("\(category.rawValue) 1"), "\(category) missing from: \(line)")
        }
        let inside = try #require(line.split(separator: "(", maxSplits: 1).last)
        let parts = inside.dropLast().split(separator: ",").compactMap { $0.split(separator: " ").last.flatMap { Int($0) } }
        #expect(parts.count == total && parts.reduce(0, +) == total, "\(line)")
    }

    @Test("one connection is singular, and a 13-letter label keeps its space before the figure")
    func singularAndSpacing() throws {
        let single = SyntheticRuns.run(messagesPerSecond: 1000, latencyNs: 50_000)
        let text = TerminalSummary.render(Self.report(single), directory: "/tmp/r")
        #expect(text.contains("TCP request-response, 1/1 connection, 1.000 s measured"), "\(text)")
        #expect(!text.contains("1 connections") && !text.contains("1/1 connections"), "\(text)")

        var conversation = single
        conversation.pattern = .conversation
        conversation.throughput.messagesPerSecond = 352
        let lines = TerminalSummary.render(Self.report(conversation), directory: "/tmp/r")
        #expect(lines.contains("1 connection at a time, 1 opened"), "\(lines)")
        #expect(lines.contains("  conversations 352/s"), "\(lines)")
        #expect(lines.range(of: "[a-z]{3,}[0-9]", options: .regularExpression) == nil, "a word runs into a number: \(lines)")
    }

    @Test("a one-sample histogram reports mean, min, max and every percentile at that value; mean stays within [min, max]")
    func histogramSummaryIsClamped() {
        var one = LatencyHistogram()
        one.record(1_234_567)
        let s = one.summary
        #expect(s.count == 1)
        #expect(s.min == 1_234_567 && s.max == 1_234_567 && s.mean == 1_234_567, "min \(s.min) mean \(s.mean) max \(s.max)")
        #expect([s.p50, s.p90, s.p99, s.p999, s.p9999].allSatisfy { $0 == 1_234_567 }, "\(s)")
        #expect(s.stddev == 0)

        var generator = SplitMix64(state: 42)
        for _ in 0..<40 {
            var histogram = LatencyHistogram()
            let samples = (0..<Int.random(in: 1...5, using: &generator)).map { _ in UInt64.random(in: 2_048...50_000_000, using: &generator) }
            for sample in samples { histogram.record(sample) }
            let summary = histogram.summary
            #expect(summary.min == samples.min()! && summary.max == samples.max()!, "\(samples)")
            #expect(Double(summary.min) <= summary.mean && summary.mean <= Double(summary.max), "\(samples): mean \(summary.mean)")
            for p in [summary.p50, summary.p90, summary.p99, summary.p999, summary.p9999] {
                #expect(summary.min <= p && p <= summary.max, "\(samples): percentile \(p)")
            }
        }
    }

    static func capture(probes: UInt64, intervals: [UInt64]) -> CaptureRecord {
        var interval = LatencyHistogram()
        for value in intervals { interval.record(value) }
        let both = Directional(clientToServer: UInt64(0), serverToClient: UInt64(0))
        let sizes = Directional(clientToServer: LatencySummary.empty, serverToClient: LatencySummary.empty)
        let tcp = TCPFigures(dataSegments: both, pureAcks: both, payloadBytes: both, payloadSizeBytes: sizes, messageSizeBytes: nil,
                             segmentsPerMessage: nil, syn: 1, synAck: 1, fin: 0, rst: 0, handshakes: 1, handshakeRttNs: .empty,
                             synToSynAckNs: .empty, retransmissions: 0, outOfOrder: 0, zeroWindow: 0,
                             keepalive: .init(probes: probes, intervalNs: interval.summary, idleBeforeFirstProbeNs: .empty),
                             dataToAckDelayNs: sizes)
        let counts = CaptureAnalysis.Counts(total: 1, clientToServer: 1, serverToClient: 0)
        let analysis = CaptureAnalysis(packets: counts, bytes: counts, undecodedPackets: 0, flowCount: 1, tcp: tcp, udp: nil,
                                       flows: [], flowsOmitted: 0)
        return CaptureRecord(details: .init(status: .captured, file: "capture.pcap", kernelDropped: 0), analysis: analysis)
    }

    @Test("keepalive probes without a measured interval are not printed as 'every 0ns'")
    func keepaliveWithoutInterval() {
        let one = TerminalSummary.captureLine(Self.capture(probes: 1, intervals: []))
        #expect(one.contains("; 1 keepalive probe") && !one.contains("every"), "\(one)")
        #expect(one.contains("1 packet,"), "\(one)")
        let two = TerminalSummary.captureLine(Self.capture(probes: 2, intervals: []))
        #expect(two.contains("; 2 keepalive probes") && !two.contains("every") && !two.contains("0ns"), "\(two)")
        let measured = TerminalSummary.captureLine(Self.capture(probes: 2, intervals: [1_000_000_000]))
        #expect(measured.contains("2 keepalive probes every 1.00s"), "\(measured)")
    }

    static func interval(open: Int) -> IntervalRecord {
        let latency = IntervalLatency(LatencyHistogram())
        return IntervalRecord(startS: 0, endS: 1, messagesSent: 0, messagesReceived: 0, messagesPerSecond: 0, bitsPerSecondSent: 0,
                              bitsPerSecondReceived: 0, latencyNs: latency, latencyUncorrectedNs: nil, errors: 0, errorsByCategory: nil,
                              connectionsEstablished: 0, connectionsOpen: open, residentBytes: 0, openDescriptors: 0)
    }

    @Test("an idle run says how many connections were open at the end of the window, not how many were asked for")
    func idleHeldOpenCount() throws {
        var run = SyntheticRuns.run(messagesPerSecond: 0, latencyNs: 1)
        run.pattern = .idle
        run.latencyNs = .empty
        run.messages = .init(sent: 0, received: 0, bytesSent: 0, bytesReceived: 0, peakInFlight: 0)
        run.connections = .init(requested: 4, established: 4, failed: 0)
        run.intervals = [Self.interval(open: 4), Self.interval(open: 2)]
        let text = TerminalSummary.render(Self.report(run), directory: "/tmp/r")
        let line = try #require(Self.line(text, starting: "  idle "), "\(text)")
        #expect(line == "  idle         2 connections held open without traffic through the measured window (of 4 requested, 4 opened)", "\(line)")
        #expect(MarkdownReport.render(run).contains("2 still open when the measured window closed."))
        run.intervals = [Self.interval(open: 1)]
        run.connections = .init(requested: 1, established: 1, failed: 0)
        let single = TerminalSummary.render(Self.report(run), directory: "/tmp/r")
        #expect(single.contains("  idle         1 connection held open without traffic through the measured window\n"), "\(single)")
    }

    @Test("a real idle run counts the connections still open when the window closed")
    func realIdleRun() throws {
        let work = TestSupport.temporaryDirectory()
        let scenario = try CIGateTests.scenarioFile("""
        name: idle-three
        server: {kind: tcp-echo}
        load: {pattern: idle, connections: 3, warmup: 0s, duration: 400ms}
        """, in: work)
        let result = try TestSupport.sockbench(["run", scenario, "--out", work + "/out", "--no-capture"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("  idle         3 connections held open without traffic through the measured window\n"), "\(result.stdout)")
    }

    @Test("a refused --target is refused before anything says it is running")
    func refusedTargetIsNotAnnounced() throws {
        let work = TestSupport.temporaryDirectory()
        let result = try TestSupport.sockbench(["run", "scenarios/quickstart.yaml", "--target", "8.8.8.8:53", "--out", work + "/out", "--no-capture"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("8.8.8.8:53 is neither loopback nor an address of this machine"), "\(result.stderr)")
        #expect(!result.stdout.contains("running"), "\(result.stdout)")

        var options = Runner.Options(executable: TestSupport.executable)
        options.target = try SocketAddress(parsing: "192.0.2.1:7")
        let scenario = try ScenarioLoader.load(path: TestSupport.packageRoot + "/scenarios/quickstart.yaml")
        #expect(throws: RunError.self) { try Runner.preflight(scenario, options: options) }
        options.allowRemote = true
        #expect(throws: Never.self) { try Runner.preflight(scenario, options: options) }
    }

    static func setting(_ value: String) -> ScenarioMatrix.Setting {
        .init(key: "client.tcp_nodelay", value: value, text: "tcp_nodelay=\(value)")
    }

    static func matrixReport(_ rates: [(String, Double)]) throws -> Report {
        var runs: [RunResult] = []
        for (value, rate) in rates {
            runs += SyntheticRuns.repetitions(5, variant: "tcp_nodelay=\(value)", settings: [Self.setting(value)], rate: rate, latencyNs: 100_000)
        }
        var report = SyntheticRuns.report(runs)
        report.comparison = try #require(Comparison(runs: runs, matrixKeys: ["client.tcp_nodelay"]))
        return report
    }

    @Test("a best variant is named only when it is significantly better than every other")
    func bestOnlyWhenSignificant() throws {
        let same = try Self.matrixReport([("true", 10_000), ("false", 10_000)])
        #expect(same.comparison?.groups[0].best == nil)
        let terminal = TerminalSummary.render(same, directory: "/tmp/r")
        #expect(terminal.contains("no variant is significantly better") && !terminal.contains("best by"), "\(terminal)")
        #expect(MarkdownReport.render(same).contains("No variant is significantly better than the others"))
        #expect(HTMLReport.render(same).contains("No variant is significantly better than the others"))

        let faster = try Self.matrixReport([("true", 10_000), ("false", 20_000)])
        #expect(faster.comparison?.groups[0].best == "tcp_nodelay=false")
        #expect(TerminalSummary.render(faster, directory: "/tmp/r").contains("best by throughput.messages_per_second: tcp_nodelay=false"))
        #expect(MarkdownReport.render(faster).contains("Best: tcp_nodelay=false, significantly better than every other variant."))

        // Two variants both beat the baseline but not each other: neither is the best.
        let tied = try Self.matrixReport([("a", 10_000), ("b", 20_000), ("c", 20_000)])
        let group = try #require(tied.comparison?.groups.first)
        #expect(group.metrics[0].cells.filter { $0.verdict == .better }.count == 2)
        #expect(group.best == nil)
    }

    @Test("the report's heading before the reason follows its status")
    func endingHeadingFollowsStatus() {
        let run = SyntheticRuns.run(messagesPerSecond: 1000, latencyNs: 50_000)
        for (status, heading) in [("failed", "Run failed"), ("degraded", "Run degraded"), ("interrupted", "Run interrupted")] {
            let report = Self.report(run, status: status, failure: "the reason")
            let markdown = MarkdownReport.render(report)
            let html = HTMLReport.render(report)
            let terminal = TerminalSummary.render(report, directory: "/tmp/r")
            #expect(markdown.contains("> \(heading): the reason"), "\(status)")
            #expect(html.contains("\(heading): the reason"), "\(status)")
            #expect(terminal.contains("\(heading.lowercased()): the reason"), "\(status)")
            if status != "failed" {
                #expect(!markdown.contains("Run failed") && !html.contains("Run failed") && !terminal.contains("run failed"), "\(status)")
            }
        }
    }

    @Test("edge cases: NaN and infinity print as n/a, one error or threshold or CPU is singular, a run stopped in warm-up measured nothing")
    func edgeCases() throws {
        #expect(Format.rate(.nan) == "n/a" && Format.grouped(.infinity) == "n/a" && Format.latency(Double.nan) == "n/a")
        #expect(Format.bitRate(bytesPerSecond: .nan) == "n/a" && Format.bytes(.infinity) == "n/a" && Format.percent(.nan) == "n/a")
        var run = SyntheticRuns.run(messagesPerSecond: 1000, latencyNs: 50_000)
        run.throughput.messagesPerSecond = .nan
        run.errorBudget = ErrorBudgetRecord(budget: "0 errors", allowed: 0, errors: 1, attempts: 1, exceeded: true)
        let markdown = MarkdownReport.render(run)
        #expect(markdown.contains("Error budget 0 errors: 1 error in 1 attempt, 0 allowed"), "\(markdown)")
        #expect(markdown.contains("| messages/s | n/a |"))
        #expect(run.errorBudget!.event(intervals: [], runEndS: 1).message.hasPrefix("1 error passed the error budget"))
        #expect(!TerminalSummary.render(Self.report(run), directory: "/tmp/r").contains("nan"))
        let passed = ThresholdResult(expression: "p99 < 1ms", metric: "latency.p99", variant: "default", measured: 50_000, samples: 1,
                                     passed: true, message: "measured 50.0µs, allowed < 1.00ms")
        #expect(MarkdownReport.thresholdSection([passed]).contains("The threshold was met."))
        var stopped = SyntheticRuns.run(messagesPerSecond: 0, latencyNs: 1)
        stopped.durationS = 0
        stopped.warmupS = 0.5
        #expect(MarkdownReport.render(stopped).contains("nothing measured: the run stopped within its 0.500 s warm-up."))
        #expect(TerminalSummary.render(Self.report(stopped), directory: "/tmp/r").contains("1/1 connection, nothing measured (stopped before the measured window)"))
        var report = Self.report(run)
        report.environment.cpus = 1
        #expect(HTMLReport.render(report).contains("1 CPU)"))
    }
}
