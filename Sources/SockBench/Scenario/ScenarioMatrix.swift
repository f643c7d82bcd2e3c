/// A scenario's `matrix:`: one variant per combination of the listed values, each a complete
/// scenario. The first key is the one compared; any further keys make groups, so with
/// `client.tcp_nodelay: [true, false]` first and `load.message_size: [64, 16384]` second, each
/// message size gets its own nodelay-on against nodelay-off comparison.
public struct ScenarioMatrix: Sendable, Equatable {
    /// Dotted keys in the order the scenario lists them.
    public var keys: [String]
    /// Every combination, the last key varying fastest (as nested loops in matrix order).
    public var variants: [Variant]

    /// Most variants one scenario may expand to (each is a full run, times `repeat`).
    public static let maximumVariants = 64

    public struct Variant: Sendable, Equatable {
        /// `tcp_nodelay=true, message_size=64`: the settings in matrix order.
        public var name: String
        public var settings: [Setting]
        public var scenario: Scenario

        /// The name without the compared (first) key: the group the variant is compared within.
        public var group: String { settings.dropFirst().map(\.text).joined(separator: ", ") }
        /// The compared key's value alone.
        public var label: String { settings.first?.text ?? name }
    }

    public struct Setting: Sendable, Equatable, Codable {
        public var key: String
        /// The value as written, in text (`true`, `64`, `16KiB`).
        public var value: String
        /// The value as YAML typed it: a boolean, a number or a string (absent in older reports).
        public var typedValue: ScalarValue?
        /// The short form used in names: the key's last part (`tcp_nodelay=true`), or the whole key
        /// when two matrix keys end alike (`client.tcp_nodelay`, `server.tcp_nodelay`).
        public var text: String
    }
}

extension Scenario {
    /// What `run` executes, in order within each repetition: the matrix's variants, or the scenario itself.
    public var runVariants: [ScenarioMatrix.Variant] {
        matrix?.variants ?? [ScenarioMatrix.Variant(name: "default", settings: [], scenario: self)]
    }
}
