import Foundation
import Glibc
import Testing
@testable import SockBench

/// Faults during a run: a server that resets, closes mid-answer, stalls, refuses, or dies, and a user
/// who presses Ctrl-C. Each fault is counted in its category with its moment, clients reconnect per
/// the policy, the error budget turns a run `degraded` (exit 3), and a report is always written.
@Suite("faults during a run", .serialized)
struct FaultTests {
    /// 2 connections for 1.2 s against `server`, with short timeouts so faults show within the run.
    /// The faults are on purpose, so the budget allows them unless a test says otherwise.
    static func run(against server: PlainEchoServer, budget: ErrorBudget? = .percent(100), reconnect: Bool = true,
                    _ name: String = #function) throws -> Runner.Outcome {
        var scenario = TestSupport.scenario(.tcpEcho, connections: 2, duration: 1_200_000_000)
        scenario.load.requestTimeoutNanoseconds = 150_000_000
        scenario.load.reconnectDelayNanoseconds = 20_000_000
        scenario.load.reconnect = reconnect
        scenario.load.intervalNanoseconds = 200_000_000
        scenario.load.errorBudget = budget
        var options = Runner.Options(outputDirectory: TestSupport.temporaryDirectory(name), capture: false, executable: TestSupport.executable)
        options.target = try SocketAddress(parsing: server.address)
        return try Runner.run(scenario, options: options)
    }

    @Test("each fault is counted in its category, with its moment, and connections come back",
          arguments: [("reset", PlainEchoServer.Fault.reset(after: 20), ErrorCounts.Category.reset),
                      ("close mid-answer", .closeMidAnswer(after: 20), .closed),
                      ("stall", .stall(after: 20), .timeout)])
    func faultCategories(_ label: String, _ fault: PlainEchoServer.Fault, _ category: ErrorCounts.Category) throws {
        let server = try PlainEchoServer(fault: fault)
        defer { server.stop() }
        let outcome = try Self.run(against: server)
        let run = try #require(outcome.report.runs.first)
        #expect(run.errors[category] > 0, "\(label): \(run.errors)")
        #expect(run.errors[category] == run.errors.total, "\(label): only \(category) errors expected, got \(run.errors)")
        // The reconnect policy brought connections back: more answers than one connection's 20 before its fault.
        #expect((run.connections.reconnects ?? 0) > 0)
        #expect(run.messages.received > 2 * 20)
        // Counted per interval, by category: the interval series says when.
        let intervals = try #require(run.intervals)
        let perInterval = intervals.reduce(UInt64(0)) { $0 + ($1.errorsByCategory?[category] ?? 0) }
        #expect(perInterval == run.errors[category])
        #expect(intervals.filter { ($0.errorsByCategory?[category] ?? 0) > 0 }.count >= 2, "errors keep coming after reconnects")
        let first = try #require(run.events?.first { $0.kind == .error })
        #expect(first.category == category.rawValue)
        #expect(first.atS >= 0 && first.atS <= run.durationS)
        // A budget that allows them: errors are reported, and the run is fine.
        #expect(outcome.report.status == "ok")
        #expect(outcome.exitCode == 0)
    }

    @Test("errors past error_budget: the run is degraded (exit 3), the report written with the budget and its moment")
    func errorBudget() throws {
        let server = try PlainEchoServer(fault: .reset(after: 10))
        defer { server.stop() }
        let outcome = try Self.run(against: server, budget: .count(3))
        #expect(outcome.exitCode == 3)
        #expect(outcome.report.status == "degraded")
        #expect(outcome.report.failure?.contains("error budget of 3 errors") == true, "\(outcome.report.failure ?? "")")
        let run = try #require(outcome.report.runs.first)
        let budget = try #require(run.errorBudget)
        #expect(budget.exceeded && budget.allowed == 3 && budget.errors > 3)
        #expect(run.events?.contains { $0.kind == .errorBudget } == true)
        #expect(FileManager.default.fileExists(atPath: outcome.directory + "/report.json"))
        #expect(GateVerdict(report: outcome.report).line.hasPrefix("DEGRADED (exit 3)"))

        // A percentage budget that the same faults stay within.
        let generous = try Self.run(against: server, budget: .percent(50))
        #expect(generous.report.status == "ok")
        #expect(generous.report.runs.first?.errorBudget?.exceeded == false)
    }

    @Test("reconnect: false leaves a failed connection closed")
    func noReconnect() throws {
        let server = try PlainEchoServer(fault: .reset(after: 10))
        defer { server.stop() }
        let outcome = try Self.run(against: server, reconnect: false)
        let run = try #require(outcome.report.runs.first)
        #expect(run.connections.reconnects == nil)
        #expect(run.errors.reset == 2, "each connection fails once and stays closed: \(run.errors)")
        #expect(run.connections.established == 2)
    }

    @Test("a refused target ends the run early as failed (exit 3), without retrying forever")
    func refused() throws {
        var scenario = TestSupport.scenario(.tcpEcho, connections: 2, duration: 5_000_000_000)
        scenario.load.reconnectDelayNanoseconds = 10_000_000
        var options = Runner.Options(outputDirectory: TestSupport.temporaryDirectory(), capture: false, executable: TestSupport.executable)
        options.target = try TestSupport.closedPort()
        let started = Date()
        let outcome = try Runner.run(scenario, options: options)
        #expect(Date().timeIntervalSince(started) < 4, "a target that never answered is not retried for the whole run")
        #expect(outcome.exitCode == 3)
        #expect(outcome.report.status == "failed")
        #expect(outcome.report.runs.first?.errors.refused == 2)
    }

    static let longRun = """
    name: fault-run
    server: {kind: tcp-echo}
    load: {connections: 4, duration: 4s, warmup: 0s, interval: 250ms, reconnect_delay: 50ms}
    """

    @Test("the reference server killed mid-run: exit 3, a complete report marked degraded, the death on the timeline")
    func serverKilled() throws {
        let (command, out, children) = try RunningCommand.run(Self.longRun)
        let server = children.first ?? 0
        usleep(1_000_000) // a second of load, then the server dies
        kill(server, SIGKILL)
        let status = command.wait(timeout: 30)
        #expect(status == 3, "\(command.output)")
        let report = try ReportFile.load(out + "/report.json")
        #expect(report.status == "degraded")
        #expect(report.failure?.contains("killed by signal 9 (SIGKILL)") == true, "\(report.failure ?? "")")
        let run = try #require(report.runs.first)
        let death = try #require(run.events?.first { $0.kind == .serverExited })
        #expect(death.atS > 0.5 && death.atS < 3.5)
        #expect(run.messages.received > 0)
        #expect(run.errors.total > 0, "connections lost to the death are counted: \(run.errors)")
        // The load stopped at the death, not at the scenario's end.
        #expect(run.durationS < 3.5)
        for file in ["report.json", "report.md", "report.html", "intervals.csv", "summary.md"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + file), "\(file)")
        }
        #expect(command.output.contains("DEGRADED (exit 3)"))
    }

    /// `sockbench run` of a 30 s load in the background, once its reference server is up.
    static func startThirtySecondRun(_ name: String = #function) throws -> (RunningCommand, out: String, children: [pid_t]) {
        try RunningCommand.run(longRun.replacingOccurrences(of: "duration: 4s", with: "duration: 30s"), name: name)
    }

    @Test("SIGINT mid-run: the load stops within a second, a partial report marked interrupted, exit 130, nothing left behind")
    func interrupted() throws {
        let (command, out, children) = try Self.startThirtySecondRun()
        usleep(1_200_000)
        let signalled = Date()
        kill(command.pid, SIGINT)
        let status = command.wait(timeout: 10)
        let took = Date().timeIntervalSince(signalled)
        #expect(status == 130, "\(command.output)")
        #expect(took < 3, "stopped \(took) s after SIGINT")
        let report = try ReportFile.load(out + "/report.json")
        #expect(report.status == "interrupted")
        let run = try #require(report.runs.first)
        #expect(run.events?.contains { $0.kind == .interrupted && $0.message.contains("SIGINT") } == true)
        #expect(run.durationS > 0.8 && run.durationS < 3, "the partial window: \(run.durationS) s")
        #expect(run.messages.received > 0)
        #expect(run.cpu.serverUserS != nil, "the server was stopped in order and reaped")
        for child in children { #expect(!TestSupport.isAlive(child), "reference server \(child) left running") }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.contains(".tmp-") || $0.hasPrefix(".sockbench") }
        #expect(leftovers.isEmpty, "\(leftovers)")
        #expect(command.output.contains("INTERRUPTED (exit 130)"))
    }

    @Test("a second SIGINT exits at once with 130 and takes the reference server along")
    func secondInterrupt() throws {
        let (command, out, children) = try Self.startThirtySecondRun()
        usleep(500_000)
        kill(command.pid, SIGINT)
        usleep(10_000) // the first is being handled (an orderly stop takes a few hundred ms); the second cuts it short
        kill(command.pid, SIGINT)
        let status = command.wait(timeout: 5)
        #expect(status == 130, "\(command.output)")
        #expect(command.output.contains("second interrupt, exiting at once"), "\(command.output)")
        #expect(TestSupport.eventually(timeout: 2) { children.allSatisfy { !TestSupport.isAlive($0) } })
        let leftovers = ((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []).filter { $0.contains(".tmp-") || $0.hasPrefix(".sockbench") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }
}
