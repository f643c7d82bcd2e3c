/// `sockbench schema report`: the JSON Schema (draft 2020-12) of `report.json`, learnt from the
/// report's own `Decodable` definition by `SchemaRecorder`, with every number's unit written in
/// its description (`ReportUnits`). `strict` closes every object: exactly what this version writes,
/// which the test suite checks its reports against; without it, v1's additive changes (new
/// fields) still validate against an older copy.
public enum ReportSchema {
    public static func document(strict: Bool = false) throws(SchemaError) -> JSONValue {
        let body = try SchemaRecorder.describe(Report.self, at: []).schema
        let described = ReportUnits.annotate(body, path: "", inherited: nil)
        let closed = strict ? close(described) : described
        let header: [(key: String, value: JSONValue)] = [
            ("$schema", .string(ScenarioSchema.draft)), ("title", .string("sockbench report (\(Report.schemaName))")),
            ("description", .string("report.json as sockbench \(SockBenchVersion.current) writes it\(strict ? ", every object closed" : ""). " + ReportUnits.convention)),
        ]
        guard case .object(let pairs) = closed else { return closed }
        return .object(header + pairs.map { pair in
            // `schema` is the one constant of v1.
            pair.key == "properties" ? (pair.key, pair.value.setting("schema", ["const": .string(Report.schemaName)])) : pair
        })
    }

    /// Every object that lists its properties allows no others.
    static func close(_ schema: JSONValue) -> JSONValue {
        switch schema {
        case .object(let pairs):
            var out = pairs.map { pair -> (key: String, value: JSONValue) in
                switch pair.key {
                case "properties", "$defs":
                    guard case .object(let fields) = pair.value else { return pair }
                    return (pair.key, .object(fields.map { ($0.key, close($0.value)) }))
                case "items", "additionalProperties": return (pair.key, close(pair.value))
                case "anyOf", "oneOf", "allOf":
                    guard case .array(let items) = pair.value else { return pair }
                    return (pair.key, .array(items.map(close)))
                default: return pair
                }
            }
            if schema["properties"] != nil, schema["additionalProperties"] == nil { out.append(("additionalProperties", false)) }
            return .object(out)
        default:
            return schema
        }
    }
}

extension Socket.Transport: JSONSchemaEnum {}
extension LoadSpec.Pattern: JSONSchemaEnum {}
extension LoadSpec.Direction: JSONSchemaEnum {}
extension ServerKind: JSONSchemaEnum {}
extension ImpairmentSpec.Direction: JSONSchemaEnum {}
extension Comparison.Verdict: JSONSchemaEnum {}
extension ReportMetric.Unit: JSONSchemaEnum {}
extension ReportMetric.Better: JSONSchemaEnum {}
extension Threshold.Comparison: JSONSchemaEnum {}
extension RunEvent.Kind: JSONSchemaEnum {}
extension CaptureRecord.Status: JSONSchemaEnum {}
extension SocketOption: JSONSchemaEnum {}

extension SocketOptionValue: JSONSchemaDescribed {
    static var jsonSchema: JSONValue { ["type": ["boolean", "integer", "string"]] }
    static var schemaSample: SocketOptionValue { .off }
}

extension SocketOptionSet: JSONSchemaDescribed {
    /// Keys are the options' kernel names, each with the value's unit.
    static var jsonSchema: JSONValue {
        ["type": "object", "properties": .object(SocketOption.allCases.map { ($0.rawValue, $0.reportSchema) }), "additionalProperties": false]
    }
    static var schemaSample: SocketOptionSet { SocketOptionSet() }
}

extension ErrorCounts: JSONSchemaDescribed {
    /// `total` is written, never read (it is the categories' sum).
    static var jsonSchema: JSONValue {
        let count: JSONValue = ["type": "integer", "minimum": 0]
        return ["type": "object", "properties": .object([("total", count)] + Category.allCases.map { ($0.rawValue, count) }),
                "required": .array(["total"] + Category.allCases.filter { !addedLater.contains($0) }.map { .string($0.rawValue) })]
    }
    static var schemaSample: ErrorCounts { ErrorCounts() }
}

extension CaptureRecord: JSONSchemaDescribed {
    /// The details and, once captured and analysed, the analysis figures at the same level.
    static var jsonSchema: JSONValue {
        get throws(SchemaError) {
            let details = try SchemaRecorder.describe(Details.self, at: [DynamicKey("capture")]).schema
            let analysis = try SchemaRecorder.describe(CaptureAnalysis.self, at: [DynamicKey("capture")]).schema
            guard case .object(let own)? = details["properties"], case .object(let figures)? = analysis["properties"] else { return details }
            return details.setting("properties", .object(own + figures.filter { figure in !own.contains { $0.key == figure.key } }))
        }
    }
    static var schemaSample: CaptureRecord { .notCaptured(.disabled, reason: "") }
}
