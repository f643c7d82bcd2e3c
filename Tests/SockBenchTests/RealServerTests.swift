import Foundation
import Glibc
import Testing
@testable import SockBench

/// The example scenarios against the real servers they were written for: redis-server, memcached
/// and nginx, each started by the test on a free loopback port in a folder of its own, loaded by
/// `sockbench run` with the example's own steps (address, warm-up and duration shortened), and
/// stopped whatever happens. scripts/setup.sh --test installs the servers; a missing one fails the
/// test with the reason (CI must run these), it never passes silently.
@Suite("Real servers", .serialized)
struct RealServerTests {
    /// A server process on a port of its own; `stop()` sends SIGTERM, then SIGKILL after 5 s.
    final class RealServer {
        let name: String
        let port: Int
        let directory: String
        let process: SpawnedProcess

        /// Starts `binary` (looked up on PATH, /usr/sbin and /sbin) with the arguments `arguments`
        /// builds for the port and folder, after `prepare` has written what the server reads, and
        /// waits until it accepts connections.
        init(_ binary: String, prepare: (_ port: Int, _ directory: String) throws -> Void = { _, _ in },
             arguments: (_ port: Int, _ directory: String) -> [String]) throws {
            name = binary
            let path = try #require(TestSupport.tool(binary), "\(binary) is not installed: run bash scripts/setup.sh --test (CI installs it)")
            // The kernel's choice of a free port: bound, read back and closed (the servers need a number up front).
            port = Int(try TestSupport.closedPort().port)
            directory = TestSupport.temporaryDirectory("real-\(binary)")
            // nginx's workers run as www-data when started as root: they must be able to read the folder.
            chmod(directory, 0o755)
            try prepare(port, directory)
            process = try SpawnedProcess(path, arguments(port, directory), output: directory + "/server-output.txt")
            let accepting = TestSupport.eventually(timeout: 10) { !process.isRunning || Self.accepts(port) }
            guard accepting, process.isRunning else {
                stop()
                throw ServerFailure(description: "\(binary) did not start accepting on 127.0.0.1:\(port) within 10 s: \(process.output)")
            }
        }

        var address: String { "127.0.0.1:\(port)" }

        func stop() {
            if process.stop(grace: 5) == false { Issue.record("\(name) ignored SIGTERM for 5 s and was killed: \(process.output)") }
        }

        /// True when a TCP connect to 127.0.0.1:`port` completes within 200 ms.
        static func accepts(_ port: Int) -> Bool {
            guard let address = try? SocketAddress(parsing: "127.0.0.1:\(port)"),
                  let fd = try? Socket.open(.tcp, for: address) else { return false }
            defer { close(fd) }
            guard let done = try? Socket.startConnect(fd, to: address) else { return false }
            if done { return true }
            var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            return poll(&poller, 1, 200) == 1 && Socket.pendingError(fd) == 0
        }
    }

    /// A child started with posix_spawn, its signal mask emptied and SIGTERM, SIGINT, SIGHUP and
    /// SIGPIPE at their default actions: the test runner blocks SIGTERM in its threads and a
    /// child inherits that (Foundation's Process keeps it), so redis-server, memcached and nginx
    /// would never see the SIGTERM that stops them. Output goes to a file; stdin is /dev/null.
    final class SpawnedProcess {
        let pid: pid_t
        let outputPath: String
        private var status: Int32?

        init(_ path: String, _ arguments: [String], output: String) throws {
            outputPath = output
            var actions = posix_spawn_file_actions_t()
            var attributes = posix_spawnattr_t()
            posix_spawn_file_actions_init(&actions)
            posix_spawnattr_init(&attributes)
            defer {
                posix_spawn_file_actions_destroy(&actions)
                posix_spawnattr_destroy(&attributes)
            }
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
            var empty = sigset_t(), defaults = sigset_t()
            sigemptyset(&empty)
            sigemptyset(&defaults)
            for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&defaults, signal) }
            posix_spawnattr_setsigmask(&attributes, &empty)
            posix_spawnattr_setsigdefault(&attributes, &defaults)
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
            let argv = ([path] + arguments).map { strdup($0) } + [nil]
            defer { argv.forEach { free($0) } }
            var child: pid_t = 0
            let result = posix_spawn(&child, path, &actions, &attributes, argv, environ)
            guard result == 0 else { throw ServerFailure(description: "posix_spawn \(path): \(String(cString: strerror(result)))") }
            pid = child
        }

        var isRunning: Bool {
            if status == nil {
                var raw: Int32 = 0
                if waitpid(pid, &raw, WNOHANG) == pid { status = raw }
            }
            return status == nil
        }

        /// SIGTERM, then SIGKILL after `grace` seconds; true when SIGTERM was enough (or it had exited).
        @discardableResult
        func stop(grace: TimeInterval) -> Bool {
            guard isRunning else { return true }
            kill(pid, SIGTERM)
            if TestSupport.eventually(timeout: grace, { !isRunning }) { return true }
            kill(pid, SIGKILL)
            _ = TestSupport.eventually(timeout: 5) { !isRunning }
            return false
        }

        var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

        deinit { stop(grace: 1) }
    }

    struct ServerFailure: Error, CustomStringConvertible { let description: String }

    /// scenarios/`example` with its server's address pointed at `server`, a 200 ms warm-up and a
    /// 1 s window, written into the server's folder. Each replaced text must be in the example,
    /// so the example and its header comment stay what this test runs.
    static func copy(_ example: String, to server: RealServer, replacing defaultAddress: String) throws -> String {
        var text = try String(contentsOfFile: TestSupport.packageRoot + "/scenarios/\(example)", encoding: .utf8)
        for (old, new) in [("address: \"\(defaultAddress)\"", "address: \"\(server.address)\""), ("warmup: 500ms", "warmup: 200ms"), ("duration: 5s", "duration: 1s")] {
            #expect(text.contains(old), "scenarios/\(example) has \(old)")
            text = text.replacingOccurrences(of: old, with: new)
        }
        let path = server.directory + "/" + example
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Runs the copy of `example` against `server`: exit 0, 0 errors, each named step answered
    /// in the window with a latency. The run's first report entry, for more checks.
    @discardableResult
    static func run(_ example: String, against server: RealServer, replacing defaultAddress: String,
                    steps: [String]) throws -> [String: Any] {
        let scenario = try copy(example, to: server, replacing: defaultAddress)
        let out = server.directory + "/out"
        let result = try TestSupport.sockbench(["run", scenario, "--no-capture", "--quiet", "--out", out], timeout: 60)
        #expect(result.status == 0, "\(example) against \(server.name): exit \(result.status): \(result.stdout) \(result.stderr)")
        let run = try #require((try TestSupport.decodeReport(out)["runs"] as? [[String: Any]])?.first, "\(result.stderr)")
        let errors = try #require(run["errors"] as? [String: Any])
        #expect(errors["total"] as? Double == 0, "\(example): \(errors) \(run["protocol_mismatches"] ?? "")")
        let reported = try #require(run["steps"] as? [[String: Any]], "\(example) reports its named steps")
        #expect(reported.compactMap { $0["name"] as? String } == steps)
        for step in reported {
            let count = step["count"] as? Double ?? 0
            let latency = step["latency_ns"] as? [String: Any] ?? [:]
            #expect(count > 100, "\(example): step \(step["name"] ?? "?") answered \(count) times in 1 s")
            #expect((latency["p50"] as? Double ?? 0) > 0 && (latency["p99"] as? Double ?? 0) >= (latency["p50"] as? Double ?? 0),
                    "\(example): step \(step["name"] ?? "?") latency \(latency)")
        }
        print("real servers: \(example) against \(server.name): \(Int(reported.first?["count"] as? Double ?? 0)) × \(steps.first ?? "?"), "
            + "\((run["throughput"] as? [String: Any])?["requests_per_second"] ?? "?") requests/s")
        return run
    }

    static func redis() throws -> RealServer {
        try RealServer("redis-server") { port, directory in
            ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", directory]
        }
    }

    @Test("scenarios/redis-ping.yaml against redis-server: 0 errors, the ping step timed", .timeLimit(.minutes(2)))
    func redisPing() throws {
        let server = try Self.redis()
        defer { server.stop() }
        try Self.run("redis-ping.yaml", against: server, replacing: "127.0.0.1:6379", steps: ["ping"])
    }

    @Test("scenarios/redis-setget.yaml against redis-server: every GET finds the value SET, framed by its length", .timeLimit(.minutes(2)))
    func redisSetGet() throws {
        let server = try Self.redis()
        defer { server.stop() }
        try Self.run("redis-setget.yaml", against: server, replacing: "127.0.0.1:6379", steps: ["set", "get"])
    }

    @Test("scenarios/memcached.yaml against memcached: set then get, 0 errors", .timeLimit(.minutes(2)))
    func memcached() throws {
        let server = try RealServer("memcached") { port, _ in
            // -u only matters as root (memcached refuses root without it); -U 0: no UDP port.
            ["-l", "127.0.0.1", "-p", "\(port)", "-U", "0", "-u", "nobody"]
        }
        defer { server.stop() }
        try Self.run("memcached.yaml", against: server, replacing: "127.0.0.1:11211", steps: ["set", "get"])
    }

    /// nginx with the example's configuration, on its own port; `keepaliveRequests` replaces its limit.
    static func nginxServer(keepaliveRequests: Int? = nil) throws -> RealServer {
        try RealServer("nginx", prepare: { port, directory in
            let config = try String(contentsOfFile: TestSupport.packageRoot + "/scenarios/nginx/nginx.conf", encoding: .utf8)
            #expect(config.contains("listen 127.0.0.1:8080;") && config.contains("keepalive_requests 1000000;"))
            var text = config.replacingOccurrences(of: "listen 127.0.0.1:8080;", with: "listen 127.0.0.1:\(port);")
            if let keepaliveRequests { text = text.replacingOccurrences(of: "keepalive_requests 1000000;", with: "keepalive_requests \(keepaliveRequests);") }
            try text.write(toFile: directory + "/nginx.conf", atomically: true, encoding: .utf8)
            try FileManager.default.createDirectory(atPath: directory + "/html", withIntermediateDirectories: true)
            try String(repeating: "x", count: 612).write(toFile: directory + "/html/index.html", atomically: true, encoding: .utf8)
        }, arguments: { _, directory in
            // One process (no master and worker to stop apart): SIGTERM ends it all.
            ["-p", directory, "-e", "stderr", "-g", "master_process off;", "-c", directory + "/nginx.conf"]
        })
    }

    @Test("scenarios/http-get.yaml against nginx with scenarios/nginx/nginx.conf: status and Content-Length framing, 0 errors", .timeLimit(.minutes(2)))
    func nginx() throws {
        let server = try Self.nginxServer()
        defer { server.stop() }
        let run = try Self.run("http-get.yaml", against: server, replacing: "127.0.0.1:8080", steps: ["get"])
        // Each answer is its header and the 612-byte body read as part of the step.
        let messages = try #require(run["messages"] as? [String: Any])
        let received = try #require(messages["received"] as? Double), bytes = try #require(messages["bytes_received"] as? Double)
        #expect(bytes >= received * 612, "\(bytes) bytes for \(received) answers")
    }

    @Test("nginx closing kept-alive connections every 50 requests: reconnected and replayed, 0 errors", .timeLimit(.minutes(2)))
    func nginxKeepaliveLimit() throws {
        let server = try Self.nginxServer(keepaliveRequests: 50)
        defer { server.stop() }
        let run = try Self.run("http-get.yaml", against: server, replacing: "127.0.0.1:8080", steps: ["get"])
        let connections = try #require(run["connections"] as? [String: Any])
        let received = try #require((run["messages"] as? [String: Any])?["received"] as? Double)
        // About one reconnect per 50 answers (each connection's last request replayed once).
        #expect((connections["reconnects"] as? Double ?? 0) >= received / 60, "\(connections), \(received) answers")
    }
}
