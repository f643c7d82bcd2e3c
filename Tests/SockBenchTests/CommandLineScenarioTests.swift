import Foundation
import Testing
@testable import SockBench

/// Scenarios from the command line, at the loader: target URLs and `--set` values go through the
/// same loader as a file, and their errors name the argument.
@Suite("scenarios from the command line: URLs and --set")
struct CommandLineScenarioTests {
    static let quickstart = TestSupport.packageRoot + "/scenarios/quickstart.yaml"
    static let matrix = TestSupport.packageRoot + "/scenarios/compare-nodelay.yaml"

    static func set(_ argument: String) throws -> ScenarioOverride { try ScenarioOverride(setting: argument) }

    static func error(_ body: () throws(ScenarioError) -> Scenario) -> String? {
        do {
            _ = try body()
            return nil
        } catch {
            return error.description
        }
    }

    @Test("URLs: tcp and udp give HOST:PORT, unix:///path gives unix:/path; a file path is not a URL")
    func urls() throws {
        let tcp = try TargetURL(parsing: "tcp://127.0.0.1:7000")
        #expect(tcp.scheme == .tcp && tcp.address == "127.0.0.1:7000")
        #expect(try TargetURL(parsing: "udp://[::1]:53").address == "[::1]:53")
        #expect(try TargetURL(parsing: "TCP://localhost:80").scheme == .tcp)
        // The address text SocketAddress reads for a unix stream socket (its parsing lands apart).
        let unix = try TargetURL(parsing: "unix:///run/echo.sock")
        #expect(unix.scheme == .unix && unix.address == "unix:/run/echo.sock")
        let server = try ScenarioDocument(file: unix.text, path: "server", node: #require(ScenarioDocument(file: unix.text, path: "", node: unix.document)["server"]))
        #expect(try server.scalar("address", expected: "an address") == "unix:/run/echo.sock")
        #expect(server["protocol"] == nil, "a unix address says its own transport")
        for text in ["scenarios/quickstart.yaml", "/tmp/a.yaml", "tcp:/x", "127.0.0.1:7000", "a b://c", "://x"] {
            #expect(!TargetURL.looksLikeURL(text), "\(text)")
        }
        for text in ["tcp://127.0.0.1:7", "unix:///x", "http://example.com"] { #expect(TargetURL.looksLikeURL(text), "\(text)") }
        let refused: [(String, String)] = [
            ("tcp://127.0.0.1", "needs a port"), ("udp://[::1]", "needs a port"), ("tcp://127.0.0.1:", "needs a port"),
            ("tcp://:7000", "needs a host"), ("tcp://127.0.0.1:7000/echo", "no path"), ("tcp://user@127.0.0.1:7", "no user part"),
            ("tcp://127.0.0.1:0", "port 0"), ("unix://run/echo.sock", "unix:///path"), ("unix://", "unix:///path"),
            ("sctp://127.0.0.1:7", "'sctp://' is not a transport"),
        ]
        for (text, message) in refused {
            #expect(throws: ScenarioError.self, "\(text)") { try TargetURL(parsing: text) }
            do {
                _ = try TargetURL(parsing: text)
            } catch {
                #expect(error.description.hasPrefix("\(text): ") && error.description.contains(message), "\(error)")
            }
        }
    }

    @Test("a URL scenario is an external server of its transport with the loader's default load, named after the URL")
    func urlScenario() throws {
        let scenario = try ScenarioLoader.load(url: TargetURL(parsing: "udp://127.0.0.1:7000"))
        #expect(scenario.name == "udp://127.0.0.1:7000")
        #expect(scenario.sourcePath == "command line")
        #expect(scenario.server.kind == .external && scenario.transport == .udp)
        #expect(scenario.server.address == (try SocketAddress(parsing: "127.0.0.1:7000")))
        // Exactly what a file with an empty load section gets.
        let file = try ScenarioLoader.load(text: "name: x\nserver: {kind: external, address: 127.0.0.1:7000, protocol: udp}\nload: {}\n", path: "x.yaml")
        #expect(scenario.load == file.load && scenario.client == file.client && scenario.capture == file.capture)
        #expect(scenario.load.connections == 1 && scenario.load.durationNanoseconds == 10_000_000_000 && scenario.load.warmupNanoseconds == 1_000_000_000)

        let tuned = try ScenarioLoader.load(url: TargetURL(parsing: "tcp://127.0.0.1:7000"), overrides: [
            ScenarioOverride(key: "load.connections", text: "4", source: "--connections 4"),
            try Self.set("client.tcp_nodelay=false"), try Self.set("load.rate='500/s per connection'"), try Self.set("capture.mode=full"),
        ])
        #expect(tuned.load.connections == 4 && tuned.client.options[.tcp_nodelay] == .bool(false))
        #expect(tuned.load.rate == LoadSpec.Rate(perSecond: 500, perConnection: true) && tuned.capture.mode == .full)
        // An error in the URL's own document names the URL, as a file's names its line.
        #expect(Self.error { () throws(ScenarioError) in try ScenarioLoader.load(url: TargetURL(parsing: "tcp://10.0.0.1.5:7")) }
            == "tcp://10.0.0.1.5:7: server.address: '10.0.0.1.5' is not a numeric IPv4 or IPv6 address, got '10.0.0.1.5:7'")
    }

    @Test("--set values: YAML scalars and flow values; text YAML would read as more stays text")
    func values() throws {
        let scenario = try ScenarioLoader.load(path: Self.quickstart, overrides: [
            try Self.set("load.connections=3"), try Self.set("load.warmup=10ms"), try Self.set("client.so_keepalive=true"),
            try Self.set("description=Latency: p99 under 2ms"), try Self.set("thresholds=['latency.p99 < 2ms', 'errors.total == 0']"),
            try Self.set("server={kind: tcp-echo, tcp_nodelay: false}"), try Self.set("name='quoted # not a comment'"),
        ])
        #expect(scenario.load.connections == 3 && scenario.load.warmupNanoseconds == 10_000_000)
        #expect(scenario.client.options[.so_keepalive] == .bool(true) && scenario.client.options[.tcp_nodelay] == .bool(true))
        #expect(scenario.description == "Latency: p99 under 2ms")
        #expect(scenario.thresholds.count == 2)
        #expect(scenario.server.options[.tcp_nodelay] == .bool(false))
        #expect(scenario.name == "quoted # not a comment")
        #expect(scenario.sourcePath == Self.quickstart, "a file run keeps its file as the source")
        // Nothing set: the file as it is.
        #expect(try ScenarioLoader.load(path: Self.quickstart, overrides: []) == ScenarioLoader.load(path: Self.quickstart))
    }

    @Test("errors in --set values name the argument instead of a file and line")
    func errors() throws {
        func failure(_ arguments: [String], path: String = Self.quickstart) throws -> String? {
            let overrides = try arguments.map(Self.set)
            return Self.error { () throws(ScenarioError) in try ScenarioLoader.load(path: path, overrides: overrides) }
        }
        #expect(try failure(["load.connections=abc"]) == "--set load.connections=abc: load.connections: expected a whole number from 1 to 100000, got 'abc'")
        #expect(try failure(["load.connections=2", "load.depth=0"]) == "--set load.depth=0: load.depth: expected a whole number from 1 to 1024, got '0'",
                "the second value is named, not the first")
        #expect(try failure(["server.tcp_nodelay=false", "load.conections=3"])?.hasPrefix("--set load.conections=3: load.conections: unknown key; did you mean 'connections'?") == true)
        #expect(try failure(["capture.mode=fulll"])?.hasPrefix("--set capture.mode=fulll: capture.mode: 'fulll' is not allowed; did you mean 'full'?") == true)
        #expect(try failure(["name.first=x"]) == "--set name.first=x: name: holds a value, not keys; set it with --set name=VALUE")
        #expect(try failure(["load.rate.x=1"]) == "--set load.rate.x=1: load.rate: holds a value, not keys; set it with --set load.rate=VALUE",
                "absent from the file, but a key that holds a value")
        #expect(try failure(["load=[1, 2"])?.hasPrefix("--set load=[1, 2: load: the value is not valid YAML") == true)
        #expect(try failure(["load.connections=3", "load.connections=4"])
            == "--set load.connections=4: load.connections: already set by --set load.connections=3 on the same command line; give each key once")
        // A value that spans lines is named, whatever the lines after it.
        #expect(try failure(["description=\"two\nlines\"", "load.depth=0"]) == "--set load.depth=0: load.depth: expected a whole number from 1 to 1024, got '0'")
        // An error in the file itself still names the file and its line.
        let file = TestSupport.packageRoot + "/Tests/SockBenchTests/Fixtures/bad/unknown-load-key.yaml"
        #expect(try failure(["load.depth=2"], path: file)?.hasPrefix("\(file):5:3: load.conections: unknown key") == true)
        // A cross-check names the value it blames: the --set one, or the file's line.
        #expect(try failure(["load.pattern=stream"])?.hasPrefix("--set load.pattern=stream: load.pattern: tcp-echo is driven with pattern: request-response") == true)
        let blamed = try failure(["server.kind=tcp-sink"])
        #expect(blamed?.hasPrefix("\(Self.quickstart):") == true && blamed?.contains(": load.pattern: tcp-sink is driven with pattern: stream") == true, "\(blamed ?? "")")
    }

    @Test("--set with a matrix: applies to the base document; a key the matrix varies is refused; matrix keys can be set")
    func matrix() throws {
        let scenario = try ScenarioLoader.load(path: Self.matrix, overrides: [try Self.set("load.connections=2")])
        let variants = try #require(scenario.matrix?.variants)
        #expect(variants.count == 6 && variants.allSatisfy { $0.scenario.load.connections == 2 })
        let narrowed = try ScenarioLoader.load(path: Self.matrix, overrides: [try Self.set("matrix.load.message_size=[64, 128]")])
        #expect(narrowed.matrix?.variants.map(\.scenario.load.messageSize) == [64, 128, 64, 128])
        #expect(Self.error { () throws(ScenarioError) in try ScenarioLoader.load(path: Self.matrix, overrides: [try! Self.set("client.tcp_nodelay=false")]) }
            == "--set client.tcp_nodelay=false: client.tcp_nodelay: the matrix varies this key, so each variant sets its own value; change the values with --set matrix.client.tcp_nodelay=[…]")
        #expect(Self.error { () throws(ScenarioError) in try ScenarioLoader.load(path: Self.matrix, overrides: [try! Self.set("matrix.load.depth=4")]) }
            == "--set matrix.load.depth=4: matrix.load.depth: expected a list of values such as [true, false], got '4'")
    }
}
