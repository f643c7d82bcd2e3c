import Foundation
import Testing
@testable import SockBench

/// Named conversation steps in every output: report.json, report.md, report.html, the terminal,
/// thresholds (`steps.NAME.FIELD`) and baselines. Runs are built by hand (no sockets).
@Suite struct StepReportTests {
    static func conversation(get: UInt64 = 1_000_000, set: UInt64 = 3_000_000, openLoop: Bool = false,
                             variant: String = "default", repetition: Int? = nil) -> RunResult {
        SyntheticRuns.withSteps(SyntheticRuns.run(variant: variant, repetition: repetition, messagesPerSecond: 500, latencyNs: 4_000_000),
                                [("get", get), ("set", set)], openLoop: openLoop)
    }

    static func json(_ report: Report) throws -> [String: Any] {
        let data = try JSONEncoder.snakeCase.encode(report)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func firstRun(_ object: [String: Any]) throws -> [String: Any] {
        try #require((object["runs"] as? [[String: Any]])?.first)
    }

    @Test("report.json: runs[].steps[] with name, count and latency_ns shaped as the run's; requests_per_second beside the rate")
    func jsonShape() throws {
        let run = try Self.firstRun(try Self.json(SyntheticRuns.report([Self.conversation()])))
        let steps = try #require(run["steps"] as? [[String: Any]])
        #expect(steps.map { $0["name"] as? String } == ["get", "set"])
        #expect(steps.map { $0["count"] as? Int } == [100, 100])
        let runLatency = try #require(run["latency_ns"] as? [String: Any])
        let stepLatency = try #require(steps[0]["latency_ns"] as? [String: Any])
        #expect(Set(stepLatency.keys) == Set(runLatency.keys))
        #expect(stepLatency["p99"] as? Int == 1_000_000 && stepLatency["count"] as? Int == 100)
        #expect(stepLatency["histogram_encoding"] as? String == runLatency["histogram_encoding"] as? String)
        // The same mergeable histogram as the run's: it decodes back to the step's samples.
        let histogram = try HistogramCodec.decode(try #require(stepLatency["histogram"] as? String))
        #expect(histogram.count == 100 && histogram.valuesAreEquivalent(histogram.percentile(99), 1_000_000))
        // Closed loop: no uncorrected figures, as at run level.
        #expect(steps.allSatisfy { $0["latency_uncorrected_ns"] == nil } && run["latency_uncorrected_ns"] == nil)
        #expect(Set(steps[0].keys) == ["name", "count", "latency_ns"])
        let throughput = try #require(run["throughput"] as? [String: Any])
        #expect(throughput["requests_per_second"] as? Double == 200)
        #expect(throughput["messages_per_second"] as? Double == 500)

        let open = try Self.firstRun(try Self.json(SyntheticRuns.report([Self.conversation(openLoop: true)])))
        let openSteps = try #require(open["steps"] as? [[String: Any]])
        let uncorrected = try #require(openSteps[0]["latency_uncorrected_ns"] as? [String: Any])
        #expect(Set(uncorrected.keys) == Set(runLatency.keys) && uncorrected["p99"] as? Int == 500_000)

        // A run without named steps is written as before: no `steps`, no `requests_per_second`.
        let plain = try Self.firstRun(try Self.json(SyntheticRuns.report([SyntheticRuns.run(messagesPerSecond: 500, latencyNs: 1_000)])))
        #expect(plain["steps"] == nil)
        #expect((plain["throughput"] as? [String: Any])?["requests_per_second"] == nil)

        // And it reads back.
        let decoded = try JSONDecoder.snakeCase.decode(Report.self, from: try JSONEncoder.snakeCase.encode(SyntheticRuns.report([Self.conversation(openLoop: true)])))
        #expect(decoded.runs[0].steps == Self.conversation(openLoop: true).steps)
    }

    @Test("the runner copies the worker's steps and request count into the run; none without named steps")
    func runnerCopiesSteps() throws {
        var scenario = Scenario(name: "t", server: ServerSpec(kind: .tcpEcho))
        scenario.load.pattern = .conversation
        scenario.conversation = [.send(Array("hi".utf8)), .expect(Array("hi".utf8))]
        var measured = WorkerResult()
        var get = StepResult(name: "get")
        get.latency.record(2_000_000, count: 30)
        get.latencyUncorrected.record(1_000_000, count: 30)
        measured.steps = [get, StepResult(name: "quit")]
        measured.requests = 30
        func result(_ scenario: Scenario, _ measured: WorkerResult) -> RunResult {
            let load = LoadEngine.Outcome(result: measured, measuredNanoseconds: 2_000_000_000, intervals: [], residentBeforeBytes: 0,
                                          peakResidentBytes: 0, windowCPUNanoseconds: 0, stopped: nil, errorEvents: [], captureSplit: CaptureSplit())
            return Runner.makeResult(scenario: scenario, target: try! SocketAddress(parsing: "127.0.0.1:9"), load: load, server: nil, configuration: nil)
        }
        let closed = result(scenario, measured)
        #expect(closed.steps?.map(\.name) == ["get", "quit"] && closed.steps?.map(\.count) == [30, 0])
        #expect(closed.steps?[0].latencyNs.p99 == 2_000_000 && closed.steps?[0].latencyUncorrectedNs == nil)
        #expect(closed.throughput.requestsPerSecond == 15)
        var open = scenario
        open.load.rate = .init(perSecond: 100)
        #expect(result(open, measured).steps?[0].latencyUncorrectedNs?.p99 == 1_000_000)
        measured.steps = []
        measured.requests = 0
        let unnamed = result(scenario, measured)
        #expect(unnamed.steps == nil && unnamed.throughput.requestsPerSecond == nil)
    }

    @Test("a step with no answer in the window is kept with count 0 and an empty histogram")
    func unansweredStep() {
        let record = StepRecord(StepResult(name: "quit"), openLoop: false)
        #expect(record.count == 0 && record.latencyNs == .empty && record.latencyUncorrectedNs == nil)
        #expect(StepRecord(StepResult(name: "quit"), openLoop: true).latencyUncorrectedNs == .empty)
    }

    @Test("report.md: a Steps table per run with steps, and none without")
    func markdownTable() {
        let markdown = MarkdownReport.render(SyntheticRuns.report([Self.conversation()]))
        #expect(markdown.contains("### Steps"))
        #expect(markdown.contains("| step | count | rate/s | p50 | p90 | p99 | p99.9 | max |\n|---|---|---|---|---|---|---|---|"))
        #expect(markdown.contains("| get | 100 | 100/s | 1.00ms | 1.00ms | 1.00ms | 1.00ms | 1.00ms |"))
        #expect(markdown.contains("| set | 100 | 100/s | 3.00ms | 3.00ms | 3.00ms | 3.00ms | 3.00ms |"))
        #expect(markdown.contains("| requests/s (named steps) | 200/s |"))
        let open = MarkdownReport.render(SyntheticRuns.report([Self.conversation(openLoop: true)]))
        #expect(open.contains("| step | count | rate/s | p50 | p90 | p99 | p99.9 | max | p99 uncorrected |"))
        #expect(open.contains("| get | 100 | 100/s | 1.00ms | 1.00ms | 1.00ms | 1.00ms | 1.00ms | 500.0µs |"))
        let plain = MarkdownReport.render(SyntheticRuns.report([SyntheticRuns.run(messagesPerSecond: 500, latencyNs: 1_000)]))
        #expect(!plain.contains("### Steps") && !plain.contains("requests/s"))
    }

    @Test("report.html: the Steps table and a per-step percentile chart, only with steps")
    func htmlTable() {
        let html = HTMLReport.render(SyntheticRuns.report([Self.conversation()]))
        #expect(html.contains("<h2>Steps</h2>"))
        #expect(html.contains("<table class=\"steps\"><tr><th>step</th><th>count</th><th>rate/s</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr>"))
        #expect(html.contains("<tr><td>get</td><td>100</td><td>100/s</td><td>1.00ms</td><td>1.00ms</td><td>1.00ms</td><td>1.00ms</td><td>1.00ms</td></tr>"))
        #expect(html.contains("id=\"step-latency-spectrum\""))
        // Names are escaped.
        let odd = SyntheticRuns.withSteps(SyntheticRuns.run(messagesPerSecond: 1, latencyNs: 1), [("<b>&", 1_000)])
        #expect(HTMLReport.render(SyntheticRuns.report([odd])).contains("<td>&lt;b&gt;&amp;</td>"))
        let plain = HTMLReport.render(SyntheticRuns.report([SyntheticRuns.run(messagesPerSecond: 500, latencyNs: 1_000)]))
        #expect(!plain.contains("<h2>Steps</h2>") && !plain.contains("step-latency-spectrum"))
    }

    @Test("terminal: one line per step after the latency, at most 8 then how many more")
    func terminalLines() throws {
        let text = TerminalSummary.render(SyntheticRuns.report([Self.conversation()]), directory: "reports/t")
        let lines = text.split(separator: "\n").map(String.init)
        let latency = try #require(lines.firstIndex { $0.hasPrefix("  latency ") })
        #expect(lines[latency + 1] == "  steps        get  100  p50 1.00ms  p99 1.00ms")
        #expect(lines[latency + 2] == "               set  100  p50 3.00ms  p99 3.00ms")
        #expect(text.contains("conversations 500/s, 200/s requests (named steps)"))

        let many = SyntheticRuns.withSteps(SyntheticRuns.run(messagesPerSecond: 1, latencyNs: 1),
                                           (1...10).map { ("step\($0)", UInt64($0) * 1_000) })
        let manyLines = TerminalSummary.render(SyntheticRuns.report([many]), directory: "reports/t").split(separator: "\n")
        #expect(manyLines.filter { $0.contains("  p50 ") && $0.contains("step") }.count == 8)
        #expect(manyLines.contains { $0 == "               … 2 more (report.md lists every step)" })
        #expect(!manyLines.contains { $0.contains("step9 ") })
        let plain = TerminalSummary.render(SyntheticRuns.report([SyntheticRuns.run(messagesPerSecond: 500, latencyNs: 1_000)]), directory: "r")
        #expect(!plain.contains("steps ") && !plain.contains("requests"))
    }

    @Test("thresholds: steps.get.p99 passes and fails on the step's figure, not the run's")
    func stepThresholds() throws {
        let threshold = try Threshold.parse("steps.get.p99 < 2ms").get()
        #expect(threshold.metric == "steps.get.p99" && threshold.value == 2_000_000 && threshold.stepName == "get")
        // The run's own p99 is 4ms: only the step's decides.
        let fast = ThresholdResult.evaluate([threshold], runs: [Self.conversation(get: 1_000_000)])
        #expect(fast.map(\.passed) == [true] && fast[0].measured == 1_000_000)
        #expect(fast[0].message == "measured 1.00ms, allowed < 2.00ms")
        let slow = ThresholdResult.evaluate([threshold], runs: [Self.conversation(get: 5_000_000)])
        #expect(slow.map(\.passed) == [false] && slow[0].message == "measured 5.00ms, allowed < 2.00ms")
        // Every latency field and count; the rate of requests.
        for field in ["min", "mean", "p50", "p90", "p99", "p999", "p9999", "max"] {
            #expect(ReportMetric.named("steps.set.\(field)")?.value(in: Self.conversation()) == 3_000_000)
        }
        let count = try Threshold.parse("steps.set.count >= 100").get()
        #expect(ThresholdResult.evaluate([count], runs: [Self.conversation()]).map(\.passed) == [true])
        let requests = try Threshold.parse("throughput.requests_per_second > 10k").get()
        #expect(requests.value == 10_000)
        #expect(ThresholdResult.evaluate([requests], runs: [Self.conversation()]).map(\.passed) == [false])
        #expect(try Threshold.parse("throughput.requests_per_second > 100").get().holds(200))
        // A step the run does not have, or one never answered, fails and says which.
        let missing = ThresholdResult.evaluate([try Threshold.parse("steps.quit.p99 < 2ms").get()], runs: [Self.conversation()])
        #expect(!missing[0].passed && missing[0].message.contains("the run has no step named 'quit'"))
        var silent = Self.conversation()
        silent.steps?[0] = StepRecord(StepResult(name: "get"), openLoop: false)
        let unanswered = ThresholdResult.evaluate([threshold], runs: [silent])
        #expect(!unanswered[0].passed && unanswered[0].message.contains("step 'get' was not answered"))
        #expect(ThresholdResult.evaluate([try Threshold.parse("steps.get.count > 0").get()], runs: [silent]).map(\.passed) == [false])
    }

    @Test("a step threshold's field is checked: a wrong field is refused with a suggestion")
    func stepFieldErrors() {
        func message(_ text: String) -> String {
            guard case .failure(let error) = Threshold.parse(text) else { return "parsed" }
            return error.message
        }
        #expect(message("steps.get.p98 < 2ms").hasPrefix("'steps.get.p98' is not a step field; write steps.NAME.FIELD with FIELD one of min, mean, p50, p90, p99, p999, p9999, max, count; did you mean"))
        #expect(message("steps.get.cont > 1").contains("did you mean 'steps.get.count'?"))
        #expect(message("steps.get < 2ms").contains("'steps.get' is not a step field"))
        #expect(message("steps.get.count < 2ms").contains("is not a value for steps.get.count"))
        #expect(message("steps.get.p99 < 2").contains("is not a value for steps.get.p99"))
        // A step name may hold dots: the field is after the last one.
        #expect(ReportMetric.splitStep("steps.login.v2.p99")! == ("login.v2", "p99"))
    }

    @Test("a threshold on a step the scenario does not have is refused at its line, naming the steps there are")
    func unknownStepRefused() throws {
        let text = """
        name: t
        server: {kind: tcp-echo}
        load: {duration: 1s, pattern: conversation}
        conversation:
          - send: "hi"
          - expect: "hi"
        thresholds:
          - errors.total == 0
          - steps.gett.p99 < 2ms
        """
        do {
            _ = try ScenarioLoader.load(text: text, path: "t.yaml")
            Issue.record("loaded")
        } catch {
            #expect(error.line == 9 && error.key == "thresholds[1]")
            #expect(error.description.hasPrefix("t.yaml:9:5: thresholds[1]: 'steps.gett.p99' names step 'gett'"))
        }
        // Without step thresholds the same scenario loads.
        _ = try ScenarioLoader.load(text: text.replacingOccurrences(of: "steps.gett.p99", with: "latency.p99"), path: "t.yaml")

        let threshold = try Threshold.parse("steps.gett.p99 < 2ms").get()
        #expect(threshold.unknownStepMessage(stepNames: ["get", "set"])
            == "'steps.gett.p99' names step 'gett', which the scenario does not have; its named steps are 'get', 'set'; did you mean 'steps.get.p99'?")
        #expect(threshold.unknownStepMessage(stepNames: [])?.contains("the scenario has no named steps") == true)
        #expect(threshold.unknownStepMessage(stepNames: ["gett"]) == nil)
        #expect(try Threshold.parse("latency.p99 < 2ms").get().unknownStepMessage(stepNames: []) == nil)
    }

    /// Repetitions of a conversation whose run-level figures stay put while step get moves.
    static func repetitions(get: UInt64, count: Int = 5) -> [RunResult] {
        (0..<count).map { index in
            let wobble = 1 + Double(index) * 0.01
            return SyntheticRuns.withSteps(
                SyntheticRuns.run(repetition: index + 1, messagesPerSecond: 500 * wobble, latencyNs: UInt64(4_000_000 * wobble)),
                [("get", UInt64(Double(get) * wobble)), ("set", UInt64(3_000_000 * wobble))])
        }
    }

    @Test("check --baseline: each step's p99 is compared as the run's is, and regresses on its own")
    func baselineComparesSteps() throws {
        let base = SyntheticRuns.report(Self.repetitions(get: 1_000_000))
        let baseline = Baseline(name: "main", report: base, source: "base.json")
        #expect(baseline.variants[0].samples["steps.get.p99"]?.count == 5)
        #expect(baseline.variants[0].samples["steps.set.count"] == [100, 100, 100, 100, 100])
        #expect(baseline.variants[0].samples["throughput.requests_per_second"]?.count == 5)

        let slower = SyntheticRuns.report(Self.repetitions(get: 3_000_000))
        let check = try BaselineCheck(report: slower, baseline: baseline, tolerance: .default)
        #expect(check.results.map(\.metric) == ["latency.p50", "steps.get.p50", "steps.set.p50", "latency.p99", "steps.get.p99", "steps.set.p99",
                                                "throughput.messages_per_second"])
        #expect(check.regressions.map(\.metric) == ["steps.get.p50", "steps.get.p99"])
        let p99 = try #require(check.results.first { $0.metric == "steps.get.p99" })
        #expect(p99.tolerancePercent == 50 && p99.message.hasPrefix("regressed: 1.02ms → 3.06ms (+200.0%"))
        let verdict = GateVerdict(report: slower, check: check)
        #expect(verdict.exitCode == 2)
        #expect(check.cases.contains { $0.name == "steps.get.p99 vs main" && $0.outcome == .failed })

        // A step's own tolerance replaces the one it would take from latency.p99.
        let loose = try Tolerance.default.merging(Tolerance.parse("steps.get.p99=+500%,steps.get.p50=+500%").get())
        #expect(try BaselineCheck(report: slower, baseline: baseline, tolerance: loose).regressions.isEmpty)
        let same = try BaselineCheck(report: SyntheticRuns.report(Self.repetitions(get: 1_000_000)), baseline: baseline, tolerance: .default)
        #expect(same.regressions.isEmpty)
        // A baseline saved before steps existed has no step samples: nothing to compare, nothing fails.
        let old = Baseline(name: "old", report: SyntheticRuns.report(Self.repetitions(get: 1_000_000).map { run in
            var run = run
            run.steps = nil
            return run
        }), source: "old.json")
        #expect(try BaselineCheck(report: slower, baseline: old, tolerance: .default).results.allSatisfy { !$0.metric.hasPrefix("steps.") })
    }

    @Test("a matrix comparison shows each step's latency after the run's, and the request rate")
    func comparisonRows() {
        let runs = (1...4).flatMap { repetition in
            [Self.conversation(get: 1_000_000 + UInt64(repetition), variant: "a", repetition: repetition),
             Self.conversation(get: 2_000_000 + UInt64(repetition), variant: "b", repetition: repetition)]
        }
        let comparison = Comparison(compared: "variant", entries: RunResult.byVariant(runs).map { Comparison.Entry(group: "", label: $0.name, runs: $0.runs) })
        let metrics = comparison.groups[0].metrics.map(\.metric)
        #expect(metrics.contains("throughput.requests_per_second"))
        let p99 = metrics.firstIndex(of: "latency.p99")!
        #expect(Array(metrics[p99...].prefix(3)) == ["latency.p99", "steps.get.p99", "steps.set.p99"])
        let row = comparison.groups[0].metrics.first { $0.metric == "steps.get.p99" }
        #expect(row?.cells.last?.verdict == .worse)
    }
}
