import Foundation

/// The few lines `sockbench run` prints at the end.
public enum TerminalSummary {
    public static func render(_ report: Report, directory: String) -> String {
        var lines: [String] = []
        // Several runs (a matrix or repetitions) print their comparison; each run is in report.md.
        if report.runs.count > 1, let comparison = report.comparison { lines += comparisonLines(comparison, name: report.scenario.name) }
        for run in report.runs where report.runs.count == 1 {
            let shape = "\(run.transportName) \(run.pattern.rawValue)"
            // Connect and conversation open a connection per transaction: say how many at a time and how many in all.
            let opened = run.pattern == .connect || run.pattern == .conversation
                ? "\(plural(run.connections.requested, "connection")) at a time, \(Format.grouped(Double(run.connections.established))) opened"
                : "\(run.connections.established)/\(plural(run.connections.requested, "connection"))"
            let starved = run.connections.starved ?? 0
            let connections = starved > 0 ? opened + " (\(starved) starved: no exchange in the window)" : opened
            let measured = run.durationS > 0 ? "\(Format.seconds(run.durationS)) measured" : "nothing measured (stopped before the measured window)"
            lines.append("\(report.scenario.name): \(shape), \(connections), \(measured)")
            if run.pattern == .stream {
                lines.append("  messages     \(Format.rate(run.throughput.messagesPerSecond))")
            } else if run.latencyNs.count > 0 || run.pattern != .idle {
                let label = switch run.pattern {
                case .connect: "transactions"
                case .conversation: "conversations"
                case .idle: "pings"
                case .requestResponse, .stream: "round trips"
                }
                lines.append("  \(column(label))\(Format.rate(run.throughput.messagesPerSecond))"
                    + (run.throughput.connectionsPerSecond.map { ", \(Format.rate($0)) connections" } ?? "")
                    + (run.throughput.requestsPerSecond.map { ", \(Format.rate($0)) requests (named steps)" } ?? ""))
                if run.latencyNs.count > 0 { lines.append(latencyLine("latency", run.latencyNs)) }
                if let uncorrected = run.latencyUncorrectedNs, uncorrected.count > 0 { lines.append(latencyLine("uncorrected", uncorrected)) }
                lines += stepLines(run.steps ?? [])
            }
            if let schedule = run.schedule {
                lines.append("  schedule     requested \(Format.rate(schedule.requestedPerSecond)), achieved \(Format.rate(schedule.achievedPerSecond)), "
                    + "\(schedule.unsent) never sent, \(schedule.lateSends) late > 1 ms\(schedule.behindSchedule ? " — BEHIND SCHEDULE" : "")")
            }
            if run.pattern == .idle, run.latencyNs.count == 0 {
                lines.append("  idle         " + heldOpenText(run))
            } else {
                lines.append("  throughput   sent \(Format.bitRate(bytesPerSecond: run.throughput.bytesPerSecondSent)), received \(Format.bitRate(bytesPerSecond: run.throughput.bytesPerSecondReceived))")
            }
            if run.connectLatencyNs.count > 0 {
                lines.append("  connect      p50 \(Format.latency(run.connectLatencyNs.p50))  max \(Format.latency(run.connectLatencyNs.max))")
            }
            if let udp = run.udp {
                let loss = udp.lost.map { "\($0) lost (\(String(format: "%.3f", udp.lossPercent ?? 0))%)" } ?? "loss n/a"
                lines.append("  udp          \(udp.sent) sent, \(loss), \(udp.duplicated) duplicated, \(udp.reordered) reordered, jitter \(udp.jitterNs.map { Format.latency($0) } ?? "n/a")")
            }
            lines.append("  errors       " + errorsText(run.errors))
            if let first = run.firstError { lines.append("  first error  \(first)") }
            if let memory = run.memory, run.connections.requested >= 100 {
                lines.append("  memory       client \(Format.bytes(memory.clientBytesPerConnection)) per connection"
                    + (memory.serverBytesPerConnection.map { ", server \(Format.bytes($0)) per connection" } ?? ""))
            }
            let mismatches = run.socketOptions.client.mismatched.map { "client \($0)" } + (run.socketOptions.server?.mismatched.map { "server \($0)" } ?? [])
            if !mismatches.isEmpty {
                lines.append("  options      requested ≠ effective: \(mismatches.joined(separator: ", ")) (see report.md)")
            }
            if let capture = run.capture { lines.append(captureLine(capture)) }
            if let info = run.tcpInfo {
                lines.append("  tcp_info     rtt p50 \(Format.latency(info.rttNs.p50)), total_retrans \(info.totalRetrans), lost \(info.lost) over \(plural(info.connections, "connection"))")
            }
            if let kernel = kernelLine(run.kernelCounters) { lines.append(kernel) }
            var cpu = "  cpu          client \(String(format: "%.2f", run.cpu.clientUserS))s user \(String(format: "%.2f", run.cpu.clientSysS))s sys"
            if let user = run.cpu.serverUserS, let system = run.cpu.serverSysS {
                cpu += "; server \(String(format: "%.2f", user))s user \(String(format: "%.2f", system))s sys"
            }
            lines.append(cpu)
        }
        if let failure = report.failure { lines.append("\(MarkdownReport.endingHeading(report).lowercased()): \(failure)") }
        if let results = report.thresholds {
            let several = Set(report.runs.map(\.variant)).count > 1
            for result in results {
                lines.append("  threshold    \(result.passed ? "pass" : "FAIL") \(result.expression)\(several ? " [\(result.variant)]" : ""): \(result.message)")
            }
        }
        var files = ["report.json", "report.md", "report.html", "summary.md", "intervals.csv"]
        if IntervalLog.hasHistograms(report) { files.append(IntervalLog.fileName) }
        let captures = report.runs.compactMap { $0.capture?.details.file }
        if let first = captures.first { files.append(captures.count > 1 ? "capture-*.pcap" : first) }
        lines.append("reports: " + files.map { "\(directory)/\($0)" }.joined(separator: ", "))
        return lines.joined(separator: "\n")
    }

    /// Per group, the headline metrics with each variant's median, change and verdict.
    static func comparisonLines(_ comparison: Comparison, name: String) -> [String] {
        let samples = comparison.groups.first?.metrics.first?.cells.first?.summary.n ?? 0
        var lines = ["\(name): comparing \(comparison.compared), median of \(plural(samples, "repetition")) "
            + "(Mann-Whitney U, different at p < \(comparison.alpha))"]
        let headline = ["throughput.messages_per_second", "throughput.requests_per_second", "throughput.bytes_per_second_received", "latency.p50", "latency.p99",
                        "errors.total", "capture.segments_per_message.client_to_server"]
        for group in comparison.groups {
            if !group.name.isEmpty { lines.append("  \(group.name)") }
            for row in group.metrics where headline.contains(row.metric) {
                guard let metric = ReportMetric.named(row.metric) else { continue }
                let cells = row.cells.map { "\($0.variant) \(MarkdownReport.cellText($0, metric: metric, detailed: false))" }
                lines.append("    \(row.metric.padding(toLength: 46, withPad: " ", startingAt: 0)) \(cells.joined(separator: " | "))")
            }
            if let ranking = group.ranking, ranking.count > 1, let by = group.rankedBy {
                lines.append(group.best.map { "    best by \(by): \($0)" } ?? "    by \(by), no variant is significantly better")
            }
        }
        lines += comparison.notes.map { "  note: \($0)" }
        return lines
    }

    /// How many idle connections were still open when the measured window closed (the last
    /// interval's count), not how many were asked for or ever opened.
    static func heldOpenText(_ run: RunResult) -> String {
        let requested = run.connections.requested
        guard let open = run.intervals?.last?.connectionsOpen else {
            return "\(plural(run.connections.established, "connection")) opened without traffic (how many stayed open is not recorded)"
        }
        return "\(plural(open, "connection")) held open without traffic through the measured window"
            + (open == requested ? "" : " (of \(requested) requested, \(run.connections.established) opened)")
    }

    /// A label padded to the 13-character column, always followed by at least one space.
    static func column(_ label: String) -> String {
        label.count >= 13 ? label + " " : label.padding(toLength: 13, withPad: " ", startingAt: 0)
    }

    /// `3 (refused 1, reset 2, timeout 0, …)`: every category, from `Category.allCases`, so the parts always add up to the total.
    static func errorsText(_ errors: ErrorCounts) -> String {
        "\(errors.total) (" + ErrorCounts.Category.allCases.map { "\($0.rawValue) \(errors[$0])" }.joined(separator: ", ") + ")"
    }

    /// The most steps the summary lists one by one; report.md has them all.
    static let shownSteps = 8

    /// One line per named step, `get  12,345  p50 1.20ms  p99 3.40ms`, under a `steps` label; past
    /// `shownSteps`, how many more there are.
    static func stepLines(_ steps: [StepRecord]) -> [String] {
        guard !steps.isEmpty else { return [] }
        let shown = steps.prefix(shownSteps)
        // Names padded to the longest shown (up to 24 characters), so the figures line up.
        let width = min(24, shown.map(\.name.count).max() ?? 0)
        let countWidth = shown.map { Format.grouped(Double($0.count)).count }.max() ?? 0
        var lines = shown.enumerated().map { index, step in
            // A control character in a name would move the terminal's cursor: shown as `?`.
            let name = String(step.name.map { character -> Character in
                character.unicodeScalars.contains { $0.properties.generalCategory == .control } ? "?" : character
            })
            let count = Format.grouped(Double(step.count))
            let figures = step.latencyNs.count == 0 ? "no answer"
                : "p50 \(Format.latency(step.latencyNs.p50))  p99 \(Format.latency(step.latencyNs.p99))"
            return "  \(column(index == 0 ? "steps" : ""))\(name.padding(toLength: max(width, name.count), withPad: " ", startingAt: 0))  "
                + String(repeating: " ", count: countWidth - count.count) + "\(count)  \(figures)"
        }
        if steps.count > shownSteps { lines.append("  \(column(""))… \(steps.count - shownSteps) more (report.md lists every step)") }
        return lines
    }

    static func latencyLine(_ label: String, _ l: LatencySummary) -> String {
        "  \(label.padding(toLength: 12, withPad: " ", startingAt: 0)) p50 \(Format.latency(l.p50))  p90 \(Format.latency(l.p90))  p99 \(Format.latency(l.p99))  p99.9 \(Format.latency(l.p999))  max \(Format.latency(l.max))"
    }

    /// The live line a terminal shows once per interval while the load runs.
    public static func progressLine(_ progress: LoadProgress) -> String {
        "  \(Format.seconds(Double(progress.elapsedNs) / 1e9)) elapsed, \(Format.seconds(Double(progress.remainingNs) / 1e9)) left  "
            + "\(Format.rate(progress.messagesPerSecond))  p99 so far \(Format.latency(progress.p99SoFarNs))  errors \(progress.errors)"
    }

    /// One labelled line of packet evidence, or why there is none.
    static func captureLine(_ capture: CaptureRecord) -> String { "  capture      " + captureText(capture) }

    /// The packet evidence in one sentence (the terminal's line, summary.md's cell).
    static func captureText(_ capture: CaptureRecord) -> String {
        guard capture.status == .captured, let analysis = capture.analysis else {
            return "\(capture.status.rawValue): \(capture.details.reason ?? "")"
        }
        let packets = analysis.packets.total
        var text = "\(Format.grouped(Double(packets))) packet\(packets == 1 ? "" : "s"), \(capture.details.kernelDropped ?? 0) dropped"
        if capture.details.mode == CaptureSpec.Mode.windows.rawValue, capture.details.windows != nil {
            text += " (windows: \(Format.seconds(capture.details.capturedSeconds)) of the measured window"
            if let ratio = capture.details.observerEffect?.ratio { text += String(format: ", load ×%.2f while capturing", ratio) }
            text += ")"
        }
        if let tcp = analysis.tcp {
            if let perMessage = tcp.segmentsPerMessage {
                text += "; segments/message \(String(format: "%.2f", perMessage.clientToServer)) →, \(String(format: "%.2f", perMessage.serverToClient)) ←"
            }
            if tcp.handshakeRttNs.count > 0 { text += "; handshake p50 \(Format.latency(tcp.handshakeRttNs.p50))" }
            text += "; \(tcp.retransmissions) retransmitted"
            if tcp.keepalive.probes > 0 {
                // An interval needs two probes on one connection; with one each there is none to show.
                let interval = tcp.keepalive.intervalNs
                text += "; \(plural(Int(tcp.keepalive.probes), "keepalive probe"))"
                    + (interval.count > 0 && interval.p50 > 0 ? " every \(Format.latency(interval.p50))" : "")
            }
        }
        if let udp = analysis.udp { text += "; \(udp.datagrams.clientToServer) datagrams →, \(udp.datagrams.serverToClient) ←" }
        return text
    }
}
