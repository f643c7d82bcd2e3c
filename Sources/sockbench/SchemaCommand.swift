import ArgumentParser
import SockBench

struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Print the JSON Schema of a scenario file or of report.json.",
        discussion: """
        Both are JSON Schema draft 2020-12, written from the definitions the scenario loader and the \
        report encoder use. Editors that speak yaml-language-server read the scenario schema from the \
        first line of every shipped scenario (# yaml-language-server: $schema=…); docs/schema holds \
        copies of both. The scenario schema checks each key alone (names, types, ranges, units); \
        `sockbench validate` also checks the rules between keys.
        """
    )

    enum Document: String, ExpressibleByArgument, CaseIterable {
        case scenario, report
    }

    @Argument(help: "scenario or report.")
    var document: Document

    @Flag(help: "report: close every object (no field beyond what this version writes); without it, fields added later in v1 still validate.")
    var strict = false

    func validate() throws {
        if strict, document == .scenario { throw ValidationError("--strict is for the report schema; the scenario schema is always closed") }
    }

    func run() throws {
        switch document {
        case .scenario: print(ScenarioSchema.document.rendered, terminator: "")
        case .report:
            do {
                print(try ReportSchema.document(strict: strict).rendered, terminator: "")
            } catch {
                FileHandleOutput.standardError("sockbench: \(error.description)")
                throw ExitCode(1)
            }
        }
    }
}
