/// A scenario file that cannot be used: one line naming the file, line, column and key,
/// saying what is wrong and what is allowed. A value from the command line names the argument
/// instead (`--set load.connections=abc: load.connections: …`): line 0, no line or column.
public struct ScenarioError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file, or the command-line argument the value came from (`--set load.connections=abc`).
    public let file: String
    /// 1-based; 0 when `file` names an argument, which has no lines.
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
        // A quoted value may span lines; the error stays on one.
        func oneLine(_ text: String) -> String { text.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\\n") }
        let location = line > 0 ? "\(oneLine(file)):\(line):\(column)" : oneLine(file)
        let text = oneLine(message)
        guard let key else { return "\(location): \(text)" }
        return "\(location): \(key): \(text)"
    }
}
