/// `runs[].resource_trend`: whether the client's memory and descriptors stayed flat over the run,
/// from the interval series (a soak's verdict). Compares the median of the first quarter of the
/// intervals with that of the last quarter; needs at least 8 intervals.
public struct ResourceTrend: Codable, Sendable, Equatable {
    public var intervals: Int
    public var residentFirstQuarterBytes: UInt64
    public var residentLastQuarterBytes: UInt64
    public var residentGrowthPercent: Double
    public var descriptorsFirstQuarter: Int
    public var descriptorsLastQuarter: Int
    /// Memory grew by less than `flatGrowthPercent` and descriptors did not grow.
    public var flat: Bool

    public static let flatGrowthPercent = 5.0

    public init?(_ records: [IntervalRecord]) {
        // The last interval is read after the load ended (connections closed): leave it out.
        let steady = Array(records.dropLast())
        guard steady.count >= 8 else { return nil }
        let quarter = steady.count / 4
        func median<T: Comparable>(_ values: [T]) -> T { values.sorted()[values.count / 2] }
        intervals = steady.count
        residentFirstQuarterBytes = median(steady.prefix(quarter).map(\.residentBytes))
        residentLastQuarterBytes = median(steady.suffix(quarter).map(\.residentBytes))
        residentGrowthPercent = 100 * (Double(residentLastQuarterBytes) / Double(max(1, residentFirstQuarterBytes)) - 1)
        descriptorsFirstQuarter = median(steady.prefix(quarter).map(\.openDescriptors))
        descriptorsLastQuarter = median(steady.suffix(quarter).map(\.openDescriptors))
        flat = residentGrowthPercent < Self.flatGrowthPercent && descriptorsLastQuarter <= descriptorsFirstQuarter
    }

    /// One sentence for report.md.
    public var sentence: String {
        let memory = "resident memory \(Format.bytes(Double(residentFirstQuarterBytes))) → \(Format.bytes(Double(residentLastQuarterBytes))) "
            + "(\(residentGrowthPercent >= 0 ? "+" : "")\(Format.percent(residentGrowthPercent)))"
        let descriptors = "open descriptors \(descriptorsFirstQuarter) → \(descriptorsLastQuarter)"
        return "Over \(intervals) intervals (median of the first quarter → the last): \(memory), \(descriptors): "
            + (flat ? "**flat**." : "**growing** (more than \(Format.percent(Self.flatGrowthPercent)) memory, or more descriptors).")
    }
}
