/// `sockbench schema scenario`: the JSON Schema (draft 2020-12) of a scenario file, written from
/// `ScenarioKeys` and `SocketOption`, the tables the loader reads every key through. It checks
/// what one key can say alone (names, types, ranges, units); the rules between keys (a UDP-only
/// option on TCP, `depth` with `pattern: stream`) stay the loader's, so `sockbench validate` is
/// still the last word.
public enum ScenarioSchema {
    public static let draft = "https://json-schema.org/draft/2020-12/schema"

    public static var document: JSONValue {
        [
            "$schema": .string(draft),
            "title": "sockbench scenario",
            "description": "A sockbench scenario (YAML or JSON). Durations carry their unit (500ms, 10s), sizes are bytes or carry one (16KiB), rates are per second (20k/s).",
            "type": "object",
            "required": ["name"],
            // server and load may come from the matrix alone (matrix: {server.kind: [...]}).
            "anyOf": [["required": ["server", "load"]], ["required": ["matrix"]]],
            "properties": properties(ScenarioKeys.Top.all),
            "additionalProperties": false,
            "$defs": [
                "server": section(ScenarioKeys.Server.all, options: true, required: ["kind"]),
                "client": section([], options: true),
                "load": section(ScenarioKeys.Load.all),
                "capture": section(ScenarioKeys.Capture.all),
                "impair": section(ScenarioKeys.Impair.all),
                "step": section(ScenarioKeys.Step.all).setting("minProperties", 1),
                "conversation": [
                    "type": "array", "minItems": 1,
                    "items": ["anyOf": [["const": "close"], ["$ref": "#/$defs/step"]]],
                ],
                "matrix": matrix,
            ],
        ]
    }

    static func properties(_ keys: [any ScenarioKey]) -> JSONValue {
        .object(keys.map { ($0.name, $0.schema) })
    }

    /// A mapping that holds `keys` (and the socket options, for server and client) and nothing else.
    static func section(_ keys: [any ScenarioKey], options: Bool = false, required: [String] = []) -> JSONValue {
        var pairs = keys.map { (key: $0.name, value: $0.schema) }
        if options { pairs += SocketOption.allCases.map { ($0.rawValue, $0.scenarioSchema) } }
        var schema: JSONValue = ["type": "object", "properties": .object(pairs), "additionalProperties": false]
        if !required.isEmpty { schema = schema.setting("required", .array(required.map { .string($0) })) }
        return schema
    }

    /// `matrix:` maps `section.key` to a list of that key's values (the sections `ScenarioLoader.matrixSections` allows).
    static var matrix: JSONValue {
        let options = SocketOption.allCases.map { (name: $0.rawValue, schema: $0.scenarioSchema) }
        func keys(_ list: [any ScenarioKey]) -> [(name: String, schema: JSONValue)] { list.map { ($0.name, $0.schema) } }
        let sections: [(String, [(name: String, schema: JSONValue)])] = [
            ("server", keys(ScenarioKeys.Server.all) + options), ("client", options),
            ("load", keys(ScenarioKeys.Load.all)), ("capture", keys(ScenarioKeys.Capture.all)),
        ]
        let pairs = sections.flatMap { section, keys in
            keys.map { key -> (key: String, value: JSONValue) in
                ("\(section).\(key.name)", ["type": "array", "minItems": 1, "uniqueItems": true, "items": key.schema])
            }
        }
        return ["type": "object", "minProperties": 1, "properties": .object(pairs), "additionalProperties": false,
                "description": "Each key is section.key with a list of values; at most 64 variants in all."]
    }
}
