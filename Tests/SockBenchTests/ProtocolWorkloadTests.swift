import Foundation
import Glibc
import Testing
@testable import SockBench

/// Conversations as protocol workloads on real sockets: kept-alive iterations with per-step
/// latency, pipelining, open loop, framing, definite mismatches, servers that close, UDP
/// conversations and request-response with a payload of the scenario's own, against
/// sockbench's reference servers and the tutorial's servers (Fixtures/tutorial, in Python).
@Suite("Protocol workloads", .serialized)
struct ProtocolWorkloadTests {
    /// Loads `yaml` and runs it against `target` (or its own reference server) in this process.
    static func measure(_ yaml: String, target: String? = nil) throws -> WorkerResult {
        let scenario = try ScenarioLoader.load(text: yaml, path: "protocol.yaml")
        if let target {
            return try LoadModelTests.run(scenario, target: SocketAddress(parsing: target)).result
        }
        return try LoadModelTests.measure(scenario).outcome.result
    }

    /// A tutorial server (Fixtures/tutorial/NAME.py) on a port of its own; stopped by the caller.
    final class TutorialServer {
        let command: RunningCommand
        let port: Int

        init(_ script: String, _ arguments: [String] = []) throws {
            let python = try #require(TestSupport.tool("python3"), "python3 runs the tutorial servers")
            let directory = TestSupport.temporaryDirectory("tutorial-\(script)")
            let portFile = directory + "/port"
            command = try RunningCommand([TestSupport.packageRoot + "/Tests/SockBenchTests/Fixtures/tutorial/\(script).py", portFile] + arguments,
                                         in: directory, executable: python)
            var text = ""
            _ = TestSupport.eventually(timeout: 10) {
                text = (try? String(contentsOfFile: portFile, encoding: .utf8)) ?? ""
                return !text.isEmpty
            }
            port = try #require(Int(text), "the tutorial server wrote its port: \(command.output)")
        }

        var address: String { "127.0.0.1:\(port)" }

        func stop() {
            kill(command.pid, SIGTERM)
            _ = command.wait(timeout: 5)
        }
    }

    @Test("kept-alive conversation: many iterations on few connections, each named step timed, requests counted")
    func keptAlive() throws {
        let result = try Self.measure("""
        name: keep
        server: {kind: tcp-echo}
        load: {connections: 4, duration: 500ms, warmup: 0s, pattern: conversation, reuse_connection: true}
        conversation:
          - {name: ping, send: "PING ${conn} ${seq}\\r\\n", expect_until: "\\r\\n"}
          - {name: blob, send: "${random:100}", expect_bytes: 100}
        """)
        #expect(result.errors.total == 0, "\(result.firstError ?? "")")
        #expect(result.connectionsEstablished == 4, "iterations reuse their connections")
        #expect(result.messagesReceived > 500, "\(result.messagesReceived) iterations")
        #expect(result.steps.map(\.name) == ["ping", "blob"])
        let ping = result.steps[0].latency, blob = result.steps[1].latency
        // Steps count when they finish in the window, so each connection's iteration cut by an edge of the window may differ by one.
        #expect(ping.count.distance(to: result.messagesReceived).magnitude <= 8 && blob.count.distance(to: result.messagesReceived).magnitude <= 8)
        #expect((Int(result.requests) - 2 * Int(result.messagesReceived)).magnitude <= 16)
        // Each step is part of its iteration: a step's median is below the iteration's.
        #expect(ping.percentile(50) < result.latency.percentile(50) && blob.percentile(50) < result.latency.percentile(50))
    }

    @Test("pipelined conversation: depth 16 iterations in flight, answers matched in order, 0 errors")
    func pipelined() throws {
        let result = try Self.measure("""
        name: pipe
        server: {kind: tcp-echo}
        load: {connections: 2, duration: 500ms, warmup: 0s, pattern: conversation, reuse_connection: true, depth: 16}
        conversation:
          - {name: set, send: "SET ${seq}\\r\\n", expect_regex: '^SET \\d+\\r\\n'}
          - {send: "x", expect: "x"}
        """)
        #expect(result.errors.total == 0, "\(result.firstError ?? "")")
        #expect(result.peakInFlight == 16)
        #expect(result.messagesReceived > 1_000)
        #expect(result.steps[0].count.distance(to: result.messagesReceived).magnitude <= 32)
    }

    @Test("pipelined: request_timeout counts from each request's send, not from when its turn to be read came")
    func pipelinedTimeout() throws {
        let server = try TutorialServer("tcp_tutorial_server", ["slow"])
        defer { server.stop() }
        let result = try Self.measure("""
        name: slow-pipe
        server: {kind: external, address: "\(server.address)"}
        load: {connections: 1, duration: 1500ms, warmup: 0s, pattern: conversation, reuse_connection: true, depth: 8, request_timeout: 500ms, reconnect_delay: 10ms}
        conversation:
          - {name: a, send: "x${seq}\\n", expect_until: "\\n"}
        """, target: server.address)
        // The 3rd answer of 8 sent together comes 600 ms after its send: over the 500 ms timeout.
        #expect(result.errors.protocol > 0, "\(result.errors.summary)")
        #expect(result.steps[0].latency.max < 700_000_000, "no answer is counted past its timeout: max \(result.steps[0].latency.max)")
    }

    @Test("open-loop conversation: iterations on schedule, achieved rate equals the requested one, corrected latency kept")
    func openLoop() throws {
        let result = try Self.measure("""
        name: paced
        server: {kind: tcp-echo}
        load: {connections: 4, duration: 1s, warmup: 0s, pattern: conversation, reuse_connection: true, rate: 2000/s}
        conversation:
          - {name: get, send: "GET ${seq}\\n", expect_until: "\\n"}
        """)
        #expect(result.errors.total == 0, "\(result.firstError ?? "")")
        // 2,000 scheduled in the window; the last few may still be in flight at its end.
        #expect(result.messagesReceived >= 1_950 && result.messagesReceived <= 2_001, "\(result.messagesReceived)")
        #expect(result.latencyUncorrected.count == result.messagesReceived)
        #expect(result.sendLag.count > 0)
    }

    @Test("a definite mismatch (404 for 200) fails at once, not after the request timeout, and shows the bytes that arrived")
    func definiteMismatch() throws {
        let server = try TutorialServer("tcp_tutorial_server", ["404"])
        defer { server.stop() }
        let started = MonotonicClock.now()
        let result = try Self.measure("""
        name: status
        server: {kind: external, address: "\(server.address)"}
        load: {connections: 1, duration: 500ms, warmup: 0s, pattern: conversation, reuse_connection: true, request_timeout: 30s, reconnect_delay: 10ms}
        conversation:
          - {name: get, send: "GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n", expect_regex: '^HTTP/1\\.1 200 '}
        """, target: server.address)
        #expect(MonotonicClock.now() - started < 10_000_000_000, "no 30 s request timeout waited for")
        #expect(result.errors.protocol >= 2, "each attempt failed on arrival: \(result.errors.protocol)")
        let first = try #require(result.protocolMismatches.first)
        #expect(first.contains("got \"HTTP/1.1 404 Not Found\\r\\n") && first.contains("does not match"), "\(first)")
    }

    @Test("the tutorial TCP server answers once and closes: expect_close counts that as the end, 0 errors")
    func expectClose() throws {
        let server = try TutorialServer("tcp_tutorial_server", ["once"])
        defer { server.stop() }
        let result = try Self.measure("""
        name: once
        server: {kind: external, address: "\(server.address)"}
        load: {connections: 2, duration: 500ms, warmup: 0s, pattern: conversation}
        conversation:
          - {name: hello, send: "hello ${seq}\\n", expect_until: "\\n"}
          - expect_close: true
        """, target: server.address)
        #expect(result.errors.total == 0, "\(result.firstError ?? "")")
        #expect(result.messagesReceived > 20)
        #expect(result.connectionsEstablished >= Int(result.messagesReceived))
        // Without expect_close, a conversation that ends is the client's close: still no error,
        // but an expectation after the close is one (`closed`: the server left with an answer owed).
        let owed = try Self.measure("""
        name: owed
        server: {kind: external, address: "\(server.address)"}
        load: {connections: 1, duration: 300ms, warmup: 0s, pattern: conversation, reconnect_delay: 10ms}
        conversation:
          - {send: "hello\\n", expect_until: "\\n"}
          - expect_bytes: 1
        """, target: server.address)
        #expect(owed.errors.closed > 0 && owed.messagesReceived == 0)
    }

    @Test("the tutorial's ack: UDP server: a UDP conversation and request-response with a text payload, 0 errors, 0 lost")
    func udpAck() throws {
        let server = try TutorialServer("udp_ack_server")
        defer { server.stop() }
        let conversation = try Self.measure("""
        name: ack
        server: {kind: external, address: "\(server.address)", protocol: udp}
        load: {connections: 2, duration: 500ms, warmup: 0s, pattern: conversation}
        conversation:
          - {name: hello, send: "hello ${conn} ${seq}", expect_regex: '^ack: hello \\d+ \\d+$'}
        """, target: server.address)
        #expect(conversation.errors.total == 0, "\(conversation.firstError ?? "")")
        #expect(conversation.messagesReceived > 100 && conversation.udp.lost == 0, "\(conversation.udp)")
        #expect(conversation.steps[0].count.distance(to: conversation.messagesReceived).magnitude <= 2)
        let payload = try Self.measure("""
        name: ack-rr
        server: {kind: external, address: "\(server.address)", protocol: udp}
        load: {connections: 2, duration: 500ms, warmup: 0s, payload: "status?", expect: "ack: status?"}
        """, target: server.address)
        #expect(payload.errors.total == 0, "\(payload.firstError ?? "")")
        #expect(payload.messagesReceived > 100 && payload.udp.lost == 0)
        #expect(server.command.process.isRunning, "the tutorial server did not crash on what it got")
        // An expectation must take the whole datagram: "ack: status?" is not "ack: status" plus a byte.
        let short = try Self.measure("""
        name: ack-short
        server: {kind: external, address: "\(server.address)", protocol: udp}
        load: {connections: 1, duration: 300ms, warmup: 0s, payload: "status?", expect: "ack: status"}
        """, target: server.address)
        #expect(short.errors.protocol > 0 && short.messagesReceived == 0, "\(short.errors.summary)")
        #expect(short.protocolMismatches.first?.contains("1 bytes follow the expected message") == true, "\(short.protocolMismatches)")
    }

    @Test("request-response with payload_hex against an echo: the bytes come back, 0 errors; a wrong expect is a protocol error")
    func payload() throws {
        let echo = try Self.measure("""
        name: hex
        server: {kind: tcp-echo}
        load: {connections: 2, duration: 300ms, warmup: 0s, payload_hex: "00 ff 0d 0a 2a", depth: 4}
        """)
        #expect(echo.errors.total == 0 && echo.messagesReceived > 100, "\(echo.firstError ?? "")")
        #expect(echo.peakInFlight == 4)
        let wrong = try Self.measure("""
        name: hex-wrong
        server: {kind: tcp-echo}
        load: {connections: 1, duration: 300ms, warmup: 0s, payload: "ping\\n", expect: "pong\\n", reconnect_delay: 10ms}
        """)
        #expect(wrong.errors.protocol > 0 && wrong.messagesReceived == 0)
        #expect(wrong.protocolMismatches.first?.contains("got \"ping\\n\"") == true, "\(wrong.protocolMismatches)")
    }

    @Test("named steps reach report.json, the request rate and thresholds: steps.ping.p99 passes at 10s, fails at 1ns")
    func stepsInReport() throws {
        let directory = TestSupport.temporaryDirectory()
        let scenario = directory + "/steps.yaml"
        func write(_ limit: String) throws {
            try """
            name: steps
            server: {kind: tcp-echo}
            load: {connections: 2, duration: 500ms, warmup: 100ms, pattern: conversation, reuse_connection: true}
            conversation:
              - {name: ping, send: "PING\\r\\n", expect: "PING\\r\\n"}
              - {send: "x", expect_bytes: 1}
            thresholds:
              - steps.ping.p99 < \(limit)
              - throughput.requests_per_second > 100
            """.write(toFile: scenario, atomically: true, encoding: .utf8)
        }
        try write("10s")
        let pass = try TestSupport.sockbench(["run", scenario, "--no-capture", "--quiet", "--out", directory + "/pass"])
        #expect(pass.status == 0, "\(pass.stderr)")
        let run = try #require((try TestSupport.decodeReport(directory + "/pass")["runs"] as? [[String: Any]])?.first)
        let steps = try #require(run["steps"] as? [[String: Any]])
        #expect(steps.count == 1 && steps[0]["name"] as? String == "ping")
        let count = try #require(steps[0]["count"] as? Double)
        let latency = try #require(steps[0]["latency_ns"] as? [String: Any])
        #expect(count > 100 && (latency["p99"] as? Double ?? 0) > 0 && latency["histogram"] != nil)
        let throughput = try #require(run["throughput"] as? [String: Any])
        #expect((throughput["requests_per_second"] as? Double ?? 0) > 100)
        try write("1ns")
        let fail = try TestSupport.sockbench(["run", scenario, "--no-capture", "--quiet", "--out", directory + "/fail"])
        #expect(fail.status == 2, "a failed threshold exits 2: \(fail.status) \(fail.stderr)")
        // A step the scenario does not have is refused at its line before anything runs.
        try String(contentsOfFile: scenario, encoding: .utf8).replacingOccurrences(of: "steps.ping.p99", with: "steps.pong.p99")
            .write(toFile: scenario, atomically: true, encoding: .utf8)
        let unknown = try TestSupport.sockbench(["run", scenario, "--no-capture", "--quiet", "--out", directory + "/unknown"])
        #expect(unknown.status == 1 && unknown.stderr.contains("'pong'") && unknown.stderr.contains("'ping'"), "\(unknown.stderr)")
    }

    @Test("a server that resets kept-alive connections between requests: replayed on a new connection, not an error")
    func resets() throws {
        func run(_ fault: PlainEchoServer.Fault) throws -> WorkerResult {
            let server = try PlainEchoServer(fault: fault)
            defer { server.stop() }
            return try Self.measure("""
            name: resets
            server: {kind: external, address: "\(server.address)"}
            load: {connections: 2, duration: 500ms, warmup: 0s, pattern: conversation, reuse_connection: true, reconnect_delay: 5ms}
            conversation:
              - {name: echo, send: "line ${seq}\\n", expect_until: "\\n"}
            """, target: server.address)
        }
        // The reset comes before any byte of the next answer: what HTTP clients retry.
        let between = try run(.reset(after: 20))
        #expect(between.errors.total == 0, "\(between.errors.summary): \(between.firstError ?? "")")
        #expect(between.reconnects > 2 && between.messagesReceived > 40)
    }

    @Test("a server that closes in the middle of an answer on a kept-alive connection: closed errors, never a replay")
    func closeMidAnswer() throws {
        let server = try PlainEchoServer(fault: .closeMidAnswer(after: 20))
        defer { server.stop() }
        let result = try Self.measure("""
        name: mid
        server: {kind: external, address: "\(server.address)"}
        load: {connections: 2, duration: 500ms, warmup: 0s, pattern: conversation, reuse_connection: true, reconnect_delay: 5ms}
        conversation:
          - {name: echo, send: "line ${seq}\\n", expect_until: "\\n"}
        """, target: server.address)
        #expect(result.errors.closed > 0 && result.errors.closed + 2 >= result.reconnects,
                "every reconnect follows a closed error: \(result.errors.summary), \(result.reconnects) reconnects")
    }

    @Test("answers nobody asked for: a second copy read with the first, or arriving while an open-loop iteration waits, is a protocol error")
    func answersNobodyAskedFor() throws {
        // 20/s: the next iteration is due 50 ms after an answer, its copy 1 ms after it (a loaded
        // machine delays the copy, but not by 50 ms).
        for (gap, rate) in [(UInt32(0), ""), (UInt32(1_000), ", rate: 20/s")] {
            let server = try PlainEchoServer(fault: .answerTwice(gapMicroseconds: gap))
            defer { server.stop() }
            let result = try Self.measure("""
            name: twice
            server: {kind: external, address: "\(server.address)"}
            load: {connections: 1, duration: 500ms, warmup: 0s, pattern: conversation, reuse_connection: true, reconnect_delay: 5ms\(rate)}
            conversation:
              - {name: echo, send: "line ${seq}\\n", expect_until: "\\n"}
            """, target: server.address)
            #expect(result.errors.protocol > 0, "gap \(gap) µs\(rate): \(result.errors.summary)")
            let first = result.protocolMismatches.first ?? ""
            #expect(first.contains(gap == 0 ? "before this step's send" : "no request outstanding"), "\(first)")
        }
    }

    @Test("a server that floods: a delimiter that never comes, a regex that never matches and bytes ahead of a wait stop at max_message_size")
    func flood() throws {
        let socat = try #require(TestSupport.tool("socat"), "socat is not installed (bash scripts/setup.sh --test)")
        let port = try TestSupport.closedPort().port
        let work = TestSupport.temporaryDirectory()
        let flood = try RunningCommand(["TCP4-LISTEN:\(port),fork,reuseaddr,bind=127.0.0.1", "EXEC:yes"], in: work, executable: socat)
        defer {
            kill(flood.pid, SIGTERM)
            _ = flood.wait(timeout: 5)
        }
        usleep(200_000)
        for step in [#"{send: "x\n", expect_until: "\r\n"}"#, #"{send: "x\n", expect_regex: "never"}"#, "{wait: 1s}"] {
            let started = MonotonicClock.now()
            let result = try Self.measure("""
            name: flood
            server: {kind: external, address: "127.0.0.1:\(port)"}
            load: {connections: 1, duration: 300ms, warmup: 0s, pattern: conversation, max_message_size: 4KiB, request_timeout: 10s, reconnect_delay: 20ms}
            conversation:
              - \(step)
              - {send: "y", expect: "y"}
            """, target: "127.0.0.1:\(port)")
            #expect(MonotonicClock.now() - started < 5_000_000_000, "\(step) ended without waiting out its timeout")
            #expect(result.errors.protocol > 0, "\(step)")
            #expect(result.protocolMismatches.first?.contains("max_message_size") == true, "\(step): \(result.protocolMismatches)")
        }
    }

    @Test("kept-alive conversations over unix:/path and datagram conversations over unixgram:/path, 0 errors")
    func unixSockets() throws {
        let directory = TestSupport.temporaryDirectory()
        let stream = try Self.measure("""
        name: unix-keep
        server: {kind: tcp-echo, bind: "unix:\(directory)/s.sock"}
        load: {connections: 2, duration: 300ms, warmup: 0s, pattern: conversation, reuse_connection: true, depth: 4}
        conversation:
          - {name: ping, send: "PING ${seq}\\r\\n", expect_until: "\\r\\n"}
        """)
        #expect(stream.errors.total == 0 && stream.messagesReceived > 100, "\(stream.firstError ?? "")")
        let datagram = try Self.measure("""
        name: unixgram-talk
        server: {kind: udp-echo, bind: "unixgram:\(directory)/d.sock"}
        load: {connections: 2, duration: 300ms, warmup: 0s, pattern: conversation}
        conversation:
          - {name: hello, send: "hello ${conn}", expect_regex: '^hello \\d+$'}
        """)
        #expect(datagram.errors.total == 0 && datagram.messagesReceived > 100, "\(datagram.firstError ?? "")")
        #expect(datagram.udp.lost == 0)
    }

    @Test("loader: what conversations allow and refuse, at file:line with the key")
    func loader() throws {
        let cases: [(String, String, String)] = [
            ("load: {pattern: conversation, depth: 4}\nconversation: [{send: a, expect: a}]", "load.depth", "reuse_connection"),
            ("load: {pattern: conversation, reuse_connection: true, depth: 4}\nconversation: [{send: a, expect: a}, {wait: 1ms}]", "load.depth", "wait"),
            ("load: {pattern: conversation, reuse_connection: true}\nconversation: [{send: a, expect: a}, {expect_close: true}]", "load.reuse_connection", "cannot reuse"),
            ("load: {pattern: conversation, reuse_connection: true}\nconversation: [{send: a}]", "load.reuse_connection", "must read something back"),
            ("load: {pattern: conversation}\nconversation: [{send: a, expect_regex: 'x*'}]", "conversation[0].expect_regex", "empty match"),
            ("load: {pattern: conversation}\nconversation: [{send: a, expect: a}, close, {send: b, expect: b}]", "load.pattern", "no step can follow"),
            ("load: {pattern: conversation}\nconversation: [{name: x, send: a}]", "conversation[0].name", "last expected byte"),
            ("load: {pattern: conversation}\nconversation: [{name: x, send: a, expect: a}, {name: x, send: b, expect: b}]", "conversation[1].name", "already named"),
            ("load: {pattern: conversation}\nconversation: [{send: '${bogus}', expect: a}]", "conversation[0].send", "unknown placeholder"),
            ("load: {pattern: conversation}\nconversation: [{wait: 1ms, send: a}]", "conversation[0].send", "stands alone"),
            ("load: {payload: 'a${seq}'}", "load.payload", "placeholders"),
            ("load: {payload_hex: 'abc'}", "load.payload_hex", "even number"),
            ("load: {pattern: conversation}\nconversation: [{send: '${random:65536}${random:65536}${random:65536}${random:65536}${random:65536}${random:65536}${random:65536}${random:65536}${random:65536}${random:65536}${random:65536}${random:65536}${random:65536}${random:65536}${random:65536}${random:65536}x', expect: a}]", "conversation[0].send", "at most 1048576"),
            ("load: {expect: a}", "load.expect", "payload"),
            ("load: {payload: a, message_size: 10}", "load.message_size", "payload sets"),
        ]
        for (load, key, says) in cases {
            let yaml = "name: x\nserver: {kind: tcp-echo}\n" + load + "\n"
            do {
                _ = try ScenarioLoader.load(text: yaml, path: "x.yaml")
                Issue.record("loaded: \(load)")
            } catch {
                #expect(error.key == key && error.message.contains(says), "\(load): \(error)")
            }
        }
        let udp = "name: x\nserver: {kind: udp-echo}\nload: {pattern: conversation, depth: 2}\nconversation: [{send: a, expect: a}]\n"
        #expect(throws: ScenarioError.self) { try ScenarioLoader.load(text: udp, path: "x.yaml") }
    }
}
