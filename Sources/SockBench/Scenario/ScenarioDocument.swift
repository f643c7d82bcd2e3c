import Yams

/// A YAML (or JSON) mapping being read by the loader: knows its file and key path, so every
/// error it raises carries `file:line:column` and the dotted key.
struct ScenarioDocument {
    let file: String
    /// Dotted path of this mapping ("" at the top, "load", "server").
    let path: String
    let mark: Mark?
    let entries: [(key: String, keyMark: Mark?, value: Node)]

    init(file: String, path: String, node: Node) throws(ScenarioError) {
        self.file = file
        self.path = path
        self.mark = node.mark
        guard case .mapping(let mapping) = node else {
            throw ScenarioError(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1,
                                key: path.isEmpty ? nil : path,
                                message: "\(path.isEmpty ? "the scenario " : "")must be a mapping of keys to values, got \(Self.describe(node))")
        }
        var entries: [(String, Mark?, Node)] = []
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else {
                throw ScenarioError(file: file, line: keyNode.mark?.line ?? 1, column: keyNode.mark?.column ?? 1,
                                    key: path.isEmpty ? nil : path, message: "keys must be plain words, got \(Self.describe(keyNode))")
            }
            entries.append((key, keyNode.mark, value))
        }
        self.entries = entries
    }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    subscript(key: String) -> Node? { entries.first { $0.key == key }?.value }

    /// Rejects any key outside `keys`, suggesting the closest allowed one.
    func checkKeys(allowed keys: [any ScenarioKey]) throws(ScenarioError) {
        try checkKeys(allowed: keys.map(\.name))
    }

    // The loader reads values only through their `ScenarioKeys` entry, the one the schema is written from.
    func string(_ key: TextKey) throws(ScenarioError) -> String? { try string(key.name) }
    func boolean(_ key: BooleanKey) throws(ScenarioError) -> Bool? { try boolean(key.name) }
    func integer(_ key: IntegerKey) throws(ScenarioError) -> Int? { try integer(key.name, in: key.range) }
    func duration(_ key: DurationKey) throws(ScenarioError) -> UInt64? { try duration(key.name, minimum: key.minimum) }
    func rate(_ key: RateKey) throws(ScenarioError) -> LoadSpec.Rate? { try rate(key.name) }
    func address(_ key: AddressKey) throws(ScenarioError) -> SocketAddress? { try address(key.name) }
    func choice<T>(_ key: ChoiceKey<T>) throws(ScenarioError) -> T? { try choice(key.name, of: T.self) }
    /// `range` narrows the key's own (a UDP message_size); it must lie inside it.
    func size(_ key: SizeKey, in range: ClosedRange<Int>? = nil) throws(ScenarioError) -> Int? {
        precondition(range.map { key.range.contains($0.lowerBound) && key.range.contains($0.upperBound) } ?? true, "\(key.name): \(range!) is outside \(key.range)")
        return try size(key.name, in: range ?? key.range)
    }
    func string(_ key: ShapedKey) throws(ScenarioError) -> String? { try string(key.name) }

    /// Rejects any key outside `allowed`, suggesting the closest allowed one.
    func checkKeys(allowed: [String]) throws(ScenarioError) {
        for entry in entries where !allowed.contains(entry.key) {
            var message = "unknown key"
            if let suggestion = KeySuggestion.closest(to: entry.key, in: allowed) {
                message += "; did you mean '\(suggestion)'?"
            }
            message += (message.hasSuffix("?") ? " " : ". ") + "Allowed here: \(allowed.joined(separator: ", "))"
            throw ScenarioError(file: file, line: entry.keyMark?.line ?? 1, column: entry.keyMark?.column ?? 1,
                                key: keyPath(entry.key), message: message)
        }
    }

    func error(_ key: String, at node: Node?, _ message: String) -> ScenarioError {
        let mark = node?.mark ?? entries.first { $0.key == key }?.keyMark ?? self.mark
        return ScenarioError(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1, key: keyPath(key), message: message)
    }

    func missing(_ key: String, _ allowed: String) -> ScenarioError {
        ScenarioError(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1, key: keyPath(key),
                      message: "required key is missing; expected \(allowed)")
    }

    /// The scalar text of `key`, or nil when absent; a mapping or list where a value belongs is an error.
    func scalar(_ key: String, expected: String) throws(ScenarioError) -> String? {
        guard let node = self[key] else { return nil }
        guard let scalar = node.scalar else {
            throw error(key, at: node, "expected \(expected), got \(Self.describe(node))")
        }
        return scalar.string
    }

    private func string(_ key: String) throws(ScenarioError) -> String? {
        try scalar(key, expected: "a string")
    }

    private func boolean(_ key: String) throws(ScenarioError) -> Bool? {
        guard let text = try scalar(key, expected: "true or false") else { return nil }
        guard let value = Quantity.boolean(text) else { throw error(key, at: self[key], "expected true or false, got '\(text)'") }
        return value
    }

    private func integer(_ key: String, in range: ClosedRange<Int>) throws(ScenarioError) -> Int? {
        let expected = "a whole number from \(range.lowerBound) to \(range.upperBound)"
        guard let text = try scalar(key, expected: expected) else { return nil }
        guard let value = Int(text.trimmingWhitespace()), range.contains(value) else {
            throw error(key, at: self[key], "expected \(expected), got '\(text)'")
        }
        return value
    }

    private func size(_ key: String, in range: ClosedRange<Int>) throws(ScenarioError) -> Int? {
        let expected = "\(Quantity.sizeHelp), from \(Quantity.formatSize(range.lowerBound)) to \(Quantity.formatSize(range.upperBound))"
        guard let text = try scalar(key, expected: expected) else { return nil }
        guard case .success(let value) = Quantity.bytes(text), range.contains(value) else {
            throw error(key, at: self[key], "expected \(expected), got '\(text)'")
        }
        return value
    }

    private func duration(_ key: String, minimum: UInt64 = 0) throws(ScenarioError) -> UInt64? {
        guard let text = try scalar(key, expected: Quantity.durationHelp) else { return nil }
        switch Quantity.nanoseconds(text) {
        case .success(let ns) where ns >= minimum: return ns
        case .success: throw error(key, at: self[key], "must be at least \(Quantity.formatDuration(minimum)), got '\(text)'")
        case .failure: throw error(key, at: self[key], "expected \(Quantity.durationHelp), got '\(text)'")
        }
    }

    private func choice<T: RawRepresentable & CaseIterable>(_ key: String, of type: T.Type) throws(ScenarioError) -> T? where T.RawValue == String {
        let allowed = T.allCases.map(\.rawValue)
        guard let text = try scalar(key, expected: "one of \(allowed.joined(separator: ", "))") else { return nil }
        if let value = T(rawValue: text) { return value }
        var message = "'\(text)' is not allowed"
        if let suggestion = KeySuggestion.closest(to: text, in: allowed) { message += "; did you mean '\(suggestion)'?" }
        throw error(key, at: self[key], message + "; allowed: \(allowed.joined(separator: ", "))")
    }

    private func rate(_ key: String) throws(ScenarioError) -> LoadSpec.Rate? {
        guard let text = try scalar(key, expected: Quantity.rateHelp) else { return nil }
        guard case .success(let rate) = Quantity.rate(text) else {
            throw error(key, at: self[key], "expected \(Quantity.rateHelp), from 0.001/s to 1G/s, got '\(text)'")
        }
        return LoadSpec.Rate(perSecond: rate.perSecond, perConnection: rate.perConnection)
    }

    private func address(_ key: String) throws(ScenarioError) -> SocketAddress? {
        guard let text = try scalar(key, expected: "an address such as 127.0.0.1:8080, [::1]:8080, unix:/path or unixgram:/path") else { return nil }
        do {
            return try SocketAddress(parsing: text)
        } catch {
            throw self.error(key, at: self[key], "\(error.reason), got '\(text)'")
        }
    }

    /// The socket options among this mapping's keys (client and server sections hold them directly);
    /// `address` is the server's, so an option a unix socket cannot take is refused with the reason.
    func socketOptions(transport: Socket.Transport, address: SocketAddress? = nil) throws(ScenarioError) -> SocketOptionSet {
        var options = SocketOptionSet()
        for option in SocketOption.allCases {
            guard let node = self[option.rawValue] else { continue }
            guard let text = node.scalar?.string else {
                throw error(option.rawValue, at: node, "expected \(option.allowedValues), got \(Self.describe(node))")
            }
            guard let value = option.parseValue(text) else {
                throw error(option.rawValue, at: node, "expected \(option.allowedValues), got '\(text)'")
            }
            if let address, let refusal = option.unixRefusal(for: address) {
                throw error(option.rawValue, at: node, refusal)
            }
            if option.isTCPOnly, transport == .udp {
                throw error(option.rawValue, at: node, "\(option.rawValue) applies to TCP sockets only, and this scenario uses UDP")
            }
            options[option] = value
        }
        return options
    }

    static func describe(_ node: Node) -> String {
        switch node {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .scalar(let scalar): "'\(scalar.string)'"
        case .alias: "an alias"
        }
    }
}
