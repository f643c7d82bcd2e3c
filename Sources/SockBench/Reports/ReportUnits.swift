/// The unit of every number in a report, written into the report schema's descriptions. A name
/// says its unit by its suffix (`_ns`, `_s`, `_bytes`, `_percent`, `per_second`), an object's name
/// holds for the numbers in it (`latency_ns.p99`, `bytes.client_to_server`), and a number with
/// neither is a count, unless `named` says otherwise: the fields whose names predate the rule,
/// kept as they are in v1 (docs/report.md lists them).
enum ReportUnits {
    static let convention = "Units: a name ending in _ns is nanoseconds, _unix_ns nanoseconds since the Unix epoch, _s seconds, _bytes bytes, _percent percent, per_second per second; numbers inside an object so named share its unit; other numbers are counts unless their description says otherwise."

    /// Suffixes, longest first, and the unit each names.
    static let suffixes: [(suffix: String, unit: String)] = [
        ("_unix_ns", "nanoseconds since the Unix epoch"), ("_bytes_per_connection", "bytes per connection"),
        ("_per_second", "per second"), ("_ns", "nanoseconds"), ("_s", "seconds"),
        ("_bytes", "bytes"), ("_percent", "percent"), ("_segments", "segments"),
    ]
    /// Prefixes that name the unit (`bytes_per_second_sent`, `bits_per_second_received`, `bytes_sent`).
    static let prefixes: [(prefix: String, unit: String)] = [
        ("bytes_per_second", "bytes per second"), ("bits_per_second", "bits per second"), ("bytes_", "bytes"),
    ]

    /// Numbers (or objects of numbers) whose name does not say their unit, by path (`[]` for any element).
    static let named: [String: String] = [
        "scenario.capture.snaplen": "bytes (also in snaplen_bytes)",
        "runs[].capture.snaplen": "bytes (also in snaplen_bytes)",
        "runs[].capture.bytes": "bytes",
        "runs[].capture.flows[].bytes": "bytes",
        "runs[].warmup.capture.bytes": "bytes",
        "runs[].warmup.capture.flows[].bytes": "bytes",
        "runs[].capture.observer_effect.ratio": "a ratio (capture on over capture off)",
        "runs[].capture.tcp.segments_per_message": "segments per message",
        "runs[].warmup.capture.tcp.segments_per_message": "segments per message",
        "runs[].kernel_counters[].delta": "the counter's own (packets, segments or events, as nstat counts them)",
        "runs[].warmup.kernel_counters[].delta": "the counter's own (packets, segments or events, as nstat counts them)",
        "comparison.alpha": "a probability (0 to 1)",
        "comparison.groups[].metrics[].cells[].p_value": "a probability (0 to 1)",
        "comparison.groups[].metrics[].cells[].summary": "the metric's (comparison.groups[].metrics[].unit)",
        "comparison.groups[].metrics[].cells[].values": "the metric's (comparison.groups[].metrics[].unit)",
        "thresholds[].measured": "the metric's (thresholds[].unit)",
    ]

    static func unit(of name: String) -> String? {
        prefixes.first { name.hasPrefix($0.prefix) }?.unit ?? suffixes.first { name.hasSuffix($0.suffix) }?.unit
    }

    /// `schema` with a unit in the description of every number: its own name's, or `inherited`
    /// from the enclosing object's. `path` is dotted, `[]` for array elements.
    static func annotate(_ schema: JSONValue, path: String, inherited: String?) -> JSONValue {
        guard case .object(let pairs) = schema else { return schema }
        let name = path.split(separator: ".").last.map { String($0.replacing("[]", with: "")) } ?? ""
        let own = named[path.replacing("[][]", with: "[]")] ?? unit(of: name) ?? inherited
        var out: [(key: String, value: JSONValue)] = pairs.map { pair in
            switch pair.key {
            case "properties":
                guard case .object(let fields) = pair.value else { return pair }
                return (pair.key, .object(fields.map { ($0.key, annotate($0.value, path: path.isEmpty ? $0.key : "\(path).\($0.key)", inherited: own)) }))
            case "items":
                return (pair.key, annotate(pair.value, path: path + "[]", inherited: own))
            case "additionalProperties":
                return (pair.key, annotate(pair.value, path: path + "{}", inherited: own))
            default:
                return pair
            }
        }
        if schema.isNumber, schema["description"] == nil {
            // A count inside a unit's object (`latency_ns.count`) is still a count.
            let unit = named[path] ?? (name == "count" || name == "samples" || name == "n" ? nil : own) ?? "count"
            out.append(("description", .string("Unit: \(unit).")))
        }
        return .object(out)
    }
}

extension JSONValue {
    /// A schema whose type is integer or number.
    var isNumber: Bool {
        switch self["type"] {
        case .string("integer")?, .string("number")?: true
        default: false
        }
    }
}
