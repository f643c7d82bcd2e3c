import Testing
@testable import SockBench

/// The rank-sum test and the comparison built on it, on samples whose answer is known.
@Suite struct StatisticsTests {
    @Test func exactPValueMatchesTheCountedDistribution() throws {
        // Complete separation of 5 and 5: 2 of the C(10,5) = 252 splits are this extreme.
        let separated = try #require(RankSumTest.test([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]))
        #expect(abs(separated.pValue - 2.0 / 252) < 1e-12)
        #expect(separated.exact)
        #expect(separated.u == 0)
        // Identical samples (all ties): nothing to tell apart.
        #expect(RankSumTest.test([3, 3, 3, 3], [3, 3, 3, 3])?.pValue == 1)
        // Interleaved values: as balanced as a split can be.
        #expect(try #require(RankSumTest.test([1, 4, 5, 8], [2, 3, 6, 7])).pValue > 0.8)
        #expect(RankSumTest.test([], [1]) == nil)
    }

    @Test func smallestReachablePValueSaysWhenNoVerdictIsPossible() {
        #expect(abs(RankSumTest.smallestPValue(3, 3) - 0.1) < 1e-12)
        #expect(abs(RankSumTest.smallestPValue(4, 4) - 2.0 / 70) < 1e-12)
        #expect(RankSumTest.smallestPValue(1, 1) == 1)
    }

    @Test func tiesUseMidranks() {
        #expect(RankSumTest.midranks([10, 20, 20, 30]) == [1, 2.5, 2.5, 4])
        // With ties the exact test still separates two clearly different groups.
        let outcome = RankSumTest.test([1, 1, 2, 2, 2], [5, 5, 6, 6, 6])
        #expect((outcome?.pValue ?? 1) < 0.05)
    }

    /// Same distribution: with a fixed seed, about 5% of 400 trials may be called different, not more.
    /// Shifted by one standard deviation's worth of noise times three: detected in nearly every trial.
    @Test func sameDistributionIsRarelyCalledDifferentAndAShiftIsDetected() {
        var generator = SeededGenerator(state: 42)
        func sample(_ center: Double) -> [Double] {
            (0..<6).map { _ in center + Double.random(in: -10...10, using: &generator) + Double.random(in: -10...10, using: &generator) }
        }
        var falseAlarms = 0, detected = 0
        let trials = 400
        for _ in 0..<trials {
            if (RankSumTest.test(sample(100), sample(100))?.pValue ?? 1) < 0.05 { falseAlarms += 1 }
            if (RankSumTest.test(sample(100), sample(130))?.pValue ?? 1) < 0.05 { detected += 1 }
        }
        #expect(falseAlarms <= trials * 8 / 100, "same distribution called different \(falseAlarms) times in \(trials)")
        #expect(detected >= trials * 95 / 100, "a shift of 30 was detected only \(detected) times in \(trials)")
    }

    @Test func largeSamplesUseTheNormalApproximation() throws {
        var generator = SeededGenerator(state: 7)
        let a = (0..<50).map { _ in Double.random(in: 0...100, using: &generator) }
        let b = (0..<50).map { _ in Double.random(in: 0...100, using: &generator) }
        let same = try #require(RankSumTest.test(a, b))
        #expect(!same.exact)
        #expect(same.pValue > 0.05)
        #expect(try #require(RankSumTest.test(a, b.map { $0 + 40 })).pValue < 0.001)
    }

    @Test func sampleSummaryGivesMedianAndQuartiles() throws {
        let summary = try #require(SampleSummary([5, 1, 3, 2, 4]))
        #expect(summary.median == 3)
        #expect(summary.min == 1 && summary.max == 5)
        #expect(summary.q1 == 2 && summary.q3 == 4)
        #expect(SampleSummary([2, 4])?.median == 3)
        #expect(SampleSummary([]) == nil)
    }
}
