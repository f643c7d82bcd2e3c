import Testing
@testable import SockBench

/// Threshold expressions: parsing with units, evaluation on medians, and the errors a typo gets.
@Suite struct ThresholdTests {
    @Test func parsesFieldsOperatorsAndUnits() throws {
        let p99 = try Threshold.parse("latency.p99 < 2ms").get()
        #expect(p99.metric == "latency.p99" && p99.comparison == .less && p99.value == 2_000_000)
        let errors = try Threshold.parse("errors.total == 0").get()
        #expect(errors.comparison == .equal && errors.value == 0)
        #expect(try Threshold.parse("throughput.messages_per_second >= 10k").get().value == 10_000)
        #expect(try Threshold.parse("throughput.messages_per_second > 1.5M/s").get().value == 1_500_000)
        #expect(try Threshold.parse("udp.loss_percent <= 0.5%").get().value == 0.5)
        #expect(try Threshold.parse("throughput.bytes_per_second_received > 100Mbit/s").get().value == 12_500_000)
        // Short names resolve to the full field.
        #expect(try Threshold.parse("p99<500us").get().metric == "latency.p99")
        #expect(try Threshold.parse("capture.retransmissions != 3").get().comparison == .notEqual)
    }

    @Test func badExpressionsSayWhatIsWrong() {
        func message(_ text: String) -> String {
            guard case .failure(let error) = Threshold.parse(text) else { return "parsed" }
            return error.message
        }
        #expect(message("latency.p98 < 2ms").contains("'latency.p98' is not a report field; did you mean"))
        #expect(message("latncy.p99 < 2ms").contains("did you mean 'latency.p99'"))
        #expect(message("latency.p99 2ms").contains("expected FIELD OP VALUE"))
        #expect(message("latency.p99 = 2ms").contains("expected FIELD OP VALUE"))
        #expect(message("latency.p99 < 2").contains("is not a value for latency.p99"))
        #expect(message("errors.total < many").contains("is not a value for errors.total"))
        #expect(message("< 2ms").contains("expected FIELD OP VALUE"))
    }

    @Test func loaderRejectsAnUnknownFieldWithItsLine() {
        let text = """
        name: t
        server: {kind: tcp-echo}
        load: {duration: 1s}
        thresholds:
          - errors.total == 0
          - latency.p99.9 < 2ms
        """
        #expect(throws: ScenarioError.self) { try ScenarioLoader.load(text: text, path: "t.yaml") }
        do {
            _ = try ScenarioLoader.load(text: text, path: "t.yaml")
        } catch {
            #expect(error.line == 6)
            #expect(error.key == "thresholds[1]")
            #expect(error.description.hasPrefix("t.yaml:6:5: thresholds[1]: 'latency.p99.9' is not a report field"))
        }
    }

    @Test func evaluatesOnEachVariantsMedian() throws {
        let fast = SyntheticRuns.repetitions(3, variant: "fast", rate: 10_000, latencyNs: 1_000_000)
        let slow = SyntheticRuns.repetitions(3, variant: "slow", rate: 1_000, latencyNs: 5_000_000)
        let thresholds = try ["latency.p99 < 2ms", "errors.total == 0", "capture.retransmissions == 0"].map { try Threshold.parse($0).get() }
        let results = ThresholdResult.evaluate(thresholds, runs: fast + slow)
        #expect(results.count == 6)
        let p99 = results.filter { $0.metric == "latency.p99" }
        #expect(p99.map(\.variant) == ["fast", "slow"])
        #expect(p99.map(\.passed) == [true, false])
        #expect(p99[1].message.contains("median of 3") && p99[1].message.contains("allowed < 2.00ms"))
        #expect(results.filter { $0.metric == "errors.total" }.allSatisfy { $0.passed })
        // No capture in these runs: a capture threshold fails and says why, never passes silently.
        let capture = results.filter { $0.metric == "capture.retransmissions" }
        #expect(capture.allSatisfy { !$0.passed && $0.measured == nil && $0.message.contains("no capture analysis") })
    }
}
