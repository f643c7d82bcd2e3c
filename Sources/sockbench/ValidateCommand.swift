import ArgumentParser
import SockBench

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check scenario files without running them.",
        discussion: "Prints one line per file: `ok` with what it would run, or the error with file:line:column and key. Exit code 1 if any file is invalid."
    )

    @Argument(help: "Scenario files (YAML or JSON).")
    var files: [String]

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("name at least one scenario file") }
    }

    func run() throws {
        var invalid = 0
        for file in files {
            do {
                let scenario = try ScenarioLoader.load(path: file)
                print("ok: \(file): \(scenario.name) (\(scenario.server.kind.rawValue), \(scenario.load.pattern.rawValue), "
                    + "\(plural(scenario.load.connections, "connection")), \(Quantity.formatDuration(scenario.load.durationNanoseconds)))"
                    + (scenario.matrix.map { "; \(plural($0.variants.count, "variant"))" } ?? "")
                    + (scenario.repetitions > 1 ? "; \(plural(scenario.repetitions, "repetition"))" : "")
                    + (scenario.thresholds.isEmpty ? "" : "; \(plural(scenario.thresholds.count, "threshold"))"))
            } catch {
                FileHandleOutput.standardError(error.description)
                invalid += 1
            }
        }
        if invalid > 0 { throw ExitCode(1) }
    }
}
