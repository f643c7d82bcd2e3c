import Foundation
import FoundationXML
import Testing
@testable import SockBench

/// `--junit` files as the CI systems that read them see them: valid against Jenkins xunit's
/// junit-10.xsd and the Apache Ant JUnit schema (copies in Fixtures/junit, validated with the
/// `xmlschema` package), with the counts, time, timestamp, hostname and properties filled in, and
/// testcase names that stay distinct when a run's and a check's files are published together.
@Suite("JUnit files against the Jenkins and Ant schemas", .serialized)
struct JUnitSchemaTests {
    static let schemas = ["jenkins-junit-10.xsd", "ant-junit.xsd"].map { TestSupport.packageRoot + "/Tests/SockBenchTests/Fixtures/junit/" + $0 }

    static let validator = """
    import sys, xmlschema
    failed = False
    for schema_path in sys.argv[1].split(","):
        schema = xmlschema.XMLSchema(schema_path)
        for document in sys.argv[2:]:
            for error in schema.iter_errors(document):
                failed = True
                print(f"{schema_path.rsplit('/', 1)[-1]}: {document.rsplit('/', 1)[-1]}: {error.reason} at {error.path}")
    sys.exit(1 if failed else 0)
    """

    /// Validates `files` against both schemas; the validator's complaints, or nil when valid.
    static func problems(_ files: [String]) throws -> String? {
        let python = try #require(TestSupport.pythonTool("python"), Comment(rawValue: TestSupport.pythonSetup))
        let result = try TestSupport.program(python, ["-c", validator, schemas.joined(separator: ",")] + files)
        return result.status == 0 ? nil : result.stdout + result.stderr
    }

    static func write(_ xml: String, _ name: String, in directory: String) throws -> String {
        let path = directory + "/" + name
        try xml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Two variants, a passed, a failed and a skipped check, a name given twice and text XML must escape.
    static func cases() -> (Report, [CheckCase]) {
        var runs = SyntheticRuns.repetitions(2, rate: 10_000, latencyNs: 100_000)
        runs[0].variant = "nodelay=on"
        runs[1].variant = "nodelay=off"
        runs[0].durationS = 2.5
        runs[1].durationS = 1.25
        let report = SyntheticRuns.report(runs, name: "junit <&> \"gate\"")
        let cases = [
            CheckCase(suite: "thresholds", name: "latency.p99 < 2ms [nodelay=on]", outcome: .passed, message: "measured 1ms, allowed < 2ms", variant: "nodelay=on"),
            CheckCase(suite: "thresholds", name: "latency.p99 < 2ms [nodelay=on]", outcome: .failed, message: "measured 3 <bad> \u{1}", variant: "nodelay=on"),
            CheckCase(suite: "thresholds", name: "errors.total == 0 [nodelay=off]", outcome: .failed, message: "measured 3", variant: "nodelay=off"),
            CheckCase(suite: "baseline", name: "latency.p99 vs main [nodelay=off]", outcome: .skipped, message: "too few samples", variant: "nodelay=off"),
        ]
        return (report, cases)
    }

    @Test("a rendered file validates against both schemas; one without `errors` or `time` does not (the check can fail)")
    func bothSchemas() throws {
        let work = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let (report, cases) = Self.cases()
        let xml = JUnitReport.render(command: "run", report: report, cases: cases)
        let good = try Self.write(xml, "good.xml", in: work)
        let complaints = try Self.problems([good])
        #expect(complaints == nil, "\(complaints ?? "")")

        // What the files looked like before: the validators must reject each fault.
        let withoutErrors = try Self.write(xml.replacingOccurrences(of: #" errors="0""#, with: ""), "no-errors.xml", in: work)
        let withoutTime = try Self.write(xml.replacingOccurrences(of: #" time="0""#, with: ""), "no-time.xml", in: work)
        let skippedOnRoot = try Self.write(xml.replacingOccurrences(of: "<testsuites>", with: #"<testsuites skipped="1">"#), "root-skipped.xml", in: work)
        for (file, fault) in [(withoutErrors, "errors"), (withoutTime, "time"), (skippedOnRoot, "skipped")] {
            let complaint = try #require(try Self.problems([file]), "a file with the \(fault) fault validated")
            #expect(complaint.contains(fault), "\(complaint)")
        }
    }

    @Test("counts, time, timestamp, hostname and properties per suite; names unique; the run's failure is an error")
    func contents() throws {
        var (report, cases) = Self.cases()
        let document = try XMLDocument(xmlString: JUnitReport.render(command: "check", report: report, cases: cases))
        let suites = try document.nodes(forXPath: "/testsuites/testsuite").compactMap { $0 as? XMLElement }
        #expect(suites.map { $0.attribute(forName: "name")?.stringValue ?? "" } == [
            "sockbench.check.outcome", "sockbench.check.thresholds.nodelay=on", "sockbench.check.thresholds.nodelay=off",
            "sockbench.check.baseline.nodelay=off",
        ])
        func attribute(_ suite: Int, _ name: String) -> String? { suites[suite].attribute(forName: name)?.stringValue }
        #expect(attribute(0, "tests") == "1" && attribute(0, "errors") == "0" && attribute(0, "time") == "3.750")
        #expect(attribute(1, "tests") == "2" && attribute(1, "failures") == "1" && attribute(1, "time") == "2.500")
        #expect(attribute(2, "failures") == "1" && attribute(2, "time") == "1.250")
        #expect(attribute(3, "skipped") == "1" && attribute(3, "failures") == "0")
        #expect(suites.allSatisfy { $0.attribute(forName: "timestamp")?.stringValue == "2026-11-21T00:00:00" })
        #expect(suites.allSatisfy { $0.attribute(forName: "hostname")?.stringValue == report.environment.host })
        let properties = try document.nodes(forXPath: "/testsuites/testsuite[2]/properties/property").compactMap { $0 as? XMLElement }
        let pairs = Dictionary(uniqueKeysWithValues: properties.map { ($0.attribute(forName: "name")?.stringValue ?? "", $0.attribute(forName: "value")?.stringValue ?? "") })
        #expect(pairs["scenario"] == "junit <&> \"gate\"" && pairs["variant"] == "nodelay=on" && pairs["sockbench.version"] == SockBenchVersion.current)
        let names = try document.nodes(forXPath: "//testcase/@name").compactMap(\.stringValue)
        #expect(Set(names).count == names.count, "\(names)")
        #expect(names.contains("check: latency.p99 < 2ms [nodelay=on] (2)"), "\(names)")
        #expect(names.allSatisfy { $0.hasPrefix("check: ") })

        // Names that differ only in line breaks, tabs or control characters differ no more once parsed.
        let lookalikes = ["a b", "a\nb", "a\u{1}b", "a\tb", "a\rb", "a  b"].map {
            CheckCase(suite: "thresholds", name: "errors.total == 0 [payload=\($0)]", outcome: .passed, message: "ok", variant: "payload=\($0)")
        }
        let parsed = try XMLDocument(xmlString: JUnitReport.render(command: "run", report: report, cases: lookalikes))
        let parsedNames = try parsed.nodes(forXPath: "//testcase/@name").compactMap(\.stringValue)
        #expect(Set(parsedNames).count == parsedNames.count, "\(parsedNames)")

        // A run that measured nothing: an error, even with no thresholds at all.
        report.status = "failed"
        report.failure = "nothing was exchanged"
        let failed = try XMLDocument(xmlString: JUnitReport.render(command: "run", report: report, cases: []))
        let error = try #require(try failed.nodes(forXPath: "//testcase/error").first as? XMLElement)
        #expect(error.attribute(forName: "message")?.stringValue == "failed: nothing was exchanged")
        #expect((try failed.nodes(forXPath: "/testsuites/testsuite[1]/@errors").first)?.stringValue == "1")
    }

    @Test("a real run's and a real check's files: valid against both schemas, and no testcase name in both")
    func runAndCheckFiles() throws {
        let work = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let server = try PlainEchoServer()
        defer { server.stop() }
        let scenario = work + "/scenario.yaml"
        try """
        name: junit
        server: {kind: tcp-echo}
        load: {connections: 1, duration: 200ms, warmup: 0}
        repeat: 3
        thresholds:
          - errors.total == 0
          - latency.p50 < 10s
        """.write(toFile: scenario, atomically: true, encoding: .utf8)
        let run = try TestSupport.sockbench(["run", scenario, "--target", server.address, "--no-capture", "--quiet",
                                             "--out", work + "/out", "--junit", work + "/junit-run.xml"], timeout: 120)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try TestSupport.sockbench(["baseline", "save", work + "/out", "--name", "main", "--dir", work + "/baselines"]).status == 0)
        let check = try TestSupport.sockbench(["check", work + "/out", "--baseline", "main", "--baseline-dir", work + "/baselines",
                                               "--junit", work + "/junit-check.xml"])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        let files = [work + "/junit-run.xml", work + "/junit-check.xml"]
        let complaints = try Self.problems(files)
        #expect(complaints == nil, "\(complaints ?? "")")

        let documents = try files.map { try XMLDocument(contentsOf: URL(fileURLWithPath: $0)) }
        let names = try documents.map { Set(try $0.nodes(forXPath: "//testcase/@name").compactMap(\.stringValue)) }
        #expect(names[0].count == 3 && names[1].count >= 5, "\(names)")
        #expect(names[0].isDisjoint(with: names[1]), "\(names[0].intersection(names[1]))")
        let report = try TestSupport.decodeReport(work + "/out")
        let measured = (report["runs"] as? [[String: Any]] ?? []).compactMap { $0["duration_s"] as? Double }.reduce(0, +)
        let time = try documents[0].nodes(forXPath: "/testsuites/testsuite[1]/@time").first?.stringValue
        #expect(time == String(format: "%.3f", measured), "time \(time ?? "none"), runs measured \(measured) s")
        #expect(measured > 0.5)
    }
}
