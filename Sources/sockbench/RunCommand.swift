import ArgumentParser
import Foundation
import SockBench

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a scenario file, or load a server given as a URL with no file; write report.json, report.md, report.html and the capture.",
        discussion: """
        Two forms:
          sockbench run scenarios/quickstart.yaml
          sockbench run tcp://127.0.0.1:7000 -c 4 -d 5s

        The first runs a scenario file: its server, load, socket options and matrix. The second needs no \
        file: it loads the server at tcp://HOST:PORT, udp://HOST:PORT or unix:///path as an echo server, \
        with the scenario defaults (request-response, 64-byte messages, 1 connection, 10s after a 1s \
        warm-up) changed by the flags.

        --connections, --threads, --duration, --warmup, --message-size, --depth, --rate and --pattern \
        set the load key of the same name, over the file's; -c, -t and -d are wrk's short options. \
        --set KEY=VALUE sets any scenario key, with a file or a URL (--set client.tcp_nodelay=false, \
        --set capture.mode=full); an unknown key or a wrong value is refused as in a file, naming the \
        argument where a file's error names its line.

        A run starts the scenario's reference server as a child process (`sockbench serve`), captures the run's \
        packets with libpcap (headers only, filtered on the server's port), drives the server with the \
        scenario's load, stops it, and writes the reports into --out (default \
        reports/<scenario-name>/<UTC timestamp>/). A short summary is printed at the end.

        Capturing needs CAP_NET_RAW (root). Without it the run goes on without capture and says why, \
        unless the scenario sets capture.required: true.

        A scenario with `matrix:` runs one variant per combination of values, `repeat:` times each, \
        interleaved (A B C A B C ...), and the report compares the variants with a statistical verdict. \
        `thresholds:` are checked on each variant's median; see docs/ci.md.

        Ctrl-C (SIGINT) or SIGTERM stops the load within a second, stops capture and the server, and \
        writes a partial report marked `interrupted`; a second Ctrl-C exits at once without one.

        Exit codes: 0 ok; 1 bad input (invalid scenario, flag or output folder); 2 a threshold failed; \
        3 the run failed (server did not start, target unreachable, nothing exchanged) or was degraded \
        (the reference server died, errors passed load.error_budget); 130 interrupted. The last line \
        printed is the verdict.
        """
    )

    @Argument(help: ArgumentHelp("The scenario file (YAML or JSON), or the server to load with no file: tcp://HOST:PORT, udp://HOST:PORT or unix:///path.",
                                 valueName: "scenario-or-url"))
    var scenario: String

    @Option(name: [.customShort("c"), .long], help: ArgumentHelp("Client connections (load.connections).", valueName: "n"))
    var connections: String?

    @Option(name: [.customShort("t"), .long], help: ArgumentHelp("Client threads (load.threads).", valueName: "n"))
    var threads: String?

    @Option(name: [.customShort("d"), .long], help: ArgumentHelp("Measured duration, replacing the scenario's, every variant's too (e.g. 500ms, 10s).", valueName: "duration"))
    var duration: String?

    @Option(name: .long, help: ArgumentHelp("Warm-up before measuring, excluded from every figure (load.warmup, e.g. 0s, 2s).", valueName: "duration"))
    var warmup: String?

    @Option(name: .long, help: ArgumentHelp("Bytes per request or write (load.message_size, e.g. 64, 16KiB).", valueName: "size"))
    var messageSize: String?

    @Option(name: .long, help: ArgumentHelp("Requests in flight per connection (load.depth).", valueName: "n"))
    var depth: String?

    @Option(name: .long, help: ArgumentHelp("Open loop at this rate, latency from each request's intended send (load.rate, e.g. 20k/s, '500/s per connection').", valueName: "rate"))
    var rate: String?

    @Option(name: .long, help: ArgumentHelp("The load pattern (load.pattern): \(LoadSpec.Pattern.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "pattern"))
    var pattern: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("""
        Set any scenario key, over the file's (repeatable): a dotted KEY (load.connections, client.tcp_nodelay, \
        server.bind, capture.mode, matrix.load.depth) and a YAML VALUE (false, 10ms, 4, [1, 16]).
        """, valueName: "key=value"))
    var settings: [String] = []

    @Option(name: .long, help: "Folder for the reports (created if missing).")
    var out: String?

    @Option(name: .long, help: ArgumentHelp("Load this server instead of the scenario's (HOST:PORT, e.g. 127.0.0.1:7 or [::1]:7; unix:/path or unixgram:/path for a unix socket).", valueName: "host:port"))
    var target: String?

    @Flag(name: .long, help: "Allow a --target (or external server) outside loopback and this machine's own addresses.")
    var allowRemote = false

    @Option(name: .long, help: ArgumentHelp("Where the reference server listens (default: the scenario's server.bind, loopback; unix:/path or unixgram:/path for a unix socket). A non-loopback address is only taken from here.", valueName: "host:port"))
    var bind: String?

    @Flag(name: .long, help: "Do not capture packets (the scenario's capture section is ignored).")
    var noCapture = false

    @Option(name: .customLong("capture"), help: ArgumentHelp("""
        What to capture, replacing capture.mode: 'windows' (the default: the whole warm-up, then 200 ms \
        every 2 s of the measured window, so capture costs the figures little and the run measures what \
        it costs) or 'full' (every packet of every connection).
        """, valueName: "mode"))
    var captureMode: CaptureSpec.Mode?

    @Flag(name: .long, help: "Print nothing but errors (and the verdict when it is not a pass).")
    var quiet = false

    @Option(name: .long, help: ArgumentHelp("Also write the thresholds as JUnit XML to this file.", valueName: "file"))
    var junit: String?

    @Option(name: .long, help: ArgumentHelp("Append a Markdown summary to this file (e.g. \"$GITHUB_STEP_SUMMARY\").", valueName: "file"))
    var summary: String?

    @Option(name: .long, help: ArgumentHelp("""
        Run shard I of N (I from 0): its share of the connections and of the rate, the rest as the \
        scenario says; `sockbench merge` adds the N reports up. Without it, a Kubernetes Indexed Job's \
        JOB_COMPLETION_INDEX (with --shards or SOCKBENCH_SHARDS) or a Slurm array's SLURM_ARRAY_TASK_ID \
        and SLURM_ARRAY_TASK_COUNT name the shard.
        """, valueName: "i/n"))
    var shard: String?

    @Option(name: .long, help: ArgumentHelp("The number of shards when JOB_COMPLETION_INDEX names the index.", valueName: "n"))
    var shards: Int?

    @Option(name: .long, help: ArgumentHelp("""
        Start the warm-up at this wall-clock moment, once the server and capture are set up: RFC 3339 \
        (2026-12-02T10:00:00Z) or +DURATION from now (+30s). Shards on several machines given the same \
        time load together; each report says how late it started.
        """, valueName: "time"))
    var startAt: String?

    @Option(name: .long, help: ArgumentHelp("""
        Running as root, give the run's folder, its files and --junit to this user (USER or USER:GROUP, \
        names or numbers). Under sudo they go to the user who ran sudo (SUDO_UID) without it, so a CI \
        runner can read and upload a `sudo sockbench run`'s captures (0600, as packets can hold secrets).
        """, valueName: "user[:group]"))
    var owner: String?

    @Flag(name: .long, help: "Print the report as one last line of output (`sockbench-report {…}`), for `sockbench merge` to read from a collected log (a Kubernetes pod's).")
    var reportLine = false

    func run() throws {
        var loaded = try loadScenario()
        loaded.command = reproduction
        if noCapture, captureMode != nil { throw CommandFailure.badInput("--capture and --no-capture contradict each other: choose one") }
        let handTo: OutputOwner?
        do { handTo = try OutputOwner.resolve(owner, environment: ProcessInfo.processInfo.environment) } catch { throw CommandFailure.badInput(error.description) }
        // What this run will create, so that only that is handed over (an existing --out stays its owner's).
        let createdFolders = handTo == nil ? [] : OutputOwner.missingFolders(out ?? Runner.defaultDirectory(for: loaded, at: Date()))
        let summaryExisted = summary.map { FileManager.default.fileExists(atPath: $0) } ?? true
        var options = Runner.Options(outputDirectory: out, capture: !noCapture, executable: Self.executablePath())
        options.captureMode = captureMode
        Interruption.install()
        options.interruption = { Interruption.signalName }
        if let target {
            do { options.target = try SocketAddress(parsing: target) } catch { throw CommandFailure.badInput("--target: \(error)") }
        }
        options.allowRemote = allowRemote
        do throws(DistributedError) {
            if let shard { options.shard = try Shard(parsing: shard) } else {
                options.shard = try Shard.fromEnvironment(ProcessInfo.processInfo.environment, shards: shards)
            }
            if let startAt { options.startAt = try StartTime(parsing: startAt) }
        } catch {
            throw CommandFailure.badInput(error.message)
        }
        let environment = ProcessInfo.processInfo.environment
        if let shards, let shard = options.shard, shard.count != shards {
            throw CommandFailure.badInput("--shard \(shard) and --shards \(shards) disagree on the number of shards")
        }
        if shards != nil, shard == nil, environment["JOB_COMPLETION_INDEX"] == nil, environment["SLURM_ARRAY_TASK_ID"] == nil {
            throw CommandFailure.badInput("--shards N goes with JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) or a Slurm job array; elsewhere use --shard I/N")
        }
        if let bind {
            do { options.bind = try SocketAddress(parsing: bind) } catch { throw CommandFailure.badInput("--bind: \(error)") }
        }
        if let duration {
            guard case .success(let ns) = Quantity.nanoseconds(duration), ns >= 1_000_000 else {
                throw CommandFailure.badInput("--duration: expected \(Quantity.durationHelp) of at least 1ms, got '\(duration)'")
            }
            options.duration = ns
        }
        // The live line only on a terminal: logs and pipes get the summary alone.
        let live = !quiet && isatty(STDOUT_FILENO) == 1
        if live {
            options.progress = { progress in
                FileHandleOutput.standardOutput("\r\u{1B}[K" + TerminalSummary.progressLine(progress), terminator: "")
            }
        }
        // A refused target is refused before the run is announced, so nothing claims it is running.
        do {
            try Runner.preflight(loaded, options: options)
        } catch {
            throw CommandFailure(code: error.code.rawValue, message: error.message)
        }
        let resolved = Runner.resolve(loaded, options: options)
        if !quiet {
            let server = resolved.server.kind == .external ? "external server \(resolved.server.address!)" : "sockbench \(resolved.server.kind.rawValue)"
            let variants = resolved.runVariants.count
            let runs = variants * resolved.repetitions
            let shape = runs > 1 ? "; \(plural(variants, "variant")) × \(plural(resolved.repetitions, "repetition")), interleaved" : ""
            let share = options.shard.map { " (shard \($0): \(plural($0.share(of: resolved.load.connections), "connection")))" } ?? ""
            FileHandleOutput.standardOutput("sockbench: running \(resolved.name) against \(server): \(plural(resolved.load.connections, "connection"))\(share), "
                + "\(Quantity.formatDuration(resolved.load.durationNanoseconds)) after \(Quantity.formatDuration(resolved.load.warmupNanoseconds)) warm-up\(shape)")
            if runs > 1 {
                options.runStarted = { start in
                    if live { FileHandleOutput.standardOutput("\r\u{1B}[K", terminator: "") }
                    FileHandleOutput.standardOutput("sockbench: run \(start.number)/\(start.total): \(start.variant)"
                        + (start.repetitions > 1 ? " (repetition \(start.repetition)/\(start.repetitions))" : ""))
                }
            }
        }
        let outcome: Runner.Outcome
        do {
            outcome = try Runner.run(loaded, options: options)
        } catch {
            throw CommandFailure(code: error.code.rawValue, message: error.message)
        }
        if live { FileHandleOutput.standardOutput("\r\u{1B}[K", terminator: "") }
        let report = outcome.report
        if !quiet { FileHandleOutput.standardOutput(TerminalSummary.render(report, directory: outcome.directory)) }
        if let reason = report.runs.lazy.compactMap({ $0.capture?.status == .unavailable ? $0.capture?.details.reason : nil }).first {
            FileHandleOutput.standardError("sockbench: warning: no packet capture: \(reason)")
        }
        // A capture that ran but lost part of its evidence (the disk filled, a FIFO at capture.pcap) says so too.
        if let reason = report.runs.lazy.compactMap({ $0.capture?.status == .captured ? $0.capture?.details.reason : nil }).first {
            FileHandleOutput.standardError("sockbench: warning: packet capture incomplete: \(reason)")
        }
        let verdict = GateVerdict(report: report)
        // Before --junit and --summary are written, so the captures are the user's even when those fail.
        if let handTo {
            let leaf = URL(fileURLWithPath: outcome.directory).standardizedFileURL.path
            Self.handOver(handTo) { () throws(OwnerError) in
                try handTo.hand(directory: outcome.directory, names: Runner.fileNames(report), includingFolder: out == nil || createdFolders.contains(leaf))
                for folder in createdFolders where folder != leaf { try handTo.hand(directory: folder, names: [], includingFolder: true) }
            }
        }
        try CIOutputs.write(junit: junit, summary: summary, command: "run", report: report, verdict: verdict,
                            markdown: CISummary.render(report: report, reportPath: outcome.directory + "/report.md"))
        if let handTo {
            Self.handOver(handTo) { () throws(OwnerError) in
                if let junit { try handTo.hand(file: junit) }
                if let summary, !summaryExisted { try handTo.hand(file: summary) }
            }
        }
        CIOutputs.printVerdict(verdict, quiet: quiet)
        if reportLine {
            do { FileHandleOutput.standardOutput(try ReportLine.render(report)) } catch { throw CommandFailure.runFailed(error.message) }
        }
        if outcome.exitCode != 0 { throw ExitCode(outcome.exitCode) }
        // A signal after the measured window (while the capture was analysed or the reports written):
        // the figures are complete, but a run asked to stop does not end as a success.
        if let signal = Interruption.signalName {
            FileHandleOutput.standardError("sockbench: \(signal) arrived after the measured window; the reports are complete")
            throw ExitCode(Interruption.exitCode)
        }
    }

    /// The file or URL with the load flags and `--set` values in place, read by the scenario loader.
    func loadScenario() throws -> Scenario {
        var overrides: [ScenarioOverride] = []
        let flags = [("--connections", "connections", connections), ("--threads", "threads", threads), ("--warmup", "warmup", warmup),
                     ("--message-size", "message_size", messageSize), ("--depth", "depth", depth), ("--rate", "rate", rate),
                     ("--pattern", "pattern", pattern)]
        for (flag, key, value) in flags {
            if let value { overrides.append(ScenarioOverride(key: "load.\(key)", text: value, source: "\(flag) \(value)")) }
        }
        do {
            for setting in settings { overrides.append(try ScenarioOverride(setting: setting)) }
        } catch {
            throw CommandFailure.badInput(error.description)
        }
        // --duration keeps its own way (it replaces every variant's duration, after loading).
        if duration != nil, let clash = overrides.first(where: { $0.key == "load.duration" }) {
            throw CommandFailure.badInput("--duration and \(clash.source) both set the measured duration: choose one")
        }
        guard TargetURL.looksLikeURL(scenario) else {
            let result = Result { () throws(ScenarioError) in try ScenarioLoader.load(path: scenario, overrides: overrides) }
            guard case .failure(let error) = result else { return try result.get() }
            // A bare HOST:PORT is a URL without its scheme more likely than a file.
            if !FileManager.default.fileExists(atPath: scenario), (try? SocketAddress(parsing: scenario)) != nil {
                throw CommandFailure.badInput("\(error); to load the server at \(scenario) with no scenario file, write tcp://\(scenario) (or udp://\(scenario))")
            }
            throw CommandFailure.badInput(error.description)
        }
        if target != nil { throw CommandFailure.badInput("--target and a URL both name the server to load: give one (the URL is the target)") }
        if bind != nil { throw CommandFailure.badInput("--bind is where a reference server listens; a URL run loads the server at \(scenario) and starts none") }
        do {
            return try ScenarioLoader.load(url: TargetURL(parsing: scenario), overrides: overrides)
        } catch {
            throw CommandFailure.badInput(error.description)
        }
    }

    /// The command that runs this scenario again: every argument that shapes the run, none of
    /// those that only say where its outputs go or whose they are (--out, --junit, --summary, --quiet, --owner).
    var reproduction: String {
        var words = ["sockbench", "run", scenario]
        let values: [(String, String?)] = [("--connections", connections), ("--threads", threads), ("--duration", duration),
                                            ("--warmup", warmup), ("--message-size", messageSize), ("--depth", depth),
                                            ("--rate", rate), ("--pattern", pattern)]
        for (flag, value) in values { if let value { words += [flag, value] } }
        for setting in settings { words += ["--set", setting] }
        if let target { words += ["--target", target] }
        if allowRemote { words.append("--allow-remote") }
        if let bind { words += ["--bind", bind] }
        if noCapture { words.append("--no-capture") }
        if let captureMode { words += ["--capture", captureMode.rawValue] }
        return words.map(Self.shellQuoted).joined(separator: " ")
    }

    /// Hands files over; a failure is a warning (the run and its verdict stand; the files stay root's).
    static func handOver(_ owner: OutputOwner, _ body: () throws(OwnerError) -> Void) {
        do { try body() } catch { FileHandleOutput.standardError("sockbench: warning: \(error.description); the files stay root's") }
    }

    /// A word as a POSIX shell reads it back: as it is when it is plain, else in single quotes.
    static func shellQuoted(_ word: String) -> String {
        let plain = !word.isEmpty && word.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "_./:=@%+,-".unicodeScalars.contains($0)) }
        return plain ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// This binary, which `run` starts again as `sockbench serve` for reference servers.
    static func executablePath() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}

extension CaptureSpec.Mode: ExpressibleByArgument {}
