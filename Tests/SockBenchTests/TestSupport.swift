import Foundation
import Glibc
import Testing
@testable import SockBench

/// Helpers shared by the integration tests: the built `sockbench` binary, temporary folders,
/// open descriptor counts, and running the CLI as a user would.
enum TestSupport {
    /// The package root (tests run scenarios/ files from it).
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The `sockbench` executable SwiftPM built next to the test bundle.
    static let executable: String = {
        let testBinary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: testBinary).deletingLastPathComponent()
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("sockbench").path
            if FileManager.default.isExecutableFile(atPath: candidate), !candidate.hasSuffix(".xctest") { return candidate }
            directory.deleteLastPathComponent()
        }
        return packageRoot + "/.build/debug/sockbench"
    }()

    static func temporaryDirectory(_ name: String = #function) -> String {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        let path = NSTemporaryDirectory() + "sockbench-tests-\(safe)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Descriptors this process has open now.
    static func openDescriptors() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    }

    struct CommandResult {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs the sockbench binary with `arguments` from the package root; waits at most `timeout` seconds.
    /// A report it writes (`run`, `merge` with `--out`) is checked against the strict report schema.
    static func sockbench(_ arguments: [String], timeout: TimeInterval = 60) throws -> CommandResult {
        let start = Date()
        let result = try run(URL(fileURLWithPath: executable), arguments, timeout: timeout)
        ReportSchemaCheck.check(arguments: arguments, since: start)
        return result
    }

    private static func run(_ executable: URL, _ arguments: [String], timeout: TimeInterval) throws -> CommandResult {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: packageRoot)
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read both pipes while waiting so a chatty child cannot block on a full pipe.
        let outData = LockedData(), errData = LockedData()
        let group = DispatchGroup()
        for (handle, sink) in [(out.fileHandleForReading, outData), (err.fileHandleForReading, errData)] {
            group.enter()
            DispatchQueue.global().async {
                sink.set(handle.readDataToEndOfFile())
                group.leave()
            }
        }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning {
            process.terminate()
            throw TimeoutError(arguments: arguments)
        }
        group.wait()
        return CommandResult(status: process.terminationStatus,
                             stdout: String(decoding: outData.get(), as: UTF8.self),
                             stderr: String(decoding: errData.get(), as: UTF8.self))
    }

    struct TimeoutError: Error { let arguments: [String] }

    final class LockedData: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data()
        func set(_ value: Data) { lock.lock(); data = value; lock.unlock() }
        func get() -> Data { lock.lock(); defer { lock.unlock() }; return data }
    }

    /// A scenario for in-process tests: short, no warm-up.
    static func scenario(_ kind: ServerKind, connections: Int = 2, messageSize: Int = 64, depth: Int = 1,
                         duration: UInt64 = 300_000_000) -> Scenario {
        var load = LoadSpec()
        load.connections = connections
        load.durationNanoseconds = duration
        load.warmupNanoseconds = 0
        load.messageSize = messageSize
        load.depth = depth
        load.pattern = ScenarioLoader.impliedPattern(kind) ?? .requestResponse
        if kind == .tcpSource { load.direction = .download }
        return Scenario(name: "test-\(kind.rawValue)", server: ServerSpec(kind: kind), load: load)
    }

    /// A loopback address where nothing listens: a port bound, read back, and closed again.
    static func closedPort() throws -> SocketAddress {
        let loopback = try SocketAddress(parsing: "127.0.0.1:0")
        let fd = try Socket.open(.tcp, for: loopback)
        defer { close(fd) }
        try Socket.bind(fd, to: loopback)
        return try SocketAddress.local(of: fd)
    }

    /// True when this process may open a packet capture (CAP_NET_RAW in its effective set).
    static let canCapture: Bool = {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
              let mask = UInt64(line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces), radix: 16)
        else { return false }
        return mask & (1 << 13) != 0 // CAP_NET_RAW
    }()

    /// A program of the tests' Python environment (.build/python, made by `scripts/setup.sh --test`
    /// with the pinned PyPI packages: hdrhistogram, kubernetes-validate, xmlschema), or nil without it.
    static func pythonTool(_ name: String) -> String? {
        let candidate = packageRoot + "/.build/python/bin/" + name
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
    }

    static let pythonSetup = "the tests' Python environment is missing: bash scripts/setup.sh --test"

    /// The path of a tool on PATH, or nil.
    static func tool(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let directories = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"]
        for directory in directories {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs any program and returns its exit status and output (for tshark, tcpdump, setpriv).
    static func program(_ path: String, _ arguments: [String], timeout: TimeInterval = 60) throws -> CommandResult {
        try run(URL(fileURLWithPath: path), arguments, timeout: timeout)
    }

    static func decodeReport(_ directory: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/report.json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }
}

/// The library's SplitMix64 (the impairment proxy's): seeded, so random tests repeat exactly.
typealias SeededGenerator = SplitMix64

/// A `sockbench` started in the background, for tests that signal it or its children mid-run.
/// Its output goes to files (no pipe to fill), read once it has exited.
final class RunningCommand {
    let process = Process()
    private let outputPath: String

    init(_ arguments: [String], in directory: String, executable: String = TestSupport.executable) throws {
        outputPath = directory + "/command-output-\(UInt32.random(in: 0...UInt32.max)).txt"
        FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = FileHandle(forWritingAtPath: outputPath)!
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: TestSupport.packageRoot)
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var pid: pid_t { process.processIdentifier }

    /// Waits until it exits or `timeout` passes; its exit status, nil on timeout (it is then killed).
    func wait(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(5_000) }
        guard !process.isRunning else {
            kill(pid, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        return process.terminationStatus
    }

    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// The processes whose parent is this one (its reference servers), from /proc.
    var children: [pid_t] { TestSupport.children(of: pid) }

    /// The child whose command line holds `word` (`proxy` for the impairment proxy), once it runs.
    func child(running word: String, timeout: TimeInterval = 10) -> pid_t? {
        var found: pid_t?
        _ = TestSupport.eventually(timeout: timeout) {
            found = children.first { ((try? String(contentsOfFile: "/proc/\($0)/cmdline", encoding: .utf8)) ?? "").contains(word) }
            return found != nil
        }
        return found
    }

    /// `sockbench run` of `yaml` in the background without capture, once its first child (the
    /// reference server) is up: the command, its `--out` folder and the children then.
    static func run(_ yaml: String, name: String = #function) throws -> (command: RunningCommand, out: String, children: [pid_t]) {
        let directory = TestSupport.temporaryDirectory(name)
        let scenario = try CIGateTests.scenarioFile(yaml, in: directory)
        let out = directory + "/out"
        let command = try RunningCommand(["run", scenario, "--out", out, "--no-capture"], in: directory)
        var children: [pid_t] = []
        #expect(TestSupport.eventually(timeout: 10) {
            children = command.children
            return !children.isEmpty
        })
        return (command, out, children)
    }
}

extension TestSupport {
    /// Processes whose parent is `parent`, read from /proc/*/stat.
    static func children(of parent: pid_t) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && pid_t(fields[1]) == parent ? pid : nil
        }
    }

    /// True while a process with this pid exists and is not a zombie.
    static func isAlive(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
    }

    /// Waits up to `timeout` seconds for `condition`; its last value.
    static func eventually(timeout: TimeInterval, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }
}
