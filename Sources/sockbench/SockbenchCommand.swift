import ArgumentParser
import Foundation
import SockBench

/// The `sockbench` command. Exit codes are part of the contract CI scripts rely on, so `main`
/// maps every failure to them itself instead of taking argument-parser's defaults (64 for usage).
@main
struct SockbenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sockbench",
        abstract: "Socket load testing with latency, throughput and socket-option evidence.",
        discussion: """
        Write a scenario (YAML or JSON), then `sockbench run scenario.yaml`; or load a server with no file: \
        `sockbench run tcp://127.0.0.1:7000 -c 4 -d 5s`. See README.md for the scenario reference.

        Exit codes:
          0  ok
          1  bad input or usage (an invalid scenario, flag or output folder)
          2  a threshold or baseline check failed (run, check)
          3  the run itself failed (the server did not start, the target was unreachable)
        """,
        version: SockBenchVersion.current,
        subcommands: [RunCommand.self, CompareCommand.self, CheckCommand.self, BaselineCommand.self, ServeCommand.self, ProxyCommand.self, ValidateCommand.self, SchemaCommand.self, AnalyzeCommand.self, MergeCommand.self, KubernetesCommand.self, SlurmCommand.self]
    )

    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let failure as CommandFailure {
            FileHandleOutput.standardError("sockbench: \(failure.message)")
            Foundation.exit(failure.code)
        } catch {
            let code = exitCode(for: error)
            if code == .success || error is ExitCode {
                exit(withError: error)
            }
            FileHandleOutput.standardError(fullMessage(for: error))
            Foundation.exit(1)
        }
    }
}

/// A command that failed with a message and one of the documented exit codes.
struct CommandFailure: Error {
    let code: Int32
    let message: String

    static func badInput(_ message: String) -> CommandFailure { CommandFailure(code: 1, message: message) }
    static func runFailed(_ message: String) -> CommandFailure { CommandFailure(code: 3, message: message) }
}
