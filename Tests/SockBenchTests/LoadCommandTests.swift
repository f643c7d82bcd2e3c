import Foundation
import Glibc
import Testing
@testable import SockBench

/// The load models through `sockbench run`: the example scenarios, the interval series and
/// progress line, 10,000 connections, and the errors for descriptor and port limits.
@Suite("sockbench run: load models and scale", .serialized)
struct LoadCommandTests {
    static func json(_ directory: String) throws -> [String: Any] {
        try #require((try TestSupport.decodeReport(directory)["runs"] as? [[String: Any]])?.first)
    }

    @Test("open-loop.yaml: corrected and uncorrected latency, the schedule, intervals.csv with one row per second")
    func openLoop() throws {
        let out = TestSupport.temporaryDirectory()
        let result = try TestSupport.sockbench(["run", "scenarios/open-loop.yaml", "--duration", "2s", "--no-capture", "--out", out])
        // The verdict and the figures before it are on stdout: they say why a run ended degraded (exit 3).
        #expect(result.status == 0, "\(result.stderr)\(result.stdout.suffix(900))")
        #expect(result.stdout.contains("uncorrected") && result.stdout.contains("schedule     requested 20,000/s"))
        #expect(!result.stdout.contains("\r"), "no progress line when stdout is not a terminal")
        let run = try Self.json(out)
        #expect(run["latency_uncorrected_ns"] is [String: Any])
        let schedule = try #require(run["schedule"] as? [String: Any])
        #expect(schedule["requested_per_second"] as? Double == 20000)
        // Never above the schedule; below it only as far as the report owns up to (a busy machine may
        // fall behind 20,000/s: then the unsent sends say by how much, and behind_schedule says so past 1%).
        let achieved = schedule["achieved_per_second"] as? Double ?? 0
        let scheduled = schedule["scheduled"] as? Double ?? 0, sent = schedule["sent"] as? Double ?? 0, unsent = schedule["unsent"] as? Double ?? -1
        #expect(achieved <= 20000 * 1.01 && achieved > 10000, "achieved \(achieved)/s")
        #expect(unsent == max(0, scheduled - sent))
        if sent < 0.99 * scheduled { #expect(schedule["behind_schedule"] as? Bool == true) }
        let intervals = try #require(run["intervals"] as? [[String: Any]])
        #expect(intervals.count == 2)
        #expect(intervals.allSatisfy { ($0["latency_uncorrected_ns"] as? [String: Any])?["p99"] != nil })
        let csv = try String(contentsOfFile: out + "/intervals.csv", encoding: .utf8).split(separator: "\n")
        #expect(csv.count == 3)
        #expect(csv.first == Substring(IntervalCSV.header.joined(separator: ",")))
        #expect(csv[1].hasPrefix("default,1,0.000,1.000,"))
        let markdown = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
        #expect(markdown.contains("### Schedule (open loop)") && markdown.contains("### Intervals"))
    }

    @Test("a terminal gets a live progress line; --quiet and pipes get none")
    func progressLine() throws {
        let script = try #require(TestSupport.tool("script"), "script (util-linux) provides a pseudo-terminal")
        let out = TestSupport.temporaryDirectory()
        let command = "\(TestSupport.executable) run scenarios/quickstart.yaml --duration 2s --no-capture --out \(out)"
        let live = try TestSupport.program(script, ["-qec", command, "/dev/null"])
        #expect(live.status == 0, "\(live.stdout)")
        #expect(live.stdout.contains("elapsed") && live.stdout.contains("p99 so far") && live.stdout.contains("errors 0"))
        let quiet = try TestSupport.program(script, ["-qec", command + " --quiet", "/dev/null"])
        #expect(quiet.status == 0)
        #expect(!quiet.stdout.contains("p99 so far") && !quiet.stdout.contains("round trips"), "\(quiet.stdout)")
    }

    @Test("many-connections.yaml: 10,000 connections held and pinged without errors, memory per connection reported")
    func tenThousandConnections() throws {
        let out = TestSupport.temporaryDirectory()
        let result = try TestSupport.sockbench(["run", "scenarios/many-connections.yaml", "--duration", "2s", "--no-capture", "--out", out],
                                               timeout: 120)
        #expect(result.status == 0, "\(result.stderr)")
        let run = try Self.json(out)
        let connections = try #require(run["connections"] as? [String: Any])
        #expect(connections["established"] as? Int == 10_000)
        #expect((run["errors"] as? [String: Any])?["total"] as? Int == 0, "\(run["first_error"] ?? "")")
        #expect((run["server"] as? [String: Any])?["connections_accepted"] as? Int == 10_000)
        // One ping per connection per second.
        #expect(abs(((run["throughput"] as? [String: Any])?["messages_per_second"] as? Double ?? 0) - 10_000) < 300)
        let memory = try #require(run["memory"] as? [String: Any])
        let perConnection = try #require(memory["client_bytes_per_connection"] as? Double)
        #expect(perConnection > 0 && perConnection < 65_536, "client \(perConnection) B per connection")
        #expect((memory["server_bytes_per_connection"] as? Double ?? 0) > 0)
        let intervals = try #require(run["intervals"] as? [[String: Any]])
        #expect(intervals.allSatisfy { $0["connections_open"] as? Int == 10_000 })
    }

    @Test("too few descriptors: exit 3 before any load, naming RLIMIT_NOFILE and how to raise it")
    func descriptorLimit() throws {
        let prlimit = try #require(TestSupport.tool("prlimit"))
        let directory = TestSupport.temporaryDirectory()
        let scenario = directory + "/many.yaml"
        try "name: many\nserver: {kind: tcp-echo}\nload: {connections: 1000, duration: 1s, warmup: 0}\n"
            .write(toFile: scenario, atomically: true, encoding: .utf8)
        let result = try TestSupport.program(prlimit, ["--nofile=256:256", TestSupport.executable, "run", scenario, "--out", directory + "/out"])
        #expect(result.status == 3)
        let said = result.stdout + result.stderr
        #expect(said.contains("RLIMIT_NOFILE allows 256") && said.contains("ulimit -n 1064"), "\(said)")
        // Refused before any load, with a failed report that says why.
        let report = try ReportFile.load(directory + "/out/report.json")
        #expect(report.status == "failed" && report.runs.isEmpty && report.failure?.contains("RLIMIT_NOFILE") == true)
    }

    @Test("too few ephemeral ports: exit 3 naming net.ipv4.ip_local_port_range (in a network namespace)")
    func portRange() throws {
        let unshare = try #require(TestSupport.tool("unshare"))
        let directory = TestSupport.temporaryDirectory()
        let scenario = directory + "/ports.yaml"
        try "name: ports\nserver: {kind: tcp-echo}\nload: {connections: 200, duration: 1s, warmup: 0}\n"
            .write(toFile: scenario, atomically: true, encoding: .utf8)
        let probe = try TestSupport.program(unshare, ["-n", "true"])
        try #require(probe.status == 0, "network namespaces are not allowed here: \(probe.stderr)")
        let script = "ip link set lo up && sysctl -qw net.ipv4.ip_local_port_range='60000 60099' && "
            + "exec \(TestSupport.executable) run \(scenario) --no-capture --out \(directory)/out"
        let result = try TestSupport.program(unshare, ["-n", "sh", "-c", script])
        #expect(result.status == 3)
        #expect((result.stdout + result.stderr).contains("net.ipv4.ip_local_port_range (60000-60099) has 100"), "\(result.stdout)\(result.stderr)")
        #expect(try ReportFile.load(directory + "/out/report.json").status == "failed")
    }

    @Test("crr.yaml and conversation.yaml run clean; a failed expectation lists its mismatch in report.md")
    func connectAndConversation() throws {
        let crr = TestSupport.temporaryDirectory()
        let connect = try TestSupport.sockbench(["run", "scenarios/crr.yaml", "--duration", "500ms", "--no-capture", "--out", crr])
        #expect(connect.status == 0, "\(connect.stderr)")
        #expect(connect.stdout.contains("transactions") && connect.stdout.contains("connections at a time"))
        #expect(((try Self.json(crr)["throughput"] as? [String: Any])?["connections_per_second"] as? Double ?? 0) > 100)

        let talk = TestSupport.temporaryDirectory()
        let clean = try TestSupport.sockbench(["run", "scenarios/conversation.yaml", "--duration", "500ms", "--no-capture", "--out", talk])
        #expect(clean.status == 0, "\(clean.stderr)")
        #expect(clean.stdout.contains("errors       0"), "\(clean.stdout)")

        let scenario = talk + "/wrong.yaml"
        try """
        name: wrong-greeting
        server: {kind: tcp-echo, greeting: "220 hello\\r\\n"}
        load: {connections: 1, duration: 500ms, warmup: 0, request_timeout: 100ms}
        conversation:
          - expect_regex: "^250 "
        """.write(toFile: scenario, atomically: true, encoding: .utf8)
        let wrong = try TestSupport.sockbench(["run", scenario, "--no-capture", "--out", talk + "/wrong"])
        let markdown = try String(contentsOfFile: talk + "/wrong/report.md", encoding: .utf8)
        #expect(markdown.contains("### Protocol mismatches"), "\(wrong.stdout)")
        #expect(markdown.contains("step 1 (expect_regex /^250 /)"))
        #expect(wrong.stdout.contains("protocol "))
    }
}
