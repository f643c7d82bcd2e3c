/// A scenario file that cannot be used: one line naming the file, line, column and key,
/// saying what is wrong and what is allowed.
public struct ScenarioError: Error, CustomStringConvertible, Sendable, Equatable {
    public let file: String
    public let line: Int
    public let column: Int
    /// The dotted key path (`load.connections`), or nil for errors about the file as a whole.
    public let key: String?
    public let message: String

    public init(file: String, line: Int, column: Int, key: String?, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.key = key
        self.message = message
    }

    public var description: String {
        let location = "\(file):\(line):\(column)"
        // A quoted value may span lines; the error stays on one.
        let text = message.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\\n")
        guard let key else { return "\(location): \(text)" }
        return "\(location): \(key): \(text)"
    }
}
