import Foundation

/// The Mann-Whitney U (Wilcoxon rank-sum) test: do two small samples come from the same
/// distribution? It assumes nothing about the shape of the distribution, which suits run-to-run
/// figures on a noisy machine (skewed, with outliers), and it is exact for small samples: the
/// p-value counts every way the pooled values could have been split between the two groups,
/// ties included (midranks), instead of leaning on a normal approximation.
public enum RankSumTest {
    public static let methodName = "Mann-Whitney U, exact two-sided p-value over repetitions"

    public struct Outcome: Sendable, Equatable {
        /// U for the first sample: how many (a, b) pairs have a > b, ties counting one half.
        public var u: Double
        /// Two-sided: the chance of a split at least this lopsided if both samples came from one distribution.
        public var pValue: Double
        /// True when the exact distribution was counted; false above `exactLimit` values (normal approximation).
        public var exact: Bool
    }

    /// Pooled sizes up to this are counted exactly (the count is a small table, n² · n/2 entries).
    static let exactLimit = 60

    public static func test(_ a: [Double], _ b: [Double]) -> Outcome? {
        guard !a.isEmpty, !b.isEmpty else { return nil }
        let ranks = midranks(a + b)
        // Doubled ranks are whole numbers even with ties (midranks end in .5).
        let doubled = ranks.map { Int(($0 * 2).rounded()) }
        let observed = doubled.prefix(a.count).reduce(0, +)
        let u = Double(observed) / 2 - Double(a.count * (a.count + 1)) / 2
        if a.count + b.count <= exactLimit {
            return Outcome(u: u, pValue: exactPValue(doubledRanks: doubled, firstCount: a.count, observed: observed), exact: true)
        }
        return Outcome(u: u, pValue: normalPValue(ranks: ranks, firstCount: a.count, u: u), exact: false)
    }

    /// The smallest two-sided p-value samples of these sizes can reach (no ties): below `alpha` is
    /// needed for any verdict, so 3 against 3 repetitions (0.1) can never show a difference at 0.05.
    public static func smallestPValue(_ m: Int, _ n: Int) -> Double {
        guard m > 0, n > 0 else { return 1 }
        var splits = 1.0
        for i in 0..<min(m, n) { splits = splits * Double(m + n - i) / Double(i + 1) }
        return min(1, 2 / splits)
    }

    /// Ranks 1...n of the values, tied values sharing the mean of their ranks.
    static func midranks(_ values: [Double]) -> [Double] {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var ranks = [Double](repeating: 0, count: values.count)
        var start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count, values[order[end + 1]] == values[order[start]] { end += 1 }
            let rank = Double(start + end + 2) / 2
            for position in start...end { ranks[order[position]] = rank }
            start = end + 1
        }
        return ranks
    }

    /// Counts, over every choice of `firstCount` of the pooled values, how often the first group's
    /// rank sum lies at least as far from its mean as the observed one.
    static func exactPValue(doubledRanks: [Int], firstCount: Int, observed: Int) -> Double {
        let total = doubledRanks.reduce(0, +)
        // ways[k][s]: subsets of k values whose doubled ranks sum to s.
        var ways = [[Double]](repeating: [Double](repeating: 0, count: total + 1), count: firstCount + 1)
        ways[0][0] = 1
        for rank in doubledRanks {
            for k in stride(from: firstCount, through: 1, by: -1) {
                for s in stride(from: total, through: rank, by: -1) where ways[k - 1][s - rank] > 0 {
                    ways[k][s] += ways[k - 1][s - rank]
                }
            }
        }
        let all = ways[firstCount].reduce(0, +)
        // Twice the mean rank sum, so the distance stays whole.
        let mean2 = firstCount * total
        let distance = abs(observed * doubledRanks.count - mean2)
        var extreme = 0.0
        for (s, count) in ways[firstCount].enumerated() where count > 0 && abs(s * doubledRanks.count - mean2) >= distance {
            extreme += count
        }
        return min(1, extreme / all)
    }

    /// The normal approximation with the tie correction, for large samples.
    static func normalPValue(ranks: [Double], firstCount m: Int, u: Double) -> Double {
        let n = ranks.count - m
        let total = Double(m + n)
        var ties = 0.0
        var counts: [Double: Int] = [:]
        for rank in ranks { counts[rank, default: 0] += 1 }
        for (_, t) in counts where t > 1 { ties += Double(t * t * t - t) }
        let variance = Double(m * n) / 12 * ((total + 1) - ties / (total * (total - 1)))
        guard variance > 0 else { return 1 }
        let z = (abs(u - Double(m * n) / 2) - 0.5) / variance.squareRoot()
        return min(1, erfc(max(z, 0) / 2.0.squareRoot()))
    }
}

/// The figures a comparison shows for one variant's samples of one metric.
public struct SampleSummary: Codable, Sendable, Equatable {
    public var n: Int
    public var median: Double
    public var min: Double
    public var max: Double
    /// Interquartile range ends (linear interpolation between order statistics).
    public var q1: Double
    public var q3: Double

    public init?(_ values: [Double]) {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        n = sorted.count
        min = sorted[0]
        max = sorted[sorted.count - 1]
        median = Self.quantile(sorted, 0.5)
        q1 = Self.quantile(sorted, 0.25)
        q3 = Self.quantile(sorted, 0.75)
    }

    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        let position = q * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down))
        let upper = Swift.min(lower + 1, sorted.count - 1)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - Double(lower))
    }
}
