/// A refusal in the distributed domain: a shard that cannot be, a start time that cannot be read,
/// shard reports that do not merge. One line, naming the flag, variable or file at fault.
public struct DistributedError: Error, Sendable, CustomStringConvertible {
    public let message: String
    /// The inputs were sound but what they report failed (a shard that failed or was interrupted):
    /// exit 3, not 1.
    public let failedRun: Bool

    public init(_ message: String, failedRun: Bool = false) {
        self.message = message
        self.failedRun = failedRun
    }

    public var description: String { message }
}
