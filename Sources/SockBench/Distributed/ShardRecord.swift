/// What a shard report says of itself, so `merge` can tell which reports belong together.
public struct ShardRecord: Codable, Sendable, Equatable {
    public var index: Int
    public var count: Int
    /// The resolved scenario before the split (`ScenarioIdentity`): equal for every shard of one run.
    public var scenarioHash: String
    public var host: String
    /// The scenario's totals, which the shards' shares add up to.
    public var totalConnections: Int
    public var totalRatePerSecond: Double?
    /// `--start-at` as requested (RFC 3339, UTC), and how late the warm-up actually began after it.
    public var startAt: String?
    public var lateS: Double?
    /// When this shard's warm-up began (RFC 3339, UTC, nanoseconds).
    public var startedAt: String
    /// The scenario's error budget and thresholds, in scenario syntax: the merged run is judged by them.
    public var errorBudget: String?
    public var thresholds: [String]
}

/// A merged report's provenance: the shards, and how far apart they started.
public struct MergeRecord: Codable, Sendable, Equatable {
    public var shards: Int
    public var scenarioHash: String
    public var files: [String]
    /// The spread of the shards' window starts (latest minus earliest), and the limit above which
    /// it is flagged: intervals of shards that far apart cover different moments.
    public var startSkewS: Double
    public var maxSkewS: Double
    public var skewed: Bool
}

/// One shard's figures in a merged run, beside the sum.
public struct ShardFigures: Codable, Sendable, Equatable {
    public var index: Int
    public var host: String
    public var connections: Int
    public var messagesPerSecond: Double
    public var p50Ns: UInt64
    public var p99Ns: UInt64
    public var errors: UInt64
    public var lateS: Double?
    /// Seconds between this shard's window start and the earliest shard's.
    public var offsetS: Double
}
