import ArgumentParser
import Foundation
import SockBench

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a scenario and write report.json, report.md and capture.pcap.",
        discussion: """
        Starts the scenario's reference server as a child process (`sockbench serve`), captures the run's \
        packets with libpcap (headers only, filtered on the server's port), drives the server with the \
        scenario's load, stops it, and writes the reports into --out (default \
        reports/<scenario-name>/<UTC timestamp>/). A short summary is printed at the end.

        Capturing needs CAP_NET_RAW (root). Without it the run goes on without capture and says why, \
        unless the scenario sets capture.required: true.

        Exit codes: 0 ok; 1 bad input (invalid scenario, flag or output folder); 3 the run failed \
        (server did not start, target unreachable, nothing exchanged).
        """
    )

    @Argument(help: "The scenario file (YAML or JSON).")
    var scenario: String

    @Option(name: .long, help: "Folder for the reports (created if missing).")
    var out: String?

    @Option(name: .long, help: ArgumentHelp("Load this server instead of the scenario's (HOST:PORT, e.g. 127.0.0.1:7 or [::1]:7).", valueName: "host:port"))
    var target: String?

    @Option(name: .long, help: ArgumentHelp("Measured duration, replacing the scenario's (e.g. 500ms, 10s).", valueName: "duration"))
    var duration: String?

    @Flag(name: .long, help: "Do not capture packets (the scenario's capture section is ignored).")
    var noCapture = false

    @Flag(name: .long, help: "Print nothing but errors.")
    var quiet = false

    func run() throws {
        let loaded: Scenario
        do {
            loaded = try ScenarioLoader.load(path: scenario)
        } catch {
            throw CommandFailure.badInput(error.description)
        }
        var options = Runner.Options(outputDirectory: out, capture: !noCapture, executable: Self.executablePath())
        if let target {
            do { options.target = try SocketAddress(parsing: target) } catch { throw CommandFailure.badInput("--target: \(error)") }
        }
        if let duration {
            guard case .success(let ns) = Quantity.nanoseconds(duration), ns >= 1_000_000 else {
                throw CommandFailure.badInput("--duration: expected \(Quantity.durationHelp) of at least 1ms, got '\(duration)'")
            }
            options.duration = ns
        }
        // The live line only on a terminal: logs and pipes get the summary alone.
        let live = !quiet && isatty(STDOUT_FILENO) == 1
        if live {
            options.progress = { progress in
                FileHandleOutput.standardOutput("\r\u{1B}[K" + TerminalSummary.progressLine(progress), terminator: "")
            }
        }
        let resolved = Runner.resolve(loaded, options: options)
        if !quiet {
            let server = resolved.server.kind == .external ? "external server \(resolved.server.address!)" : "sockbench \(resolved.server.kind.rawValue)"
            FileHandleOutput.standardOutput("sockbench: running \(resolved.name) against \(server): \(plural(resolved.load.connections, "connection")), "
                + "\(Quantity.formatDuration(resolved.load.durationNanoseconds)) after \(Quantity.formatDuration(resolved.load.warmupNanoseconds)) warm-up")
        }
        let outcome: Runner.Outcome
        do {
            outcome = try Runner.run(loaded, options: options)
        } catch {
            throw CommandFailure(code: error.code.rawValue, message: error.message)
        }
        if live { FileHandleOutput.standardOutput("\r\u{1B}[K", terminator: "") }
        if !quiet {
            FileHandleOutput.standardOutput(TerminalSummary.render(outcome.report, directory: outcome.directory))
        } else if let failure = outcome.report.failure {
            FileHandleOutput.standardError("sockbench: run failed: \(failure)")
        }
        for run in outcome.report.runs {
            if let capture = run.capture, capture.status == .unavailable, let reason = capture.details.reason {
                FileHandleOutput.standardError("sockbench: warning: no packet capture: \(reason)")
            }
        }
        if outcome.exitCode != 0 { throw ExitCode(outcome.exitCode) }
    }

    /// This binary, which `run` starts again as `sockbench serve` for reference servers.
    static func executablePath() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}
