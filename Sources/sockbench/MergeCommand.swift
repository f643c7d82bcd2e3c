import ArgumentParser
import Foundation
import SockBench

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Add up the shard reports of one run (`run --shard I/N` on N generators) into one report.",
        discussion: """
        Each argument is a shard's report.json, a run folder holding one, a folder whose sub-folders \
        hold one each (what a shared volume collects), or a log holding `sockbench-report` lines (what \
        `run --report-line` prints last; `kubectl logs` of a Job's pods). The merged report is an ordinary report (report.json, \
        report.md, report.html, intervals.csv, summary.md) that `sockbench check --baseline` and \
        thresholds read like any other: latency histograms added, so its percentiles are exactly those of \
        one histogram of every shard's samples; counts and rates summed; intervals aligned by wall clock; \
        each shard's own figures in a table. The scenario's error budget and thresholds are judged on the \
        merged figures.

        Refused, with the reason: a report that is not a shard, shards of different scenarios (their \
        scenario_hash differs) or shard counts, a missing index, the same index twice (a Kubernetes \
        Indexed Job re-runs a failed pod under its index: keep one report per index).

        Shards whose measured windows started further apart than --max-skew (default: half an interval) \
        are merged and flagged: their intervals cover different moments.

        Exit codes: 0 merged and ok; 1 bad input (unreadable or unmergeable reports); 2 a threshold \
        failed; 3 the merged run failed or was degraded.
        """
    )

    @Argument(help: ArgumentHelp("Shard reports: report.json files, run folders, folders of run folders, or logs with report lines.", valueName: "report-or-dir"))
    var reports: [String]

    @Option(name: .long, help: "Folder for the merged reports (default reports/<scenario-name>/<UTC timestamp>-merged/).")
    var out: String?

    @Option(name: .long, help: ArgumentHelp("Flag shards whose windows started further apart than this (e.g. 100ms).", valueName: "duration"))
    var maxSkew: String?

    @Flag(name: .long, help: "Print nothing but errors (and the verdict when it is not a pass).")
    var quiet = false

    @Option(name: .long, help: ArgumentHelp("Also write the thresholds as JUnit XML to this file.", valueName: "file"))
    var junit: String?

    @Option(name: .long, help: ArgumentHelp("Append a Markdown summary to this file (e.g. \"$GITHUB_STEP_SUMMARY\").", valueName: "file"))
    var summary: String?

    func run() throws {
        var skew: Double?
        if let maxSkew {
            guard case .success(let ns) = Quantity.nanoseconds(maxSkew) else {
                throw CommandFailure.badInput("--max-skew: expected \(Quantity.durationHelp), got '\(maxSkew)'")
            }
            skew = Double(ns) / 1e9
        }
        var shards: [(path: String, report: Report)] = []
        let paths = try Self.expand(reports)
        if let out { try Self.refuseOverlap(out: out, inputs: paths) }
        for path in paths {
            // A collected log (`kubectl logs` of the pods of a Job run with --report-line) holds report lines.
            if !path.hasSuffix(".json"), let text = try? String(contentsOfFile: path, encoding: .utf8), text.contains(ReportLine.marker) {
                do { shards += try ReportLine.reports(inLog: text, file: path) } catch { throw CommandFailure.badInput(error.message) }
                continue
            }
            do { shards.append((path, try ReportFile.load(path))) } catch { throw CommandFailure.badInput(error.message) }
        }
        let report: Report
        do { report = try ShardMerge.merge(shards, maxSkewS: skew) } catch {
            throw error.failedRun ? CommandFailure.runFailed(error.message) : CommandFailure.badInput(error.message)
        }
        let directory: String
        do {
            directory = try out ?? AtomicFile.createUniqueDirectory(base: Runner.defaultDirectory(name: report.scenario.name, at: Date(), suffix: "-merged"))
            try AtomicFile.prepareDirectory(directory)
        } catch {
            throw CommandFailure.badInput("\(error)")
        }
        do { try Runner.write(report, to: directory) } catch { throw CommandFailure(code: error.code.rawValue, message: error.message) }
        if !quiet {
            FileHandleOutput.standardOutput("sockbench: merged \(shards.count) shards of \(report.scenario.name) (\(report.merge!.scenarioHash))")
            FileHandleOutput.standardOutput(TerminalSummary.render(report, directory: directory))
        }
        if let merge = report.merge, merge.skewed {
            FileHandleOutput.standardError("sockbench: warning: the shards' windows started \(String(format: "%.3f s", merge.startSkewS)) apart, more than \(String(format: "%.3f s", merge.maxSkewS)): their intervals cover different moments (use one --start-at for every shard, and synchronized clocks)")
        }
        let verdict = GateVerdict(report: report)
        try CIOutputs.write(junit: junit, summary: summary, command: "merge", report: report, verdict: verdict,
                            markdown: CISummary.render(report: report, reportPath: directory + "/report.md"))
        CIOutputs.printVerdict(verdict, quiet: quiet)
        if verdict.exitCode != 0 { throw ExitCode(verdict.exitCode) }
    }

    /// `--out` must not be (or hold) an input: writing the merge there would replace a shard's report.
    static func refuseOverlap(out: String, inputs: [String]) throws {
        let target = URL(fileURLWithPath: out).standardizedFileURL.resolvingSymlinksInPath().path
        for input in inputs {
            let path = URL(fileURLWithPath: input).standardizedFileURL.resolvingSymlinksInPath().path
            if path == target || path.hasPrefix(target + "/") {
                throw CommandFailure.badInput("--out \(out) holds an input (\(input)): the merged report would replace it; choose another folder")
            }
        }
    }

    /// Files as given; a folder with a report.json is that report; any other folder, each of its
    /// sub-folders that holds a report.json, in name order.
    static func expand(_ arguments: [String]) throws -> [String] {
        var paths: [String] = []
        let files = FileManager.default
        for argument in arguments {
            var isDirectory: ObjCBool = false
            guard files.fileExists(atPath: argument, isDirectory: &isDirectory) else {
                throw CommandFailure.badInput("\(argument): no such file or folder")
            }
            if !isDirectory.boolValue || files.fileExists(atPath: argument + "/report.json") {
                paths.append(argument)
                continue
            }
            let children = ((try? files.contentsOfDirectory(atPath: argument)) ?? []).sorted()
                .map { argument + "/" + $0 }.filter { files.fileExists(atPath: $0 + "/report.json") }
            guard !children.isEmpty else { throw CommandFailure.badInput("\(argument): holds no report.json, nor folders that do") }
            paths += children
        }
        return paths
    }
}
