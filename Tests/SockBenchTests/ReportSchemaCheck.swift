import Foundation
import Testing
@testable import SockBench

/// Every report.json a test's `sockbench run` or `merge` writes is checked against the strict
/// report schema (`sockbench schema report --strict`) with the `jsonschema` package, so a field
/// the encoder writes and the schema does not know (or a type that changed) fails the test that
/// produced it. Skipped without the tests' Python environment.
enum ReportSchemaCheck {
    static let validator = """
    import json, sys
    from jsonschema import Draft202012Validator
    schema = json.load(open(sys.argv[1]))
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    failed = False
    for path in sys.argv[2:]:
        for error in sorted(validator.iter_errors(json.load(open(path))), key=lambda e: list(e.absolute_path))[:5]:
            failed = True
            print(f"{path}: {'/'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message[:300]}")
    sys.exit(1 if failed else 0)
    """

    /// The strict schema, written once per test process.
    static let strictSchemaPath: String? = {
        guard let schema = try? ReportSchema.document(strict: true) else { return nil }
        let path = NSTemporaryDirectory() + "sockbench-report-schema-\(getpid()).json"
        return (try? schema.rendered.write(toFile: path, atomically: true, encoding: .utf8)) != nil ? path : nil
    }()

    /// The validator's complaints about `reports` against `schema` (the strict one by default), or nil when all are valid.
    static func problems(_ reports: [String], schema: String? = strictSchemaPath) throws -> String? {
        let python = try #require(TestSupport.pythonTool("python"), Comment(rawValue: TestSupport.pythonSetup))
        let schema = try #require(schema, "the report schema could not be written")
        let result = try TestSupport.program(python, ["-c", validator, schema] + reports)
        return result.status == 0 ? nil : result.stdout + result.stderr
    }

    /// Reports checked so far by `check` (the tests that rely on the hook read it).
    nonisolated(unsafe) static var checked = 0

    /// After `sockbench run|merge … --out DIR`: records an issue when DIR/report.json, written since `start`, does not validate.
    static func check(arguments: [String], since start: Date) {
        guard let command = arguments.first, command == "run" || command == "merge",
              TestSupport.pythonTool("python") != nil,
              let flag = arguments.firstIndex(of: "--out"), flag + 1 < arguments.count else { return }
        var directory = arguments[flag + 1]
        if !directory.hasPrefix("/") { directory = TestSupport.packageRoot + "/" + directory }
        let report = directory + "/report.json"
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: report),
              let modified = attributes[.modificationDate] as? Date, modified >= start.addingTimeInterval(-1) else { return }
        checked += 1
        do {
            if let problems = try problems([report]) {
                Issue.record("report.json does not validate against `sockbench schema report --strict`:\n\(problems)")
            }
        } catch {
            Issue.record("could not validate \(report): \(error)")
        }
    }
}
