import Foundation
import Testing
@testable import SockBench

/// `sockbench run tcp://HOST:PORT` (no scenario file) and `--set KEY=VALUE`, as a user runs them:
/// against servers sockbench did not start, with the report and the messages they get.
@Suite("sockbench run with no scenario file, and --set", .serialized)
struct RunWithoutFileTests {
    static let quickstart = "scenarios/quickstart.yaml"

    @Test("run tcp://127.0.0.1:PORT -c 4 loads a plain echo server: exit 0, figures, 0 errors, a record from the command line")
    func tcpURL() throws {
        let server = try PlainEchoServer()
        defer { server.stop() }
        let out = TestSupport.temporaryDirectory()
        let url = "tcp://\(server.address)"
        let result = try TestSupport.sockbench(["run", url, "--connections", "4", "--duration", "1s", "--warmup", "0s", "--out", out])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("running \(url) against external server \(server.address): 4 connections"))
        let report = try TestSupport.decodeReport(out)
        #expect(report["status"] as? String == "ok")
        let scenario = try #require(report["scenario"] as? [String: Any])
        #expect(scenario["name"] as? String == url)
        #expect(scenario["source"] as? String == "command line")
        #expect(scenario["command"] as? String == "sockbench run \(url) --connections 4 --duration 1s --warmup 0s")
        let server_ = try #require(scenario["server"] as? [String: Any])
        #expect(server_["kind"] as? String == "external" && server_["protocol"] as? String == "tcp")
        let load = try #require(scenario["load"] as? [String: Any])
        // The loader's defaults, as a scenario file with an empty load section gets them.
        #expect(load["connections"] as? Int == 4 && load["pattern"] as? String == "request-response")
        #expect(load["message_size_bytes"] as? Int == 64 && load["depth"] as? Int == 1)
        #expect(load["warmup_s"] as? Double == 0 && load["duration_s"] as? Double == 1)
        let run = try #require((report["runs"] as? [[String: Any]])?.first)
        #expect(((run["messages"] as? [String: Any])?["received"] as? Int ?? 0) > 0)
        #expect((run["errors"] as? [String: Any])?["total"] as? Int == 0)
        #expect((run["connections"] as? [String: Any])?["established"] as? Int == 4)
        #expect((run["server"] as? [String: Any])?["started_by_sockbench"] as? Bool == false)
        let markdown = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
        #expect(markdown.contains("from the command line"))
        #expect(markdown.contains("Rerun: `sockbench run \(url) --connections 4 --duration 1s --warmup 0s`"))
    }

    @Test("run udp://127.0.0.1:PORT loads a UDP echo peer sockbench did not start (wrk's short options)")
    func udpURL() throws {
        let peer = try DamagingUDPPeer(.flood(copies: 1))
        defer { peer.stop() }
        let out = TestSupport.temporaryDirectory()
        let result = try TestSupport.sockbench(["run", "udp://\(peer.address)", "-c", "2", "-t", "2", "-d", "500ms", "--warmup", "0s",
                                                "--no-capture", "--out", out])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try TestSupport.decodeReport(out)
        let scenario = try #require(report["scenario"] as? [String: Any])
        #expect((scenario["server"] as? [String: Any])?["protocol"] as? String == "udp")
        #expect((scenario["load"] as? [String: Any])?["threads"] as? Int == 2)
        let run = try #require((report["runs"] as? [[String: Any]])?.first)
        #expect(run["transport"] as? String == "udp")
        let udp = try #require(run["udp"] as? [String: Any])
        #expect((udp["received"] as? Int ?? 0) > 0)
        #expect((run["errors"] as? [String: Any])?["total"] as? Int == 0)
        #expect(peer.counts.copies > 0, "the peer answered")
    }

    @Test("--set with a file: load.connections=3 runs 3 connections; client.tcp_nodelay=false reaches the sockets")
    func setWithFile() throws {
        let out = TestSupport.temporaryDirectory()
        let result = try TestSupport.sockbench(["run", Self.quickstart, "--set", "load.connections=3", "--set", "client.tcp_nodelay=false",
                                                "-d", "300ms", "--warmup", "0s", "--no-capture", "--quiet", "--out", out])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try TestSupport.decodeReport(out)
        let scenario = try #require(report["scenario"] as? [String: Any])
        #expect(scenario["source"] as? String == Self.quickstart)
        #expect(scenario["command"] as? String == "sockbench run \(Self.quickstart) --duration 300ms --warmup 0s --set load.connections=3 --set client.tcp_nodelay=false --no-capture")
        #expect((scenario["load"] as? [String: Any])?["connections"] as? Int == 3)
        let run = try #require((report["runs"] as? [[String: Any]])?.first)
        #expect((run["connections"] as? [String: Any])?["established"] as? Int == 3)
        #expect((run["connect_latency_ns"] as? [String: Any])?["count"] as? Int == 3)
        let client = try #require((run["socket_options"] as? [String: Any])?["client"] as? [String: Any])
        #expect((client["requested"] as? [String: Any])?["tcp_nodelay"] as? Bool == false)
        #expect((client["effective"] as? [String: Any])?["tcp_nodelay"] as? Bool == false, "read back with getsockopt")
        // The server keeps the file's value: --set changed the client's key only.
        let server = try #require((run["socket_options"] as? [String: Any])?["server"] as? [String: Any])
        #expect((server["effective"] as? [String: Any])?["tcp_nodelay"] as? Bool == true)
    }

    @Test("--set of an unknown key is refused as in a file, with the suggestion, before anything is written")
    func unknownKey() throws {
        let base = TestSupport.temporaryDirectory()
        for target in [Self.quickstart, "tcp://127.0.0.1:9"] {
            let out = base + "/never"
            let result = try TestSupport.sockbench(["run", target, "--set", "load.conections=3", "--out", out])
            #expect(result.status == 1)
            #expect(result.stderr.trimmingWhitespace() == "sockbench: --set load.conections=3: load.conections: unknown key; did you mean 'connections'? "
                + "Allowed here: \(ScenarioLoader.loadKeys.joined(separator: ", "))")
            #expect(!FileManager.default.fileExists(atPath: out), "nothing written in --out")
        }
        let section = try TestSupport.sockbench(["run", Self.quickstart, "--set", "clinet.tcp_nodelay=false"])
        #expect(section.status == 1)
        #expect(section.stderr.contains("--set clinet.tcp_nodelay=false: clinet: unknown key; did you mean 'client'?"))
    }

    @Test("a wrong value from --set or a load flag names the argument and the key")
    func badValues() throws {
        let cases: [([String], String)] = [
            (["--set", "load.connections=abc"], "sockbench: --set load.connections=abc: load.connections: expected a whole number from 1 to 100000, got 'abc'"),
            (["-c", "abc"], "sockbench: --connections abc: load.connections: expected a whole number from 1 to 100000, got 'abc'"),
            (["--warmup", "soon"], "sockbench: --warmup soon: load.warmup: expected \(Quantity.durationHelp), got 'soon'"),
            (["--pattern", "stram"], "sockbench: --pattern stram: load.pattern: 'stram' is not allowed; did you mean 'stream'?; allowed: request-response, stream, idle, connect, conversation"),
            (["--set", "load.connections.x=1"], "sockbench: --set load.connections.x=1: load.connections: holds a value, not keys; set it with --set load.connections=VALUE"),
            (["--set", "client.tcp_nodelay=perhaps"], "sockbench: --set client.tcp_nodelay=perhaps: client.tcp_nodelay: expected true or false, got 'perhaps'"),
            (["--set", "load.connections"], "sockbench: --set load.connections: expected KEY=VALUE with a dotted scenario key, e.g. --set load.connections=4 or --set client.tcp_nodelay=false"),
            (["-c", "2", "--set", "load.connections=3"], "sockbench: --set load.connections=3: load.connections: already set by --connections 2 on the same command line; give each key once"),
        ]
        for (arguments, expected) in cases {
            let result = try TestSupport.sockbench(["run", Self.quickstart] + arguments)
            #expect(result.status == 1, "\(arguments)")
            #expect(result.stderr.trimmingWhitespace() == expected, "\(arguments)")
        }
        let udp = try TestSupport.sockbench(["run", "udp://127.0.0.1:9", "--set", "client.tcp_nodelay=true"])
        #expect(udp.status == 1)
        #expect(udp.stderr.contains("--set client.tcp_nodelay=true: client.tcp_nodelay: tcp_nodelay applies to TCP sockets only, and this scenario uses UDP"))
    }

    @Test("URL mistakes: no port, no such scheme, a non-loopback host (refused before any traffic), a bare HOST:PORT")
    func urlMistakes() throws {
        let base = TestSupport.temporaryDirectory()
        let cases: [(String, String)] = [
            ("tcp://127.0.0.1", "sockbench: tcp://127.0.0.1: the URL needs a port: tcp://HOST:PORT, e.g. tcp://127.0.0.1:7000"),
            ("http://127.0.0.1:80", "sockbench: http://127.0.0.1:80: 'http://' is not a transport sockbench loads; expected tcp://HOST:PORT, udp://HOST:PORT or unix:///path"),
            ("tcp://127.0.0.1:http", "sockbench: tcp://127.0.0.1:http: server.address: port must be a number from 0 to 65535, got '127.0.0.1:http'"),
            ("127.0.0.1:7000", "sockbench: 127.0.0.1:7000:1:1: scenario file no such file; to load the server at 127.0.0.1:7000 with no scenario file, write tcp://127.0.0.1:7000 (or udp://127.0.0.1:7000)"),
        ]
        for (target, expected) in cases {
            let result = try TestSupport.sockbench(["run", target, "--out", base + "/never"])
            #expect(result.status == 1, "\(target)")
            #expect(result.stderr.trimmingWhitespace() == expected, "\(target)")
        }
        // 198.18.0.0/15 is the benchmarking range: nothing here routes to it, and the policy refuses it before a packet leaves.
        let started = Date()
        let remote = try TestSupport.sockbench(["run", "tcp://198.18.0.1:7", "-d", "5s", "--out", base + "/never"])
        #expect(remote.status == 1)
        #expect(remote.stderr.contains("198.18.0.1:7 is neither loopback nor an address of this machine; sockbench loads other hosts only with --allow-remote"))
        #expect(!remote.stdout.contains("running"), "refused before the run is announced")
        #expect(Date().timeIntervalSince(started) < 3)
        #expect(!FileManager.default.fileExists(atPath: base + "/never"))
        let missing = try TestSupport.sockbench(["run", "/nonexistent.yaml"])
        #expect(missing.stderr.trimmingWhitespace() == "sockbench: /nonexistent.yaml:1:1: scenario file no such file")
    }

    @Test("run --help explains both forms first, with wrk's short options")
    func help() throws {
        let help = try TestSupport.sockbench(["run", "--help"])
        #expect(help.status == 0)
        let lines = help.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let overview = lines.prefix(8).joined(separator: "\n")
        #expect(overview.contains("Run a scenario file, or load a server given as a URL"))
        #expect(overview.contains("  sockbench run scenarios/quickstart.yaml\n  sockbench run tcp://127.0.0.1:7000 -c 4 -d 5s"))
        #expect(help.stdout.contains("udp://HOST:PORT or unix:///path"))
        for option in ["-c, --connections <n>", "-t, --threads <n>", "-d, --duration <duration>", "--set <key=value>", "--message-size <size>"] {
            #expect(help.stdout.contains(option), "\(option)")
        }
    }
}
