/// Socket options in the JSON Schemas: what a scenario may write for each (what `parseValue`
/// reads) and what a report holds (what getsockopt read back), each with its unit. The option
/// names are the kernel's, so the unit is in the schema's description rather than the name.
extension SocketOption {
    /// The unit of the option's value, in words.
    public var unitText: String {
        switch kind {
        case .bool: "on or off"
        case .size: "bytes (the kernel doubles SO_SNDBUF and SO_RCVBUF when read back)"
        case .linger: "seconds to linger on close, or off"
        case .text: "a congestion control algorithm's name"
        case .integer(_, let unit): unit.isEmpty ? "the IP TOS byte (IPv6: the traffic class)" : unit
        }
    }

    /// What a scenario may write, as YAML parses it.
    var scenarioSchema: JSONValue {
        let description = JSONValue.string("\(rawValue.uppercased()): \(unitText); \(allowedValues).")
        let duration: JSONValue = ["type": "string", "pattern": .string(Quantity.durationPattern)]
        let schema: JSONValue
        switch kind {
        case .bool:
            schema = BooleanKey.schema
        case .size:
            schema = ["anyOf": [["type": "integer", "minimum": 0, "maximum": .integer(Int(Int32.max))],
                                ["type": "string", "pattern": .string(Quantity.sizePattern)]]]
        case .linger:
            let off = ["false", "no", "off"].map(anyCase).joined(separator: "|")
            schema = ["anyOf": [["const": false], ["type": "integer", "minimum": 0, "maximum": 65535], quotedInteger,
                                ["type": "string", "pattern": .string(#"^\s*("# + off + #")\s*$"#)], duration]]
        case .text:
            schema = ["type": "string", "pattern": #"^\s*[A-Za-z0-9_]{1,15}\s*$"#]
        case .integer(let range, _):
            var forms: [JSONValue] = [["type": "integer", "minimum": .integer(range.lowerBound), "maximum": .integer(range.upperBound)],
                                      ["type": "string", "pattern": #"^\s*0[xX][0-9A-Fa-f]+\s*$"#], quotedInteger]
            if acceptsDuration { forms.append(duration) }
            schema = ["anyOf": .array(forms)]
        }
        return schema.setting("description", description)
    }

    /// Options counted in seconds also take a duration in whole seconds (`tcp_keepidle: 30s`).
    var acceptsDuration: Bool {
        guard case .integer(_, let unit) = kind else { return false }
        return unit == "seconds"
    }

    /// What a report holds for the option.
    var reportSchema: JSONValue {
        let value: JSONValue
        switch kind {
        case .bool: value = ["type": "boolean"]
        case .size, .integer: value = ["type": "integer"]
        case .linger: value = ["anyOf": [["type": "integer", "minimum": 0, "description": "Unit: seconds."], ["const": "off"]]]
        case .text: value = ["type": "string"]
        }
        return value.setting("description", .string("\(rawValue.uppercased()): \(unitText)."))
    }
}
