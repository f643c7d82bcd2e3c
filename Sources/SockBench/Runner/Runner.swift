import CSockBenchLinux
import Foundation
import Glibc

/// Carries out one `sockbench run`: starts the reference server (or takes the external target),
/// drives the load, stops the server, and writes `report.json` and `report.md`.
public enum Runner {
    public struct Options: Sendable {
        /// Where reports go; default `reports/<scenario-name>/<UTC timestamp>/`.
        public var outputDirectory: String?
        /// Replaces the scenario's server with this external one.
        public var target: SocketAddress?
        /// `--allow-remote`: an external target may be outside this machine.
        public var allowRemote = false
        /// `--bind`: where reference servers listen, replacing the scenario's; also the only way to
        /// let them listen beyond loopback.
        public var bind: SocketAddress?
        /// Replaces the scenario's measured duration.
        public var duration: UInt64?
        /// False turns capture off whatever the scenario says (`--no-capture`).
        public var capture: Bool
        /// Replaces the scenario's `capture.mode` (`--capture`).
        public var captureMode: CaptureSpec.Mode?
        /// The sockbench binary that runs `serve` for reference servers.
        public var executable: String
        /// Called once per interval while the load runs (the live progress line).
        public var progress: (@Sendable (LoadProgress) -> Void)?
        /// Called as each run of a matrix or repetition starts.
        public var runStarted: (@Sendable (RunStart) -> Void)?
        /// Polled while runs go on (every 20 ms during a load): the name of the signal that asks the
        /// run to stop (`SIGINT`), or nil. The CLI wires it to its signal handler.
        public var interruption: (@Sendable () -> String?)?
        /// `--shard I/N`: this run is one shard; its load is the shard's share.
        public var shard: Shard?
        /// `--start-at`: the first run's warm-up starts at this wall-clock moment.
        public var startAt: StartTime?

        public init(outputDirectory: String? = nil, target: SocketAddress? = nil, duration: UInt64? = nil,
                    capture: Bool = true, executable: String) {
            self.outputDirectory = outputDirectory
            self.target = target
            self.duration = duration
            self.capture = capture
            self.executable = executable
            progress = nil
            runStarted = nil
            interruption = nil
        }
    }

    /// Which run of how many is starting.
    public struct RunStart: Sendable {
        public var number: Int
        public var total: Int
        public var variant: String
        public var repetition: Int
        public var repetitions: Int
    }

    public struct Outcome: Sendable {
        public var report: Report
        public var directory: String
        /// 0 when the run measured what it set out to, 2 when a threshold failed, 3 when a run failed
        /// or was degraded, 130 when it was interrupted.
        public var exitCode: Int32
    }

    /// The scenario with command-line overrides applied.
    public static func resolve(_ scenario: Scenario, options: Options) -> Scenario {
        var resolved = scenario
        if let target = options.target {
            let original = scenario.server
            resolved.server = ServerSpec(kind: .external, address: target, externalTransport: original.transport,
                                         responseSize: original.responseSize)
        }
        if let bind = options.bind, resolved.server.kind != .external { resolved.server.bind = bind }
        if let duration = options.duration { resolved.load.durationNanoseconds = duration }
        if resolved.capture.modeIsDefault, resolved.load.pattern == .idle { resolved.capture.mode = .full }
        if let mode = options.captureMode {
            resolved.capture.mode = mode
            resolved.capture.modeIsDefault = false
        }
        if !options.capture {
            resolved.capture.enabled = false
            resolved.capture.required = false
        }
        return resolved
    }

    /// Runs every variant of the scenario, interleaved across its repetitions (A B A B, so drift on a
    /// shared machine hits every variant alike), and writes one report for all of them.
    public static func run(_ original: Scenario, options: Options) throws(RunError) -> Outcome {
        let scenario = resolve(original, options: options)
        let started = Date()
        var variants = scenario.runVariants.map { variant in
            var resolved = variant
            resolved.scenario = resolve(variant.scenario, options: options)
            return resolved
        }
        // Before anything is written or sent.
        try preflight(original, options: options)
        if let shard = options.shard {
            for index in variants.indices {
                do {
                    variants[index].scenario.load = try shard.apply(to: variants[index].scenario.load)
                } catch {
                    throw RunError(.badInput, variants.count > 1 ? "\(variants[index].name): \(error.message)" : error.message)
                }
            }
        }
        var startAt = options.startAt
        var startLate: Double?
        let directory: String
        do {
            // A default folder is new and this run's alone (`-2`, `-3`, … within one second); --out is used as named.
            directory = try options.outputDirectory ?? AtomicFile.createUniqueDirectory(base: defaultDirectory(for: scenario, at: started))
            try AtomicFile.prepareDirectory(directory)
        } catch {
            throw RunError(.badInput, "\(error)")
        }
        let total = variants.count * scenario.repetitions
        var runs: [RunResult] = []
        var ending: RunEnding?
        // Before any server starts, so servers inherit the raised descriptor limit. A refusal still
        // writes a `failed` report, as every failure from here on does.
        let connections = variants.map(\.scenario.load.connections).max() ?? 1
        if let limit = ProcessResources.checkCapacity(connections: connections, transport: scenario.transport,
                                                      usesPorts: !variants.allSatisfy { $0.scenario.server.target.isUnix }) {
            ending = RunEnding(status: .failed, reason: limit)
        }
        runLoop: for repetition in 1...scenario.repetitions where ending == nil {
            for (index, variant) in variants.enumerated() {
                if let signal = options.interruption?() {
                    ending = RunEnding(status: .interrupted, reason: "interrupted by \(signal) after \(plural(runs.count, "run")) of \(total)")
                    break runLoop
                }
                options.runStarted?(RunStart(number: runs.count + 1, total: total, variant: variant.name,
                                             repetition: repetition, repetitions: scenario.repetitions))
                let captureFile = total > 1 ? "capture-\(index + 1)-\(repetition).pcap" : "capture.pcap"
                var run: RunResult
                do {
                    run = try measure(variant.scenario, options: options, captureFile: directory + "/" + captureFile,
                                      startAt: startAt, late: &startLate)
                    startAt = nil
                } catch {
                    // A setup failure (server, proxy, capture) ends the sequence with a `failed` report;
                    // partway through a matrix it keeps the runs measured so far.
                    ending = RunEnding(status: error.code == .interrupted ? .interrupted : .failed,
                                       reason: total > 1 ? "\(variant.name) (repetition \(repetition)): \(error.message)" : error.message)
                    break runLoop
                }
                if !variant.settings.isEmpty {
                    run.variant = variant.name
                    run.settings = variant.settings
                }
                if scenario.repetitions > 1 { run.repetition = repetition }
                runs.append(run)
                if var end = RunEnding(run) {
                    if total > 1 { end.reason = "\(variant.name) (repetition \(repetition)): \(end.reason)" }
                    ending = end
                    break runLoop
                }
            }
        }
        // A shard's thresholds are the whole run's: `merge` judges them on the sum, not each shard on its part.
        var report = makeReport(scenario, runs: runs, ending: ending, started: started, thresholds: options.shard == nil)
        if let shard = options.shard {
            report.shard = ShardRecord(
                index: shard.index, count: shard.count, scenarioHash: ScenarioIdentity.hash(of: scenario), host: report.environment.host,
                totalConnections: scenario.load.connections,
                totalRatePerSecond: scenario.load.rate.map { $0.total(connections: scenario.load.connections) },
                startAt: options.startAt?.text, lateS: options.startAt == nil ? nil : startLate,
                startedAt: StartTime.format(unixNanoseconds: runs.first?.windowStartUnixNs.map { $0 &- scenario.load.warmupNanoseconds } ?? StartTime.wallClockNow()),
                errorBudget: scenario.load.errorBudget.map(\.scenarioText), thresholds: scenario.thresholds.map(\.expression))
        }
        try write(report, to: directory)
        return Outcome(report: report, directory: directory, exitCode: GateVerdict(report: report).exitCode)
    }

    static func makeReport(_ scenario: Scenario, runs: [RunResult], ending: RunEnding?, started: Date, thresholds: Bool = true) -> Report {
        var report = Report(generatedAt: ISO8601DateFormatter().string(from: started), status: (ending?.status ?? .ok).rawValue,
                            failure: ending?.reason, environment: .current(), scenario: ScenarioRecord(scenario), runs: runs)
        let keys = scenario.matrix?.keys ?? []
        if runs.count > 1 || !keys.isEmpty {
            report.matrix = Report.MatrixRecord(keys: keys, variants: scenario.runVariants.map(\.name), repetitions: scenario.repetitions)
            report.comparison = Comparison(runs: runs, matrixKeys: keys)
        }
        if thresholds, !scenario.thresholds.isEmpty {
            report.thresholds = ThresholdResult.evaluate(scenario.thresholds, runs: runs)
        }
        return report
    }

    /// One run of one variant: server, capture, load, and the figures they produced.
    static func measure(_ scenario: Scenario, options: Options, captureFile: String, startAt: StartTime? = nil,
                        late: inout Double?) throws(RunError) -> RunResult {
        var server: ServerProcess?
        let target: SocketAddress
        let configuration = serverConfiguration(scenario)
        if let configuration {
            do {
                server = try ServerProcess.launch(executable: options.executable, configuration: configuration)
            } catch {
                throw RunError(.runFailed, error.message)
            }
            target = server!.address
        } else {
            target = scenario.server.address!
        }
        // With `impair:`, clients talk to the proxy, and the proxy to the server.
        var proxy: ServerProcess?
        /// A step failed: the children stop now, proxy first, rather than when their objects go away.
        func stopChildren() {
            _ = proxy?.stop()
            _ = server?.stop()
        }
        var clientTarget = target
        if let impairment = scenario.impairment {
            do {
                proxy = try ServerProcess.launch(executable: options.executable,
                                                 arguments: proxyArguments(impairment, upstream: target, transport: scenario.transport),
                                                 name: "impairment proxy")
            } catch {
                stopChildren()
                throw RunError(.runFailed, error.message)
            }
            clientTarget = proxy!.address
        }

        let capture: CaptureStart
        do throws(CaptureError) {
            capture = try startCapture(scenario, target: clientTarget, filePath: captureFile)
        } catch {
            stopChildren()
            throw RunError(.runFailed, "capture is required (capture.required: true) but could not start: \(error.message)")
        }

        let usageBefore = resourceUsage()
        // The host's UDP and TCP counters say nothing of unix sockets (other traffic alone moves them).
        let unix = clientTarget.isUnix
        let hostUDPBefore = scenario.transport == .udp && !unix ? HostUDPStatistics.read() : nil
        let load: LoadEngine.Outcome
        // Every child is watched: the server's or the proxy's death stops the load and degrades the run.
        let watch = { () -> RunControl.Reason? in
            if options.interruption?() != nil { return .interrupted }
            if server?.hasExited == true { return .serverExited }
            return proxy?.hasExited == true ? .proxyExited : nil
        }
        // Shards: everything is set up; the warm-up starts at the agreed moment, however late that is now.
        if let startAt {
            guard let lateness = startAt.wait(interrupted: { options.interruption?() != nil }) else {
                stopChildren()
                _ = capture.finish()
                throw RunError(.interrupted, "interrupted by \(options.interruption?() ?? "a signal") while waiting for --start-at \(startAt.text)")
            }
            late = lateness
        }
        var plan = LoadPlan(scenario: scenario, target: clientTarget)
        // Every interval keeps its histogram: latency.hlog for every run, and report.json too for shards.
        plan.intervalHistograms = true
        let windowWallClock = WallClockMark()
        do {
            load = try LoadEngine.run(plan: plan, connections: scenario.load.connections,
                                      threads: scenario.load.threads, warmup: scenario.load.warmupNanoseconds,
                                      duration: scenario.load.durationNanoseconds, progress: options.progress, watch: watch,
                                      windowScheduled: { start in
                                          windowWallClock.set(monotonic: start)
                                          if case .capturing(let session) = capture { session.setWindowStart(monotonic: start) }
                                      },
                                      captureGate: capture.gate)
        } catch {
            stopChildren()
            _ = capture.finish()
            throw RunError(.runFailed, "cannot start the load: \(error)")
        }
        let usageAfter = resourceUsage()
        let hostUDP = hostUDPBefore.flatMap { before in HostUDPStatistics.read()?.since(before) }
        // The server stops before the capture, so its last FIN and ACK are on the wire when the capture drains.
        let proxyOutcome = proxy?.stop()
        let serverOutcome = server?.stop()
        let captureRecord = capture.finish(split: load.captureSplit, measured: load.measuredNanoseconds,
                                           countsBytes: scenario.load.pattern == .stream)

        var run = makeResult(scenario: scenario, target: target, load: load, server: serverOutcome, configuration: configuration)
        run.udp?.setHost(hostUDP)
        run.cpu.clientUserS = usageAfter.user - usageBefore.user
        run.cpu.clientSysS = usageAfter.system - usageBefore.system
        run.cpu.clientMeasuredS = Double(load.windowCPUNanoseconds) / 1e9
        run.capture = captureRecord
        run.windowStartUnixNs = windowWallClock.value
        run.tcpInfo = load.result.tcpInfo.summary(excluding: load.result.tcpInfoAtWindowStart)
        run.kernelCounters = unix ? nil : load.kernelCounters
        if let impairment = scenario.impairment, let proxy {
            run.impairment = ImpairmentRecord(
                proxy: proxy.address.description, spec: impairment,
                injected: proxyOutcome.flatMap { ServerProcess.decodeLast(prefix: ImpairmentProxy.statisticsPrefix, in: $0.output) })
        }
        var events = load.errorEvents
        switch load.stopped {
        case (.interrupted, let at)?:
            events.append(RunEvent(atS: at, kind: .interrupted, message: "interrupted by \(options.interruption?() ?? "a signal") \(Self.moment(at))"))
        case (.serverExited, let at)?:
            let how = serverOutcome.map { ServerProcess.describeExit($0.exitStatus) } ?? "exited"
            events.append(RunEvent(atS: at, kind: .serverExited, message: "the reference server \(how) \(Self.moment(at))"))
        case (.proxyExited, let at)?:
            let how = proxyOutcome.map { ServerProcess.describeExit($0.exitStatus) } ?? "exited"
            events.append(RunEvent(atS: at, kind: .proxyExited, message: "the impairment proxy \(how) \(Self.moment(at))"))
        case nil:
            break
        }
        let budget = scenario.load.errorBudget ?? .default
        let record = ErrorBudgetRecord(budget, result: load.result, isDefault: scenario.load.errorBudget == nil)
        run.errorBudget = record
        if record.exceeded { events.append(record.event(intervals: run.intervals ?? [], runEndS: run.durationS)) }
        // Warm-up events go with the warm-up record; the run's own timeline is the measured window's.
        // Errors of the warm-up go with it; an interruption or a death stays on the run's timeline
        // whenever it happened, since it decides the run's status.
        let warmupEvents = events.filter { $0.atS < 0 && $0.kind == .error }
        events.removeAll { $0.atS < 0 && $0.kind == .error }
        run.events = events.isEmpty ? nil : events.sorted { $0.atS < $1.atS }
        if scenario.load.warmupNanoseconds > 0 || load.result.warmupErrors.total > 0 {
            var atStart = load.result.tcpInfoAtWindowStart
            atStart.merge(load.result.tcpInfoClosedInWarmup)
            run.warmup = WarmupRecord(
                durationS: Double(scenario.load.warmupNanoseconds) / 1e9, errors: load.result.warmupErrors,
                events: warmupEvents.isEmpty ? nil : warmupEvents, capture: captureRecord.warmupAnalysis,
                tcpInfo: atStart.connections == 0 ? nil : .init(connections: atStart.connections, totalRetrans: atStart.totalRetransmissionCount))
            run.warmup?.kernelCounters = unix ? nil : load.warmupKernelCounters
        }
        return run
    }

    /// "at 1.2 s into the measured window", or "during the warm-up".
    static func moment(_ at: Double) -> String {
        at < 0 ? "during the warm-up (\(Format.seconds(-at)) before the measured window)" : "at \(Format.seconds(at)) into the measured window"
    }

    /// A capture under way, or the record of why there is none.
    enum CaptureStart {
        case capturing(CaptureSession)
        case skipped(CaptureRecord)

        /// Stops a capture under way; the record for the report either way. `split` and `measured`
        /// come from the load, for the capture's observer effect.
        func finish(split: CaptureSplit? = nil, measured: UInt64 = 0, countsBytes: Bool = false) -> CaptureRecord {
            switch self {
            case .capturing(let session): session.stop(split: split, measured: measured, countsBytes: countsBytes)
            case .skipped(let record): record
            }
        }

        var gate: CaptureGate? {
            if case .capturing(let session) = self { return session.gate }
            return nil
        }
    }

    /// Starts capturing the run's traffic (before the first connection), or says why not.
    /// Throws only when the scenario requires capture.
    static func startCapture(_ scenario: Scenario, target: SocketAddress, filePath: String) throws(CaptureError) -> CaptureStart {
        let spec = scenario.capture
        guard spec.enabled else { return .skipped(.notCaptured(.disabled, reason: "capture is turned off (capture.enabled: false or --no-capture)")) }
        // The loader refuses capture.required with a unix address, so this is never a failure.
        if target.isUnix { return .skipped(.notCaptured(.unavailable, reason: UnixSocketRules.captureReason(target))) }
        let interface = spec.effectiveInterface(for: target)
        let settings = CaptureSession.Settings(
            spec: spec, interface: interface,
            filter: CaptureSession.filter(transport: scenario.transport, port: target.port),
            filePath: filePath,
            analysis: .init(serverPort: target.port, messageSizes: messageSizes(scenario)),
            measuredDuration: scenario.load.durationNanoseconds, warmup: scenario.load.warmupNanoseconds)
        do {
            return .capturing(try CaptureSession.start(settings))
        } catch {
            if spec.required { throw error }
            return .skipped(.notCaptured(.unavailable, reason: error.message + "; the run went on without capture"))
        }
    }

    /// The application message sizes each direction carries, for segments per message.
    static func messageSizes(_ scenario: Scenario) -> Directional<Int>? {
        let load = scenario.load
        switch load.pattern {
        case .requestResponse, .connect:
            return Directional(clientToServer: load.messageSize, serverToClient: scenario.server.responseSize ?? load.messageSize)
        case .stream:
            // A stream's "message" is one write of message_size in the direction it flows.
            return Directional(clientToServer: load.messageSize, serverToClient: load.messageSize)
        case .idle:
            return load.pingIntervalNanoseconds == nil ? nil : Directional(clientToServer: load.messageSize, serverToClient: load.messageSize)
        case .conversation:
            return nil
        }
    }

    /// `sockbench proxy` arguments that put `impairment` in front of `upstream`, on the same loopback family.
    static func proxyArguments(_ impairment: ImpairmentSpec, upstream: SocketAddress, transport: Socket.Transport) -> [String] {
        var arguments = ["proxy", "--upstream", upstream.description, "--listen", upstream.family == .ipv6 ? "[::1]:0" : "127.0.0.1:0",
                         "--protocol", transport.rawValue, "--report-stats", "--exit-on-stdin-eof"]
        // The runner already checked the target; a proxy in front of an allowed remote target may forward to it.
        if !TargetPolicy.isLocal(upstream) { arguments.append("--allow-remote") }
        for (key, text) in impairment.settings { arguments += ["--" + key.replacingOccurrences(of: "_", with: "-"), text] }
        return arguments
    }

    static func serverConfiguration(_ scenario: Scenario) -> ServerConfiguration? {
        guard scenario.server.kind != .external else { return nil }
        var configuration = ServerConfiguration(kind: scenario.server.kind, bind: scenario.server.bind, threads: scenario.server.threads,
                                                options: scenario.server.options, requestSize: scenario.load.messageSize,
                                                responseSize: scenario.server.responseSize ?? scenario.load.messageSize,
                                                greeting: scenario.server.greeting)
        configuration.maxConnections = scenario.server.maxConnections
        configuration.maxBufferedBytes = scenario.server.maxBufferedBytes
        return configuration
    }

    static func makeResult(scenario: Scenario, target: SocketAddress, load: LoadEngine.Outcome,
                           server: ServerProcess.Outcome?, configuration: ServerConfiguration?) -> RunResult {
        let measured = load.result
        let seconds = max(Double(load.measuredNanoseconds) / 1e9, 1e-9)
        let spec = scenario.load
        let plan = LoadPlan(scenario: scenario, target: target)
        let messagesPerSecond = plan.messagesPerSecond(measured.intervalTotals, seconds: seconds)
        let stats = server?.statistics
        var udp: RunResult.UDPRecord?
        if scenario.transport == .udp {
            let counters = measured.udp
            if spec.pattern == .requestResponse || spec.pattern == .conversation {
                udp = RunResult.UDPRecord(sent: counters.sent, received: counters.received, lost: counters.lost,
                                          lossPercent: counters.sent == 0 ? 0 : 100 * Double(counters.lost) / Double(counters.sent),
                                          duplicated: counters.duplicated, reordered: counters.reordered, jitterNs: counters.jitter,
                                          damaged: counters.damaged, clientRxqOverflows: counters.clientRxqOverflows, serverRxqOverflows: stats?.rxqOverflows)
            } else {
                // A sink answers nothing: delivery is what the server counted against everything sent.
                let received = stats?.datagramsReceived
                let lost = received.map { counters.sentIncludingWarmup > $0 ? counters.sentIncludingWarmup - $0 : 0 }
                udp = RunResult.UDPRecord(sent: counters.sent, received: received, lost: lost,
                                          lossPercent: lost.map { counters.sentIncludingWarmup == 0 ? 0 : 100 * Double($0) / Double(counters.sentIncludingWarmup) },
                                          duplicated: 0, reordered: 0, jitterNs: nil, serverRxqOverflows: stats?.rxqOverflows)
            }
        }
        let serverOptions = configuration.map {
            RunResult.RequestedEffective(requested: $0.options, effective: stats?.effectiveOptions ?? SocketOptionSet())
        }
        var run = RunResult(
            target: target.description,
            server: RunResult.ServerRecord(kind: scenario.server.kind.rawValue, address: target.description,
                                           startedBySockbench: configuration != nil, connectionsAccepted: stats?.connectionsAccepted,
                                           datagramsReceived: stats?.datagramsReceived, datagramsDropped: stats.map { $0.datagramsDropped }),
            transport: scenario.transport, pattern: spec.pattern, direction: spec.pattern == .stream ? spec.direction : nil,
            messageSizeBytes: spec.messageSize, responseSizeBytes: scenario.server.responseSize, depth: spec.depth,
            durationS: Double(load.measuredNanoseconds) / 1e9, warmupS: Double(spec.warmupNanoseconds) / 1e9,
            connections: .init(requested: spec.connections, established: measured.connectionsEstablished, failed: measured.connectionsFailed,
                               reconnects: spec.reconnect && scenario.transport == .tcp ? measured.reconnects : nil,
                               starved: measured.connectionsStarved),
            messages: .init(sent: measured.messagesSent, received: measured.messagesReceived,
                            bytesSent: measured.bytesSent, bytesReceived: measured.bytesReceived,
                            peakInFlight: measured.peakInFlight),
            latencyNs: measured.latency.summary, connectLatencyNs: measured.connectLatency.summary,
            throughput: .init(messagesPerSecond: messagesPerSecond, bytesPerSecondSent: Double(measured.bytesSent) / seconds,
                              bytesPerSecondReceived: Double(measured.bytesReceived) / seconds,
                              connectionsPerSecond: spec.pattern == .connect ? Double(measured.connectionsEstablished) / seconds : nil),
            errors: measured.errors, firstError: measured.firstError,
            socketOptions: .init(client: .init(requested: scenario.client.options, effective: measured.effectiveOptions ?? SocketOptionSet()),
                                 server: serverOptions),
            udp: udp,
            cpu: .init(clientUserS: 0, clientSysS: 0, serverUserS: server?.userSeconds, serverSysS: server?.systemSeconds))
        if let rate = plan.rate {
            run.latencyUncorrectedNs = measured.latencyUncorrected.summary
            run.schedule = scheduleRecord(rate: rate, measured: measured, seconds: seconds)
        }
        if spec.pattern == .conversation { run.protocolMismatches = measured.protocolMismatches }
        // Named steps only: a conversation without them keeps the report as it was.
        if !measured.steps.isEmpty {
            run.steps = measured.steps.map { StepRecord($0, openLoop: plan.rate != nil) }
            run.throughput.requestsPerSecond = Double(measured.requests) / seconds
        }
        let connections = Double(max(1, spec.connections))
        let clientGrowth = load.peakResidentBytes > load.residentBeforeBytes ? load.peakResidentBytes - load.residentBeforeBytes : 0
        run.memory = RunResult.MemoryRecord(
            clientResidentBeforeBytes: load.residentBeforeBytes, clientPeakResidentBytes: load.peakResidentBytes,
            clientBytesPerConnection: Double(clientGrowth) / connections,
            serverPeakResidentBytes: stats?.peakResidentBytes, serverBytesPerConnection: stats?.peakResidentBytes.map { Double($0) / connections })
        run.intervals = load.intervals
        run.resourceTrend = ResourceTrend(load.intervals)
        return run
    }

    /// How well an open-loop run kept its schedule.
    static func scheduleRecord(rate: Double, measured: WorkerResult, seconds: Double) -> RunResult.ScheduleRecord {
        let scheduled = UInt64(saturating: (rate * seconds).rounded())
        let sent = measured.sendLag.count
        let late = sent - measured.sendLag.count(atMost: 1_000_000)
        return RunResult.ScheduleRecord(
            requestedPerSecond: rate, achievedPerSecond: Double(sent) / seconds, scheduled: scheduled, sent: sent,
            unsent: scheduled > sent ? scheduled - sent : 0, unsentWhileDown: measured.unsentWhileDown, lateSends: late, sendLagNs: measured.sendLag.summary,
            behindSchedule: Double(sent) < 0.99 * Double(scheduled) || Double(late) > 0.01 * Double(max(sent, 1)))
    }

    /// The names of the files `write` and the captures put in a run's folder.
    public static func fileNames(_ report: Report) -> [String] {
        ["report.json", "report.md", "report.html", "summary.md", "intervals.csv", IntervalLog.fileName]
            + report.runs.compactMap { $0.capture?.details.file }
    }

    public static func write(_ report: Report, to directory: String) throws(RunError) {
        do {
            if let log = IntervalLog.render(report) { try AtomicFile.write(Data(log.utf8), to: directory + "/" + IntervalLog.fileName) }
            let report = IntervalLog.strippingIntervalHistograms(report)
            let json = try JSONEncoder.snakeCase.encode(report)
            try AtomicFile.write(json + Data("\n".utf8), to: directory + "/report.json")
            try AtomicFile.write(Data(MarkdownReport.render(report).utf8), to: directory + "/report.md")
            try AtomicFile.write(Data(IntervalCSV.render(report).utf8), to: directory + "/intervals.csv")
            try AtomicFile.write(Data(HTMLReport.render(report).utf8), to: directory + "/report.html")
            try AtomicFile.write(Data(CISummary.render(report: report, reportPath: directory + "/report.md").utf8), to: directory + "/summary.md")
        } catch let error as AtomicFile.WriteError {
            throw RunError(.runFailed, "\(error)")
        } catch {
            throw RunError(.runFailed, "cannot encode the report: \(error)")
        }
    }

    /// `reports/<name>/<UTC timestamp>`, with the name reduced to characters safe in a path; `run`
    /// creates it with `AtomicFile.createUniqueDirectory`, which adds `-2`, `-3`, … if it exists.
    public static func defaultDirectory(for scenario: Scenario, at date: Date) -> String {
        defaultDirectory(name: scenario.name, at: date)
    }

    /// `reports/<name>/<UTC timestamp><suffix>`, the name reduced to letters, digits, `-` and `_`.
    public static func defaultDirectory(name: String, at date: Date, suffix: String = "") -> String {
        let safe = String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "-" }.prefix(64))
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.locale = Locale(identifier: "en_US_POSIX")
        return "reports/\(safe.isEmpty ? "scenario" : safe)/\(formatter.string(from: date))\(suffix)"
    }

    static func resourceUsage() -> (user: Double, system: Double) {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return (usage.ru_utime.seconds, usage.ru_stime.seconds)
    }
}

/// The wall-clock moment a monotonic instant stands for, noted when the load schedules its window.
final class WallClockMark {
    private(set) var value: UInt64?

    func set(monotonic instant: UInt64) {
        let now = MonotonicClock.now()
        let wall = StartTime.wallClockNow()
        value = instant >= now ? wall &+ (instant - now) : wall &- (now - instant)
    }
}
