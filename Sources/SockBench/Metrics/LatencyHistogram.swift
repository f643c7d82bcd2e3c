import Histogram

/// Latencies in nanoseconds, 3 significant digits, 1 ns to 1 hour. One per worker thread,
/// recorded without locks or allocation, merged once at the end of a run.
public struct LatencyHistogram: Sendable {
    public static let highestTrackable: UInt64 = 3_600_000_000_000

    public private(set) var histogram: Histogram<UInt64>

    public init() {
        histogram = Histogram(lowestDiscernibleValue: 1, highestTrackableValue: Self.highestTrackable,
                              numberOfSignificantValueDigits: .three)
    }

    init(histogram: Histogram<UInt64>) { self.histogram = histogram }

    /// Records one latency; values beyond an hour are clamped rather than dropped.
    @inline(__always)
    public mutating func record(_ nanoseconds: UInt64) {
        histogram.record(nanoseconds < Self.highestTrackable ? nanoseconds : Self.highestTrackable)
    }

    public mutating func record(_ nanoseconds: UInt64, count: UInt64) {
        histogram.record(Swift.min(nanoseconds, Self.highestTrackable), count: count)
    }

    public mutating func merge(_ other: LatencyHistogram) { histogram.add(other.histogram) }

    /// Empties the histogram, keeping its storage (no allocation).
    public mutating func reset() { histogram.reset() }

    public var count: UInt64 { histogram.totalCount }

    /// The smallest value recorded, exactly (0 when empty; a decoded histogram knows only its bucket).
    public var min: UInt64 { count == 0 ? 0 : histogram.min }

    /// The largest value recorded, exactly (0 when empty; a decoded histogram knows only its bucket).
    /// Not the top of its bucket, which would put a one-sample histogram's max above its value.
    public var max: UInt64 { count == 0 ? 0 : histogram.maxRecorded }

    /// Every bucket that holds values, in order: its highest equivalent value and its count (what
    /// another HdrHistogram library decoding the same encoding must find).
    public var buckets: [[UInt64]] { histogram.recordedValues().map { [histogram.highestEquivalentForValue($0.value), UInt64($0.count)] } }

    /// The highest value in the same bucket as `value`.
    public func bucketTop(_ value: UInt64) -> UInt64 { histogram.highestEquivalentForValue(value) }

    /// How many recorded values are at most `limit`.
    public func count(atMost limit: UInt64) -> UInt64 { histogram.count(within: 0...limit) }

    /// True when both values fall in the same bucket: the precision any encoding or merge keeps.
    public func valuesAreEquivalent(_ a: UInt64, _ b: UInt64) -> Bool { histogram.valuesAreEquivalent(a, b) }

    /// The value at percentile `p`, kept within [min, max]: a bucket's edge is never reported
    /// beyond what was recorded (one sample of 1,234,567 ns has every percentile at 1,234,567).
    public func percentile(_ p: Double) -> UInt64 {
        guard count > 0 else { return 0 }
        return Swift.min(Swift.max(histogram.valueAtPercentile(p), min), max)
    }

    /// The mean of the buckets' midpoints, kept within [min, max] (a midpoint can lie below the
    /// one value recorded in its bucket).
    public var mean: Double {
        guard count > 0 else { return 0 }
        return Swift.min(Swift.max(histogram.mean, Double(min)), Double(max))
    }

    /// The standard deviation of the buckets' values (0 for fewer than two samples).
    public var stddev: Double { count <= 1 ? 0 : histogram.stdDeviation }

    /// The figures reports carry, plus the mergeable encoding of the whole histogram.
    public var summary: LatencySummary {
        guard count > 0 else { return .empty }
        return LatencySummary(
            count: count, min: min, mean: mean, stddev: stddev,
            p50: percentile(50), p90: percentile(90), p99: percentile(99), p999: percentile(99.9),
            p9999: percentile(99.99), max: max, histogram: HistogramCodec.encode(self))
    }
}

/// A latency distribution as reports carry it, in nanoseconds (the enclosing key says `_ns`).
public struct LatencySummary: Codable, Sendable, Equatable {
    public var count: UInt64
    public var min: UInt64
    public var mean: Double
    public var stddev: Double
    public var p50: UInt64
    public var p90: UInt64
    public var p99: UInt64
    public var p999: UInt64
    public var p9999: UInt64
    public var max: UInt64
    /// The whole histogram in the standard HdrHistogram V2 compressed base64 form ("HISTFAAA..."),
    /// so reports from several runs or machines merge without losing percentiles.
    public var histogram: String
    public var histogramEncoding: String = HistogramCodec.encodingName

    public static let empty = LatencySummary(count: 0, min: 0, mean: 0, stddev: 0, p50: 0, p90: 0, p99: 0, p999: 0,
                                              p9999: 0, max: 0, histogram: HistogramCodec.encode(LatencyHistogram()))
}
