import Foundation
import Yams

extension ScenarioLoader {
    /// The sections a matrix key may vary, with the keys each allows.
    static var matrixSections: [String: [String]] {
        ["server": serverKeys + optionKeys, "client": optionKeys, "load": loadKeys, "capture": captureKeys]
    }

    /// Expands `matrix:` into one scenario per combination of values. Each variant is the whole
    /// document with the values put in place and loaded again, so a matrix value that does not fit
    /// (a UDP-only option on TCP, a size out of range) fails with its own line, like any other value.
    static func expandMatrix(_ node: Node, root: Node, path: String) throws(ScenarioError) -> ScenarioMatrix {
        let doc = try ScenarioDocument(file: path, path: "matrix", node: node)
        guard !doc.entries.isEmpty else { throw doc.error("matrix", at: node, "a matrix needs at least one key with a list of values") }
        var axes: [(key: String, values: [Node])] = []
        for entry in doc.entries {
            try checkMatrixKey(entry.key, doc: doc)
            guard case .sequence(let sequence) = entry.value, !sequence.isEmpty else {
                throw doc.error(entry.key, at: entry.value, "expected a list of values such as [true, false], got \(ScenarioDocument.describe(entry.value))")
            }
            var seen: [(text: String, typed: ScalarValue?)] = []
            for value in sequence {
                guard let text = value.scalar?.string else {
                    throw doc.error(entry.key, at: value, "each value must be a single value, got \(ScenarioDocument.describe(value))")
                }
                // `16` and `016`, `true` and `True` are one value written twice: two identical variants.
                let typed = ScalarValue(value)
                if let twin = seen.first(where: { $0.text == text || (typed != nil && $0.typed == typed) }) {
                    throw doc.error(entry.key, at: value, twin.text == text ? "'\(text)' is listed twice" : "'\(text)' is listed twice (as '\(twin.text)')")
                }
                seen.append((text, typed))
            }
            axes.append((entry.key, Array(sequence)))
        }
        let count = try variantCount(axes.map(\.values.count), doc: doc, node: node)
        let shortNames = axes.map { $0.key.split(separator: ".").last.map(String.init) ?? $0.key }
        let names = axes.indices.map { axis in
            shortNames.filter { $0 == shortNames[axis] }.count > 1 ? axes[axis].key : shortNames[axis]
        }

        var variants: [ScenarioMatrix.Variant] = []
        for index in 0..<count {
            // The last key varies fastest, as nested loops in matrix order would.
            var rest = index
            var picks = [Int](repeating: 0, count: axes.count)
            for axis in axes.indices.reversed() {
                picks[axis] = rest % axes[axis].values.count
                rest /= axes[axis].values.count
            }
            var variantRoot = root
            var settings: [ScenarioMatrix.Setting] = []
            for (axis, pick) in picks.enumerated() {
                let value = axes[axis].values[pick]
                variantRoot = setting(axes[axis].key.split(separator: ".").map(String.init)[...], to: value, in: variantRoot)
                let text = value.scalar?.string ?? ""
                settings.append(.init(key: axes[axis].key, value: text, typedValue: ScalarValue(value), text: "\(names[axis])=\(text)"))
            }
            let top = try ScenarioDocument(file: path, path: "", node: variantRoot)
            let scenario = try singleScenario(top, path: path)
            variants.append(.init(name: settings.map(\.text).joined(separator: ", "), settings: settings, scenario: scenario))
        }
        return ScenarioMatrix(keys: axes.map(\.key), variants: variants)
    }

    /// The number of combinations, refused once it passes `ScenarioMatrix.maximumVariants`: the
    /// product stops growing there, so 7 keys × 600 values cannot overflow on the way.
    static func variantCount(_ sizes: [Int], doc: ScenarioDocument, node: Node) throws(ScenarioError) -> Int {
        var count = 1
        for size in sizes {
            count *= size // count is at most maximumVariants here, and no list holds Int.max / 64 values
            guard count <= ScenarioMatrix.maximumVariants else {
                throw ScenarioError(file: doc.file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1, key: "matrix",
                                    message: "expands to \(Self.product(sizes)) variants; at most \(ScenarioMatrix.maximumVariants) are allowed")
            }
        }
        return count
    }

    /// `sizes` multiplied out in words, `more than 9223372036854775807` past Int.
    /// `600 × 600 × … = 2.8e+19`: the sizes and their product, in a Double so it cannot overflow.
    static func product(_ sizes: [Int]) -> String {
        let product = sizes.reduce(1.0) { $0 * Double($1) }
        let exact = product < 1e15 ? String(Int(product)) : String(format: "%.1e", product)
        return sizes.map(String.init).joined(separator: " × ") + " = " + exact
    }

    static func checkMatrixKey(_ key: String, doc: ScenarioDocument) throws(ScenarioError) {
        let parts = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let sections = matrixSections
        let all = sections.flatMap { section, keys in keys.map { "\(section).\($0)" } }.sorted()
        guard parts.count == 2, let allowed = sections[parts[0]], allowed.contains(parts[1]) else {
            var message = "'\(key)' is not a scenario key a matrix can vary; write section.key (server, client, load or capture)"
            if let suggestion = KeySuggestion.closest(to: key, in: all) { message += "; did you mean '\(suggestion)'?" }
            throw doc.error(key, at: nil, message)
        }
    }

    /// `node` with the value at `path` replaced (or added, with any missing mapping on the way).
    /// Keys and mappings added take the value's mark, so an error about them points where the value was written.
    static func setting(_ path: ArraySlice<String>, to value: Node, in node: Node?) -> Node {
        guard let key = path.first else { return value }
        var pairs: [(Node, Node)] = []
        var mark: Mark?
        if case .mapping(let mapping)? = node {
            pairs = mapping.map { ($0.key, $0.value) }
            mark = mapping.mark
        }
        if let index = pairs.firstIndex(where: { $0.0.scalar?.string == key }) {
            pairs[index].1 = setting(path.dropFirst(), to: value, in: pairs[index].1)
        } else {
            pairs.append((.scalar(Node.Scalar(key, .implicit, .any, value.mark)), setting(path.dropFirst(), to: value, in: nil)))
        }
        return .mapping(Node.Mapping(pairs, .implicit, .any, mark ?? value.mark))
    }

    /// `thresholds:`, a list of expressions, each checked against the report fields now.
    static func thresholdList(_ top: ScenarioDocument) throws(ScenarioError) -> [Threshold] {
        guard let node = top["thresholds"] else { return [] }
        guard case .sequence(let items) = node else {
            throw top.error("thresholds", at: node, "expected a list of expressions such as ['latency.p99 < 2ms'], got \(ScenarioDocument.describe(node))")
        }
        var thresholds: [Threshold] = []
        for (index, item) in items.enumerated() {
            let key = "thresholds[\(index)]"
            guard let text = item.scalar?.string else {
                throw top.error(key, at: item, "expected an expression \(Threshold.syntaxHelp), got \(ScenarioDocument.describe(item))")
            }
            switch Threshold.parse(text) {
            case .success(let threshold): thresholds.append(threshold)
            case .failure(let error): throw top.error(key, at: item, error.message)
            }
        }
        return thresholds
    }

    /// `steps.NAME.…` thresholds against the conversation's named steps (a matrix cannot vary the
    /// conversation): a step the scenario does not have is refused at the threshold's line.
    static func checkStepThresholds(_ top: ScenarioDocument, _ thresholds: [Threshold], stepNames: [String]) throws(ScenarioError) {
        guard case .sequence(let items)? = top["thresholds"] else { return }
        for (index, (item, threshold)) in zip(items, thresholds).enumerated() {
            if let message = threshold.unknownStepMessage(stepNames: stepNames) { throw top.error("thresholds[\(index)]", at: item, message) }
        }
    }
}
