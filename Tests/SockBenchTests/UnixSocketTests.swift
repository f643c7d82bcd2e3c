import Foundation
import Glibc
import Testing
@testable import SockBench

/// `unix:/path` (stream) and `unixgram:/path` (datagram) wherever an address goes: parsing, the
/// loader's refusals at file:line:key, reference servers bound to a path (and what they do with
/// whatever is already there), and whole runs through `sockbench run` on real sockets.
@Suite("Unix sockets: unix:/path and unixgram:/path", .serialized)
struct UnixSocketTests {
    /// A fresh, short folder for socket files (sun_path holds 107 bytes; NSTemporaryDirectory may be long).
    static func directory() throws -> String {
        var template = Array("/tmp/sb-unix-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        try #require(made != nil, "mkdtemp: \(String(cString: strerror(errno)))")
        return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func runReport(_ yaml: String, in directory: String, _ extra: [String] = []) throws -> (result: TestSupport.CommandResult, run: [String: Any]?) {
        let scenario = directory + "/scenario.yaml"
        try yaml.write(toFile: scenario, atomically: true, encoding: .utf8)
        let out = directory + "/out-\(UInt32.random(in: 0...UInt32.max))"
        let result = try TestSupport.sockbench(["run", scenario, "--out", out] + extra, timeout: 60)
        let run = (try? TestSupport.decodeReport(out)["runs"] as? [[String: Any]])?.first
        return (result, run)
    }

    static func errorTotal(_ run: [String: Any]?) -> Int? { (run?["errors"] as? [String: Any])?["total"] as? Int }
    static func received(_ run: [String: Any]?) -> Int { (run?["messages"] as? [String: Any])?["received"] as? Int ?? 0 }

    // MARK: Addresses

    @Test("unix:/path, unix:///path and unixgram:/path parse, print back as written, and hold the path in sun_path")
    func parsing() throws {
        let stream = try SocketAddress(parsing: "unix:/tmp/echo.sock")
        #expect(stream.family == .unix && stream.isUnix && !stream.isUnixDatagram)
        #expect(stream.path == "/tmp/echo.sock" && stream.description == "unix:/tmp/echo.sock")
        #expect(stream.port == 0 && !stream.isLoopback)
        #expect(Int(stream.length) == 2 + "/tmp/echo.sock".utf8.count + 1)
        #expect(try SocketAddress(parsing: "unix:///tmp/echo.sock") == stream)
        let datagram = try SocketAddress(parsing: "unixgram:/tmp/echo.sock")
        #expect(datagram.isUnixDatagram && datagram.description == "unixgram:/tmp/echo.sock" && datagram != stream)
        #expect(try SocketAddress(parsing: "unixgram:///tmp/echo.sock") == datagram)
        #expect(try SocketAddress(parsing: datagram.description) == datagram)
        #expect(try SocketAddress(parsing: "unix:relative.sock").path == "relative.sock")
        #expect(TargetPolicy.isLocal(stream) && TargetPolicy.refusal(bind: stream, confirmed: false) == nil)
    }

    @Test("a path of 107 bytes fits sun_path; 108 bytes, no path, a URL with a host and a line break are refused with the reason")
    func parsingLimits() throws {
        let fits = "/" + String(repeating: "a", count: 106)
        #expect(try SocketAddress(parsing: "unix:" + fits).path == fits)
        let long = "/" + String(repeating: "a", count: 107)
        #expect(long.utf8.count == 108)
        let cases: [(String, String)] = [
            ("unix:" + long, "at most 107 bytes (sun_path), this one has 108"),
            ("unixgram:" + long, "at most 107 bytes"),
            ("unix:", "expected a path after 'unix:'"),
            ("unix://host/tmp/s.sock", "names no host"),
            ("unix:/tmp/a\nb", "line break"),
        ]
        for (text, reason) in cases {
            do {
                _ = try SocketAddress(parsing: text)
                Issue.record("\(text) was accepted")
            } catch {
                #expect(error.reason.contains(reason), "\(text): \(error)")
            }
        }
    }

    // MARK: The loader

    /// Every option the kernel refuses or ignores on AF_UNIX, with a value it would otherwise take.
    static let refusedOptions: [(option: String, value: String, says: String)] = [
        ("tcp_nodelay", "true", "TCP_NODELAY applies to TCP"),
        ("tcp_keepidle", "10", "TCP_KEEPIDLE applies to TCP"),
        ("tcp_keepintvl", "5", "TCP_KEEPINTVL applies to TCP"),
        ("tcp_keepcnt", "3", "TCP_KEEPCNT applies to TCP"),
        ("tcp_congestion", "cubic", "TCP_CONGESTION applies to TCP"),
        ("tcp_maxseg", "1000", "TCP_MAXSEG applies to TCP"),
        ("tcp_quickack", "true", "TCP_QUICKACK applies to TCP"),
        ("ip_tos", "16", "IP_TOS marks IP packets"),
        ("so_reuseport", "true", "SO_REUSEPORT shares a TCP or UDP port"),
        ("so_keepalive", "true", "SO_KEEPALIVE sends TCP keepalive probes"),
        ("so_reuseaddr", "true", "SO_REUSEADDR lets an IP address and port be bound again"),
        ("so_linger", "0", "SO_LINGER makes close wait"),
    ]

    static func loadError(_ yaml: String) -> ScenarioError? {
        do {
            _ = try ScenarioLoader.load(text: yaml, path: "unix.yaml")
            return nil
        } catch {
            return error
        }
    }

    @Test("an option that does not apply to a unix socket is refused at file:line:key with the reason", arguments: refusedOptions)
    func refusedOption(_ entry: (option: String, value: String, says: String)) throws {
        let server = "name: t\nserver:\n  kind: tcp-echo\n  bind: unix:/tmp/t.sock\n  \(entry.option): \(entry.value)\nload: {connections: 1}\n"
        let onServer = try #require(Self.loadError(server), "server.\(entry.option) on unix was accepted")
        #expect(onServer.description.hasPrefix("unix.yaml:5:\(entry.option.count + 5): server.\(entry.option): "), "\(onServer)")
        #expect(onServer.description.contains(entry.says) && onServer.description.contains("unix:/tmp/t.sock is a unix stream socket"), "\(onServer)")

        let client = "name: t\nserver: {kind: udp-echo, bind: \"unixgram:/tmp/t.sock\"}\nclient:\n  \(entry.option): \(entry.value)\nload: {connections: 1}\n"
        let onClient = try #require(Self.loadError(client), "client.\(entry.option) on unixgram was accepted")
        #expect(onClient.description.hasPrefix("unix.yaml:4:"), "\(onClient)")
        #expect(onClient.key == "client.\(entry.option)")
        #expect(onClient.description.contains(entry.says) && onClient.description.contains("is a unix datagram socket"), "\(onClient)")

        let external = "name: t\nserver: {kind: external, address: \"unix:/tmp/t.sock\"}\nclient: {\(entry.option): \(entry.value)}\nload: {connections: 1}\n"
        #expect(Self.loadError(external)?.key == "client.\(entry.option)")
        // The same option is fine on TCP.
        #expect(Self.loadError(server.replacingOccurrences(of: "unix:/tmp/t.sock", with: "127.0.0.1:0")) == nil)
    }

    @Test("so_sndbuf and so_rcvbuf apply to unix sockets and are taken on both sides")
    func bufferOptions() throws {
        let yaml = "name: t\nserver: {kind: tcp-echo, bind: \"unix:/tmp/t.sock\", so_sndbuf: 1MiB, so_rcvbuf: 512KiB}\n"
            + "client: {so_sndbuf: 256KiB, so_rcvbuf: 256KiB}\nload: {connections: 1}\n"
        let scenario = try ScenarioLoader.load(text: yaml, path: "unix.yaml")
        #expect(scenario.server.options[.so_sndbuf] == .integer(1 << 20) && scenario.client.options[.so_rcvbuf] == .integer(256 << 10))
        #expect(scenario.transport == .tcp && scenario.server.bind.description == "unix:/tmp/t.sock")
    }

    @Test("the spelling sets the transport; a unixgram address with a stream kind (and the reverse) is refused at its key")
    func transportFromSpelling() throws {
        let external = try ScenarioLoader.load(text: "name: t\nserver: {kind: external, address: \"unixgram:/tmp/g.sock\"}\nload: {connections: 1}\n", path: "unix.yaml")
        #expect(external.transport == .udp)
        let stream = try ScenarioLoader.load(text: "name: t\nserver: {kind: external, address: \"unix:///tmp/s.sock\"}\nload: {connections: 1}\n", path: "unix.yaml")
        #expect(stream.transport == .tcp && stream.server.address?.path == "/tmp/s.sock")
        let cases: [(yaml: String, location: String, key: String, says: String)] = [
            ("name: t\nserver:\n  kind: tcp-echo\n  bind: unixgram:/tmp/g.sock\nload: {connections: 1}\n", "4:9", "server.bind",
             "unixgram:/tmp/g.sock is a unix datagram socket, but tcp-echo needs a stream socket: write unix:/tmp/g.sock"),
            ("name: t\nserver:\n  kind: udp-echo\n  bind: unix:/tmp/s.sock\nload: {connections: 1}\n", "4:9", "server.bind",
             "unix:/tmp/s.sock is a unix stream socket, but udp-echo needs a datagram socket: write unixgram:/tmp/s.sock"),
            ("name: t\nserver:\n  kind: external\n  address: unixgram:/tmp/g.sock\n  protocol: tcp\nload: {connections: 1}\n", "5:13", "server.protocol",
             "but protocol: tcp needs a stream socket"),
            ("name: t\nserver:\n  kind: tcp-sink\n  bind: unix:/tmp/\(String(repeating: "s", count: 103))\nload: {connections: 1}\n", "4:9", "server.bind",
             "at most 107 bytes (sun_path), this one has 108"),
        ]
        for entry in cases {
            let error = try #require(Self.loadError(entry.yaml), "accepted: \(entry.yaml)")
            #expect(error.description.hasPrefix("unix.yaml:\(entry.location): \(entry.key): "), "\(error)")
            #expect(error.description.contains(entry.says), "\(error)")
        }
    }

    @Test("capture.required, impair: and connection patterns on a datagram socket are refused at their keys with the reason")
    func refusedFeatures() throws {
        let cases: [(yaml: String, location: String, key: String, says: String)] = [
            ("name: t\nserver: {kind: tcp-echo, bind: \"unix:/tmp/s.sock\"}\nload: {connections: 1}\ncapture:\n  required: true\n", "5:13", "capture.required",
             "packet capture sees network interfaces, and unix:/tmp/s.sock is a unix stream socket"),
            ("name: t\nserver: {kind: tcp-echo, bind: \"unix:/tmp/s.sock\"}\nload: {connections: 1}\nimpair:\n  delay: 1ms\n", "5:3", "impair",
             "cannot stand in front of unix:/tmp/s.sock"),
            ("name: t\nserver: {kind: external, address: \"unixgram:/tmp/g.sock\"}\nload:\n  pattern: idle\n", "4:12", "load.pattern",
             "pattern: idle needs a stream socket; unixgram:/tmp/g.sock is a unix datagram socket"),
            ("name: t\nserver: {kind: external, address: \"unixgram:/tmp/g.sock\"}\nload:\n  pattern: connect\n", "4:12", "load.pattern",
             "pattern: connect needs a stream socket"),
            ("name: t\nserver: {kind: udp-echo, bind: \"unixgram:/tmp/g.sock\"}\nload:\n  pattern: stream\n", "4:12", "load.pattern",
             "udp-echo is driven with pattern: request-response"),
        ]
        for entry in cases {
            let error = try #require(Self.loadError(entry.yaml), "accepted: \(entry.yaml)")
            #expect(error.description.hasPrefix("unix.yaml:\(entry.location): \(entry.key): "), "\(error)")
            #expect(error.description.contains(entry.says), "\(error)")
        }
        // Every pattern a stream socket has loads.
        for load in ["{pattern: request-response}", "{pattern: idle}", "{pattern: idle, ping_interval: 100ms}", "{pattern: connect}"] {
            #expect(Self.loadError("name: t\nserver: {kind: tcp-echo, bind: \"unix:/tmp/s.sock\"}\nload: \(load)\n") == nil, "\(load)")
        }
        for direction in ["download", "both"] {
            #expect(Self.loadError("name: t\nserver: {kind: tcp-source, bind: \"unix:/tmp/s.sock\"}\nload: {direction: \(direction)}\n") == nil)
        }
        #expect(Self.loadError("name: t\nserver: {kind: udp-sink, bind: \"unixgram:/tmp/g.sock\"}\nload: {pattern: stream}\n") == nil)
        #expect(Self.loadError("name: t\nserver: {kind: tcp-echo, bind: \"unix:/tmp/s.sock\"}\nload: {connections: 1}\ncapture: {enabled: true}\n") == nil)
    }

    @Test("--target and --bind with a unix address a scenario cannot use: exit 1 with the option and the reason, before any run")
    func commandLineRefusals() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cases: [(arguments: [String], says: String)] = [
            (["scenarios/quickstart.yaml", "--target", "unix:\(directory)/s.sock"],
             "--target unix:\(directory)/s.sock: client.tcp_nodelay: TCP_NODELAY applies to TCP"),
            (["scenarios/udp-echo.yaml", "--target", "unix:\(directory)/s.sock"], "but the scenario's udp load needs a datagram socket: write unixgram:"),
            (["scenarios/tcp-rr.yaml", "--bind", "unixgram:\(directory)/g.sock"], "but tcp-rr needs a stream socket"),
        ]
        for entry in cases {
            let result = try TestSupport.sockbench(["run"] + entry.arguments + ["--out", directory + "/out", "--no-capture"])
            #expect(result.status == 1, "\(entry.arguments): \(result.stdout)")
            #expect(result.stderr.contains(entry.says), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: directory + "/out/report.json"))
        }
        let serve = try TestSupport.sockbench(["serve", "tcp-echo", "--bind", "unix:\(directory)/s.sock", "-o", "tcp_nodelay=true"])
        #expect(serve.status == 1 && serve.stderr.contains("TCP_NODELAY applies to TCP"), "\(serve.stderr)")
        let proxy = try TestSupport.sockbench(["proxy", "--upstream", "unix:\(directory)/s.sock"])
        #expect(proxy.status == 1 && proxy.stderr.contains("unix socket addresses are not supported"), "\(proxy.stderr)")
    }

    // MARK: Runs on real sockets

    @Test("tcp-echo on unix:/path: request-response with no errors, capture off with the reason, no TCP_INFO, the socket file removed after")
    func echoOverUnixStream() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/s.sock"
        let yaml = "name: unix-echo\nserver: {kind: tcp-echo, bind: \"unix:\(path)\"}\n"
            + "load: {connections: 4, duration: 1s, warmup: 200ms}\n"
        let (result, run) = try Self.runReport(yaml, in: directory)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(Self.errorTotal(run) == 0, "\(run?["first_error"] ?? "")")
        #expect(Self.received(run) > 0)
        #expect(run?["target"] as? String == "unix:\(path)" && run?["transport"] as? String == "tcp")
        let capture = run?["capture"] as? [String: Any]
        #expect(capture?["status"] as? String == "unavailable")
        #expect(result.stdout.contains("unix stream request-response"), "\(result.stdout)")
        #expect(result.stderr.contains("no packet capture: packet capture sees network interfaces, and unix:\(path) is a unix stream socket"), "\(result.stderr)")
        #expect(run?["tcp_info"] == nil && run?["kernel_counters"] == nil)
        let effective = ((run?["socket_options"] as? [String: Any])?["client"] as? [String: Any])?["effective"] as? [String: Any]
        #expect(Set(effective?.keys.map { $0 } ?? []) == ["so_rcvbuf", "so_sndbuf"], "\(effective ?? [:])")
        #expect((run?["server"] as? [String: Any])?["connections_accepted"] as? Int == 4)
        var info = stat()
        #expect(lstat(path, &info) == -1 && errno == ENOENT, "the server removes its socket file when it stops")
    }

    @Test("streams on unix:/path: upload to tcp-sink, download from tcp-source, both ways at once")
    func streamsOverUnix() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for (kind, direction, counted) in [("tcp-sink", "upload", "bytes_sent"), ("tcp-source", "download", "bytes_received"), ("tcp-source", "both", "bytes_received")] {
            let yaml = "name: unix-stream\nserver: {kind: \(kind), bind: \"unix:\(directory)/\(kind).sock\", so_sndbuf: 512KiB}\n"
                + "client: {so_rcvbuf: 512KiB}\nload: {connections: 2, duration: 500ms, warmup: 0, direction: \(direction)}\n"
            let (result, run) = try Self.runReport(yaml, in: directory, ["--no-capture"])
            #expect(result.status == 0, "\(kind) \(direction): \(result.stdout)\(result.stderr)")
            #expect(Self.errorTotal(run) == 0, "\(run?["first_error"] ?? "")")
            let bytes = (run?["messages"] as? [String: Any])?[counted] as? Int ?? 0
            #expect(bytes > 1 << 20, "\(kind) \(direction): \(bytes) bytes")
            if direction == "both" { #expect(((run?["messages"] as? [String: Any])?["bytes_sent"] as? Int ?? 0) > 1 << 20) }
        }
    }

    @Test("udp-echo on unixgram:/path answers every datagram (0 lost); udp-sink receives an upload")
    func datagramsOverUnix() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let echo = "name: unixgram-echo\nserver: {kind: udp-echo, bind: \"unixgram:\(directory)/g.sock\"}\n"
            + "load: {connections: 4, depth: 4, duration: 1s, warmup: 0}\n"
        let (result, run) = try Self.runReport(echo, in: directory)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let udp = try #require(run?["udp"] as? [String: Any])
        #expect(udp["lost"] as? Int == 0 && (udp["received"] as? Int ?? 0) > 0, "\(udp)")
        #expect(Self.errorTotal(run) == 0 && run?["transport"] as? String == "udp")
        #expect(result.stdout.contains("unix datagram request-response"))
        #expect((run?["capture"] as? [String: Any])?["status"] as? String == "unavailable")

        let sink = "name: unixgram-sink\nserver: {kind: udp-sink, bind: \"unixgram:\(directory)/sink.sock\"}\n"
            + "load: {connections: 2, duration: 500ms, warmup: 0}\n"
        let (sinkResult, sinkRun) = try Self.runReport(sink, in: directory, ["--no-capture"])
        #expect(sinkResult.status == 0, "\(sinkResult.stdout)\(sinkResult.stderr)")
        let delivered = try #require(sinkRun?["udp"] as? [String: Any])
        #expect((delivered["received"] as? Int ?? 0) > 0 && delivered["lost"] as? Int == 0, "\(delivered)")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".sock") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    @Test("connect per request and a conversation on unix:/path")
    func connectAndConversationOverUnix() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let connect = "name: unix-crr\nserver: {kind: tcp-echo, bind: \"unix:\(directory)/c.sock\"}\n"
            + "load: {connections: 2, duration: 500ms, warmup: 0, pattern: connect}\n"
        let (crr, crrRun) = try Self.runReport(connect, in: directory, ["--no-capture"])
        #expect(crr.status == 0, "\(crr.stdout)\(crr.stderr)")
        #expect(Self.errorTotal(crrRun) == 0 && ((crrRun?["throughput"] as? [String: Any])?["connections_per_second"] as? Double ?? 0) > 100)

        let talk = "name: unix-talk\nserver: {kind: tcp-echo, bind: \"unix:\(directory)/v.sock\"}\n"
            + "load: {connections: 2, duration: 500ms, warmup: 0}\nconversation:\n  - send: \"hello\\n\"\n  - expect: \"hello\\n\"\n"
        let (conversation, conversationRun) = try Self.runReport(talk, in: directory, ["--no-capture"])
        #expect(conversation.status == 0, "\(conversation.stdout)\(conversation.stderr)")
        #expect(Self.errorTotal(conversationRun) == 0 && Self.received(conversationRun) > 0)
    }

    @Test("--target unix:/path loads an external unix echo server (socat); a path with no socket file is refused with the path")
    func externalTarget() throws {
        let socat = try #require(TestSupport.tool("socat"), "socat provides the external unix echo server")
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/ext.sock"
        let server = Process()
        server.executableURL = URL(fileURLWithPath: socat)
        server.arguments = ["UNIX-LISTEN:\(path),fork", "EXEC:cat"]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            // SIGKILL: a child started from a test thread inherits its blocked SIGTERM.
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        try #require(TestSupport.eventually(timeout: 5) { FileManager.default.fileExists(atPath: path) }, "socat did not create \(path)")
        let yaml = "name: external-unix\nserver: {kind: tcp-echo}\nload: {connections: 4, duration: 1s, warmup: 0}\n"
        let (result, run) = try Self.runReport(yaml, in: directory, ["--target", "unix:\(path)"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(Self.errorTotal(run) == 0 && Self.received(run) > 0, "\(run?["first_error"] ?? "")")
        #expect((run?["server"] as? [String: Any])?["started_by_sockbench"] as? Bool == false)
        #expect(result.stdout.contains("against external server unix:\(path)"))

        let missing = directory + "/missing.sock"
        let (refused, refusedRun) = try Self.runReport(yaml, in: directory, ["--target", "unix:\(missing)", "--no-capture"])
        #expect(refused.status == 3, "\(refused.stdout)")
        #expect(((refusedRun?["errors"] as? [String: Any])?["refused"] as? Int ?? 0) > 0, "\(refusedRun?["errors"] ?? "")")
        let first = refusedRun?["first_error"] as? String ?? ""
        #expect(first.contains("unix:\(missing)") && first.contains("No such file or directory") && first.contains("no socket file at this path"), "\(first)")
    }

    // MARK: What is at the bind path already

    static func serve(_ bind: String, kind: ServerKind = .tcpEcho) throws -> ServerProcess {
        try ServerProcess.launch(executable: TestSupport.executable, configuration: ServerConfiguration(kind: kind, bind: try SocketAddress(parsing: bind)))
    }

    static func launchError(_ bind: String, kind: ServerKind = .tcpEcho) -> String? {
        do {
            let process = try serve(bind, kind: kind)
            _ = process.stop()
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// One echoed exchange over a unix stream socket at `address`.
    static func echoes(_ address: SocketAddress) -> Bool {
        guard let fd = try? Socket.open(.tcp, for: address) else { return false }
        defer { close(fd) }
        guard (try? Socket.startConnect(fd, to: address)) == true else { return false }
        var flags = fcntl(fd, F_GETFL)
        flags &= ~O_NONBLOCK
        _ = fcntl(fd, F_SETFL, flags)
        var message: [UInt8] = Array("ping".utf8), answer = [UInt8](repeating: 0, count: 4)
        guard send(fd, &message, 4, 0) == 4 else { return false }
        return recv(fd, &answer, 4, Int32(MSG_WAITALL)) == 4 && answer == message
    }

    @Test("a symlink at the bind path is neither followed nor replaced; a regular file, a directory and a FIFO are not deleted")
    func bindPathNotASocket() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let target = directory + "/precious"
        try "keep me".write(toFile: target, atomically: false, encoding: .utf8)
        let link = directory + "/link.sock"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let linkError = try #require(Self.launchError("unix:\(link)"), "a server bound over a symlink")
        #expect(linkError.contains("a symbolic link (not followed) is at this path") && linkError.contains("unix:\(link)"), "\(linkError)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == target)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "keep me")

        // A dangling symlink is not replaced either (bind would create the file it points to).
        let dangling = directory + "/dangling.sock"
        try FileManager.default.createSymbolicLink(atPath: dangling, withDestinationPath: directory + "/nowhere")
        #expect(Self.launchError("unixgram:\(dangling)", kind: .udpEcho)?.contains("symbolic link") == true)
        #expect(!FileManager.default.fileExists(atPath: directory + "/nowhere"))

        let regular = directory + "/regular.sock"
        try "data".write(toFile: regular, atomically: false, encoding: .utf8)
        let regularError = try #require(Self.launchError("unixgram:\(regular)", kind: .udpEcho))
        #expect(regularError.contains("a regular file is at this path"), "\(regularError)")
        #expect(try String(contentsOfFile: regular, encoding: .utf8) == "data")

        let folder = directory + "/folder.sock"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        #expect(Self.launchError("unix:\(folder)")?.contains("a directory is at this path") == true)
        let fifo = directory + "/fifo.sock"
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(Self.launchError("unix:\(fifo)")?.contains("a FIFO is at this path") == true)
        var info = stat()
        #expect(lstat(fifo, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO)
    }

    @Test("a stale socket file (nothing bound to it) is reused; a socket a server is using is refused and keeps working")
    func staleAndLiveSockets() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A socket file left by a server that died: bound, then closed without unlink.
        let path = directory + "/stale.sock"
        let stale = try SocketAddress(parsing: "unix:\(path)")
        let fd = try Socket.open(.tcp, for: stale)
        try Socket.bind(fd, to: stale)
        close(fd)
        var info = stat()
        try #require(lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFSOCK)

        let server = try Self.serve("unix:\(path)")
        #expect(server.address == stale)
        #expect(Self.echoes(stale))
        // A second server on the same path is refused; the first goes on answering.
        let busy = try #require(Self.launchError("unix:\(path)"), "two servers on one path")
        #expect(busy.contains("another server is bound to this socket"), "\(busy)")
        let otherType = try #require(Self.launchError("unixgram:\(path)", kind: .udpEcho))
        #expect(otherType.contains("as a unix stream socket"), "\(otherType)")
        #expect(Self.echoes(stale))
        #expect(server.stop().exitStatus == 0)
        #expect(lstat(path, &info) == -1 && errno == ENOENT, "the server removed the file it created")

        // Stale datagram socket files are reused the same way.
        let gram = try SocketAddress(parsing: "unixgram:\(directory)/g.sock")
        let gfd = try Socket.open(.udp, for: gram)
        try Socket.bind(gfd, to: gram)
        close(gfd)
        let datagramServer = try Self.serve(gram.description, kind: .udpEcho)
        #expect(datagramServer.address == gram)
        #expect(datagramServer.stop().exitStatus == 0)
        #expect(!FileManager.default.fileExists(atPath: gram.path))
    }

    @Test("scenarios/unix-echo.yaml runs clean")
    func exampleScenario() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let out = directory + "/out"
        let result = try TestSupport.sockbench(["run", "scenarios/unix-echo.yaml", "--duration", "500ms", "--out", out])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let run = try #require((try TestSupport.decodeReport(out)["runs"] as? [[String: Any]])?.first)
        #expect(Self.errorTotal(run) == 0 && Self.received(run) > 0)
        #expect(!FileManager.default.fileExists(atPath: "/tmp/sockbench-unix-echo.sock"))
    }
}
