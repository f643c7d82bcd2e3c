import CSockBenchLinux
import Foundation
import Glibc

/// A reference server running as a child process (`sockbench serve KIND ... --report-stats`).
/// Started with `launch`, which returns once the child printed its ready line with the bound
/// address; `stop` ends it with SIGTERM and returns its statistics and CPU time (from wait4).
/// The child's stdin is a pipe from this process: if this process dies, the child sees EOF and exits.
public final class ServerProcess: @unchecked Sendable {
    public let pid: pid_t
    public let address: SocketAddress
    private let stdoutFD: Int32
    private let stderrFD: Int32
    private let stdinFD: Int32
    private var finished = false

    public struct Outcome: Sendable {
        public var statistics: ServerStatistics?
        /// What the child printed on stdout (the ready line, its statistics line).
        public var output: String
        public var userSeconds: Double
        public var systemSeconds: Double
        public var exitStatus: Int32
    }

    /// The arguments that make `sockbench serve` run `configuration`.
    public static func arguments(for configuration: ServerConfiguration) -> [String] {
        var arguments = ["serve", configuration.kind.rawValue, "--bind", configuration.bind.description,
                         "--threads", String(configuration.threads), "--report-stats", "--exit-on-stdin-eof"]
        if configuration.kind == .tcpRR {
            arguments += ["--request-size", String(configuration.requestSize), "--response-size", String(configuration.responseSize)]
        }
        if configuration.dropEvery > 0 { arguments += ["--drop-every", String(configuration.dropEvery)] }
        if configuration.maxConnections != ServerConfiguration.defaultMaxConnections {
            arguments += ["--max-connections", String(configuration.maxConnections)]
        }
        if configuration.maxBufferedBytes != ServerConfiguration.defaultMaxBufferedBytes {
            arguments += ["--max-buffered", String(configuration.maxBufferedBytes)]
        }
        if !configuration.greeting.isEmpty { arguments += ["--greeting", String(decoding: configuration.greeting, as: UTF8.self)] }
        for (option, value) in configuration.options.sorted {
            arguments += ["-o", "\(option.rawValue)=\(value)"]
        }
        return arguments
    }

    /// Starts `executable serve ...` and waits up to `readyTimeout` for its ready line.
    public static func launch(executable: String, configuration: ServerConfiguration,
                              readyTimeout: UInt64 = 10_000_000_000) throws(ServerProcessError) -> ServerProcess {
        try launch(executable: executable, arguments: arguments(for: configuration),
                   name: "reference server \(configuration.kind.rawValue)", readyTimeout: readyTimeout)
    }

    /// Starts `executable arguments...` (a `serve` or a `proxy`) and waits up to `readyTimeout` for
    /// the line that says "ready on ADDRESS".
    public static func launch(executable: String, arguments: [String], name: String,
                              readyTimeout: UInt64 = 10_000_000_000) throws(ServerProcessError) -> ServerProcess {
        let argv = [executable] + arguments
        var stdoutPipe: [Int32] = [-1, -1], stderrPipe: [Int32] = [-1, -1], stdinPipe: [Int32] = [-1, -1]
        guard CSockBenchLinux_pipe2(&stdoutPipe, O_CLOEXEC) == 0, CSockBenchLinux_pipe2(&stderrPipe, O_CLOEXEC) == 0, CSockBenchLinux_pipe2(&stdinPipe, O_CLOEXEC) == 0 else {
            throw ServerProcessError(message: "cannot create pipes for the reference server: \(String(cString: strerror(errno)))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], STDIN_FILENO)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], STDOUT_FILENO)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], STDERR_FILENO)
        // The child starts with no signal blocked and default handlers, whatever thread launches it
        // (worker threads of a test runner block SIGTERM, and a spawned child would inherit that).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        // Its own process group: a Ctrl-C at the terminal reaches sockbench alone, which then stops
        // the server in order and keeps its statistics.
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, &cArguments, environ)
        close(stdoutPipe[1]); close(stderrPipe[1]); close(stdinPipe[0])
        guard spawned == 0 else {
            close(stdoutPipe[0]); close(stderrPipe[0]); close(stdinPipe[1])
            throw ServerProcessError(message: "cannot start the \(name) (\(executable)): \(String(cString: strerror(spawned)))")
        }
        CSockBenchLinux_track_child(pid)
        let deadline = MonotonicClock.now() + readyTimeout
        let line = readLine(stdoutPipe[0], deadline: deadline)
        guard let line, let range = line.range(of: " ready on ") else {
            let stderrText = readAll(stderrPipe[0], deadline: MonotonicClock.now() + 1_000_000_000)
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            CSockBenchLinux_untrack_child(pid)
            close(stdoutPipe[0]); close(stderrPipe[0]); close(stdinPipe[1])
            let reason = stderrText.trimmingWhitespace().split(separator: "\n").last.map(String.init)
                ?? (line == nil ? "no ready line within \(Quantity.formatDuration(readyTimeout))" : "unexpected output '\(line!)'")
            throw ServerProcessError(message: "the \(name) did not start: \(reason)")
        }
        // A unix path may hold spaces: it is the rest of the line.
        let rest = line[range.upperBound...]
        let addressText = rest.hasPrefix("unix") ? String(rest) : String(rest.split(separator: " ").first ?? "")
        guard let address = try? SocketAddress(parsing: addressText) else {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            CSockBenchLinux_untrack_child(pid)
            close(stdoutPipe[0]); close(stderrPipe[0]); close(stdinPipe[1])
            throw ServerProcessError(message: "the \(name) printed an address sockbench cannot read: '\(addressText)'")
        }
        return ServerProcess(pid: pid, address: address, stdoutFD: stdoutPipe[0], stderrFD: stderrPipe[0], stdinFD: stdinPipe[1])
    }

    private init(pid: pid_t, address: SocketAddress, stdoutFD: Int32, stderrFD: Int32, stdinFD: Int32) {
        self.pid = pid
        self.address = address
        self.stdoutFD = stdoutFD
        self.stderrFD = stderrFD
        self.stdinFD = stdinFD
    }

    deinit {
        if !finished { _ = stop(timeout: 1_000_000_000) }
    }

    /// Sends SIGTERM, reads the statistics line, and reaps the child (SIGKILL after `timeout`).
    public func stop(timeout: UInt64 = 5_000_000_000) -> Outcome {
        guard !finished else { return Outcome(statistics: nil, output: "", userSeconds: 0, systemSeconds: 0, exitStatus: -1) }
        finished = true
        kill(pid, SIGTERM)
        let output = Self.readAll(stdoutFD, deadline: MonotonicClock.now() + timeout)
        var status: Int32 = 0
        var usage = rusage()
        if wait4(pid, &status, WNOHANG, &usage) == 0 {
            kill(pid, SIGKILL)
            wait4(pid, &status, 0, &usage)
        }
        CSockBenchLinux_untrack_child(pid)
        close(stdoutFD); close(stderrFD); close(stdinFD)
        let statistics: ServerStatistics? = Self.decodeLast(prefix: Self.statisticsPrefix, in: output)
        return Outcome(statistics: statistics, output: output, userSeconds: usage.ru_utime.seconds, systemSeconds: usage.ru_stime.seconds,
                       exitStatus: status)
    }

    /// True while the child has not exited.
    public var isRunning: Bool { !finished && !hasExited }

    /// True once the child has exited on its own; it is left for `stop` to reap (WNOWAIT), so its
    /// exit status and CPU time are still there.
    public var hasExited: Bool {
        guard !finished else { return false }
        var info = siginfo_t()
        guard waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 else { return false }
        return info.si_signo == SIGCHLD
    }

    /// A wait status in words: "exited with status 1", "was killed by signal 9 (SIGKILL)".
    public static func describeExit(_ status: Int32) -> String {
        let signal = status & 0x7f
        if signal == 0 { return "exited with status \((status >> 8) & 0xff)" }
        let name = CSockBenchLinux_signal_name(signal).map { String(cString: $0) } ?? "signal \(signal)"
        return "was killed by signal \(signal) (\(name))"
    }

    /// What `sockbench serve --report-stats` prints before it exits: a prefix and one line of JSON.
    static let statisticsPrefix = "sockbench serve: stats "

    public static func statisticsLine(_ statistics: ServerStatistics) -> String { statisticsLine(statistics, prefix: statisticsPrefix) }

    /// The JSON of the last line of `output` that starts with `prefix`, decoded.
    public static func decodeLast<T: Decodable>(prefix: String, in output: String) -> T? {
        guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix(prefix) }) else { return nil }
        return try? JSONDecoder.snakeCase.decode(T.self, from: Data(line.dropFirst(prefix.count).utf8))
    }

    /// A statistics line: `prefix` and one line of snake_case JSON.
    public static func statisticsLine<T: Encodable>(_ value: T, prefix: String) -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let json = (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return prefix + json
    }

    static func readLine(_ fd: Int32, deadline: UInt64) -> String? {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            guard wait(fd, until: deadline) else { return nil }
            let count = read(fd, &byte, 1)
            if count <= 0 { return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self) }
            if byte == UInt8(ascii: "\n") { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(byte)
        }
    }

    static func readAll(_ fd: Int32, deadline: UInt64) -> String {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while wait(fd, until: deadline) {
            let count = read(fd, &chunk, chunk.count)
            if count <= 0 { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Polls `fd` for input until `deadline`; false on timeout.
    static func wait(_ fd: Int32, until deadline: UInt64) -> Bool {
        while true {
            let now = MonotonicClock.now()
            guard now < deadline else { return false }
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let result = poll(&descriptor, 1, Int32(min((deadline - now) / 1_000_000 + 1, 1000)))
            if result > 0 { return true }
            if result < 0, errno != EINTR { return false }
        }
    }
}

/// The reference server could not be started or read.
public struct ServerProcessError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}

extension timeval {
    var seconds: Double { Double(tv_sec) + Double(tv_usec) / 1e6 }
}

extension JSONDecoder {
    public static var snakeCase: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }
}

extension JSONEncoder {
    public static var snakeCase: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
