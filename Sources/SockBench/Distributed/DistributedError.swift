/// A refusal in the distributed domain: a shard that cannot be, a start time that cannot be read,
/// shard reports that do not merge. One line, naming the flag, variable or file at fault.
public struct DistributedError: Error, Sendable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
