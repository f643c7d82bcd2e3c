import Foundation
import Glibc
import Testing
@testable import SockBench

/// Shards, start times and the exact merge (issue 16): shares that add up, refusals with the
/// reason, merged percentiles equal to one histogram of every sample, and two real shards started
/// together against one server and merged by the CLI.
@Suite("Shards and merge", .serialized)
struct ShardTests {
    @Test("shares of connections and of a total rate add up exactly to the scenario's; a shard with nothing to do is refused")
    func shares() throws {
        for (connections, count) in [(1, 1), (5, 2), (7, 3), (100, 8), (12_500, 8), (3, 3), (1_000_000, 7)] {
            var load = LoadSpec()
            load.connections = connections
            load.threads = 4
            load.rate = .init(perSecond: 1234.567)
            load.connectRate = 99.5
            var total = 0
            var rate = 0.0
            var ramp = 0.0
            for index in 0..<count {
                let shard = try Shard(index: index, count: count)
                let shared = try shard.apply(to: load)
                #expect(shared.connections >= connections / count && shared.connections <= connections / count + 1)
                #expect(shared.threads <= shared.connections && shared.threads <= 4)
                total += shared.connections
                rate += shared.rate!.perSecond
                ramp += shared.connectRate!
            }
            #expect(total == connections, "\(connections) over \(count)")
            #expect(abs(rate - 1234.567) <= 1e-9 * 1234.567 && abs(ramp - 99.5) <= 1e-9 * 99.5, "\(rate), \(ramp)")
        }
        // A per-connection rate is already the shard's share.
        var perConnection = LoadSpec()
        perConnection.connections = 10
        perConnection.rate = .init(perSecond: 50, perConnection: true)
        #expect(try Shard(index: 1, count: 3).apply(to: perConnection).rate == perConnection.rate)
        var few = LoadSpec()
        few.connections = 3
        #expect(throws: DistributedError.self) { _ = try Shard(index: 3, count: 4).apply(to: few) }
        // Every shard of a run that cannot be split is refused, not only the empty one.
        #expect(throws: DistributedError.self) { _ = try Shard(index: 0, count: 4).apply(to: few) }
        let refusal = try? Shard(index: 3, count: 4).apply(to: few)
        #expect(refusal == nil)
    }

    @Test("--shard and the environment: I/N, Kubernetes' JOB_COMPLETION_INDEX, Slurm's array variables; bad values refused")
    func shardSources() throws {
        #expect(try Shard(parsing: "2/4") == Shard(index: 2, count: 4))
        for bad in ["4/4", "-1/4", "1/0", "1", "a/b", "1/2/3", ""] {
            #expect(throws: DistributedError.self, "\(bad)") { _ = try Shard(parsing: bad) }
        }
        #expect(try Shard.fromEnvironment([:], shards: nil) == nil)
        #expect(try Shard.fromEnvironment(["JOB_COMPLETION_INDEX": "3"], shards: 4) == Shard(index: 3, count: 4))
        #expect(try Shard.fromEnvironment(["JOB_COMPLETION_INDEX": "1", "SOCKBENCH_SHARDS": "2"], shards: nil) == Shard(index: 1, count: 2))
        #expect(throws: DistributedError.self) { _ = try Shard.fromEnvironment(["JOB_COMPLETION_INDEX": "1"], shards: nil) }
        // A Slurm array shards a run only when asked (a sweep array runs whole scenarios), and only with the array's count.
        let array = ["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "3"]
        #expect(try Shard.fromEnvironment(array, shards: nil) == nil)
        #expect(try Shard.fromEnvironment(array, shards: 3) == Shard(index: 2, count: 3))
        #expect(try Shard.fromEnvironment(array.merging(["SOCKBENCH_SHARDS": "3"]) { $1 }, shards: nil) == Shard(index: 2, count: 3))
        #expect(throws: DistributedError.self) { _ = try Shard.fromEnvironment(array, shards: 4) }
        #expect(try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "1"], shards: 4)
                == Shard(index: 3, count: 4))
        #expect(throws: DistributedError.self) { _ = try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "4"], shards: 4) }
        #expect(throws: DistributedError.self) {
            _ = try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "abc"], shards: 4)
        }
    }

    @Test("--start-at: RFC 3339 with fractions and offsets, or +DURATION; a date in the past starts at once and says how late")
    func startTimes() throws {
        let now: UInt64 = 1_796_176_000_000_000_000
        #expect(try StartTime(parsing: "+30s", now: now).unixNanoseconds == now + 30_000_000_000)
        #expect(try StartTime(parsing: "2026-12-02T00:00:00Z", now: now).unixNanoseconds == 1_796_169_600_000_000_000)
        #expect(try StartTime(parsing: "2026-12-02T01:00:00.5+01:00", now: now).unixNanoseconds == 1_796_169_600_500_000_000)
        for bad in ["2026-12-02", "tomorrow", "+1y", "+25h", "2027-12-02T00:00:00Z"] {
            #expect(throws: DistributedError.self, "\(bad)") { _ = try StartTime(parsing: bad, now: now) }
        }
        let past = StartTime(unixNanoseconds: StartTime.wallClockNow() - 2_000_000_000)
        let late = try #require(past.wait { false })
        #expect(late >= 2 && late < 10)
        let soon = StartTime(unixNanoseconds: StartTime.wallClockNow() + 150_000_000)
        let onTime = try #require(soon.wait { false })
        #expect(onTime < 0.1, "woke \(onTime) s late")
        #expect(StartTime(unixNanoseconds: StartTime.wallClockNow() + 60_000_000_000).wait { true } == nil, "an interruption ends the wait")
        #expect(StartTime.format(unixNanoseconds: 1_796_169_600_000_000_001) == "2026-12-02T00:00:00.000000001Z")
    }

    @Test("SIGINT while a shard waits for --start-at: exit 130 at once, with an interrupted report")
    func interruptedWhileWaiting() throws {
        let work = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let scenario = try CIGateTests.scenarioFile("name: wait\nserver: {kind: tcp-echo}\nload: {connections: 2, duration: 1s}\n", in: work)
        let shard = try RunningCommand(["run", scenario, "--shard", "0/2", "--start-at", "+60s", "--no-capture", "--out", work + "/out"], in: work)
        usleep(1_500_000)
        let started = MonotonicClock.now()
        kill(shard.pid, SIGINT)
        let status = shard.wait(timeout: 20)
        #expect(status == 130, "\(shard.output)")
        #expect(MonotonicClock.now() - started < 5_000_000_000, "ended within seconds, not at the start time")
        let report = try ReportFile.load(work + "/out")
        #expect(report.status == "interrupted" && report.failure?.contains("--start-at") == true, "\(report.failure ?? "")")
    }

    /// A shard report of one run whose latencies are `values`, its window starting at `start`, with
    /// one interval per 100 values.
    static func shardReport(_ index: Int, of count: Int, values: [UInt64], start: UInt64, hash: String = "fnv1a64:test",
                            thresholds: [String] = []) -> Report {
        var histogram = LatencyHistogram()
        for value in values { histogram.record(value) }
        var run = SyntheticRuns.run(messagesPerSecond: Double(values.count), latencyNs: 1)
        run.latencyNs = histogram.summary
        run.messages.sent = UInt64(values.count)
        run.messages.received = UInt64(values.count)
        run.windowStartUnixNs = start
        run.intervals = stride(from: 0, to: values.count, by: 100).enumerated().map { slot, first in
            var part = LatencyHistogram()
            for value in values[first..<min(first + 100, values.count)] { part.record(value) }
            return IntervalRecord(startS: Double(slot), endS: Double(slot + 1), messagesSent: UInt64(part.count), messagesReceived: UInt64(part.count),
                                  messagesPerSecond: Double(part.count), bitsPerSecondSent: 0, bitsPerSecondReceived: 0,
                                  latencyNs: IntervalLatency(part, encoded: true), latencyUncorrectedNs: nil, errors: 0, errorsByCategory: ErrorCounts(),
                                  connectionsEstablished: 1, connectionsOpen: 1, residentBytes: 1, openDescriptors: 1, tcpInfo: nil)
        }
        var report = SyntheticRuns.report([run])
        report.shard = ShardRecord(index: index, count: count, scenarioHash: hash, host: "host\(index)", totalConnections: count,
                                   totalRatePerSecond: nil, startAt: nil, lateS: nil, startedAt: StartTime.format(unixNanoseconds: start),
                                   errorBudget: nil, thresholds: thresholds)
        return report
    }

    @Test("merged percentiles are exactly those of one histogram of every shard's samples, run totals and aligned intervals alike")
    func exactMerge() throws {
        var generator = SplitMix64(state: 42)
        let base: UInt64 = 1_796_176_000_000_000_000
        // Three shards with different distributions: a fast one, a slow one, one with outliers.
        let shardValues: [[UInt64]] = [
            (0..<1_000).map { _ in 20_000 + generator.next() % 30_000 },
            (0..<700).map { _ in 80_000 + generator.next() % 400_000 },
            (0..<500).map { index in index % 50 == 0 ? 40_000_000 + generator.next() % 9_000_000 : 30_000 + generator.next() % 5_000 },
        ]
        let reports = shardValues.enumerated().map { index, values in
            // Window starts 0, 3 and 1 ms apart: the same interval slots.
            (path: "shard\(index).json", report: Self.shardReport(index, of: 3, values: values, start: base + [0, 3_000_000, 1_000_000][index],
                                                                  thresholds: ["latency.p99 < 100us"]))
        }
        let merged = try ShardMerge.merge(reports.reversed(), generatedAt: "2026-12-02T00:00:00Z")
        var all = LatencyHistogram()
        for value in shardValues.joined() { all.record(value) }
        let one = all.summary
        let run = try #require(merged.runs.first)
        let sum = run.latencyNs
        #expect(sum.count == one.count && sum.min == one.min && sum.max == one.max)
        #expect(sum.p50 == one.p50 && sum.p90 == one.p90 && sum.p99 == one.p99 && sum.p999 == one.p999 && sum.p9999 == one.p9999,
                "merged \(sum) vs one histogram \(one)")
        #expect(try HistogramCodec.decode(sum.histogram).count == one.count)
        #expect(run.messages.received == 2_200 && run.throughput.messagesPerSecond == 2_200)
        #expect(run.shards?.map(\.index) == [0, 1, 2] && run.shards?.map(\.host) == ["host0", "host1", "host2"])
        // Intervals: slot k holds values k*100..<(k+1)*100 of every shard that has them.
        let intervals = try #require(run.intervals)
        #expect(intervals.count == 10)
        for (slot, interval) in intervals.enumerated() {
            var expected = LatencyHistogram()
            for values in shardValues where slot * 100 < values.count {
                for value in values[(slot * 100)..<min(slot * 100 + 100, values.count)] { expected.record(value) }
            }
            #expect(interval.latencyNs.count == expected.count && interval.latencyNs.p99 == expected.percentile(99)
                    && interval.latencyNs.p50 == expected.percentile(50), "interval \(slot)")
            #expect(interval.startS == Double(slot))
        }
        #expect(merged.merge?.shards == 3 && merged.merge?.skewed == false && abs((merged.merge?.startSkewS ?? 0) - 0.003) < 1e-9)
        // Judged on the merge: shard 0 alone (p99 under 50 µs) would pass; all of them together do not.
        #expect(reports.first { $0.report.shard?.index == 0 }!.report.runs[0].latencyNs.p99 < 100_000)
        #expect(merged.thresholds?.first?.passed == false, "\(merged.thresholds ?? [])")
    }

    @Test("merge refuses what is not one run's shards, with the reason")
    func refusals() throws {
        let base: UInt64 = 1_796_176_000_000_000_000
        func shard(_ index: Int, _ count: Int, hash: String = "fnv1a64:test") -> (path: String, report: Report) {
            ("s\(index)of\(count)\(hash.suffix(1)).json", Self.shardReport(index, of: count, values: [1_000, 2_000], start: base, hash: hash))
        }
        func refusal(_ shards: [(path: String, report: Report)]) -> String {
            do {
                _ = try ShardMerge.merge(shards)
                return "merged"
            } catch {
                return error.message
            }
        }
        var plain = shard(0, 1)
        plain.report.shard = nil
        #expect(refusal([plain]).contains("not a shard report"))
        #expect(refusal([shard(0, 2), shard(1, 2, hash: "fnv1a64:other")]).contains("another scenario"))
        #expect(refusal([shard(0, 2), shard(1, 3)]).contains("split 3 ways"))
        #expect(refusal([shard(0, 2), shard(0, 2)]).contains("there twice"))
        #expect(refusal([shard(0, 3), shard(2, 3)]).contains("shard 1 of 3 missing"))
        var repeated = shard(1, 2)
        repeated.report.runs[0].repetition = 2
        #expect(refusal([shard(0, 2), repeated]).contains("are not those of"))
        #expect(refusal([]).contains("no shard report"))
        // Far-apart windows merge, flagged.
        var late = shard(1, 2)
        late.report.runs[0].windowStartUnixNs = base + 2_000_000_000
        let skewed = try ShardMerge.merge([shard(0, 2), late])
        #expect(skewed.merge?.skewed == true && skewed.merge?.startSkewS == 2)
        // 2 s apart with 1 s windows: their load never ran together.
        #expect(skewed.status == "degraded" && skewed.failure?.contains("do not overlap") == true, "\(skewed.failure ?? "")")
        var near = shard(1, 2)
        near.report.runs[0].windowStartUnixNs = base + 600_000_000
        #expect(try ShardMerge.merge([shard(0, 2), near]).status == "ok", "overlapping, though skewed")
        // A shard that failed or was interrupted: no sum stands for the run (exit 3, not 1).
        for status in ["failed", "interrupted"] {
            var broken = shard(1, 2)
            broken.report.status = status
            broken.report.failure = "the server went away"
            do {
                _ = try ShardMerge.merge([shard(0, 2), broken])
                Issue.record("a \(status) shard merged")
            } catch {
                #expect(error.failedRun && error.message.contains("shard 1 \(status)"), "\(error.message)")
            }
        }
    }

    @Test("a histogram deflated by another library (zlib level 9, as Java and Python write) decodes to the same counts")
    func foreignDeflate() throws {
        let python = try #require(TestSupport.tool("python3"), "python3 re-deflates the histogram")
        var histogram = LatencyHistogram()
        for value in stride(from: UInt64(1_000), to: 5_000_000, by: 997) { histogram.record(value) }
        let ours = HistogramCodec.encode(histogram)
        let script = """
        import base64, struct, sys, zlib
        data = base64.b64decode(sys.argv[1])
        cookie, length = struct.unpack('>II', data[:8])
        raw = zlib.decompress(data[8:8 + length])
        packed = zlib.compress(raw, 9)
        print(base64.b64encode(struct.pack('>II', cookie, len(packed)) + packed).decode())
        """
        let result = try TestSupport.program(python, ["-c", script, ours])
        let theirs = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(result.status == 0 && theirs != ours, "\(result.stderr)")
        let decoded = try HistogramCodec.decode(theirs)
        #expect(decoded.count == histogram.count && decoded.percentile(99) == histogram.percentile(99) && decoded.percentile(50) == histogram.percentile(50))
        // Damaged deflate data is an error, not a crash.
        var bytes = [UInt8](Data(base64Encoded: theirs)!)
        for index in 12..<min(bytes.count, 40) { bytes[index] ^= 0x5A }
        #expect(throws: HistogramCodec.DecodeError.self) { _ = try HistogramCodec.decode(Data(bytes).base64EncodedString()) }
    }

    @Test("two shards started together with --start-at against one server, merged by the CLI: sums, exact percentiles, a threshold judged on the merge")
    func twoShardsForReal() throws {
        let work = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let server = try PlainEchoServer()
        defer { server.stop() }
        let scenario = try CIGateTests.scenarioFile("""
        name: two-shards
        server: {kind: external, address: "\(server.address)"}
        load: {connections: 3, warmup: 200ms, duration: 1s, rate: 600/s, interval: 250ms}
        thresholds: ["latency.p99 < 10s", "errors.total == 0"]
        """, in: work)
        let start = StartTime.format(unixNanoseconds: StartTime.wallClockNow() + 3_000_000_000)
        let shards = try (0..<2).map { index in
            try RunningCommand(["run", scenario, "--shard", "\(index)/2", "--start-at", start,
                                "--out", "\(work)/shard-\(index)", "--no-capture", "--quiet", "--report-line"], in: work)
        }
        for shard in shards { #expect(shard.wait(timeout: 60) == 0, "\(shard.output)") }
        // What `kubectl logs --prefix` of the two pods would collect: each pod's report as its last line.
        let log = shards.enumerated().map { index, shard in
            shard.output.split(separator: "\n").map { "[pod/two-shards-\(index)-x/sockbench] \($0)" }.joined(separator: "\n")
        }.joined(separator: "\n")
        try log.write(toFile: work + "/pods.log", atomically: true, encoding: .utf8)
        let reports = try (0..<2).map { try ReportFile.load("\(work)/shard-\($0)") }
        #expect(reports.map { $0.runs[0].connections.requested } == [2, 1])
        #expect(reports.allSatisfy { ($0.shard?.lateS ?? 99) < 1 }, "each shard started on time: \(reports.map { $0.shard?.lateS ?? -1 })")
        #expect(reports[0].shard?.scenarioHash == reports[1].shard?.scenarioHash)
        let rates = reports.map { $0.runs[0].schedule?.requestedPerSecond ?? 0 }
        #expect(abs(rates.reduce(0, +) - 600) < 1e-9, "\(rates)")
        let merged = try TestSupport.sockbench(["merge", work, "--out", work + "/merged", "--quiet"])
        #expect(merged.status == 0, "\(merged.stderr)")
        let report = try ReportFile.load(work + "/merged")
        let run = try #require(report.runs.first)
        var all = LatencyHistogram()
        for shard in reports { all.merge(try HistogramCodec.decode(shard.runs[0].latencyNs.histogram)) }
        #expect(run.latencyNs.count == all.count && run.messages.received == reports.reduce(0) { $0 + $1.runs[0].messages.received })
        #expect(run.latencyNs.p50 == min(max(all.bucketTop(all.percentile(50)), run.latencyNs.min), run.latencyNs.max))
        #expect(run.latencyNs.p99 == min(max(all.bucketTop(all.percentile(99)), run.latencyNs.min), run.latencyNs.max))
        #expect(run.latencyNs.p999 == min(max(all.bucketTop(all.percentile(99.9)), run.latencyNs.min), run.latencyNs.max))
        #expect(run.connections.requested == 3 && report.scenario.load.connections == 3)
        #expect(report.thresholds?.count == 2 && report.thresholds?.allSatisfy(\.passed) == true, "\(report.thresholds ?? [])")
        #expect(report.merge?.skewed == false, "windows \(report.merge?.startSkewS ?? -1) s apart")
        #expect((try String(contentsOfFile: work + "/merged/report.md", encoding: .utf8)).contains("### Shards"))
        // --out may not be an input, nor a symlink to one: the merge would replace a shard's report.
        let shardReport = try Data(contentsOf: URL(fileURLWithPath: work + "/shard-0/report.json"))
        try FileManager.default.createSymbolicLink(atPath: work + "/alias", withDestinationPath: work + "/shard-0")
        for out in [work + "/shard-0", work + "/alias", work + "/shard-0/./"] {
            let overlap = try TestSupport.sockbench(["merge", work + "/shard-0", work + "/shard-1", "--out", out])
            #expect(overlap.status == 1 && overlap.stderr.contains("holds an input"), "\(out): \(overlap.stderr)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: work + "/shard-0/report.json")) == shardReport, "the shard's report is untouched")
        try FileManager.default.removeItem(atPath: work + "/alias")
        // The same shards merged from the collected log.
        let fromLog = try TestSupport.sockbench(["merge", work + "/pods.log", "--out", work + "/merged-log", "--quiet"])
        #expect(fromLog.status == 0, "\(fromLog.stderr)")
        let logReport = try ReportFile.load(work + "/merged-log")
        #expect(logReport.merge?.files.count == 2 && logReport.merge?.files.allSatisfy { $0.hasPrefix(work + "/pods.log:") } == true)
        #expect(logReport.runs.first?.latencyNs.p99 == run.latencyNs.p99)
        // The merged report is an ordinary one: check --baseline reads it.
        let check = try TestSupport.sockbench(["check", work + "/merged", "--baseline", work + "/merged/report.json"])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    }
}
