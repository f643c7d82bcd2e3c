import Foundation
import Testing
@testable import SockBench

@Suite("Scenario loading")
struct ScenarioLoaderTests {
    static let fixtures = TestSupport.packageRoot + "/Tests/SockBenchTests/Fixtures/bad/"

    /// Each bad file, where its error must point, the key it must name, and words it must say.
    static let badFiles: [(file: String, location: String, key: String?, says: String)] = [
        ("unknown-top-key.yaml", "4:1", "lod", "did you mean 'load'?"),
        ("unknown-load-key.yaml", "5:3", "load.conections", "did you mean 'connections'?"),
        ("duration-without-unit.yaml", "5:13", "load.duration", "expected a duration such as 500ms"),
        ("bad-size.yaml", "5:17", "load.message_size", "got '64QB'"),
        ("misspelled-kind.yaml", "3:9", "server.kind", "did you mean 'tcp-echo'?"),
        ("missing-name.yaml", "1:1", "name", "required key is missing"),
        ("bad-option-value.yaml", "5:16", "client.tcp_nodelay", "expected true or false, got 'maybe'"),
        ("tcp-option-on-udp.yaml", "5:16", "client.tcp_nodelay", "applies to TCP sockets only"),
        ("unclosed-flow-mapping.yaml", "5:1", nil, "invalid YAML"),
        ("zero-connections.yaml", "5:16", "load.connections", "from 1 to 100000, got '0'"),
        ("pattern-mismatch.yaml", "5:12", "load.pattern", "tcp-sink is driven with pattern: stream"),
        ("external-without-address.yaml", "3:3", "server.address", "required key is missing"),
        ("udp-datagram-too-small.yaml", "5:17", "load.message_size", "from 16 to 65507"),
        ("not-a-mapping.yaml", "1:1", nil, "must be a mapping"),
        ("empty.yaml", "1:1", nil, "scenario is empty"),
        ("duplicate-key.yaml", "2:1", "name", "more than once"),
        ("bad-value.json", "4:27", "load.connections", "got 'many'"),
        ("bind-without-port.yaml", "4:9", "server.bind", "expected HOST:PORT"),
        ("bad-linger.yaml", "4:14", "server.so_linger", "whole number of seconds"),
        ("load-not-a-mapping.yaml", "4:7", "load", "must be a mapping"),
        ("capture-unknown-key.yaml", "6:3", "capture.enable", "did you mean 'enabled'?"),
        ("capture-bad-boolean.yaml", "5:13", "capture.required", "expected true or false, got 'perhaps'"),
        ("capture-required-but-disabled.yaml", "6:13", "capture.required", "needs enabled: true"),
        ("capture-bad-interface.yaml", "5:14", "capture.interface", "network interface name"),
        ("idle-with-depth.yaml", "5:10", "load.depth", "does not apply to pattern: idle"),
        ("batch-writes-on-udp.yaml", "5:17", "load.batch_writes", "TCP pattern: request-response"),
        ("rate-on-tcp-stream.yaml", "5:9", "load.rate", "request-response, conversation and to UDP streams"),
        ("bad-rate.yaml", "5:9", "load.rate", "expected a rate such as 20000/s"),
        ("think-time-with-rate.yaml", "5:15", "load.think_time", "closed-loop TCP request-response"),
        ("conversation-without-steps.yaml", "5:12", "load.pattern", "needs a top-level 'conversation'"),
        ("bad-regex.yaml", "6:19", "conversation[1].expect_regex", "not a valid regular expression"),
        ("step-with-two-keys.yaml", "5:46", "conversation[0].expect_bytes", "one expect per step"),
        ("greeting-on-sink.yaml", "4:13", "server.greeting", "greeting is for kind: tcp-echo"),
        ("ping-without-idle.yaml", "5:18", "load.ping_interval", "applies to pattern: idle"),
        ("connect-on-udp.yaml", "5:12", "load.pattern", "is for TCP"),
    ]

    @Test("every bad file gets one line with file:line:column, key and what is allowed", arguments: badFiles)
    func badFile(_ expectation: (file: String, location: String, key: String?, says: String)) {
        let path = Self.fixtures + expectation.file
        #expect(throws: ScenarioError.self) { try ScenarioLoader.load(path: path) }
        do {
            _ = try ScenarioLoader.load(path: path)
        } catch {
            let line = error.description
            #expect(line.hasPrefix("\(path):\(expectation.location): "), "\(line)")
            #expect(error.key == expectation.key, "\(line)")
            #expect(line.contains(expectation.says), "\(line)")
            #expect(!line.contains("\n"), "one line: \(line)")
        }
    }

    @Test("every example scenario in scenarios/ loads")
    func examplesLoad() throws {
        let folder = TestSupport.packageRoot + "/scenarios"
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".json") }
        #expect(files.count >= 4)
        for file in files {
            let scenario = try ScenarioLoader.load(path: "\(folder)/\(file)")
            #expect(!scenario.name.isEmpty)
        }
        for required in ["quickstart.yaml", "udp-echo.yaml", "tcp-stream.yaml", "tcp-rr.yaml", "nagle.yaml", "keepalive.yaml"] {
            #expect(files.contains(required), "scenarios/\(required) is missing")
        }
    }

    @Test("the quickstart scenario says what the README promises")
    func quickstart() throws {
        let scenario = try ScenarioLoader.load(path: TestSupport.packageRoot + "/scenarios/quickstart.yaml")
        #expect(scenario.server.kind == .tcpEcho)
        #expect(scenario.load.messageSize == 64)
        #expect(scenario.load.connections == 16)
        #expect(scenario.load.durationNanoseconds == 5_000_000_000)
    }

    @Test("a full scenario fills every field, options by kernel name on both sides")
    func fullScenario() throws {
        let text = """
        name: full
        description: everything
        server:
          kind: tcp-rr
          bind: "[::1]:0"
          threads: 2
          response_size: 4KiB
          tcp_nodelay: true
          so_rcvbuf: 256KiB
        client:
          so_keepalive: yes
          tcp_keepidle: 1s
          tcp_keepintvl: 2
          tcp_keepcnt: 3
          so_linger: 0
          tcp_congestion: cubic
          ip_tos: 0x10
          tcp_maxseg: 1400
        load:
          connections: 8
          duration: 1.5s
          warmup: 250ms
          threads: 2
          message_size: 100
          depth: 4
          connect_timeout: 2s
          request_timeout: 3s
        """
        let scenario = try ScenarioLoader.load(text: text, path: "full.yaml")
        #expect(scenario.server.bind.description == "[::1]:0")
        #expect(scenario.server.responseSize == 4096)
        #expect(scenario.server.threads == 2)
        #expect(scenario.server.options[.so_rcvbuf] == .integer(262_144))
        #expect(scenario.client.options[.so_keepalive] == .bool(true))
        #expect(scenario.client.options[.tcp_keepidle] == .integer(1))
        #expect(scenario.client.options[.so_linger] == .integer(0))
        #expect(scenario.client.options[.tcp_congestion] == .text("cubic"))
        #expect(scenario.client.options[.ip_tos] == .integer(16))
        #expect(scenario.load.durationNanoseconds == 1_500_000_000)
        #expect(scenario.load.warmupNanoseconds == 250_000_000)
        #expect(scenario.load.depth == 4)
        #expect(scenario.load.threads == 2)
        #expect(scenario.load.connectTimeoutNanoseconds == 2_000_000_000)
    }

    @Test("capture is on by default with a headers-only snaplen; the section sets every field")
    func captureSection() throws {
        let plain = try ScenarioLoader.load(text: "name: c\nserver: {kind: tcp-echo}\nload: {connections: 1}\n", path: "c.yaml")
        #expect(plain.capture == CaptureSpec())
        #expect(plain.capture.enabled && !plain.capture.required && !plain.capture.payload)
        #expect(plain.capture.effectiveSnaplen == 128)
        #expect(plain.capture.effectiveInterface(for: try SocketAddress(parsing: "127.0.0.1:7")) == "lo")
        #expect(plain.capture.effectiveInterface(for: try SocketAddress(parsing: "[::1]:7")) == "lo")
        let text = """
        name: c
        server: {kind: tcp-echo}
        load: {connections: 1, pattern: idle}
        capture: {enabled: yes, required: true, interface: eth0, payload: true, buffer_size: 32MiB, max_file_size: 10MiB}
        """
        let full = try ScenarioLoader.load(text: text, path: "c.yaml")
        #expect(full.load.pattern == .idle)
        #expect(full.capture.required && full.capture.payload && full.capture.interface == "eth0")
        #expect(full.capture.effectiveSnaplen == 65_535 && full.capture.bufferSize == 32 << 20 && full.capture.maxFileSize == 10 << 20)
        let nagle = try ScenarioLoader.load(path: TestSupport.packageRoot + "/scenarios/nagle.yaml")
        #expect(!nagle.load.batchWrites && nagle.client.options[.tcp_nodelay] == .bool(false))
    }

    @Test("JSON scenarios load like YAML ones")
    func json() throws {
        let text = #"{"name": "j", "server": {"kind": "udp-echo"}, "load": {"connections": 3, "duration": "2s", "message_size": 32}}"#
        let scenario = try ScenarioLoader.load(text: text, path: "j.json")
        #expect(scenario.transport == .udp)
        #expect(scenario.load.connections == 3)
        #expect(scenario.load.messageSize == 32)
    }

    @Test("a missing file and a binary file are clear errors, not crashes")
    func unreadable() {
        #expect(throws: ScenarioError.self) { try ScenarioLoader.load(path: "/nonexistent/scenario.yaml") }
        let path = TestSupport.temporaryDirectory() + "/binary.yaml"
        #expect(FileManager.default.createFile(atPath: path, contents: Data([0xff, 0xfe, 0x00, 0x80])))
        #expect(throws: ScenarioError.self) { try ScenarioLoader.load(path: path) }
    }
}

@Suite("Quantities")
struct QuantityTests {
    @Test func durations() throws {
        #expect(try Quantity.nanoseconds("500ms").get() == 500_000_000)
        #expect(try Quantity.nanoseconds("10s").get() == 10_000_000_000)
        #expect(try Quantity.nanoseconds("2m").get() == 120_000_000_000)
        #expect(try Quantity.nanoseconds("250us").get() == 250_000)
        #expect(try Quantity.nanoseconds("1.5s").get() == 1_500_000_000)
        #expect(try Quantity.nanoseconds("0").get() == 0)
        #expect((try? Quantity.nanoseconds("5").get()) == nil)
        #expect((try? Quantity.nanoseconds("fast").get()) == nil)
        #expect((try? Quantity.nanoseconds("-1s").get()) == nil)
    }

    @Test func sizes() throws {
        #expect(try Quantity.bytes("64").get() == 64)
        #expect(try Quantity.bytes("16KiB").get() == 16_384)
        #expect(try Quantity.bytes("1MiB").get() == 1_048_576)
        #expect(try Quantity.bytes("4K").get() == 4096)
        #expect(try Quantity.bytes("2kB").get() == 2000)
        #expect((try? Quantity.bytes("1.5B").get()) == nil)
        #expect((try? Quantity.bytes("lots").get()) == nil)
    }

    @Test("rates: totals, per connection, k suffix, per ms and per minute; nonsense refused")
    func rates() throws {
        func rate(_ text: String) -> (Double, Bool)? {
            guard case .success(let value) = Quantity.rate(text) else { return nil }
            return (value.perSecond, value.perConnection)
        }
        #expect(rate("20000/s")! == (20000, false))
        #expect(rate("20k/s")! == (20000, false))
        #expect(rate("2.5k/s")! == (2500, false))
        #expect(rate("10/ms")! == (10000, false))
        #expect(rate("120/m")! == (2, false))
        #expect(rate("500/s per connection")! == (500, true))
        for bad in ["fast", "20000", "0/s", "-5/s", "5/h", "2G/s", "/s", "10/s/s"] { #expect(rate(bad) == nil, "\(bad)") }
    }

    @Test("load models: rate, think time, ramp-up, pings, conversation and greeting load with their defaults")
    func loadModels() throws {
        let openLoop = try ScenarioLoader.load(text: "name: o\nserver: {kind: tcp-echo}\nload: {connections: 4, rate: 500/s per connection}\n", path: "o.yaml")
        #expect(openLoop.load.rate == LoadSpec.Rate(perSecond: 500, perConnection: true))
        #expect(openLoop.load.depth == 1, "TCP open loop keeps one request in flight, as wrk2 does")
        #expect(LoadPlan(scenario: openLoop, target: ServerSpec.defaultBind).rate == 2000)
        let udp = try ScenarioLoader.load(text: "name: u\nserver: {kind: udp-echo}\nload: {rate: 10k/s}\n", path: "u.yaml")
        #expect(udp.load.depth == LoadSpec.udpOpenLoopDepth)
        let idle = try ScenarioLoader.load(text: "name: i\nserver: {kind: tcp-echo}\nload: {connections: 10, pattern: idle, ping_interval: 2s, connect_rate: 100/s, interval: 500ms}\n", path: "i.yaml")
        #expect(idle.load.pingIntervalNanoseconds == 2_000_000_000 && idle.load.connectRate == 100 && idle.load.intervalNanoseconds == 500_000_000)
        #expect(LoadPlan(scenario: idle, target: ServerSpec.defaultBind).rate == 5, "10 connections pinging every 2 s")
        let talk = try ScenarioLoader.load(path: TestSupport.packageRoot + "/scenarios/conversation.yaml")
        #expect(talk.load.pattern == .conversation)
        #expect(talk.server.greeting == Array("220 sockbench ready\r\n".utf8))
        #expect(talk.conversation.first == .expect(Array("220 sockbench ready\r\n".utf8)))
        #expect(talk.conversation.last == .closeStep)
        #expect(talk.conversation.contains(.pause(10_000_000)) && talk.conversation.contains(.expectBytes(16)))
    }

    @Test func formatting() {
        #expect(Quantity.formatDuration(5_000_000_000) == "5s")
        #expect(Quantity.formatDuration(500_000_000) == "500ms")
        #expect(Quantity.formatSize(16_384) == "16KiB")
        #expect(Quantity.formatSize(100) == "100")
    }

    @Test("did you mean picks the closest allowed word")
    func suggestions() {
        #expect(KeySuggestion.closest(to: "conections", in: ScenarioLoader.loadKeys) == "connections")
        #expect(KeySuggestion.closest(to: "tcp_nodealy", in: SocketOption.allCases.map(\.rawValue)) == "tcp_nodelay")
        #expect(KeySuggestion.closest(to: "zzzzzz", in: ["name", "load"]) == nil)
    }
}
