/// A scenario value given on the command line: `--set load.connections=4`, or a flag that stands
/// for one key (`--connections 4`). The loader puts it into the YAML tree before reading it, so a
/// value from the command line meets the same checks, defaults and messages as one in a file;
/// its errors name the argument instead of a file and line.
public struct ScenarioOverride: Sendable, Equatable {
    /// The dotted key: `load.connections`, `client.tcp_nodelay`; under `matrix` the rest is one
    /// matrix key (`matrix.client.tcp_nodelay`).
    public var key: String
    /// The value's text.
    public var value: String
    /// True: `value` is YAML (`false`, `'quoted'`, `[1, 4, 16]`, `{delay: 1ms}`); false: it is the text itself.
    public var isYAML: Bool
    /// The argument as the user wrote it, which errors name: `--set load.connections=abc`, `--connections abc`.
    public var source: String

    /// A flag's value for `key`, taken as it is.
    public init(key: String, text: String, source: String) {
        self.key = key
        value = text
        isYAML = false
        self.source = source
    }

    /// `KEY=VALUE` as `--set` takes it; VALUE is YAML.
    public init(setting argument: String) throws(ScenarioError) {
        let source = "--set \(argument)"
        guard let equals = argument.firstIndex(of: "=") else {
            throw ScenarioError(file: source, line: 0, column: 0, key: nil,
                                message: "expected KEY=VALUE with a dotted scenario key, e.g. --set load.connections=4 or --set client.tcp_nodelay=false")
        }
        key = String(argument[..<equals]).trimmingWhitespace()
        value = String(argument[argument.index(after: equals)...])
        isYAML = true
        self.source = source
        guard !key.isEmpty, !path.contains(where: \.isEmpty) else {
            throw ScenarioError(file: source, line: 0, column: 0, key: nil,
                                message: "'\(key)' is not a dotted scenario key such as load.connections, client.tcp_nodelay or capture.mode")
        }
    }

    /// The key's parts, one per mapping: `matrix.load.connections` is `matrix` then `load.connections`.
    public var path: [String] {
        let parts = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.first == "matrix", parts.count > 2 else { return parts }
        return ["matrix", parts.dropFirst().joined(separator: ".")]
    }
}
