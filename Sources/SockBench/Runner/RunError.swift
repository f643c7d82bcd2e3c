/// Why `sockbench run` could not produce a report, with the exit code it maps to
/// (1: bad input or usage, 3: the run itself failed).
public struct RunError: Error, CustomStringConvertible, Sendable {
    public enum Code: Int32, Sendable {
        case badInput = 1
        case runFailed = 3
        /// A signal arrived before the load began (waiting for `--start-at`).
        case interrupted = 130
    }

    /// The exit code for a threshold or baseline check that failed (the run itself worked).
    public static let thresholdFailed: Int32 = 2

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
