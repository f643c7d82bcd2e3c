import Foundation
import Testing
@testable import SockBench

/// `sockbench schema scenario|report`: JSON Schemas (draft 2020-12) written from the loader's key
/// tables and the report's Decodable definition. Checked with check-jsonschema and jsonschema from
/// PyPI: every shipped scenario and the committed copies validate, each key's forms agree with the
/// parser that reads them, and files the loader refuses for one key's value are refused too.
@Suite("JSON Schemas for scenarios and reports", .serialized)
struct SchemaTests {
    static let scenarioSchema = TestSupport.packageRoot + "/docs/schema/scenario.schema.json"
    static let reportSchema = TestSupport.packageRoot + "/docs/schema/report.schema.json"

    static func shippedScenarios() throws -> [String] {
        let folder = TestSupport.packageRoot + "/scenarios"
        return try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".yaml") }.sorted().map { folder + "/" + $0 }
    }

    /// check-jsonschema over `files`: its exit status and output.
    static func checkJSONSchema(_ schema: String, _ files: [String]) throws -> TestSupport.CommandResult {
        let tool = try #require(TestSupport.pythonTool("check-jsonschema"), Comment(rawValue: TestSupport.pythonSetup))
        return try TestSupport.program(tool, ["--schemafile", schema] + files)
    }

    @Test("the committed schemas are what `sockbench schema` prints, and both are valid draft 2020-12")
    func committedCopiesAreCurrent() throws {
        for (document, path) in [("scenario", Self.scenarioSchema), ("report", Self.reportSchema)] {
            let printed = try TestSupport.sockbench(["schema", document])
            #expect(printed.status == 0, "\(printed.stderr)")
            let committed = try String(contentsOfFile: path, encoding: .utf8)
            #expect(printed.stdout == committed, "docs/schema/\(document).schema.json is stale: sockbench schema \(document) > docs/schema/\(document).schema.json")
        }
        let tool = try #require(TestSupport.pythonTool("check-jsonschema"), Comment(rawValue: TestSupport.pythonSetup))
        let meta = try TestSupport.program(tool, ["--check-metaschema", Self.scenarioSchema, Self.reportSchema])
        #expect(meta.status == 0, "\(meta.stdout)\(meta.stderr)")
        let strict = try TestSupport.sockbench(["schema", "scenario", "--strict"])
        #expect(strict.status != 0 && strict.stderr.contains("--strict is for the report schema"))
    }

    @Test("every shipped scenario names the schema on its first line and validates against it")
    func shippedScenariosValidate() throws {
        let files = try Self.shippedScenarios()
        #expect(files.count >= 15)
        for file in files {
            let first = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").first.map(String.init) ?? ""
            #expect(first == "# yaml-language-server: $schema=../docs/schema/scenario.schema.json", "\(file)")
        }
        let result = try Self.checkJSONSchema(Self.scenarioSchema, files)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }

    /// A scenario with one value changed: `key` in `section` set to `value` (YAML text).
    static func variant(_ section: String, _ key: String, _ value: String) -> String {
        var sections: [String: [String]] = [
            "": ["name: variant"], "server": ["kind: tcp-echo"], "load": ["connections: 2", "duration: 1s"], "client": [], "capture": [], "impair": [],
        ]
        sections[section, default: []].removeAll { $0.hasPrefix(key + ":") }
        sections[section, default: []].append("\(key): \(value)")
        var text = sections[""]!.map { "\($0)\n" }.joined()
        for name in ["server", "client", "load", "capture", "impair"] where !(sections[name] ?? []).isEmpty {
            text += "\(name):\n" + sections[name]!.map { "  \($0)\n" }.joined()
        }
        return text
    }

    /// Values the loader reads, in the forms people write them: the schema must accept every one.
    static let accepted: [(String, String, String)] = [
        ("load", "duration", "1.5s"), ("load", "duration", "\"250 ms\""), ("load", "warmup", "0"), ("load", "warmup", "1e3ms"),
        ("load", "message_size", "16KiB"), ("load", "message_size", "1.5kB"), ("load", "message_size", "64"),
        ("load", "rate", "2.5k/s"), ("load", "rate", "500/s per connection"), ("load", "rate", "10/ms"),
        ("load", "batch_writes", "yes"), ("load", "batch_writes", "Off"), ("load", "batch_writes", "true"),
        ("load", "error_budget", "10"), ("load", "error_budget", "0.5%"), ("load", "depth", "1024"),
        ("client", "tcp_nodelay", "on"), ("client", "ip_tos", "0x10"), ("client", "tcp_keepidle", "30s"),
        ("client", "tcp_keepidle", "30"), ("client", "so_linger", "off"), ("client", "so_linger", "false"),
        ("client", "so_linger", "2s"), ("client", "so_sndbuf", "1MiB"), ("client", "tcp_congestion", "cubic"),
        ("server", "bind", "\"[::1]:0\""), ("server", "bind", "127.0.0.1:0"), ("server", "threads", "2"),
        ("capture", "snaplen", "128"), ("capture", "mode", "full"), ("capture", "every", "2s"),
        ("capture", "interface", "lo"), ("capture", "buffer_size", "8MiB"),
        // The loader reads a value's text, whatever YAML typed it: quoted numbers, numbers as text, null as "~".
        ("load", "connections", "\"16\""), ("", "repeat", "\"3\""), ("load", "reconnect", "\"1\""), ("load", "depth", "!!str 2"),
        ("load", "payload_hex", "0102"), ("", "description", ""), ("", "name", "~"), ("capture", "interface", "0"),
        ("client", "tcp_keepcnt", "\"5\""), ("client", "so_linger", "\"5\""), ("impair", "rate", "100mbps"),
        ("impair", "rate", "1e2mbit"), ("load", "error_budget", "1e-1%"), ("load", "error_budget", "'+5'"),
    ]

    /// Values the loader refuses for the value alone: the schema must refuse every one.
    static let refused: [(String, String, String)] = [
        ("load", "duration", "10"), ("load", "duration", "10 seconds"), ("load", "duration", "0x10s"),
        ("load", "connections", "0"), ("load", "connections", "100001"), ("load", "depth", "[1]"),
        ("load", "message_size", "16 KiBi"), ("load", "rate", "fast"), ("load", "batch_writes", "maybe"),
        ("load", "error_budget", "1.5"), ("load", "pattern", "streaming"), ("load", "conections", "2"),
        ("client", "tcp_nodelay", "sometimes"), ("client", "ip_tos", "256"), ("client", "tcp_maxseg", "30s"),
        ("client", "so_linger", "forever"), ("client", "tcp_keepcnt", "0"), ("client", "so_sndbufs", "1"),
        ("server", "kind", "tcp-echoes"), ("server", "threads", "65"), ("capture", "snaplen", "32"),
        ("capture", "interface", "\"not an interface\""), ("capture", "window", "10"), ("capture", "mode", "some"),
        ("server", "greeting", "''"), ("", "name", "' '"), ("load", "payload_hex", "abc"), ("client", "ip_tos", "0x+10"),
        ("client", "tcp_keepidle", "30S"), ("impair", "rate", "0x10mbit"), ("impair", "rate", "100mps"), ("impair", "delay", "0x10ms"),
        ("load", "error_budget", "0x1p-1%"),
    ]

    @Test("a value the loader reads passes the schema; a value it refuses fails it")
    func schemaAgreesWithTheLoader() throws {
        let directory = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var acceptedFiles: [String] = []
        for (index, (section, key, value)) in Self.accepted.enumerated() {
            let text = Self.variant(section, key, value)
            let path = directory + "/accepted-\(index).yaml"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            #expect(throws: Never.self, "the loader refuses \(section).\(key): \(value)") { try ScenarioLoader.load(path: path) }
            acceptedFiles.append(path)
        }
        let accepted = try Self.checkJSONSchema(Self.scenarioSchema, acceptedFiles)
        #expect(accepted.status == 0, "the schema refuses values the loader reads:\n\(accepted.stdout)\(accepted.stderr)")

        var disagreements: [String] = []
        for (index, (section, key, value)) in Self.refused.enumerated() {
            let text = Self.variant(section, key, value)
            let path = directory + "/refused-\(index).yaml"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            #expect(throws: ScenarioError.self, "the loader reads \(section).\(key): \(value)") { try ScenarioLoader.load(path: path) }
            let result = try Self.checkJSONSchema(Self.scenarioSchema, [path])
            if result.status == 0 { disagreements.append("\(section).\(key): \(value)") }
        }
        #expect(disagreements.isEmpty, "the schema accepts values the loader refuses: \(disagreements)")
    }

    @Test("server and load may come from the matrix alone; a matrix value written twice in two spellings is refused")
    func matrixOnlySectionsAndTwins() throws {
        let directory = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/matrix-only.yaml"
        try "name: m\nload: {duration: 1s}\nmatrix: {server.kind: [tcp-echo, tcp-rr]}\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: Never.self) { try ScenarioLoader.load(path: path) }
        let result = try Self.checkJSONSchema(Self.scenarioSchema, [path])
        #expect(result.status == 0, "\(result.stdout)")
        for values in ["[016, 16]", "[true, True]", "[16, '16', 16]"] {
            let twins = directory + "/twins.yaml"
            try "name: t\nserver: {kind: tcp-echo}\nload: {duration: 1s}\nmatrix: {load.connections: \(values)}\n"
                .replacingOccurrences(of: "load.connections: [true, True]", with: "client.tcp_nodelay: [true, True]")
                .write(toFile: twins, atomically: true, encoding: .utf8)
            #expect(throws: ScenarioError.self, "\(values)") { try ScenarioLoader.load(path: twins) }
        }
    }

    @Test("each quantity pattern matches exactly the strings its parser reads")
    func patternsMatchTheirParsers() throws {
        func matches(_ pattern: String, _ text: String) throws -> Bool {
            let regex = try NSRegularExpression(pattern: pattern)
            return regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
        }
        let numbers = ["0", "1", "64", "2.5", ".5", "5.", "1e3", "1E-2", "+3", "-1", "abc", "", "1.2.3", "0x10"]
        let durationUnits = ["ns", "us", "µs", "ms", "s", "m", "h", "", "sec", "S", " s"]
        let sizeUnits = ["KiB", "MiB", "GiB", "kB", "KB", "MB", "GB", "K", "k", "M", "G", "B", "", "kiB", " KiB", "b"]
        let rateUnits = ["/s", "/ms", "/m", "k/s", "K/s", "M/s", "/s per connection", "/s/connection", "/h", "", " / s"]
        var checked = 0
        var disagreements: [String] = []
        func agree(_ kind: String, _ pattern: String, _ text: String, parsed: Bool) throws {
            if try matches(pattern, text) != parsed { disagreements.append("\(kind) '\(text)': parser \(parsed ? "reads" : "refuses") it") }
        }
        for number in numbers {
            for unit in durationUnits {
                let text = number + unit
                // The parser also refuses durations past 1e18 ns; none of these come near.
                let parsed = if case .success = Quantity.nanoseconds(text) { true } else { false }
                try agree("duration", Quantity.durationPattern, text, parsed: parsed)
                checked += 1
            }
            for unit in sizeUnits {
                let text = number + unit
                let parsed = if case .success = Quantity.bytes(text) { true } else { false }
                // A fraction of a unit that is not whole bytes (`.5B`) is the parser's to refuse: the pattern cannot know.
                let whole = !(parsed == false && (try? matches(Quantity.sizePattern, text)) == true && Double(number).map { $0 != $0.rounded() } == true)
                if whole { try agree("size", Quantity.sizePattern, text, parsed: parsed) }
                checked += 1
            }
            for unit in rateUnits {
                let text = number + unit
                let rate = Quantity.rate(text)
                let parsed = if case .success = rate { true } else { false }
                // A rate under 0.001/s or past 1G/s is out of range, not out of form: the parser's to refuse.
                let inRange = if case .failure(let error) = rate { !error.expected.contains("from 0.001/s") } else { true }
                if inRange { try agree("rate", Quantity.ratePattern, text, parsed: parsed) }
                checked += 1
            }
        }
        #expect(checked > 400)
        #expect(disagreements.isEmpty, "\(disagreements)")
        for word in ["yes", "YES", "No", "oN", "off", "TRUE", "false"] {
            #expect(Quantity.boolean(word) != nil)
            #expect(try matches(BooleanKey.schema["anyOf"].flatMap { if case .array(let forms) = $0 { forms.last } else { nil } }?["pattern"]
                .flatMap { if case .string(let pattern) = $0 { pattern } else { nil } } ?? "^$", word), "\(word)")
        }
    }

    @Test("the matrix may vary exactly the keys the loader lets it, each with the key's own schema")
    func matrixKeysMatchTheLoader() throws {
        let schema = ScenarioSchema.document
        guard case .object(let properties)? = schema["$defs"]?["matrix"]?["properties"] else {
            Issue.record("no matrix properties")
            return
        }
        let loaderKeys = ScenarioLoader.matrixSections.flatMap { section, keys in keys.map { "\(section).\($0)" } }.sorted()
        #expect(properties.map(\.key).sorted() == loaderKeys)
        // Every key the loader checks in a section is in the section's schema, and no other.
        for (section, keys) in [("server", ScenarioLoader.serverKeys + ScenarioLoader.optionKeys), ("client", ScenarioLoader.optionKeys),
                                ("load", ScenarioLoader.loadKeys), ("capture", ScenarioLoader.captureKeys),
                                ("impair", ImpairmentSpec.keys), ("step", ScenarioLoader.stepKeys)] {
            guard case .object(let fields)? = schema["$defs"]?[section]?["properties"] else {
                Issue.record("no \(section) properties")
                continue
            }
            #expect(fields.map(\.key).sorted() == keys.sorted(), "\(section)")
        }
        guard case .object(let top)? = schema["properties"] else { return }
        #expect(top.map(\.key) == ScenarioLoader.topKeys)
    }

    @Test("the report schema closes every object when strict, and says every number's unit")
    func reportSchemaShape() throws {
        let strict = try ReportSchema.document(strict: true)
        var objects = 0, open = 0, numbers = 0, unitless: [String] = []
        func walk(_ node: JSONValue, _ path: String) {
            guard case .object = node else { return }
            if node["properties"] != nil {
                objects += 1
                if node["additionalProperties"] == nil { open += 1 }
            }
            if node.isNumber {
                numbers += 1
                let description = if case .string(let text)? = node["description"] { text } else { "" }
                if !(description.hasPrefix("Unit: ") || description.contains(": ")) { unitless.append(path) }
            }
            if case .object(let fields)? = node["properties"] { for field in fields { walk(field.value, path + "." + field.key) } }
            if let items = node["items"] { walk(items, path + "[]") }
            if let values = node["additionalProperties"] { walk(values, path + "{}") }
            if case .array(let forms)? = node["anyOf"] { for form in forms { walk(form, path) } }
        }
        walk(strict, "")
        #expect(objects > 40)
        #expect(open == 0)
        #expect(numbers > 300)
        #expect(unitless.isEmpty, "numbers without a unit: \(unitless)")
        // The units issue 17 named: in the schema, and the additive fields beside the old ones.
        let run = strict["properties"]?["runs"]?["items"]?["properties"]
        #expect(run?["capture"]?["properties"]?["snaplen_bytes"] != nil)
        #expect(strict["properties"]?["thresholds"]?["items"]?["properties"]?["unit"] != nil)
        #expect(run?["impairment"]?["properties"]?["delay_ns"] != nil)
        #expect(run?["settings"]?["items"]?["properties"]?["typed_value"] != nil)
        let sndbuf = run?["socket_options"]?["properties"]?["client"]?["properties"]?["requested"]?["properties"]?["so_sndbuf"]?["description"]
        let keepidle = run?["socket_options"]?["properties"]?["client"]?["properties"]?["effective"]?["properties"]?["tcp_keepidle"]?["description"]
        #expect(sndbuf.map { "\($0)".contains("bytes") } == true)
        #expect(keepidle.map { "\($0)".contains("seconds") } == true)
    }

    @Test("real reports validate against the strict schema; a field it does not know or a wrong type does not")
    func reportsValidate() throws {
        let directory = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A matrix with repetitions and thresholds (comparison, thresholds), and an impaired conversation-free UDP run.
        let scenario = directory + "/matrix.yaml"
        try """
        name: schema-matrix
        server: {kind: tcp-echo}
        load: {connections: 2, duration: 200ms, warmup: 0}
        matrix: {client.tcp_nodelay: [true, false]}
        repeat: 2
        thresholds: ['latency.p99 < 1s', 'errors.total == 0']
        """.write(toFile: scenario, atomically: true, encoding: .utf8)
        let out = directory + "/out"
        let before = ReportSchemaCheck.checked
        let run = try TestSupport.sockbench(["run", scenario, "--out", out, "--no-capture"], timeout: 120)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(ReportSchemaCheck.checked == before + 1, "TestSupport.sockbench did not check the report it wrote")
        let udp = directory + "/udp"
        let impaired = try TestSupport.sockbench(["run", "scenarios/impaired-echo.yaml", "--duration", "300ms", "--out", udp, "--no-capture"], timeout: 120)
        #expect(impaired.status == 0 || impaired.status == 3, "\(impaired.stderr)")
        let reports = [out + "/report.json", udp + "/report.json"]
        // Both validators: the reference jsonschema package and the fast one the suite-wide hook uses.
        for engine in [ReportSchemaCheck.Engine.jsonschema, .jsonschemaRS] {
            #expect(try ReportSchemaCheck.problems(reports, engine: engine) == nil, "\(engine)")
            #expect(try ReportSchemaCheck.problems(reports, schema: Self.reportSchema, engine: engine) == nil, "\(engine)")
        }

        // The typed fields carry what the text fields say.
        let report = try TestSupport.decodeReport(out)
        let setting = ((report["runs"] as? [[String: Any]])?.first?["settings"] as? [[String: Any]])?.first
        #expect(setting?["value"] as? String == "true" && setting?["typed_value"] as? Bool == true)
        let threshold = (report["thresholds"] as? [[String: Any]])?.first
        #expect(threshold?["unit"] as? String == "nanoseconds")

        // Controls: the same report with an unknown field, and with a number as a string.
        var extra = report
        extra["surprise"] = 1
        var wrongType = report
        var runs = wrongType["runs"] as! [[String: Any]]
        runs[0]["duration_s"] = "0.2"
        wrongType["runs"] = runs
        for (name, document) in [("extra", extra), ("wrong-type", wrongType)] {
            let path = directory + "/\(name).json"
            try JSONSerialization.data(withJSONObject: document).write(to: URL(fileURLWithPath: path))
            for engine in [ReportSchemaCheck.Engine.jsonschema, .jsonschemaRS] {
                #expect(try ReportSchemaCheck.problems([path], engine: engine) != nil, "\(name) validated with \(engine)")
            }
        }
        // The published (open) schema lets v1's additive fields through; the strict one does not.
        let extraPath = directory + "/extra.json"
        #expect(try ReportSchemaCheck.problems([extraPath], schema: Self.reportSchema) == nil)
    }
}
