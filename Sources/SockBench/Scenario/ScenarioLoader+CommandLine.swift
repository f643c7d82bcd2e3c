import Yams

/// Scenarios from the command line: a file with `--set` values on top, or a URL with no file.
/// Both build the YAML tree a file would give and read it with the same loader, so every check,
/// default and message is the file's; an error in a command-line value names that argument
/// (`--set load.connections=abc: load.connections: expected a whole number …`).
extension ScenarioLoader {
    /// The scenario file with `overrides` put in place, in order, before it is read. A matrix varies
    /// the document with the overrides in it; a key the matrix itself varies cannot be overridden.
    public static func load(path: String, overrides: [ScenarioOverride]) throws(ScenarioError) -> Scenario {
        let text = try read(path: path)
        guard !overrides.isEmpty else { return try load(text: text, path: path) }
        let root = try compose(text: text, path: path)
        // Command-line values get lines past the file's end, which tell their errors apart.
        let lines = text.reduce(1) { $1 == "\n" ? $0 + 1 : $0 }
        return try scenario(from: root, path: path, overrides: overrides, firstLine: lines + 1, base: nil)
    }

    /// The scenario `url` stands for (an external server of its transport, the default load, named
    /// after the URL), with `overrides` put in place. Its record says it came from the command line.
    public static func load(url: TargetURL, overrides: [ScenarioOverride] = []) throws(ScenarioError) -> Scenario {
        // The URL's own tree has no marks: the loader gives them line 1, which stands for the URL.
        var scenario = try scenario(from: url.document, path: url.text, overrides: overrides, firstLine: 2, base: url.text)
        scenario.sourcePath = commandLineSource
        if var matrix = scenario.matrix {
            for index in matrix.variants.indices { matrix.variants[index].scenario.sourcePath = commandLineSource }
            scenario.matrix = matrix
        }
        return scenario
    }

    /// `source` of a scenario that no file holds.
    public static let commandLineSource = "command line"

    /// Reads `root` with the overrides in it. An error on a line from `firstLine` on is about a
    /// command-line value and names it; with a `base`, every other error is about the base (a URL).
    static func scenario(from root: Node, path: String, overrides: [ScenarioOverride], firstLine: Int,
                         base: String?) throws(ScenarioError) -> Scenario {
        // A document that is no mapping is refused as it is, before a value could make it one.
        _ = try ScenarioDocument(file: path, path: "", node: root)
        var root = root
        var sources: [(lines: ClosedRange<Int>, source: String)] = []
        var line = firstLine
        for (index, override) in overrides.enumerated() {
            if let earlier = overrides[..<index].first(where: { $0.path == override.path }) {
                throw ScenarioError(file: override.source, line: 0, column: 0, key: override.key,
                                    message: "already set by \(earlier.source) on the same command line; give each key once")
            }
            try checkPath(override, in: root)
            let value = try valueNode(override, line: line)
            let last = line + override.value.reduce(0) { $1 == "\n" ? $0 + 1 : $0 }
            sources.append((line...last, override.source))
            line = last + 1
            root = setting(override.path[...], to: value, in: root)
        }
        // A matrix key is set by each variant, over the base document's value.
        if let matrix = root.mapping?.first(where: { $0.key.scalar?.string == "matrix" })
            .flatMap({ try? ScenarioDocument(file: path, path: "matrix", node: $0.value) }),
           let override = overrides.first(where: { override in matrix.entries.contains { $0.key == override.key } }) {
            throw ScenarioError(file: override.source, line: 0, column: 0, key: override.key,
                                message: "the matrix varies this key, so each variant sets its own value; change the values with --set matrix.\(override.key)=[…]")
        }
        do {
            return try scenario(from: root, path: path)
        } catch {
            if let from = sources.first(where: { $0.lines.contains(error.line) }) {
                throw ScenarioError(file: from.source, line: 0, column: 0, key: error.key, message: error.message)
            }
            if let base { throw ScenarioError(file: base, line: 0, column: 0, key: error.key, message: error.message) }
            throw error
        }
    }

    /// Sections whose keys hold values; any other top-level key holds a value itself.
    static var sectionKeys: [String: [String]] { matrixSections.merging(["impair": ImpairmentSpec.keys]) { $1 } }

    /// Refuses a key that goes into a value (`load.connections.x`), which would replace the value with keys.
    static func checkPath(_ override: ScenarioOverride, in root: Node) throws(ScenarioError) {
        let path = override.path
        var node: Node? = root
        for depth in path.indices.dropLast() {
            node = node?.mapping?.first { $0.key.scalar?.string == path[depth] }?.value
            let holdsValue = if let node {
                node.mapping == nil
            } else if depth == 0 {
                // Absent, but a key that holds a value (`name`, `repeat`, `thresholds`)…
                topKeys.contains(path[0]) && path[0] != "matrix" && sectionKeys[path[0]] == nil
            } else {
                // … or a section's key (`load.connections`).
                depth == 1 && sectionKeys[path[0]]?.contains(path[1]) == true
            }
            if holdsValue {
                let prefix = path[...depth].joined(separator: ".")
                throw ScenarioError(file: override.source, line: 0, column: 0, key: prefix,
                                    message: "holds a value, not keys; set it with --set \(prefix)=VALUE")
            }
        }
    }

    /// The override's value as a node marked on `line` (the YAML is read after `line - 1` empty lines).
    /// A flow list or mapping (`[1, 4]`, `{delay: 1ms}`) is YAML; any other text is one value as YAML
    /// reads a scalar (`false`, `'a b'`), or the text itself where YAML would see more (`p99: 2ms`).
    static func valueNode(_ override: ScenarioOverride, line: Int) throws(ScenarioError) -> Node {
        let padding = String(repeating: "\n", count: max(0, line - 1))
        func composed(_ text: String) -> Result<Node?, any Error> { Result { try Yams.compose(yaml: padding + text) } }
        let mark = (try? composed("''").get())??.mark
        let literal = Node.scalar(Node.Scalar(override.value, .implicit, .any, mark))
        guard override.isYAML else { return literal }
        let trimmed = override.value.trimmingWhitespace()
        let flow = trimmed.hasPrefix("[") || trimmed.hasPrefix("{")
        let quoted = trimmed.hasPrefix("\"") || trimmed.hasPrefix("'")
        switch composed(override.value) {
        case .success(let node?):
            if flow || node.scalar != nil { return node }
            return literal
        case .success(nil):
            // Empty, or only a comment: an empty value, as `key:` is in a file.
            return literal
        case .failure(let error):
            guard flow || quoted else { return literal }
            let problem = (error as? YamlError).map(describe) ?? "\(error)"
            throw ScenarioError(file: override.source, line: 0, column: 0, key: override.key,
                                message: "the value is not valid YAML: \(problem)")
        }
    }

    /// A Yams error's problem alone, without its position in the padded text.
    static func describe(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _): problem
        case .duplicatedKeysInMapping(let duplicates, _): "\(duplicates.joined(separator: ", ")) appears more than once"
        default: "\(error)"
        }
    }
}
