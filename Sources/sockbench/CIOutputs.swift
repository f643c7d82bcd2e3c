import ArgumentParser
import Foundation
import SockBench

/// `--junit` and `--summary`, shared by `run` and `check`, and the verdict line they end with.
enum CIOutputs {
    static func write(junit: String?, summary: String?, command: String, report: Report, verdict: GateVerdict, markdown: String) throws {
        if let junit {
            do {
                try AtomicFile.write(Data(JUnitReport.render(command: command, report: report, cases: verdict.cases).utf8), to: junit)
            } catch {
                throw CommandFailure.badInput("--junit: \(error)")
            }
        }
        if let summary { try appendSummary(markdown, to: summary) }
    }

    /// Appended, as GitHub Actions expects for $GITHUB_STEP_SUMMARY (several steps add to it);
    /// a device or FIFO is written in place (`AtomicFile.append`).
    static func appendSummary(_ markdown: String, to summary: String) throws {
        do {
            try AtomicFile.append(Data(markdown.utf8), to: summary)
        } catch {
            throw CommandFailure.badInput("--summary: \(error)")
        }
    }

    /// The last line: always on a pass unless quiet, always (to stderr when quiet) otherwise.
    static func printVerdict(_ verdict: GateVerdict, quiet: Bool) {
        if !quiet {
            FileHandleOutput.standardOutput("sockbench: \(verdict.line)")
        } else if verdict.exitCode != 0 {
            FileHandleOutput.standardError("sockbench: \(verdict.line)")
        }
    }
}
