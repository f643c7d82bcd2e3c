import Foundation
import Testing
@testable import SockBench

/// Every report.json a test's `sockbench run` or `merge` writes is checked against the strict
/// report schema (`sockbench schema report --strict`), so a field the encoder writes and the
/// schema does not know (or a type that changed) fails the test that produced it. The hook uses
/// `jsonschema-rs` (85 ms a report, where the reference `jsonschema` package takes 1.2 s on a
/// 1.6 MB report with flows); `SchemaTests` checks both agree. Skipped without the tests' Python environment.
enum ReportSchemaCheck {
    enum Engine: String { case jsonschemaRS = "jsonschema_rs", jsonschema }

    static func validator(_ engine: Engine) -> String {
        """
        import json, sys
        engine = sys.argv[1]
        if engine == "jsonschema":
            from jsonschema import Draft202012Validator
            Draft202012Validator.check_schema(json.load(open(sys.argv[2])))
            where = lambda error: list(error.absolute_path)
        else:
            from jsonschema_rs import Draft202012Validator
            where = lambda error: list(error.instance_path)
        validator = Draft202012Validator(json.load(open(sys.argv[2])))
        failed = False
        for path in sys.argv[3:]:
            for error in list(validator.iter_errors(json.load(open(path))))[:5]:
                failed = True
                print(f"{path}: {'/'.join(str(p) for p in where(error)) or '(top)'}: {error.message[:300]}")
        sys.exit(1 if failed else 0)
        """
    }

    /// The strict schema, written once per test process.
    static let strictSchemaPath: String? = {
        guard let schema = try? ReportSchema.document(strict: true) else { return nil }
        let path = NSTemporaryDirectory() + "sockbench-report-schema-\(getpid()).json"
        return (try? schema.rendered.write(toFile: path, atomically: true, encoding: .utf8)) != nil ? path : nil
    }()

    /// The validator's complaints about `reports` against `schema` (the strict one by default), or nil when all are valid.
    static func problems(_ reports: [String], schema: String? = strictSchemaPath, engine: Engine = .jsonschemaRS) throws -> String? {
        let python = try #require(TestSupport.pythonTool("python"), Comment(rawValue: TestSupport.pythonSetup))
        let schema = try #require(schema, "the report schema could not be written")
        let result = try TestSupport.program(python, ["-c", validator(engine), engine.rawValue, schema] + reports)
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
