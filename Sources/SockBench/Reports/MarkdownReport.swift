import Foundation

/// Renders `report.md`: the JSON report's figures as readable tables.
public enum MarkdownReport {
    public static func render(_ report: Report) -> String {
        var out: [String] = []
        out.append("# sockbench report: \(report.scenario.name)")
        out.append("")
        if !report.scenario.description.isEmpty { out += [report.scenario.description, ""] }
        let source = report.scenario.source == ScenarioLoader.commandLineSource ? "the command line" : "`\(report.scenario.source)`"
        out.append("Generated \(report.generatedAt) by sockbench \(report.tool.version) from \(source). Status: **\(report.status)**.")
        if let command = report.scenario.command { out += ["", "Rerun: `\(command)`"] }
        if let provenance = shardProvenance(report) { out += ["", provenance] }
        if let failure = report.failure { out += ["", "> \(endingHeading(report)): \(failure)"] }
        if let matrix = report.matrix {
            out += ["", "Ran \(plural(matrix.variants.count, "variant")) × \(plural(matrix.repetitions, "repetition")), interleaved "
                + "(every repetition runs each variant in turn, so drift on the machine hits all of them alike)."]
        }
        if let results = report.thresholds, !results.isEmpty { out += ["", thresholdSection(results)] }
        if let comparison = report.comparison { out += ["", comparisonSection(comparison)] }
        for run in report.runs { out += ["", render(run)] }
        out += ["", "## Environment", "", "| | |", "|---|---|"]
        let env = report.environment
        out.append("| host | \(env.host) |")
        out.append("| kernel | \(env.kernel) (\(env.architecture)) |")
        out.append("| cpus | \(env.cpus) |")
        out.append("| descriptor limit | \(env.descriptorLimit) |")
        for (name, value) in env.sysctls.sorted(by: { $0.key < $1.key }) { out.append("| \(name) | \(value) |") }
        out.append("")
        return out.joined(separator: "\n")
    }

    /// `Run failed`, `Run degraded` or `Run interrupted`: the words before a report's `failure`
    /// follow its status, so an interrupted or degraded run is not called failed.
    static func endingHeading(_ report: Report) -> String {
        switch report.status {
        case "degraded": "Run degraded"
        case "interrupted": "Run interrupted"
        default: "Run failed"
        }
    }

    /// `measured 5.000 s after 0.500 s warm-up`, or, when the run stopped before its measured
    /// window opened, that it did (rather than a warm-up it never finished).
    static func measuredText(_ run: RunResult) -> String {
        guard run.durationS <= 0 else { return "measured \(Format.seconds(run.durationS)) after \(Format.seconds(run.warmupS)) warm-up" }
        return run.warmupS > 0 ? "nothing measured: the run stopped within its \(Format.seconds(run.warmupS)) warm-up"
            : "nothing measured: the run stopped before its measured window began"
    }

    static func render(_ run: RunResult) -> String {
        var out: [String] = []
        var heading = run.variant == "default" ? "## Run" : "## Run: \(run.variant)"
        if let repetition = run.repetition { heading += " (repetition \(repetition))" }
        out += [heading, ""]
        var shape = "\(run.transportName) \(run.pattern.rawValue)"
        if let direction = run.direction { shape += " (\(direction.rawValue))" }
        let server = run.server.startedBySockbench ? "sockbench \(run.server.kind) at \(run.target)" : "external server at \(run.target)"
        let messages = run.pattern == .conversation ? "a scripted conversation"
            : run.pattern == .idle && run.messages.sent == 0 ? "held open without traffic" : "\(run.messageSizeBytes)-byte messages"
        out.append("\(shape) against \(server); \(plural(run.connections.requested, "connection")), \(messages)"
            + (run.responseSizeBytes.map { ", \($0)-byte answers" } ?? "")
            + (run.pattern == .requestResponse ? ", depth \(run.depth)" : "")
            + "; " + measuredText(run) + ".")
        out += ["", "### Throughput", "", "| metric | value |", "|---|---|"]
        out.append("| messages/s | \(Format.rate(run.throughput.messagesPerSecond)) |")
        out.append("| sent | \(Format.bitRate(bytesPerSecond: run.throughput.bytesPerSecondSent)) (\(Format.grouped(run.throughput.bytesPerSecondSent)) B/s) |")
        out.append("| received | \(Format.bitRate(bytesPerSecond: run.throughput.bytesPerSecondReceived)) (\(Format.grouped(run.throughput.bytesPerSecondReceived)) B/s) |")
        out.append("| messages sent / answered | \(run.messages.sent) / \(run.messages.received) |")
        if let perSecond = run.throughput.connectionsPerSecond { out.append("| connections/s | \(Format.rate(perSecond)) |") }
        if let perSecond = run.throughput.requestsPerSecond { out.append("| requests/s (named steps) | \(Format.rate(perSecond)) |") }
        if run.pattern == .requestResponse {
            out.append("| peak in flight per connection | \(run.messages.peakInFlight) of depth \(run.depth) |")
        }
        if let schedule = run.schedule { out += ["", scheduleSection(schedule)] }
        var latencies = [(latencyName(run), run.latencyNs)]
        if let uncorrected = run.latencyUncorrectedNs { latencies.append(("round trip from actual send (uncorrected)", uncorrected)) }
        latencies.append(("connect", run.connectLatencyNs))
        out += ["", "### Latency", "", latencyTable(latencies)]
        if let steps = run.steps, !steps.isEmpty { out += ["", stepSection(steps, durationS: run.durationS)] }
        if let shards = run.shards, !shards.isEmpty { out += ["", shardSection(shards)] }
        let categories = ErrorCounts.Category.allCases
        out += ["", "### Errors", "", "| total | " + categories.map(\.rawValue).joined(separator: " | ") + " |",
                "|---|" + String(repeating: "---|", count: categories.count)]
        out.append("| \(run.errors.total) | " + categories.map { "\(run.errors[$0])" }.joined(separator: " | ") + " |")
        if let first = run.firstError { out += ["", "First error: \(first)"] }
        out.append("")
        out.append("Connections: \(run.connections.established) established, \(run.connections.failed) failed of \(run.connections.requested)"
            + (run.connections.reconnects.map { ", \($0) reopened by the reconnect policy" } ?? "")
            + ((run.connections.starved ?? 0) > 0 ? "; **\(run.connections.starved ?? 0) starved** (never completed an exchange in the measured window)" : "")
            + (run.pattern == .idle ? run.intervals?.last.map { "; \($0.connectionsOpen) still open when the measured window closed" } ?? "" : "")
            + ".")
        if let budget = run.errorBudget {
            out.append("")
            out.append("Error budget \(budget.budget): \(plural(budget.errors, "error")) in \(plural(budget.attempts, "attempt")), \(budget.allowed) allowed — "
                + (budget.exceeded ? "**exceeded** (the run is degraded)." : "within budget."))
        }
        if let events = run.events, !events.isEmpty { out += ["", eventSection(events)] }
        if let warmup = run.warmup { out += ["", warmupSection(warmup)] }
        if let impairment = run.impairment { out += ["", impairmentSection(impairment, run: run)] }
        if let udp = run.udp {
            out += ["", "### UDP delivery", "", "| sent | received | lost | loss | duplicated | reordered | jitter (RFC 3550) |",
                    "|---|---|---|---|---|---|---|"]
            out.append("| \(udp.sent) | \(udp.received.map(String.init) ?? "n/a") | \(udp.lost.map(String.init) ?? "n/a") | "
                + "\(udp.lossPercent.map { String(format: "%.3f%%", $0) } ?? "n/a") | \(udp.duplicated) | \(udp.reordered) | "
                + "\(udp.jitterNs.map { Format.latency($0) } ?? "n/a") |")
            out += ["", udpDropSentence(udp, injected: run.impairment?.injected)]
        }
        if let mismatches = run.protocolMismatches, !mismatches.isEmpty { out += ["", mismatchSection(mismatches, count: run.errors.protocol)] }
        if let capture = run.capture { out += ["", captureSection(capture)] }
        out += kernelSections(run)
        out += ["", "### Socket options", "", optionsTable(run.socketOptions)]
        out += ["", "### CPU", "", "| side | user | system |", "|---|---|---|"]
        out.append("| client | \(Format.seconds(run.cpu.clientUserS)) | \(Format.seconds(run.cpu.clientSysS)) |")
        if let user = run.cpu.serverUserS, let system = run.cpu.serverSysS {
            out.append("| server | \(Format.seconds(user)) | \(Format.seconds(system)) |")
        }
        if let memory = run.memory { out += ["", memorySection(memory, connections: run.connections.requested)] }
        if let trend = run.resourceTrend { out += ["", trend.sentence] }
        if let intervals = run.intervals, !intervals.isEmpty { out += ["", intervalSection(intervals)] }
        return out.joined(separator: "\n")
    }

    static func latencyTable(_ rows: [(String, LatencySummary)]) -> String {
        var out = ["| | count | min | mean | p50 | p90 | p99 | p99.9 | p99.99 | max |", "|---|---|---|---|---|---|---|---|---|---|"]
        for (name, l) in rows {
            guard l.count > 0 else {
                out.append("| \(name) | 0 | | | | | | | | |")
                continue
            }
            out.append("| \(name) | \(l.count) | \(Format.latency(l.min)) | \(Format.latency(l.mean)) | \(Format.latency(l.p50)) | "
                + "\(Format.latency(l.p90)) | \(Format.latency(l.p99)) | \(Format.latency(l.p999)) | \(Format.latency(l.p9999)) | \(Format.latency(l.max)) |")
        }
        return out.joined(separator: "\n")
    }

    /// One row per option: requested and effective on each side; a differing pair is marked.
    static func optionsTable(_ options: RunResult.SocketOptionsRecord) -> String {
        var out = ["| option | client requested | client effective | server requested | server effective |", "|---|---|---|---|---|"]
        var names = Set(options.client.effective.values.keys).union(options.client.requested.values.keys)
        if let server = options.server { names.formUnion(server.effective.values.keys); names.formUnion(server.requested.values.keys) }
        func cell(_ side: RunResult.RequestedEffective?, _ option: SocketOption) -> (String, String) {
            guard let side else { return ("", "n/a") }
            let requested = side.requested[option]?.description ?? ""
            var effective = side.effective[option]?.description ?? ""
            if side.mismatched.contains(option.rawValue) { effective += " ≠" }
            return (requested, effective)
        }
        for option in names.sorted() {
            let client = cell(options.client, option)
            let server = cell(options.server, option)
            out.append("| \(option.rawValue) | \(client.0) | \(client.1) | \(server.0) | \(server.1) |")
        }
        out.append("")
        out.append("≠ marks a requested value the kernel holds differently (Linux doubles SO_SNDBUF/SO_RCVBUF for bookkeeping; net.core.rmem_max/wmem_max clamp them).")
        return out.joined(separator: "\n")
    }
}
