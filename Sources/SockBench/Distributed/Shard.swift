import Foundation

/// One shard of a run split over N generators: shard `index` (from 0) of `count`.
///
/// A shard runs the whole scenario with its share of the connections and of the rate. Shares are
/// deterministic and add up to the scenario's totals exactly: the connections as evenly as
/// integers allow (the first `total % count` shards take one more), a total rate in proportion
/// to the connections, the last shard taking what the others leave so the sum is the total.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) throws(DistributedError) {
        guard count >= 1, count <= 100_000 else { throw DistributedError("a run splits into 1 to 100000 shards, got \(count)") }
        guard index >= 0, index < count else { throw DistributedError("shard index \(index) is outside 0..<\(count)") }
        self.index = index
        self.count = count
    }

    /// `I/N`, as `--shard` takes it.
    public init(parsing text: String) throws(DistributedError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
            throw DistributedError("--shard: expected I/N (shard I of N, I from 0), such as 0/4, got '\(text)'")
        }
        do { try self.init(index: index, count: count) } catch { throw DistributedError("--shard \(text): \(error.message)") }
    }

    public var description: String { "\(index)/\(count)" }

    /// The shard the environment names, when it names one: a Kubernetes Indexed Job's
    /// `JOB_COMPLETION_INDEX` (with `shards`, from `--shards`, or `SOCKBENCH_SHARDS`), or a Slurm
    /// job array's `SLURM_ARRAY_TASK_ID` and `SLURM_ARRAY_TASK_COUNT` (less `SLURM_ARRAY_TASK_MIN`,
    /// so `--array=1-4` is shards 0 to 3).
    public static func fromEnvironment(_ environment: [String: String], shards: Int?) throws(DistributedError) -> Shard? {
        if let text = environment["JOB_COMPLETION_INDEX"] {
            guard let index = Int(text) else { throw DistributedError("JOB_COMPLETION_INDEX: expected a number, got '\(text)'") }
            let countText = shards.map(String.init) ?? environment["SOCKBENCH_SHARDS"]
            guard let countText else {
                throw DistributedError("JOB_COMPLETION_INDEX is \(index) but the number of shards is unknown: pass --shards N or set SOCKBENCH_SHARDS")
            }
            guard let count = Int(countText) else { throw DistributedError("SOCKBENCH_SHARDS: expected a number, got '\(countText)'") }
            do { return try Shard(index: index, count: count) } catch { throw DistributedError("JOB_COMPLETION_INDEX \(index): \(error.message)") }
        }
        // A job array is as often a sweep (one scenario per task) as a split: shard only when asked
        // (--shards N or SOCKBENCH_SHARDS), and only when the array has that many tasks.
        let asked = shards.map(String.init) ?? environment["SOCKBENCH_SHARDS"]
        if let text = environment["SLURM_ARRAY_TASK_ID"], let asked {
            guard let id = Int(text) else { throw DistributedError("SLURM_ARRAY_TASK_ID: expected a number, got '\(text)'") }
            guard let countText = environment["SLURM_ARRAY_TASK_COUNT"], let count = Int(countText) else {
                throw DistributedError("SLURM_ARRAY_TASK_ID is \(id) but SLURM_ARRAY_TASK_COUNT is missing or not a number")
            }
            guard Int(asked) == count else {
                throw DistributedError("--shards \(asked) but the Slurm array has \(count) tasks (SLURM_ARRAY_TASK_COUNT)")
            }
            let minimum = environment["SLURM_ARRAY_TASK_MIN"]
            guard let first = minimum.map({ Int($0) }) ?? 0 else {
                throw DistributedError("SLURM_ARRAY_TASK_MIN: expected a number, got '\(minimum ?? "")'")
            }
            do { return try Shard(index: id - first, count: count) } catch {
                throw DistributedError("SLURM_ARRAY_TASK_ID \(id) (array from \(first)): \(error.message)")
            }
        }
        return nil
    }

    /// This shard's part of `total` (connections): ⌊total/N⌋, one more for the first total % N shards.
    public func share(of total: Int) -> Int { Self.share(of: total, index: index, count: count) }

    static func share(of total: Int, index: Int, count: Int) -> Int { total / count + (index < total % count ? 1 : 0) }

    /// This shard's part of a total rate `rate` spread over `total` connections: in proportion to
    /// its connections; the last shard takes the rest, so the parts add up to `rate`.
    public func share(ofRate rate: Double, connections total: Int) -> Double {
        guard index == count - 1 else { return rate * Double(share(of: total)) / Double(total) }
        var others = 0.0
        for earlier in 0..<index { others += rate * Double(Self.share(of: total, index: earlier, count: count)) / Double(total) }
        return Swift.max(0, rate - others)
    }

    /// The load this shard runs: its connections, its part of a total rate and of the ramp-up
    /// rate, at most as many threads as connections. Refused when the shard would have no connection.
    public func apply(to load: LoadSpec) throws(DistributedError) -> LoadSpec {
        var shared = load
        let connections = share(of: load.connections)
        // Refused in every shard, not only the empty ones: a run whose shards cannot all run never merges.
        guard load.connections >= count else {
            throw DistributedError("\(load.connections) connection\(load.connections == 1 ? "" : "s") cannot be spread over \(count) shards (at most \(load.connections)): shard \(index) or another would have nothing to do")
        }
        shared.connections = connections
        shared.threads = Swift.min(load.threads, connections)
        if let rate = load.rate, !rate.perConnection {
            shared.rate = LoadSpec.Rate(perSecond: share(ofRate: rate.perSecond, connections: load.connections))
        }
        if let connectRate = load.connectRate { shared.connectRate = share(ofRate: connectRate, connections: load.connections) }
        return shared
    }
}
