import Yams

/// A scenario value as YAML 1.2's core schema types it, for reports that carry it as JSON
/// (`runs[].settings[].typed_value`): `true` is a boolean, `64` a number, `"64"` and `16KiB` strings.
public enum ScalarValue: Sendable, Equatable, Codable {
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case text(String)

    /// Nil for YAML's null (`~`, `null`, nothing), which has no JSON value here.
    init?(_ node: Node) {
        guard let scalar = node.scalar else { return nil }
        let text = scalar.string
        if scalar.style == .singleQuoted || scalar.style == .doubleQuoted { self = .text(text); return }
        let unsigned = text.hasPrefix("-") ? String(text.dropFirst()) : text
        if ["", "~", "null", "Null", "NULL"].contains(text) { return nil }
        if ["true", "True", "TRUE"].contains(text) { self = .bool(true) }
        else if ["false", "False", "FALSE"].contains(text) { self = .bool(false) }
        else if let integer = Int(text) { self = .integer(integer) }
        else if Quantity.isDecimal(unsigned), let number = Double(text), number.isFinite { self = .number(number) }
        else { self = .text(text) }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let flag = try? container.decode(Bool.self) { self = .bool(flag) }
        else if let integer = try? container.decode(Int.self) { self = .integer(integer) }
        else if let number = try? container.decode(Double.self) { self = .number(number) }
        else { self = .text(try container.decode(String.self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .bool(let flag): try container.encode(flag)
        case .integer(let integer): try container.encode(integer)
        case .number(let number): try container.encode(number)
        case .text(let text): try container.encode(text)
        }
    }
}

extension ScalarValue: JSONSchemaDescribed {
    static var jsonSchema: JSONValue { ["type": ["boolean", "number", "string"]] }
    static var schemaSample: ScalarValue { .text("") }
}
