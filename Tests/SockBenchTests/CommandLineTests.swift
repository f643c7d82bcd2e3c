import Foundation
import Glibc
import Testing
@testable import SockBench

/// The `sockbench` binary as a user runs it: exit codes, reports, messages.
@Suite("sockbench command line", .serialized)
struct CommandLineTests {
    static let quickstart = "scenarios/quickstart.yaml"

    @Test("run writes report.json (schema v1, every required field) and report.md, exit 0")
    func runQuickstart() throws {
        let out = TestSupport.temporaryDirectory()
        let result = try TestSupport.sockbench(["run", Self.quickstart, "--duration", "400ms", "--out", out])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("round trips"))
        #expect(result.stdout.contains("errors       0"))
        let report = try TestSupport.decodeReport(out)
        #expect(report["schema"] as? String == "sockbench/report/v1")
        #expect(report["status"] as? String == "ok")
        let environment = try #require(report["environment"] as? [String: Any])
        let sysctls = try #require(environment["sysctls"] as? [String: String])
        for key in ["net.core.somaxconn", "net.core.rmem_max", "net.core.wmem_max", "net.ipv4.tcp_congestion_control"] {
            #expect(sysctls[key] != nil, "environment.sysctls.\(key)")
        }
        #expect(environment["kernel"] != nil && environment["cpus"] != nil && environment["host"] != nil)
        #expect((report["scenario"] as? [String: Any])?["name"] as? String == "quickstart")
        let run = try #require((report["runs"] as? [[String: Any]])?.first)
        let latency = try #require(run["latency_ns"] as? [String: Any])
        for key in ["count", "min", "mean", "stddev", "p50", "p90", "p99", "p999", "p9999", "max", "histogram"] {
            #expect(latency[key] != nil, "latency_ns.\(key)")
        }
        #expect((latency["count"] as? Int ?? 0) > 0)
        #expect((latency["histogram"] as? String ?? "").hasPrefix("HISTFAAA"))
        let connect = try #require(run["connect_latency_ns"] as? [String: Any])
        #expect(connect["count"] as? Int == 16)
        let throughput = try #require(run["throughput"] as? [String: Any])
        #expect((throughput["messages_per_second"] as? Double ?? 0) > 0)
        #expect(throughput["bytes_per_second_sent"] != nil && throughput["bytes_per_second_received"] != nil)
        let errors = try #require(run["errors"] as? [String: Any])
        for key in ["total", "refused", "reset", "timeout", "integrity", "other"] { #expect(errors[key] as? Int == 0, "errors.\(key)") }
        let options = try #require(run["socket_options"] as? [String: Any])
        let server = try #require(options["server"] as? [String: Any])
        #expect((server["requested"] as? [String: Any])?["tcp_nodelay"] as? Bool == true)
        #expect((server["effective"] as? [String: Any])?["tcp_nodelay"] as? Bool == true)
        #expect(((options["client"] as? [String: Any])?["effective"] as? [String: Any])?["so_sndbuf"] != nil)
        let cpu = try #require(run["cpu"] as? [String: Any])
        for key in ["client_user_s", "client_sys_s", "server_user_s", "server_sys_s"] { #expect(cpu[key] is Double, "cpu.\(key)") }
        #expect((cpu["server_sys_s"] as? Double ?? 0) + (cpu["server_user_s"] as? Double ?? 0) > 0, "server CPU comes from wait4")
        let markdown = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
        #expect(markdown.contains("| round trip |"))
        #expect(markdown.contains("### Socket options"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.contains(".tmp") || $0.hasPrefix(".") }
        #expect(leftovers.isEmpty, "no temporary files left: \(leftovers)")
    }

    @Test("--target runs the same scenario against a server sockbench did not start")
    func externalTarget() throws {
        let server = try PlainEchoServer()
        defer { server.stop() }
        let out = TestSupport.temporaryDirectory()
        let result = try TestSupport.sockbench(["run", Self.quickstart, "--duration", "300ms", "--target", server.address, "--out", out, "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.isEmpty, "--quiet prints nothing on success")
        let run = try #require((try TestSupport.decodeReport(out)["runs"] as? [[String: Any]])?.first)
        #expect((run["errors"] as? [String: Any])?["total"] as? Int == 0)
        #expect(((run["latency_ns"] as? [String: Any])?["count"] as? Int ?? 0) > 0)
        #expect((run["server"] as? [String: Any])?["started_by_sockbench"] as? Bool == false)
        #expect((run["socket_options"] as? [String: Any])?["server"] == nil)
    }

    @Test("a target where nothing listens: a clear error and exit 3 within the connect timeout")
    func unreachableTarget() throws {
        let address = try TestSupport.closedPort()
        let out = TestSupport.temporaryDirectory()
        let started = Date()
        let result = try TestSupport.sockbench(["run", Self.quickstart, "--target", address.description, "--out", out])
        #expect(result.status == 3)
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(result.stdout.contains("run failed: no connection to \(address)"))
        #expect(result.stdout.contains("Connection refused"))
        #expect(try TestSupport.decodeReport(out)["status"] as? String == "failed")
    }

    @Test("UDP run reports sent, received, lost, duplicated, reordered and jitter")
    func udpRun() throws {
        let out = TestSupport.temporaryDirectory()
        let result = try TestSupport.sockbench(["run", "scenarios/udp-echo.yaml", "--duration", "300ms", "--out", out])
        #expect(result.status == 0, "\(result.stderr)")
        let run = try #require((try TestSupport.decodeReport(out)["runs"] as? [[String: Any]])?.first)
        let udp = try #require(run["udp"] as? [String: Any])
        for key in ["sent", "received", "lost", "duplicated", "reordered", "jitter_ns"] { #expect(udp[key] != nil, "udp.\(key)") }
        #expect((udp["sent"] as? Int ?? 0) > 0)
    }

    @Test("bad input exits 1 with one line naming the problem")
    func badInput() throws {
        let bad = "Tests/SockBenchTests/Fixtures/bad/unknown-load-key.yaml"
        let validate = try TestSupport.sockbench(["validate", bad])
        #expect(validate.status == 1)
        #expect(validate.stderr.trimmingWhitespace() == "\(bad):5:3: load.conections: unknown key; did you mean 'connections'? Allowed here: connections, duration, warmup, threads, pattern, message_size, depth, direction, batch_writes, connect_timeout, request_timeout, udp_loss_timeout, idle_timeout, reconnect, reconnect_delay, error_budget, rate, think_time, connect_rate, ping_interval, interval, reuse_connection, max_message_size, payload, payload_hex, expect, expect_bytes, expect_regex, expect_until, expect_close")
        let run = try TestSupport.sockbench(["run", bad])
        #expect(run.status == 1)
        #expect(run.stderr.contains("\(bad):5:3: load.conections"))
        #expect(!run.stderr.contains("Fatal error") && !run.stderr.contains("Stack"))

        for arguments in [["run", Self.quickstart, "--duration", "fast"], ["run", Self.quickstart, "--target", "nowhere"],
                          ["run", Self.quickstart, "--frobnicate"], ["run"], ["serve", "tcp-ekko"], ["bogus"],
                          ["run", "/nonexistent.yaml"], ["validate"], ["serve", "tcp-echo", "-o", "tcp_nodelay=perhaps"]] {
            let result = try TestSupport.sockbench(arguments)
            #expect(result.status == 1, "\(arguments): \(result.stderr)")
            #expect(!result.stderr.isEmpty, "\(arguments) says why")
        }
    }

    @Test("an output folder that cannot be written is bad input, found before any load")
    func unwritableOutput() throws {
        let file = TestSupport.temporaryDirectory() + "/a-file"
        #expect(FileManager.default.createFile(atPath: file, contents: Data()))
        let started = Date()
        let result = try TestSupport.sockbench(["run", Self.quickstart, "--out", file + "/reports"])
        #expect(result.status == 1)
        #expect(result.stderr.contains(file))
        #expect(Date().timeIntervalSince(started) < 2, "fails before the 5 s load")
    }

    @Test("validate accepts every example scenario; --help and --version exit 0 and document exit codes")
    func helpAndValidate() throws {
        let scenarios = try FileManager.default.contentsOfDirectory(atPath: TestSupport.packageRoot + "/scenarios")
            .filter { $0.hasSuffix(".yaml") }.map { "scenarios/\($0)" }
        let validate = try TestSupport.sockbench(["validate"] + scenarios)
        #expect(validate.status == 0, "\(validate.stderr)")
        #expect(validate.stdout.split(separator: "\n").count == scenarios.count)
        let help = try TestSupport.sockbench(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("Exit codes"))
        let runHelp = try TestSupport.sockbench(["run", "--help"])
        #expect(runHelp.status == 0)
        #expect(runHelp.stdout.contains("--target") && runHelp.stdout.contains("Exit codes"))
        let version = try TestSupport.sockbench(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.trimmingWhitespace() == SockBenchVersion.current)
    }

    @Test("serve prints a ready line with the bound address; ServerProcess stops it and reads its CPU time")
    func serveChildProcess() throws {
        for bind in ["127.0.0.1:0", "[::1]:0"] {
            let configuration = ServerConfiguration(kind: .tcpEcho, bind: try SocketAddress(parsing: bind),
                                                    options: SocketOptionSet([.tcp_nodelay: .bool(true)]))
            let process = try ServerProcess.launch(executable: TestSupport.executable, configuration: configuration)
            #expect(process.address.port != 0)
            #expect(process.address.family == configuration.bind.family)
            // One real exchange, so the server reads back options from an accepted socket.
            var scenario = TestSupport.scenario(.tcpEcho, connections: 1, duration: 100_000_000)
            scenario.server = ServerSpec(kind: .external, address: process.address)
            let load = try LoadEngine.run(plan: LoadPlan(scenario: scenario, target: process.address), connections: 1,
                                          threads: 1, warmup: 0, duration: 100_000_000)
            #expect(load.result.messagesReceived > 0)
            let outcome = process.stop()
            #expect(outcome.exitStatus == 0)
            #expect(outcome.statistics?.connectionsAccepted == 1)
            #expect(outcome.statistics?.effectiveOptions?[.tcp_nodelay] == .bool(true))
            #expect(outcome.userSeconds + outcome.systemSeconds > 0)
            #expect(!process.isRunning)
        }
    }

    @Test("a reference server that cannot bind is reported with the reason")
    func serverCannotStart() throws {
        let holder = try Socket.open(.tcp, for: SocketOptionTests.loopback)
        defer { close(holder) }
        try Socket.bind(holder, to: SocketOptionTests.loopback)
        try Socket.listen(holder)
        let taken = try SocketAddress.local(of: holder)
        let configuration = ServerConfiguration(kind: .tcpEcho, bind: taken, options: SocketOptionSet([.so_reuseaddr: .bool(false)]))
        #expect(throws: ServerProcessError.self) { try ServerProcess.launch(executable: TestSupport.executable, configuration: configuration) }
        do {
            _ = try ServerProcess.launch(executable: TestSupport.executable, configuration: configuration)
        } catch {
            #expect(error.message.contains("Address already in use"), "\(error.message)")
        }
    }
}
