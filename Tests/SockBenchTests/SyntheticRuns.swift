@testable import SockBench

/// Hand-made run results for the comparison, threshold and baseline logic: figures chosen by the
/// test, no sockets involved.
enum SyntheticRuns {
    static func run(variant: String = "default", settings: [ScenarioMatrix.Setting]? = nil, repetition: Int? = nil,
                    messagesPerSecond: Double, latencyNs: UInt64, errors: UInt64 = 0) -> RunResult {
        var latency = LatencyHistogram()
        latency.record(latencyNs, count: 100)
        var errorCounts = ErrorCounts()
        errorCounts.reset = errors
        var run = RunResult(
            target: "127.0.0.1:1", server: .init(kind: "tcp-echo", address: "127.0.0.1:1", startedBySockbench: true),
            transport: .tcp, pattern: .requestResponse, direction: nil, messageSizeBytes: 64, responseSizeBytes: nil, depth: 1,
            durationS: 1, warmupS: 0, connections: .init(requested: 1, established: 1, failed: 0),
            messages: .init(sent: UInt64(messagesPerSecond), received: UInt64(messagesPerSecond), bytesSent: 0, bytesReceived: 0, peakInFlight: 1),
            latencyNs: latency.summary, connectLatencyNs: .empty,
            throughput: .init(messagesPerSecond: messagesPerSecond, bytesPerSecondSent: messagesPerSecond * 64, bytesPerSecondReceived: messagesPerSecond * 64),
            errors: errorCounts, firstError: nil,
            socketOptions: .init(client: .init(requested: SocketOptionSet(), effective: SocketOptionSet()), server: nil),
            udp: nil, cpu: .init(clientUserS: 0, clientSysS: 0))
        run.variant = variant
        run.settings = settings
        run.repetition = repetition
        return run
    }

    /// `count` repetitions around `rate` and `latency`, each a little different (±2%).
    static func repetitions(_ count: Int, variant: String = "default", settings: [ScenarioMatrix.Setting]? = nil,
                            rate: Double, latencyNs: UInt64) -> [RunResult] {
        (0..<count).map { index in
            let wobble = 1 + (Double(index % 3) - 1) * 0.02
            return run(variant: variant, settings: settings, repetition: index + 1, messagesPerSecond: rate * wobble,
                       latencyNs: UInt64(Double(latencyNs) * (2 - wobble)))
        }
    }

    /// `run` as a conversation with named steps, each answered `count` times at its latency; open
    /// loop adds the uncorrected figures (half the corrected ones).
    static func withSteps(_ run: RunResult, _ steps: [(name: String, latencyNs: UInt64)], count: UInt64 = 100,
                          openLoop: Bool = false) -> RunResult {
        var run = run
        run.pattern = .conversation
        run.steps = steps.map { name, latencyNs in
            var result = StepResult(name: name)
            result.latency.record(latencyNs, count: count)
            result.latencyUncorrected.record(latencyNs / 2, count: count)
            return StepRecord(result, openLoop: openLoop)
        }
        run.throughput.requestsPerSecond = Double(count) * Double(steps.count) / run.durationS
        if openLoop { run.latencyUncorrectedNs = run.latencyNs }
        return run
    }

    static func report(_ runs: [RunResult], name: String = "synthetic") -> Report {
        let scenario = Scenario(name: name, server: ServerSpec(kind: .tcpEcho))
        return Report(generatedAt: "2026-11-21T00:00:00Z", status: "ok", failure: nil, environment: .current(),
                      scenario: ScenarioRecord(scenario), runs: runs)
    }
}
