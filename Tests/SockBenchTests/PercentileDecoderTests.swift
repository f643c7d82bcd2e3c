import Foundation
import Testing
@testable import SockBench

/// Every histogram a report carries, decoded by the Python `hdrhistogram` package (an independent
/// HdrHistogram implementation): the same count, and each reported percentile, min and max within
/// one bucket of what that decoder reports. docs/report.md says where the figures differ and why
/// (sockbench keeps the exact min and max; decoders see only buckets).
@Suite("report percentiles as HdrHistogram decoders see them")
struct PercentileDecoderTests {
    /// Decodes with the Python package, then takes each percentile by HdrHistogram Java's rule
    /// (`getValueAtPercentile`: the count at the percentile rounded up, the top of the bucket that
    /// reaches it) over the decoded buckets, and also the Python package's own answer, which rounds
    /// that count to nearest and so can name the neighbouring sample of a small histogram.
    static let decoder = """
    import json, math, sys
    from hdrh.histogram import HdrHistogram
    def java_value_at(h, p):
        requested = min(max(math.nextafter(p, -math.inf), 0.0), 100.0)
        target = max(1, math.ceil(requested * h.get_total_count() / 100.0))
        total = 0
        for item in h.get_recorded_iterator():
            total += item.count_at_value_iterated_to
            if total >= target:
                return h.get_highest_equivalent_value(item.value_iterated_to)
        return 0
    out = []
    for summary in json.load(open(sys.argv[1])):
        h = HdrHistogram.decode(summary["histogram"])
        row = {"count": h.get_total_count(), "min": h.get_min_value(), "max": h.get_max_value(), "p": {}}
        for key, p in [("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p999", 99.9), ("p9999", 99.99)]:
            java = java_value_at(h, p)
            row["p"][key] = [java, h.get_lowest_equivalent_value(java), h.get_value_at_percentile(p)]
        for key in ["min", "max"]:
            v = summary[key]
            row[key + "_bucket"] = [h.get_lowest_equivalent_value(v), h.get_highest_equivalent_value(v)]
        out.append(row)
    print(json.dumps(out))
    """

    /// Every latency summary in a report's JSON (anything with a `histogram` and a `p99`), with where it is.
    static func summaries(_ value: Any, path: String = "") -> [(String, [String: Any])] {
        if let object = value as? [String: Any] {
            var found: [(String, [String: Any])] = object["histogram"] is String && object["p99"] != nil ? [(path, object)] : []
            for (key, child) in object.sorted(by: { $0.key < $1.key }) { found += summaries(child, path: path + "." + key) }
            return found
        }
        if let array = value as? [Any] { return array.enumerated().flatMap { summaries($1, path: path + "[\($0)]") } }
        return []
    }

    @Test("a kept-alive conversation with named steps, open loop: every histogram, every percentile in the bucket Java names")
    func everyHistogramOfAReport() throws {
        let python = try #require(TestSupport.pythonTool("python"), Comment(rawValue: TestSupport.pythonSetup))
        let out = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let result = try TestSupport.sockbench(["run", "scenarios/kept-alive.yaml", "--duration", "500ms", "--warmup", "100ms", "--rate", "2000/s",
                                                "--no-capture", "--quiet", "--out", out], timeout: 120)
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/report.json")))
        let found = Self.summaries(report).filter { ($0.1["count"] as? NSNumber)?.uint64Value ?? 0 > 0 }
        let places = found.map(\.0)
        // The run's latency (corrected and not), its connects, and each named step's.
        #expect(found.count >= 6, "\(places)")
        #expect(places.contains { $0.contains("latency_uncorrected_ns") } && places.contains { $0.contains("steps") }, "\(places)")
        try JSONSerialization.data(withJSONObject: found.map(\.1)).write(to: URL(fileURLWithPath: out + "/summaries.json"))
        let decoded = try TestSupport.program(python, ["-c", Self.decoder, out + "/summaries.json"])
        #expect(decoded.status == 0, "\(decoded.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(decoded.stdout.utf8)) as? [[String: Any]])
        #expect(rows.count == found.count)
        func number(_ value: Any?) -> UInt64 { (value as? NSNumber)?.uint64Value ?? .max }
        for ((place, summary), row) in zip(found, rows) {
            #expect(number(row["count"]) == number(summary["count"]), "\(place): count")
            let percentiles = row["p"] as? [String: [NSNumber]] ?? [:]
            for (key, theirs) in percentiles.sorted(by: { $0.key < $1.key }) {
                let ours = number(summary[key])
                let (java, low, pythons) = (theirs[0].uint64Value, theirs[1].uint64Value, theirs[2].uint64Value)
                // Java's value is the top of a bucket; sockbench's is in that bucket, lower only where
                // it is the exact max (or min) rather than the bucket's top.
                #expect(ours >= low && ours <= java, "\(place).\(key): sockbench \(ours), Java's rule \(java) (bucket \(low)...\(java)), Python's own \(pythons)")
                if ours != java { #expect(ours == number(summary["max"]) || ours == number(summary["min"]), "\(place).\(key): below its bucket's top but not the max") }
            }
            // min and max are exact in sockbench; the decoder knows their buckets.
            let maxBucket = (row["max_bucket"] as? [NSNumber] ?? []).map(\.uint64Value)
            #expect(number(row["max"]) == maxBucket.last, "\(place): the decoder's max is the top of the bucket holding sockbench's max")
            let minBucket = (row["min_bucket"] as? [NSNumber] ?? []).map(\.uint64Value)
            #expect(number(row["min"]) == minBucket.first, "\(place): the decoder's min is the bottom of the bucket holding sockbench's min")
        }
    }
}
