import Foundation
import Testing
@testable import SockBench

/// latency.hlog, read back by the Python `hdrhistogram` package (PyPI, pinned in scripts/setup.sh):
/// HdrHistogram's own reader sees the intervals sockbench reports, count for count.
@Suite("HdrHistogram interval log")
struct IntervalLogTests {
    static let reader = """
    import json, sys
    from hdrh.log import HistogramLogReader
    from hdrh.histogram import HdrHistogram
    reader = HistogramLogReader(sys.argv[1], HdrHistogram(1, 3600 * 10**9, 3))
    out = []
    while True:
        h = reader.get_next_interval_histogram()
        if h is None:
            break
        buckets = [[item.value_iterated_to, item.count_at_value_iterated_to] for item in h.get_recorded_iterator()]
        out.append({"count": h.get_total_count(), "buckets": buckets, "start_ms": h.get_start_time_stamp(), "end_ms": h.get_end_time_stamp()})
    print(json.dumps(out))
    """

    struct Interval: Decodable {
        let count: UInt64
        let buckets: [[UInt64]]
        let start_ms: Double
        let end_ms: Double
    }

    @Test("a run's latency.hlog: Python's HistogramLogReader reads every interval with the report's counts and percentiles, on the wall clock")
    func readByPython() throws {
        let python = try #require(TestSupport.pythonTool("python"), Comment(rawValue: TestSupport.pythonSetup))
        let out = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let result = try TestSupport.sockbench(["run", "scenarios/quickstart.yaml", "--duration", "1s", "--warmup", "100ms", "--set", "load.interval=250ms",
                                                "--no-capture", "--quiet", "--out", out])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try ReportFile.load(out)
        let run = try #require(report.runs.first)
        let intervals = try #require(run.intervals)
        #expect(intervals.allSatisfy { $0.latencyNs.histogram == nil }, "report.json leaves the interval histograms to latency.hlog")
        let read = try TestSupport.program(python, ["-c", Self.reader, out + "/" + IntervalLog.fileName])
        #expect(read.status == 0, "\(read.stderr)")
        let logged = try JSONDecoder().decode([Interval].self, from: Data(read.stdout.utf8))
        #expect(logged.count == intervals.count)
        let start = Double(try #require(run.windowStartUnixNs)) / 1e6
        let logText = try String(contentsOfFile: out + "/" + IntervalLog.fileName, encoding: .utf8)
        for (index, (entry, interval)) in zip(logged, intervals).enumerated() {
            #expect(entry.count == interval.latencyNs.count)
            // Python decodes the same buckets with the same counts that sockbench's percentiles come from.
            let line = try #require(logText.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.hasPrefix("\"") }[index].split(separator: ",").last)
            let ours = try HistogramCodec.decode(String(line))
            #expect(ours.count == entry.count)
            let theirs = entry.buckets.map { [ours.bucketTop($0[0]), $0[1]] }
            #expect(ours.buckets == theirs, "interval \(index): \(ours.buckets.count) buckets here, \(theirs.count) in Python")
            #expect(abs(entry.start_ms - (start + interval.startS * 1000)) < 1.5, "starts at \(entry.start_ms) ms")
            #expect(abs((entry.end_ms - entry.start_ms) - (interval.endS - interval.startS) * 1000) < 1.5)
        }
    }

    @Test("a matrix's runs are tagged in one log; a report without interval histograms writes none")
    func tags() throws {
        var first = SyntheticRuns.run(variant: "tcp_nodelay=true", repetition: 1, messagesPerSecond: 10, latencyNs: 5)
        var histogram = LatencyHistogram()
        histogram.record(1_000)
        first.windowStartUnixNs = 1_796_176_000_000_000_000
        first.intervals = [IntervalRecord(startS: 0, endS: 1, messagesSent: 1, messagesReceived: 1, messagesPerSecond: 1, bitsPerSecondSent: 0,
                                          bitsPerSecondReceived: 0, latencyNs: IntervalLatency(histogram, encoded: true), latencyUncorrectedNs: nil,
                                          errors: 0, errorsByCategory: nil, connectionsEstablished: 1, connectionsOpen: 1, residentBytes: 1,
                                          openDescriptors: 1, tcpInfo: nil)]
        var second = first
        second.variant = "tcp_nodelay=false, message_size=64"
        second.windowStartUnixNs = first.windowStartUnixNs! + 2_000_000_000
        let log = try #require(IntervalLog.render(SyntheticRuns.report([first, second])))
        let lines = log.split(separator: "\n").filter { $0.hasPrefix("Tag=") }
        #expect(lines.count == 2)
        #expect(lines[0].hasPrefix("Tag=tcp_nodelay=true#1,0.000,1.000,0.001,HISTF"), "\(lines[0])")
        #expect(lines[1].hasPrefix("Tag=tcp_nodelay=false__message_size=64#1,2.000,"), "\(lines[1])")
        #expect(IntervalLog.render(SyntheticRuns.report([SyntheticRuns.run(messagesPerSecond: 1, latencyNs: 1)])) == nil)
    }
}
