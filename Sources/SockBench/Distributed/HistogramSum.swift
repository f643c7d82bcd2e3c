import Histogram

/// Adds latency summaries through their encoded histograms: the sum's percentiles are those of
/// one histogram of all the samples (bucket for bucket), its min and max the exact extremes of
/// the parts, its mean the parts' means weighed by their counts.
enum HistogramSum {
    static func add(_ parts: [LatencySummary]) throws(DistributedError) -> LatencySummary {
        let recorded = parts.filter { $0.count > 0 }
        guard !recorded.isEmpty else { return .empty }
        var total = LatencyHistogram()
        for part in recorded {
            do { total.merge(try HistogramCodec.decode(part.histogram)) } catch {
                throw DistributedError("a histogram does not decode (\(error.reason))")
            }
        }
        let low = recorded.map(\.min).min()!
        let high = recorded.map(\.max).max()!
        let count = recorded.reduce(UInt64(0)) { $0 + $1.count }
        let mean = recorded.reduce(0.0) { $0 + $1.mean * Double($1.count) } / Double(count)
        // A decoded histogram knows its extremes only to their bucket (and clamps percentiles to them):
        // take the bucket's top, clamped with the parts' exact extremes, as one histogram of every sample does.
        func at(_ p: Double) -> UInt64 { Swift.min(Swift.max(top(total, p), low), high) }
        return LatencySummary(count: total.count, min: low, mean: mean, stddev: total.stddev,
                              p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), p9999: at(99.99), max: high,
                              histogram: HistogramCodec.encode(total))
    }

    /// The highest value equivalent to the one at percentile `p`.
    static func top(_ histogram: LatencyHistogram, _ p: Double) -> UInt64 {
        histogram.histogram.highestEquivalentForValue(histogram.histogram.valueAtPercentile(p))
    }

    static func addOptional(_ parts: [LatencySummary?]) throws(DistributedError) -> LatencySummary? {
        parts.contains { $0 != nil } ? try add(parts.compactMap { $0 }) : nil
    }

    /// Interval entries (which carry their histogram on shard runs) added the same way.
    static func add(_ parts: [IntervalLatency]) throws(DistributedError) -> IntervalLatency {
        var total = LatencyHistogram()
        for part in parts where part.count > 0 {
            guard let text = part.histogram else { throw DistributedError("an interval has no histogram (a report written without --shard)") }
            do { total.merge(try HistogramCodec.decode(text)) } catch {
                throw DistributedError("an interval's histogram does not decode (\(error.reason))")
            }
        }
        var sum = IntervalLatency(total, encoded: true)
        let high = parts.map(\.max).max() ?? 0
        func at(_ p: Double) -> UInt64 { total.count == 0 ? 0 : Swift.min(top(total, p), high) }
        sum.max = high
        sum.p50 = at(50)
        sum.p90 = at(90)
        sum.p99 = at(99)
        sum.p999 = at(99.9)
        return sum
    }
}

/// Lines up the shards' interval series on the wall clock: an interval belongs to the slot its
/// start falls nearest to, counted in interval lengths from the earliest shard's window start.
enum IntervalAlignment {
    static func align(_ runs: [RunResult], base: UInt64) throws(DistributedError) -> [IntervalRecord]? {
        guard runs.contains(where: { !($0.intervals ?? []).isEmpty }) else { return nil }
        let length = runs.lazy.compactMap { $0.intervals?.first }.map { $0.endS - $0.startS }.first { $0 > 0 } ?? 1
        var slots: [Int: [IntervalRecord]] = [:]
        for run in runs {
            let offset = Double((run.windowStartUnixNs ?? base) &- base) / 1e9
            for interval in run.intervals ?? [] {
                let slot = Int(((offset + interval.startS) / length).rounded())
                slots[slot, default: []].append(interval)
            }
        }
        var merged: [IntervalRecord] = []
        for slot in slots.keys.sorted() {
            let parts = slots[slot]!
            var sum = parts[0]
            func add<T: BinaryInteger>(_ value: (IntervalRecord) -> T) -> T { parts.reduce(0) { $0 + value($1) } }
            func add(_ value: (IntervalRecord) -> Double) -> Double { parts.reduce(0) { $0 + value($1) } }
            sum.startS = Double(slot) * length
            sum.endS = sum.startS + (parts.map { $0.endS - $0.startS }.max() ?? length)
            sum.messagesSent = add { $0.messagesSent }
            sum.messagesReceived = add { $0.messagesReceived }
            sum.messagesPerSecond = add { $0.messagesPerSecond }
            sum.bitsPerSecondSent = add { $0.bitsPerSecondSent }
            sum.bitsPerSecondReceived = add { $0.bitsPerSecondReceived }
            sum.latencyNs = try HistogramSum.add(parts.map(\.latencyNs))
            sum.latencyUncorrectedNs = parts.contains { $0.latencyUncorrectedNs != nil }
                ? try HistogramSum.add(parts.compactMap(\.latencyUncorrectedNs)) : nil
            sum.errors = add { $0.errors }
            var categories = ErrorCounts()
            for part in parts { if let counts = part.errorsByCategory { categories.add(counts) } }
            sum.errorsByCategory = categories
            sum.connectionsEstablished = add { $0.connectionsEstablished }
            sum.connectionsOpen = add { $0.connectionsOpen }
            sum.residentBytes = add { $0.residentBytes }
            sum.openDescriptors = add { $0.openDescriptors }
            sum.tcpInfo = nil
            merged.append(sum)
        }
        return merged
    }
}
