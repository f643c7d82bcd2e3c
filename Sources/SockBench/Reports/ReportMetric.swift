import Foundation

/// A figure of a run that thresholds, comparisons and baseline checks read by name
/// (`latency.p99`, `errors.total`, `capture.retransmissions`). The names follow `report.json`
/// with the unit suffix dropped (`latency_ns.p99` is `latency.p99`), because a threshold writes
/// its unit in the value (`latency.p99 < 2ms`).
public struct ReportMetric: Sendable {
    public enum Unit: String, Sendable, Codable, CaseIterable {
        /// Values in nanoseconds; thresholds write a duration (`2ms`).
        case nanoseconds
        /// Per second (`10000`, `10k`).
        case perSecond = "per_second"
        case bytesPerSecond = "bytes_per_second"
        case count
        case percent
        /// A plain number such as segments per message.
        case ratio
        case bytes
    }

    /// Which way is an improvement; `neutral` figures (segments per message) are only higher or lower.
    public enum Better: String, Sendable, Codable, CaseIterable { case lower, higher, neutral }

    public let name: String
    public let unit: Unit
    public let better: Better
    /// One line for `--help` and docs.
    public let summary: String
    let read: @Sendable (RunResult) -> Double?

    init(_ name: String, _ unit: Unit, _ better: Better, _ summary: String, _ read: @escaping @Sendable (RunResult) -> Double?) {
        self.name = name
        self.unit = unit
        self.better = better
        self.summary = summary
        self.read = read
    }

    /// The figure in `run`, or nil when the run has none (no capture, no answers, not open loop).
    public func value(in run: RunResult) -> Double? {
        guard let value = read(run), value.isFinite else { return nil }
        return value
    }

    /// A value written the way this metric's thresholds and reports write it.
    public func format(_ value: Double) -> String {
        switch unit {
        case .nanoseconds: Format.latency(value)
        case .perSecond: Format.rate(value)
        case .bytesPerSecond: Format.bitRate(bytesPerSecond: value)
        case .count: Format.grouped(value.rounded())
        case .percent: Format.outsidePrintable(value, unit: "%", scale: 1) ?? String(format: "%.2f%%", value)
        case .ratio: Format.outsidePrintable(value, unit: "", scale: 1) ?? String(format: "%.3f", value)
        case .bytes: Format.bytes(value)
        }
    }

    /// The metric `name` names: a catalogue entry, an alias, or a step's figure (`steps.get.p99`).
    public static func named(_ name: String) -> ReportMetric? { catalogue.first { $0.name == name } ?? aliases[name] ?? step(name) }

    public static var allNames: [String] { catalogue.map(\.name) }

    /// `'latncy.p99' is not a report field; did you mean 'latency.p99'?`
    static func unknownFieldMessage(_ name: String) -> String {
        if name.hasPrefix(kernelPrefix) { return unknownKernelCounterMessage(name) }
        if name.hasPrefix(stepPrefix) { return unknownStepFieldMessage(name) }
        var message = "'\(name)' is not a report field"
        if let suggestion = KeySuggestion.closest(to: name, in: allNames) { message += "; did you mean '\(suggestion)'?" }
        return message
    }

    /// Short names `--tolerance` and thresholds also accept.
    static let aliases: [String: ReportMetric] = [
        "p50": "latency.p50", "p90": "latency.p90", "p99": "latency.p99", "p999": "latency.p999", "max": "latency.max",
        "throughput": "throughput.messages_per_second", "errors": "errors.total",
        "retransmissions": "capture.retransmissions",
    ].compactMapValues { name in catalogue.first { $0.name == name } }
}

extension ReportMetric {
    /// Every metric a threshold, comparison or baseline can name.
    public static let catalogue: [ReportMetric] = latencyMetrics + throughputMetrics + errorMetrics + captureMetrics + otherMetrics
        + kernelMetrics

    static func latency(_ prefix: String, _ what: String, _ summary: @escaping @Sendable (RunResult) -> LatencySummary?) -> [ReportMetric] {
        let figures: [(String, String, @Sendable (LatencySummary) -> Double)] = [
            ("min", "smallest", { Double($0.min) }), ("mean", "mean", { $0.mean }), ("p50", "median", { Double($0.p50) }),
            ("p90", "90th percentile", { Double($0.p90) }), ("p99", "99th percentile", { Double($0.p99) }),
            ("p999", "99.9th percentile", { Double($0.p999) }), ("p9999", "99.99th percentile", { Double($0.p9999) }),
            ("max", "largest", { Double($0.max) }),
        ]
        return figures.map { key, words, figure in
            ReportMetric("\(prefix).\(key)", .nanoseconds, .lower, "\(words) \(what)") { run in
                summary(run).flatMap { $0.count == 0 ? nil : figure($0) }
            }
        }
    }

    static let latencyMetrics: [ReportMetric] =
        latency("latency", "latency (from the intended send in open loop)") { $0.latencyNs }
        + latency("latency_uncorrected", "latency from the actual send (open loop only)") { $0.latencyUncorrectedNs }
        + latency("connect_latency", "connect time") { $0.connectLatencyNs }

    static let throughputMetrics: [ReportMetric] = [
        ReportMetric("throughput.messages_per_second", .perSecond, .higher, "answers (or writes, transactions) per second") {
            $0.throughput.messagesPerSecond
        },
        ReportMetric("throughput.bytes_per_second_sent", .bytesPerSecond, .higher, "bytes sent per second") { $0.throughput.bytesPerSecondSent },
        ReportMetric("throughput.bytes_per_second_received", .bytesPerSecond, .higher, "bytes received per second") {
            $0.throughput.bytesPerSecondReceived
        },
        ReportMetric("throughput.connections_per_second", .perSecond, .higher, "connections per second (pattern: connect)") {
            $0.throughput.connectionsPerSecond
        },
        ReportMetric("throughput.requests_per_second", .perSecond, .higher, "named conversation steps answered per second") {
            $0.throughput.requestsPerSecond
        },
        ReportMetric("schedule.achieved_per_second", .perSecond, .higher, "sends per second achieved (open loop)") {
            $0.schedule?.achievedPerSecond
        },
        ReportMetric("schedule.unsent", .count, .lower, "scheduled sends never sent (open loop)") { $0.schedule.map { Double($0.unsent) } },
        ReportMetric("schedule.late_sends", .count, .lower, "sends more than 1 ms late (open loop)") { $0.schedule.map { Double($0.lateSends) } },
    ]

    static let errorMetrics: [ReportMetric] = {
        // Every category, from the one list of them, so a new category is a threshold field at once.
        let total = ReportMetric("errors.total", .count, .lower, "errors of every category") { Double($0.errors.total) }
        return [total] + ErrorCounts.Category.allCases.map { category in
            ReportMetric("errors.\(category.rawValue)", .count, .lower, "\(category.rawValue) errors") { Double($0.errors[category]) }
        } + [
            ReportMetric("connections.established", .count, .higher, "connections established") { Double($0.connections.established) },
            ReportMetric("connections.failed", .count, .lower, "connections that failed") { Double($0.connections.failed) },
            ReportMetric("connections.starved", .count, .lower, "connections that completed no exchange in the window") {
                $0.connections.starved.map(Double.init)
            },
            ReportMetric("udp.damaged", .count, .lower, "UDP answers merged, truncated or garbled") { $0.udp?.damaged.map(Double.init) },
            ReportMetric("udp.loss_percent", .percent, .lower, "UDP datagrams lost, percent of sent") { $0.udp?.lossPercent },
            ReportMetric("udp.lost", .count, .lower, "UDP datagrams lost") { $0.udp?.lost.map(Double.init) },
            ReportMetric("udp.reordered", .count, .lower, "UDP datagrams out of order") { $0.udp.map { Double($0.reordered) } },
            ReportMetric("udp.jitter", .nanoseconds, .lower, "UDP jitter (RFC 3550)") { $0.udp?.jitterNs },
        ]
    }()

    /// Packet evidence; nil when the run was not captured, or when its measured window has no
    /// packet on file (windows that caught nothing, a file full before the window): a count of 0
    /// there would pass `capture.retransmissions == 0` on evidence nobody saw.
    static let captureMetrics: [ReportMetric] = {
        @Sendable func tcp(_ run: RunResult) -> TCPFigures? {
            guard let analysis = run.capture?.analysis, analysis.packets.total > 0 else { return nil }
            return analysis.tcp
        }
        return [
            // No data segment that way: no ratio, rather than 0.
            ReportMetric("capture.segments_per_message.client_to_server", .ratio, .neutral, "data segments per request (below 1: coalesced)") {
                tcp($0).flatMap { $0.dataSegments.clientToServer == 0 ? nil : $0.segmentsPerMessage?.clientToServer }
            },
            ReportMetric("capture.segments_per_message.server_to_client", .ratio, .neutral, "data segments per answer") {
                tcp($0).flatMap { $0.dataSegments.serverToClient == 0 ? nil : $0.segmentsPerMessage?.serverToClient }
            },
            ReportMetric("capture.retransmissions", .count, .lower, "TCP segments resent") { tcp($0).map { Double($0.retransmissions) } },
            ReportMetric("capture.out_of_order", .count, .lower, "TCP segments out of order") { tcp($0).map { Double($0.outOfOrder) } },
            ReportMetric("capture.zero_window", .count, .lower, "segments advertising a zero window") { tcp($0).map { Double($0.zeroWindow) } },
            ReportMetric("capture.rst", .count, .lower, "TCP resets on the wire") { tcp($0).map { Double($0.rst) } },
            ReportMetric("capture.handshake_rtt.p50", .nanoseconds, .lower, "median handshake round trip (SYN to ACK)") {
                tcp($0).flatMap { $0.handshakeRttNs.count == 0 ? nil : Double($0.handshakeRttNs.p50) }
            },
            ReportMetric("capture.packets", .count, .neutral, "packets captured") { $0.capture?.analysis.map { Double($0.packets.total) } },
            ReportMetric("capture.kernel_dropped", .count, .lower, "packets the capture buffer dropped") {
                $0.capture?.details.kernelDropped.map(Double.init)
            },
        ]
    }()

    static let otherMetrics: [ReportMetric] = [
        ReportMetric("cpu.client_per_message", .nanoseconds, .lower, "client CPU time per measured message") { run in
            let messages = run.throughput.messagesPerSecond * run.durationS
            guard let cpu = run.cpu.clientMeasuredS, messages > 0 else { return nil }
            return cpu * 1e9 / messages
        },
        ReportMetric("cpu.client_measured_s", .ratio, .lower, "client CPU seconds in the measured window") { $0.cpu.clientMeasuredS },
        ReportMetric("memory.client_bytes_per_connection", .bytes, .lower, "client memory growth per connection") {
            $0.memory?.clientBytesPerConnection
        },
        ReportMetric("memory.server_bytes_per_connection", .bytes, .lower, "reference server peak memory per connection") {
            $0.memory?.serverBytesPerConnection
        },
    ]
}
