import ArgumentParser
import Foundation
import SockBench

struct BaselineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline",
        abstract: "Save reports as named baselines for `sockbench check`.",
        subcommands: [Save.self]
    )

    struct Save: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "save",
            abstract: "Save a report's samples as baselines/NAME.json (plain JSON, meant to be committed).",
            discussion: """
            The baseline keeps, per variant, every metric's samples (one per repetition), plus the scenario \
            and machine they came from. Saving again under the same name replaces the file; commit it so \
            the change shows in review. Record it with `repeat: 5` or more: `check` needs at least 4 \
            samples per side to call anything a regression.
            """
        )

        @Argument(help: "A report.json, or the run folder holding it.")
        var report: String

        @Option(name: .long, help: "The baseline's name: letters, digits, '-', '_', '.'.")
        var name: String

        @Option(name: .long, help: ArgumentHelp("Where named baselines live.", valueName: "dir"))
        var dir = "baselines"

        func validate() throws {
            guard Baseline.isValidName(name) else {
                throw ValidationError("--name: '\(name)' is not a usable name; use letters, digits, '-', '_' and '.' (not starting with '.')")
            }
        }

        func run() throws {
            let source: Report
            do {
                source = try ReportFile.load(report)
            } catch {
                throw CommandFailure.badInput(error.message)
            }
            if let failure = source.failure {
                throw CommandFailure.badInput("\(report) is a failed run (\(failure)); a baseline must come from a run that measured")
            }
            let baseline = Baseline(name: name, report: source, source: report)
            let path = Baseline.path(for: name, directory: dir)
            let existed = FileManager.default.fileExists(atPath: path)
            do {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                let encoder = JSONEncoder.snakeCase
                encoder.outputFormatting.insert(.prettyPrinted)
                try AtomicFile.write(try encoder.encode(baseline) + Data("\n".utf8), to: path)
            } catch {
                throw CommandFailure.badInput("cannot save the baseline: \(error)")
            }
            let runs = baseline.variants.count
            let samples = source.runs.count / max(runs, 1)
            FileHandleOutput.standardOutput("sockbench: baseline \(name) \(existed ? "replaced" : "saved") at \(path): "
                + "\(plural(runs, "variant")), \(plural(samples, "sample")) each")
            if samples < 4 {
                FileHandleOutput.standardError("sockbench: warning: \(plural(samples, "sample")) per variant; `check` needs 4 or more "
                    + "on each side to call a regression (set repeat: 5 in the scenario)")
            }
        }
    }
}
