/// A key a scenario mapping may hold: its name, what its value must be, and what it means.
/// The loader reads every value through one of these (`doc.integer(ScenarioKeys.Load.connections)`),
/// and `sockbench schema scenario` is written from the same values, so the two cannot disagree on
/// a key's name, its range or its unit.
protocol ScenarioKey: Sendable {
    var name: String { get }
    /// One sentence, with the unit when the value has one.
    var help: String { get }
    /// The JSON Schema of the value as YAML parses it (`5s` is a string, `64` an integer).
    var valueSchema: JSONValue { get }
}

extension ScenarioKey {
    /// `valueSchema` with the help as its description.
    var schema: JSONValue { valueSchema.setting("description", .string(help)) }
}

/// A whole number in a range (`connections: 16`).
struct IntegerKey: ScenarioKey {
    let name: String
    let range: ClosedRange<Int>
    let help: String

    var valueSchema: JSONValue {
        ["anyOf": [["type": "integer", "minimum": .integer(range.lowerBound), "maximum": .integer(range.upperBound)], quotedInteger]]
    }
}

/// A whole number in quotes (`"16"`): the loader reads a value's text, whatever YAML typed it.
let quotedInteger: JSONValue = ["type": "string", "pattern": #"^\s*[+-]?\d+\s*$"#]

/// Bytes, plain or with a unit (`message_size: 16KiB`).
struct SizeKey: ScenarioKey {
    let name: String
    let range: ClosedRange<Int>
    let help: String

    var valueSchema: JSONValue {
        ["anyOf": [["type": "integer", "minimum": .integer(range.lowerBound), "maximum": .integer(range.upperBound)],
                   ["type": "string", "pattern": .string(Quantity.sizePattern)]]]
    }
}

/// A duration with its unit (`duration: 10s`), or a bare 0.
struct DurationKey: ScenarioKey {
    let name: String
    let minimum: UInt64
    let help: String

    init(_ name: String, minimum: UInt64 = 0, _ help: String) {
        self.name = name
        self.minimum = minimum
        self.help = help
    }

    var valueSchema: JSONValue {
        let text: JSONValue = ["type": "string", "pattern": .string(Quantity.durationPattern)]
        return minimum == 0 ? ["anyOf": [["const": 0], text]] : text
    }
}

/// Events per second (`rate: 20k/s`, `500/s per connection`).
struct RateKey: ScenarioKey {
    let name: String
    let help: String

    var valueSchema: JSONValue { ["type": "string", "pattern": .string(Quantity.ratePattern)] }
}

/// true or false, and the words `Quantity.boolean` reads as them (`yes`, `off`, in any case).
struct BooleanKey: ScenarioKey {
    let name: String
    let help: String
    var trueOnly = false

    var valueSchema: JSONValue { trueOnly ? Self.trueOnly : Self.schema }

    static var schema: JSONValue {
        schema(words: Quantity.trueWords + Quantity.falseWords)
    }

    /// `expect_close` and a step's `close` take only true.
    static var trueOnly: JSONValue { schema(words: Quantity.trueWords) }

    private static func schema(words: [String]) -> JSONValue {
        let flags = words.compactMap { Quantity.boolean($0) }
        let pattern = #"^\s*("# + words.map(anyCase).joined(separator: "|") + #")\s*$"#
        let literals: [JSONValue] = Set(flags).sorted { !$0 && $1 }.map { .bool($0) } + words.compactMap { Int($0) }.map { .integer($0) }
        return ["anyOf": [["enum": .array(literals)], ["type": "string", "pattern": .string(pattern)]]]
    }
}

/// `yes` as `[yY][eE][sS]`, for words read in any case: ECMA-262 patterns have no case-insensitive flag.
func anyCase(_ word: String) -> String {
    word.map { $0.isLetter ? "[\($0.lowercased())\($0.uppercased())]" : String($0) }.joined()
}

/// Text: a name, a description, bytes to send. YAML may hand a number or a boolean over (`name: 2024`),
/// which the loader reads as its text, so those are allowed too.
struct TextKey: ScenarioKey {
    let name: String
    let help: String
    var minLength = 0
    var maxLength: Int?
    /// Text that must hold more than spaces (a name).
    var visible = false

    init(_ name: String, minLength: Int = 0, maxLength: Int? = nil, visible: Bool = false, _ help: String) {
        self.name = name
        self.minLength = minLength
        self.maxLength = maxLength
        self.visible = visible
        self.help = help
    }

    /// YAML's null (`~`, `null`, nothing) reaches the loader as its text, so it is allowed where
    /// that text is (`description:` left empty is ""; `name: ~` is the name "~").
    var valueSchema: JSONValue {
        var text: JSONValue = ["type": "string"]
        if minLength > 0 { text = text.setting("minLength", .integer(minLength)) }
        if let maxLength { text = text.setting("maxLength", .integer(maxLength)) }
        if visible { text = text.setting("pattern", #"\S"#) }
        return ["anyOf": [text, ["type": ["number", "boolean", "null"]]]]
    }
}

/// One of an enum's raw values (`pattern: stream`).
struct ChoiceKey<Choice: RawRepresentable & CaseIterable & Sendable>: ScenarioKey where Choice.RawValue == String {
    let name: String
    let help: String

    init(_ name: String, _ choices: Choice.Type, _ help: String) {
        self.name = name
        self.help = help
    }

    var valueSchema: JSONValue { ["enum": .array(Choice.allCases.map { .string($0.rawValue) })] }
}

/// A socket address (`127.0.0.1:7000`, `[::1]:7000`, `unix:/run/app.sock`, `unixgram:/run/app.sock`).
struct AddressKey: ScenarioKey {
    let name: String
    let help: String

    var valueSchema: JSONValue {
        ["type": "string", "pattern": #"^(unix:|unixgram:)\S|^\[[^\]]+\]:\d+$|^[^\s:\[\]]+:\d+$"#,
         "examples": ["127.0.0.1:7000", "[::1]:7000", "unix:/run/app.sock"]]
    }
}

/// A value the loader parses with its own rules (steps, expectations, budgets): the schema is written here.
struct ShapedKey: ScenarioKey {
    let name: String
    let help: String
    let valueSchema: JSONValue

    init(_ name: String, _ help: String, schema: JSONValue) {
        self.name = name
        self.help = help
        self.valueSchema = schema
    }
}

extension IntegerKey {
    init(_ name: String, _ range: ClosedRange<Int>, _ help: String) { self.init(name: name, range: range, help: help) }
}

extension SizeKey {
    init(_ name: String, _ range: ClosedRange<Int>, _ help: String) { self.init(name: name, range: range, help: help) }
}

extension RateKey {
    init(_ name: String, _ help: String) { self.init(name: name, help: help) }
}

extension BooleanKey {
    init(_ name: String, trueOnly: Bool = false, _ help: String) { self.init(name: name, help: help, trueOnly: trueOnly) }
}

extension JSONValue {
    /// This schema, or the same value as YAML may type it otherwise (`payload_hex: 0102` is a number, read as its text).
    var orScalar: JSONValue { ["anyOf": [self, ["type": ["number", "boolean"]]]] }
}

extension AddressKey {
    init(_ name: String, _ help: String) { self.init(name: name, help: help) }
}
