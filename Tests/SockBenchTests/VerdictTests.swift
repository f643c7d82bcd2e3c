import Foundation
import Glibc
import Testing
@testable import SockBench

/// One verdict rule for every pattern: a run whose measured window completed no exchange has
/// failed (exit 3, with what was attempted and what came back); errors past the error budget
/// (1% of attempts by default) degrade it; connections that never completed an exchange are
/// counted as starved and named in the verdict. Each case here once ended `OK`, exit 0.
@Suite("verdicts", .serialized)
struct VerdictTests {
    /// `sockbench run` of `yaml` (without capture unless asked): the exit status, the report and the output.
    static func run(_ yaml: String, capture: Bool = false, name: String = #function) throws -> (status: Int32, report: Report, output: String) {
        let directory = TestSupport.temporaryDirectory(name)
        let scenario = try CIGateTests.scenarioFile(yaml, in: directory)
        let out = directory + "/out"
        let result = try TestSupport.sockbench(["run", scenario, "--out", out] + (capture ? [] : ["--no-capture"]))
        return (result.status, try ReportFile.load(out + "/report.json"), result.stdout + result.stderr)
    }

    /// A run of `pattern` against `server` through `Runner`, in process.
    static func run(against server: PlainEchoServer, _ configure: (inout Scenario) -> Void = { _ in },
                    name: String = #function) throws -> Runner.Outcome {
        var scenario = TestSupport.scenario(.tcpEcho, connections: 2, duration: 800_000_000)
        scenario.load.requestTimeoutNanoseconds = 200_000_000
        scenario.load.reconnectDelayNanoseconds = 20_000_000
        configure(&scenario)
        var options = Runner.Options(outputDirectory: TestSupport.temporaryDirectory(name), capture: false, executable: TestSupport.executable)
        options.target = try SocketAddress(parsing: server.address)
        return try Runner.run(scenario, options: options)
    }

    static func expectFailed(_ status: Int32, _ report: Report, saying words: [String], _ output: String,
                             sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(status == 3, "\(output)", sourceLocation: sourceLocation)
        #expect(report.status == "failed", "\(report.failure ?? "")", sourceLocation: sourceLocation)
        for word in words {
            #expect(report.failure?.contains(word) == true, "'\(word)' not in: \(report.failure ?? "")", sourceLocation: sourceLocation)
        }
        #expect(output.contains("FAILED (exit 3)"), "\(output)", sourceLocation: sourceLocation)
    }

    @Test("a proxy that stalls after the first byte for an hour: nothing exchanged, failed")
    func stalledForever() throws {
        let (status, report, output) = try Self.run("""
        name: stalled
        server: {kind: tcp-echo}
        load: {connections: 2, warmup: 200ms, duration: 800ms, request_timeout: 5s}
        impair: {stall_after: 1, stall_for: 1h}
        """)
        Self.expectFailed(status, report, saying: ["nothing was exchanged", "none answered"], output)
    }

    @Test("100% UDP loss: no datagram answered, failed")
    func udpTotalLoss() throws {
        let (status, report, output) = try Self.run("""
        name: udp-black-hole
        server: {kind: udp-echo}
        load: {connections: 2, warmup: 100ms, duration: 800ms}
        impair: {loss: 100%}
        """)
        Self.expectFailed(status, report, saying: ["nothing was exchanged", "none answered"], output)
        #expect((report.runs.first?.messages.sent ?? 0) > 0)
    }

    @Test("open loop far beyond what one connection can do: degraded, saying how far behind, for request-response and conversations",
          arguments: ["", ", pattern: conversation, reuse_connection: true"])
    func fellBehind(_ pattern: String) throws {
        let conversation = pattern.isEmpty ? "" : "\nconversation:\n  - {name: echo, send: \"ping\\n\", expect_until: \"\\n\"}"
        let (status, report, output) = try Self.run("""
        name: behind
        server: {kind: tcp-echo}
        load: {connections: 1, warmup: 0s, duration: 500ms, rate: 1M/s\(pattern)}\(conversation)
        """)
        #expect(status == 3, "\(output)")
        #expect(report.status == "degraded", "\(report.failure ?? "")")
        #expect(report.failure?.contains("fell behind its open-loop schedule") == true, "\(report.failure ?? "")")
        // With a warm-up, so far behind that the window saw only sends due in the warm-up: failed, saying why.
        let (late, lateReport, lateOutput) = try Self.run("""
        name: behind-warm
        server: {kind: tcp-echo}
        load: {connections: 1, warmup: 300ms, duration: 300ms, rate: 1M/s\(pattern)}\(conversation)
        """)
        #expect(late == 3, "\(lateOutput)")
        #expect(lateReport.failure?.contains("fell behind its open-loop schedule") == true, "\(lateReport.failure ?? "")")
        // A rate the client keeps is not degraded.
        let (kept, keptReport, keptOutput) = try Self.run("""
        name: kept
        server: {kind: tcp-echo}
        load: {connections: 1, warmup: 100ms, duration: 500ms, rate: 200/s\(pattern)}\(conversation)
        """)
        #expect(kept == 0 && keptReport.status == "ok", "\(keptOutput)")
    }

    @Test("a UDP sink behind 100% loss: the server received nothing, failed")
    func udpSinkTotalLoss() throws {
        let (status, report, output) = try Self.run("""
        name: udp-sink-black-hole
        server: {kind: udp-sink}
        load: {connections: 1, warmup: 100ms, duration: 500ms, rate: 2000/s}
        impair: {loss: 100%}
        """)
        Self.expectFailed(status, report, saying: ["the server received none of"], output)
    }

    @Test("a server that never answers, and one that answers half a message then stalls: failed",
          arguments: [PlainEchoServer.Fault.stall(after: 0), .halfThenStall(after: 0)])
    func neverAnswers(_ fault: PlainEchoServer.Fault) throws {
        let server = try PlainEchoServer(fault: fault)
        defer { server.stop() }
        let outcome = try Self.run(against: server)
        #expect(outcome.exitCode == 3)
        #expect(outcome.report.status == "failed")
        let failure = outcome.report.failure ?? ""
        #expect(failure.contains("nothing was exchanged") && failure.contains("timeout"), "\(failure)")
    }

    @Test("connect-per-request where every transaction fails: failed")
    func crrAllFail() throws {
        let server = try PlainEchoServer(fault: .stall(after: 0))
        defer { server.stop() }
        let outcome = try Self.run(against: server) { $0.load.pattern = .connect }
        #expect(outcome.exitCode == 3)
        #expect(outcome.report.failure?.contains("transaction") == true, "\(outcome.report.failure ?? "")")
    }

    @Test("a conversation whose every expect fails: failed, not OK with thousands of protocol errors")
    func conversationAllFail() throws {
        let (status, report, output) = try Self.run("""
        name: wrong-greeting
        server: {kind: tcp-echo, greeting: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"}
        load: {pattern: conversation, connections: 2, warmup: 100ms, duration: 600ms, reconnect_delay: 5ms}
        conversation:
          - expect: "220"
        """)
        Self.expectFailed(status, report, saying: ["no conversation", "finished", "protocol"], output)
        #expect((report.runs.first?.errors.protocol ?? 0) > 2)
    }

    @Test("a stream that moves no byte: a download from a silent server and an upload into a stall both fail")
    func streamsThatMoveNothing() throws {
        let server = try PlainEchoServer(fault: .stall(after: 0))
        defer { server.stop() }
        let download = try Self.run(against: server) {
            $0.load.pattern = .stream
            $0.load.direction = .download
        }
        #expect(download.exitCode == 3)
        #expect(download.report.failure?.contains("no byte was received") == true, "\(download.report.failure ?? "")")

        // The warm-up fills the socket buffers; after that the stalled proxy takes nothing.
        let (status, report, output) = try Self.run("""
        name: upload-into-stall
        server: {kind: tcp-sink}
        load: {pattern: stream, connections: 1, warmup: 500ms, duration: 800ms, message_size: 64KiB}
        impair: {stall_after: 1, stall_for: 1h}
        """)
        Self.expectFailed(status, report, saying: ["no byte could be sent"], output)
    }

    @Test("idle connections the server closes: no connection stayed open, failed")
    func idleAllClosed() throws {
        let server = try PlainEchoServer(fault: .closeOnAccept)
        defer { server.stop() }
        let outcome = try Self.run(against: server) {
            $0.load.pattern = .idle
            $0.load.reconnect = false
        }
        #expect(outcome.exitCode == 3)
        #expect(outcome.report.failure?.contains("no connection") == true, "\(outcome.report.failure ?? "")")
    }

    @Test("errors past the default budget (1% of attempts) degrade a run that set none")
    func defaultBudget() throws {
        let server = try PlainEchoServer(fault: .reset(after: 2))
        defer { server.stop() }
        let outcome = try Self.run(against: server)
        #expect(outcome.exitCode == 3)
        #expect(outcome.report.status == "degraded", "\(outcome.report.failure ?? "")")
        let budget = try #require(outcome.report.runs.first?.errorBudget)
        #expect(budget.isDefault == true && budget.exceeded)
        #expect(outcome.report.failure?.contains("1% of attempts (the default)") == true, "\(outcome.report.failure ?? "")")
        // A scenario that injects faults on purpose sets its own budget.
        let allowed = try Self.run(against: server) { $0.load.errorBudget = .percent(100) }
        #expect(allowed.exitCode == 0, "\(allowed.report.failure ?? "")")
    }

    @Test("a server serving one connection at a time: the starved connections are counted and named")
    func starvedConnections() throws {
        let server = try PlainEchoServer(serial: true)
        defer { server.stop() }
        let outcome = try Self.run(against: server) {
            $0.load.connections = 4
            $0.load.requestTimeoutNanoseconds = 5_000_000_000
        }
        let run = try #require(outcome.report.runs.first)
        #expect(run.connections.starved == 3, "\(run.connections)")
        #expect(run.messages.received > 0)
        let verdict = GateVerdict(report: outcome.report)
        #expect(verdict.line.contains("3 of 4 connections were starved"), "\(verdict.line)")
        let terminal = TerminalSummary.render(outcome.report, directory: outcome.directory)
        #expect(terminal.contains("(3 starved: no exchange in the window)"), "\(terminal)")
        // A CI gate can refuse them outright, and every error category (closed too) is a threshold field.
        for expression in ["connections.starved == 0", "errors.closed == 0", "errors.protocol == 0"] {
            let threshold = try Threshold.parse(expression).get()
            let result = ThresholdResult.evaluate([threshold], runs: outcome.report.runs)
            #expect(result.first?.measured != nil, "\(expression) is a field")
            if expression.hasPrefix("connections") { #expect(result.first?.passed == false) }
        }

        // A healthy server starves nobody, and the verdict says nothing of it.
        let healthy = try PlainEchoServer()
        defer { healthy.stop() }
        let fine = try Self.run(against: healthy) { $0.load.connections = 4 }
        #expect(fine.report.runs.first?.connections.starved == 0)
        #expect(!GateVerdict(report: fine.report).line.contains("starved"))
    }
}

/// Warm-up outside every figure; open loop through reconnects; conversations that retry and end
/// with a FIN; every child watched; a report in every case.
@Suite("run lifecycle", .serialized)
struct LifecycleTests {
    @Test("errors during the warm-up stay out of errors, events, intervals and the window's capture; runs[].warmup keeps them")
    func warmupExcluded() throws {
        // Every connection accepted in the first 400 ms is reset after 3 requests; later ones are healthy.
        let server = try PlainEchoServer(fault: .reset(after: 3), faultFor: 400_000_000)
        defer { server.stop() }
        var scenario = TestSupport.scenario(.tcpEcho, connections: 2, duration: 600_000_000)
        scenario.load.warmupNanoseconds = 700_000_000
        scenario.load.reconnectDelayNanoseconds = 20_000_000
        scenario.load.intervalNanoseconds = 200_000_000
        scenario.load.errorBudget = .percent(100)
        let directory = TestSupport.temporaryDirectory()
        var options = Runner.Options(outputDirectory: directory, capture: TestSupport.canCapture, executable: TestSupport.executable)
        options.target = try SocketAddress(parsing: server.address)
        let outcome = try Runner.run(scenario, options: options)
        let run = try #require(outcome.report.runs.first)
        let warmup = try #require(run.warmup)
        #expect(warmup.errors.reset > 0, "the warm-up's resets are kept apart: \(warmup.errors)")
        #expect(run.errors.total == 0, "no warm-up error in the window's figure: \(run.errors)")
        #expect(run.events?.contains { $0.kind == .error } != true, "no warm-up error on the window's timeline: \(run.events ?? [])")
        #expect(warmup.events?.allSatisfy { $0.atS < 0 } == true)
        let intervals = try #require(run.intervals)
        #expect(intervals.reduce(0) { $0 + $1.errors } == 0, "the first interval holds no warm-up error")
        #expect(intervals.reduce(0) { $0 + $1.connectionsEstablished } == 0, "nor the connections the warm-up opened")
        #expect(outcome.exitCode == 0, "\(outcome.report.failure ?? "")")
        if TestSupport.canCapture {
            // The resets are on the wire during the warm-up only.
            let window = try #require(run.capture?.analysis?.tcp)
            let before = try #require(warmup.capture?.tcp)
            #expect(before.rst > 0, "the warm-up capture saw the resets")
            #expect(window.rst == 0, "the window's capture shows no warm-up reset")
            #expect(window.retransmissions == 0)
            #expect((run.capture?.analysis?.packets.total ?? 0) > 0)
        }
    }

    @Test("open loop through resets every 64 KiB: the achieved rate never passes the requested one, missed sends are unsent")
    func openLoopThroughResets() throws {
        let (status, report, output) = try VerdictTests.run("""
        name: open-loop-resets
        server: {kind: tcp-echo}
        load: {connections: 4, warmup: 200ms, duration: 2s, rate: 8000/s, message_size: 64, reconnect_delay: 50ms, error_budget: 100%}
        impair: {reset_after: 64KiB}
        """)
        #expect(status == 0, "\(output)")
        let run = try #require(report.runs.first)
        let schedule = try #require(run.schedule)
        #expect(run.errors.reset > 0, "the proxy reset connections: \(run.errors)")
        #expect(schedule.achievedPerSecond <= schedule.requestedPerSecond * 1.01,
                "achieved \(schedule.achievedPerSecond)/s against \(schedule.requestedPerSecond)/s")
        #expect(schedule.sent <= schedule.scheduled + 4, "at most one boundary send per connection beyond the timetable")
        // What actually left in the window, counted in bytes on the socket rather than by the timetable.
        let sentInWindow = Double(run.messages.bytesSent) / Double(run.messageSizeBytes) / run.durationS
        #expect(sentInWindow <= schedule.requestedPerSecond * 1.01, "\(sentInWindow)/s left against \(schedule.requestedPerSecond)/s requested")
        #expect((schedule.unsentWhileDown ?? 0) > 0, "sends due while a connection was down are unsent: \(schedule)")
        // `unsent` comes from the rounded rate × window, the part while down from exact intended times: a send per connection apart at most.
        #expect(schedule.unsentWhileDown ?? 0 <= schedule.unsent + 4, "\(schedule.unsentWhileDown ?? 0) unsent while down of \(schedule.unsent)")
    }

    @Test("conversations: a reset connect is retried per the reconnect policy and conversations go on")
    func conversationRetries() throws {
        // Connections accepted in the first 300 ms are reset at their first request.
        let server = try PlainEchoServer(fault: .reset(after: 0), faultFor: 300_000_000)
        defer { server.stop() }
        var scenario = TestSupport.scenario(.tcpEcho, connections: 2, duration: 800_000_000)
        scenario.load.pattern = .conversation
        scenario.conversation = [.send(Array("ping\n".utf8)), .expect(Array("ping\n".utf8))]
        scenario.load.reconnectDelayNanoseconds = 20_000_000
        scenario.load.errorBudget = .percent(100)
        var options = Runner.Options(outputDirectory: TestSupport.temporaryDirectory(), capture: false, executable: TestSupport.executable)
        options.target = try SocketAddress(parsing: server.address)
        let outcome = try Runner.run(scenario, options: options)
        let run = try #require(outcome.report.runs.first)
        #expect(run.errors.total > 0, "the first connections were reset: \(run.errors)")
        #expect((run.connections.reconnects ?? 0) > 0)
        #expect(run.messages.received > 10, "conversations went on after the resets")
        #expect(outcome.exitCode == 0, "\(outcome.report.failure ?? "")")

        // reconnect: false leaves each failed slot closed, so the run ends with nothing done.
        scenario.load.reconnect = false
        let server2 = try PlainEchoServer(fault: .reset(after: 0), faultFor: 10_000_000_000)
        defer { server2.stop() }
        options.target = try SocketAddress(parsing: server2.address)
        options.outputDirectory = TestSupport.temporaryDirectory("conversationRetries-2")
        let closed = try Runner.run(scenario, options: options)
        #expect(closed.report.runs.first?.errors.total == 2)
        #expect(closed.exitCode == 3)
    }

    @Test("a clean conversation run closes with FIN: the capture shows no RST; a long wait is not 'no connection'")
    func conversationEndsClean() throws {
        // Every answer spends 20 ms in the proxy, so when the run ends each connection has one in
        // flight: closing then would leave it unread (or arriving after the close), and the
        // kernel answers that with an RST.
        let (status, report, output) = try VerdictTests.run("""
        name: clean-conversations
        server: {kind: tcp-echo, greeting: "hello\\n"}
        load: {pattern: conversation, connections: 4, warmup: 100ms, duration: 1s}
        impair: {delay: 20ms}
        conversation:
          - expect: "hello\\n"
          - send: "ping\\n"
          - expect: "ping\\n"
          - send: "bye\\n"
          - expect: "bye\\n"
        """, capture: TestSupport.canCapture)
        #expect(status == 0, "\(output)")
        let run = try #require(report.runs.first)
        #expect(run.messages.received > 0)
        if TestSupport.canCapture {
            let tcp = try #require(run.capture?.analysis?.tcp)
            #expect(tcp.rst == 0, "no RST from a clean run: \(tcp.rst)")
            #expect(tcp.fin > 0)
        }
        // A window shorter than one conversation: failed, but for the right reason.
        let (shortStatus, shortReport, shortOutput) = try VerdictTests.run("""
        name: long-wait
        server: {kind: tcp-echo, greeting: "hello\\n"}
        load: {pattern: conversation, connections: 2, warmup: 100ms, duration: 300ms}
        conversation:
          - expect: "hello\\n"
          - wait: 2s
        """)
        #expect(shortStatus == 3, "\(shortOutput)")
        #expect(shortReport.failure?.contains("no connection") == false, "\(shortReport.failure ?? "")")
        #expect(shortReport.failure?.contains("no conversation") == true, "\(shortReport.failure ?? "")")
        #expect(shortReport.runs.first?.connections.established == 2)
    }

    @Test("SIGINT while every worker matches a catastrophic pattern (^(a+)+$ on 41 bytes): exit 130 within a second")
    func interruptWhileMatching() throws {
        let (command, out, _) = try RunningCommand.run("""
        name: backtracking
        server: {kind: tcp-echo, greeting: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"}
        load: {pattern: conversation, connections: 4, threads: 2, warmup: 0s, duration: 30s, reconnect_delay: 1ms, error_budget: 100%}
        conversation:
          - expect_regex: "^(a+)+$"
        """)
        usleep(1_000_000)
        let signalled = Date()
        kill(command.pid, SIGINT)
        let status = command.wait(timeout: 10)
        let took = Date().timeIntervalSince(signalled)
        print("interrupt while matching: exit \(status.map(String.init) ?? "none") \(String(format: "%.3f", took)) s after SIGINT")
        #expect(status == 130, "\(command.output)")
        // One second is the promise; the slack is for a loaded machine scheduling the process late.
        #expect(took < 1.5, "stopped \(took) s after SIGINT")
        let report = try ReportFile.load(out + "/report.json")
        #expect(report.status == "interrupted")
        #expect((report.runs.first?.errors.protocol ?? 0) > 0, "the pattern ran out of its budget, as a protocol error")
    }

    @Test("the impairment proxy killed mid-run: exit 3, degraded, the death on the timeline")
    func proxyKilled() throws {
        let (command, out, _) = try RunningCommand.run("""
        name: proxy-dies
        server: {kind: tcp-echo}
        load: {connections: 2, duration: 4s, warmup: 0s, reconnect_delay: 50ms}
        impair: {delay: 1ms}
        """)
        // The server starts first, the proxy in front of it after.
        let proxy = try #require(command.child(running: "proxy"))
        usleep(1_000_000)
        kill(proxy, SIGKILL)
        let status = command.wait(timeout: 30)
        #expect(status == 3, "\(command.output)")
        let report = try ReportFile.load(out + "/report.json")
        #expect(report.status == "degraded")
        #expect(report.failure?.contains("impairment proxy was killed by signal 9") == true, "\(report.failure ?? "")")
        let death = try #require(report.runs.first?.events?.first { $0.kind == .proxyExited })
        #expect(death.atS > 0.5 && death.atS < 3.5)
        #expect((report.runs.first?.durationS ?? 9) < 3.5, "the load stopped at the death")
    }

    @Test("SIGINT during the warm-up: interrupted (exit 130), not failed for an empty window")
    func interruptedInWarmup() throws {
        let (command, out, _) = try RunningCommand.run("""
        name: stopped-early
        server: {kind: tcp-echo}
        load: {connections: 2, warmup: 20s, duration: 5s}
        """)
        usleep(500_000)
        kill(command.pid, SIGINT)
        let status = command.wait(timeout: 10)
        #expect(status == 130, "\(command.output)")
        let report = try ReportFile.load(out + "/report.json")
        #expect(report.status == "interrupted", "\(report.failure ?? "")")
        #expect(report.failure?.contains("during the warm-up") == true, "\(report.failure ?? "")")
    }

    @Test("idle connections pinged less often than the window lasts stay open and pass; a UDP sink that sent nothing in the window fails")
    func sparseTraffic() throws {
        // One ping every 30 s: the only one leaves in the warm-up, and the connections stay open.
        let (idleStatus, idleReport, idleOutput) = try VerdictTests.run("""
        name: sparse-pings
        server: {kind: tcp-echo}
        load: {pattern: idle, ping_interval: 30s, connections: 2, warmup: 300ms, duration: 600ms}
        """)
        #expect(idleStatus == 0, "\(idleOutput)")
        #expect(idleReport.runs.first?.connections.starved == 0)
        // Half a datagram a second: one in the warm-up, the next after the window.
        let (status, report, output) = try VerdictTests.run("""
        name: sparse-sink
        server: {kind: udp-sink}
        load: {connections: 1, warmup: 1s, duration: 500ms, rate: 0.5/s}
        """)
        VerdictTests.expectFailed(status, report, saying: ["no datagram was sent"], output)
    }

    @Test("a reference server that cannot bind, and a descriptor limit too low: a failed report, exit 3")
    func reportInEveryCase() throws {
        // A port already taken.
        let taken = try SocketAddress(parsing: "127.0.0.1:0")
        let holder = try Socket.open(.tcp, for: taken)
        defer { close(holder) }
        try Socket.bind(holder, to: taken)
        _ = listen(holder, 1)
        let port = try SocketAddress.local(of: holder).port
        let (status, report, output) = try VerdictTests.run("""
        name: bind-taken
        server: {kind: tcp-echo, bind: "127.0.0.1:\(port)"}
        load: {connections: 1, duration: 200ms, warmup: 0s}
        """)
        #expect(status == 3, "\(output)")
        #expect(report.status == "failed")
        #expect(report.runs.isEmpty)
        #expect(report.failure?.isEmpty == false)

        // Descriptors: 5000 connections under a limit of 256.
        guard let prlimit = TestSupport.tool("prlimit") else {
            Issue.record("prlimit (util-linux) is needed for the descriptor-limit case")
            return
        }
        let directory = TestSupport.temporaryDirectory("reportInEveryCase-limit")
        let scenario = try CIGateTests.scenarioFile("""
        name: too-many
        server: {kind: tcp-echo}
        load: {connections: 5000, duration: 200ms, warmup: 0s}
        """, in: directory)
        let out = directory + "/out"
        let limited = try TestSupport.program(prlimit, ["--nofile=256:256", TestSupport.executable, "run", scenario, "--out", out, "--no-capture"])
        #expect(limited.status == 3, "\(limited.stdout)\(limited.stderr)")
        let refused = try ReportFile.load(out + "/report.json")
        #expect(refused.status == "failed")
        #expect(refused.failure?.contains("descriptor") == true || refused.failure?.contains("ulimit") == true, "\(refused.failure ?? "")")
    }
}
