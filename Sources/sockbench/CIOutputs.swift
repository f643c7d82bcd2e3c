import ArgumentParser
import Foundation
import SockBench

/// `--junit` and `--summary`, shared by `run` and `check`, and the verdict line they end with.
enum CIOutputs {
    static func write(junit: String?, summary: String?, name: String, verdict: GateVerdict, markdown: String) throws {
        if let junit {
            do {
                try AtomicFile.write(Data(JUnitReport.render(name: name, cases: verdict.cases).utf8), to: junit)
            } catch {
                throw CommandFailure.badInput("--junit: \(error)")
            }
        }
        if let summary { try appendSummary(markdown, to: summary) }
    }

    /// Appended, as GitHub Actions expects for $GITHUB_STEP_SUMMARY (several steps add to it).
    static func appendSummary(_ markdown: String, to summary: String) throws {
        guard let handle = FileHandle(forWritingAtPath: summary) ?? create(summary) else {
            throw CommandFailure.badInput("--summary: cannot write \(summary)")
        }
        defer { try? handle.close() }
        do {
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(markdown.utf8))
        } catch {
            throw CommandFailure.badInput("--summary: cannot write \(summary): \(error.localizedDescription)")
        }
    }

    private static func create(_ path: String) -> FileHandle? {
        guard FileManager.default.createFile(atPath: path, contents: nil) else { return nil }
        return FileHandle(forWritingAtPath: path)
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
