/// Everything one `sockbench run` produced: what renderers (JSON, Markdown, terminal) read.
/// Field names are snake_case in JSON; every duration or latency names its unit (`_ns`, `_s`).
public struct Report: Codable, Sendable {
    public static let schemaName = "sockbench/report/v1"

    public var schema = Report.schemaName
    public var tool = ToolInfo()
    /// UTC, ISO 8601.
    public var generatedAt: String
    /// `ok`; `failed` when a run could not measure what it set out to, `degraded` when it measured
    /// but the reference server died or the errors passed the budget (both exit code 3);
    /// `interrupted` when SIGINT or SIGTERM cut it short (exit code 130; the runs so far are kept).
    public var status: String
    /// Why the run failed, when it did.
    public var failure: String?
    public var environment: EnvironmentInfo
    public var scenario: ScenarioRecord
    /// Every run, in the order they ran (a matrix interleaves variants across repetitions).
    public var runs: [RunResult]
    /// The matrix and repetitions the runs come from (absent for a single run).
    public var matrix: MatrixRecord?
    /// Variants (or repetitions) side by side with a statistical verdict (absent for a single run).
    public var comparison: Comparison?
    /// The scenario's thresholds, evaluated on each variant's median over its repetitions.
    public var thresholds: [ThresholdResult]?
    /// `run --shard I/N`: which shard this report is, of which scenario (absent otherwise).
    public var shard: ShardRecord?
    /// `sockbench merge`: the shard reports this one adds up (absent otherwise).
    public var merge: MergeRecord?

    public struct MatrixRecord: Codable, Sendable {
        public var keys: [String]
        public var variants: [String]
        public var repetitions: Int
        /// How the runs were ordered; always interleaved (A B C A B C ...), so drift hits every variant alike.
        public var order = "interleaved"
    }


    public struct ToolInfo: Codable, Sendable {
        public var name = "sockbench"
        public var version = SockBenchVersion.current
    }
}

public enum SockBenchVersion {
    public static let current = "0.1.0"
}

/// One measured run (one variant; matrices add more).
extension RunResult {
    /// The runs of each variant, variants in the order they first ran.
    public static func byVariant(_ runs: [RunResult]) -> [(name: String, runs: [RunResult])] {
        var order: [String] = []
        for run in runs where !order.contains(run.variant) { order.append(run.variant) }
        return order.map { name in (name, runs.filter { $0.variant == name }) }
    }
}

public struct RunResult: Codable, Sendable {
    /// The matrix settings in words (`tcp_nodelay=true, message_size=64`), or `default`.
    public var variant = "default"
    /// The matrix values this run used, in matrix order.
    public var settings: [ScenarioMatrix.Setting]?
    /// 1-based, when the scenario repeats its runs.
    public var repetition: Int?
    public var target: String
    public var server: ServerRecord
    public var transport: Socket.Transport
    public var pattern: LoadSpec.Pattern
    public var direction: LoadSpec.Direction?
    public var messageSizeBytes: Int
    public var responseSizeBytes: Int?
    public var depth: Int
    /// The measured window, and the warm-up before it (excluded from every figure).
    public var durationS: Double
    public var warmupS: Double
    public var connections: ConnectionCounts
    public var messages: MessageCounts
    /// Latency per answer (per transaction for connect, per conversation for conversation);
    /// in open loop counted from each request's intended send time.
    public var latencyNs: LatencySummary
    /// Open loop only: the same answers timed from their actual send (what a closed-loop tool would show).
    public var latencyUncorrectedNs: LatencySummary?
    public var connectLatencyNs: LatencySummary
    /// Conversations with named steps: each named step's count and latency, in step order (absent
    /// when the conversation names no step).
    public var steps: [StepRecord]?
    public var throughput: Throughput
    public var errors: ErrorCounts
    public var firstError: String?
    public var socketOptions: SocketOptionsRecord
    public var udp: UDPRecord?
    public var cpu: CPUUsage
    /// What the wire showed; absent only in reports written before capture existed.
    public var capture: CaptureRecord?
    /// The kernel's TCP_INFO over client connections, read as each closed (TCP runs).
    public var tcpInfo: TCPInfoSummary?
    /// What the kernel's TCP and UDP counters (nstat names) rose by over the measured window, in
    /// `KernelCounters.reported` order: the whole network namespace's, so other traffic in it counts too.
    public var kernelCounters: [KernelCounterDelta]?
    /// Open loop: the requested schedule against what was sent.
    public var schedule: ScheduleRecord?
    /// Conversation: the first few failed expectations, in words.
    public var protocolMismatches: [String]?
    public var memory: MemoryRecord?
    /// Throughput, latency and errors per interval of the measured window.
    public var intervals: [IntervalRecord]?
    /// Errors with their moment, the server exiting, an interruption (absent when nothing happened).
    public var events: [RunEvent]?
    /// The scenario's error budget against what the run saw (absent without `error_budget`).
    public var errorBudget: ErrorBudgetRecord?
    /// What the impairment proxy injected (absent without `impair:`).
    public var impairment: ImpairmentRecord?
    /// Whether memory and descriptors stayed flat over the intervals (runs of 8 intervals or more).
    public var resourceTrend: ResourceTrend?
    /// What the warm-up saw, kept apart from every figure above (absent without a warm-up).
    public var warmup: WarmupRecord?
    /// Shards: the wall-clock moment the measured window opened (ns since the Unix epoch), by
    /// which `merge` aligns the shards' intervals.
    public var windowStartUnixNs: UInt64?
    /// A merged run: each shard's own figures.
    public var shards: [ShardFigures]?

    public struct ScheduleRecord: Codable, Sendable {
        public var requestedPerSecond: Double
        public var achievedPerSecond: Double
        /// Sends the schedule held in the measured window, those that went out, and those never sent.
        public var scheduled: UInt64
        public var sent: UInt64
        public var unsent: UInt64
        /// Of those, sends that fell due while their connection was down (reset, reconnecting):
        /// a reopened connection takes up the timetable where its slot left it instead of catching up.
        public var unsentWhileDown: UInt64?
        /// Sends that left more than 1 ms after their intended time.
        public var lateSends: UInt64
        public var sendLagNs: LatencySummary
        /// True when the run could not keep its schedule: under 99% of it sent, or over 1% of sends late.
        public var behindSchedule: Bool
    }

    public struct MemoryRecord: Codable, Sendable {
        /// The sockbench client process: before any connection existed, at its peak, and the
        /// difference shared over the connections.
        public var clientResidentBeforeBytes: UInt64
        public var clientPeakResidentBytes: UInt64
        public var clientBytesPerConnection: Double
        /// The reference server process's peak resident memory, and the same per connection.
        public var serverPeakResidentBytes: UInt64?
        public var serverBytesPerConnection: Double?
    }

    public struct ConnectionCounts: Codable, Sendable {
        public var requested: Int
        public var established: Int
        public var failed: Int
        /// Connections opened again after an error or a close (the reconnect policy).
        public var reconnects: UInt64?
        /// Connection slots (UDP: sockets) that never completed an exchange inside the measured window
        /// (idle without pings: were not open as it closed). Named in the verdict when above 0.
        public var starved: Int?
    }

    public struct MessageCounts: Codable, Sendable {
        public var sent: UInt64
        public var received: UInt64
        public var bytesSent: UInt64
        public var bytesReceived: UInt64
        /// The most requests one connection had in flight at once (request-response).
        public var peakInFlight: UInt64
    }

    public struct Throughput: Codable, Sendable {
        /// Answers per second (request-response, idle pings), transactions per second (connect),
        /// conversations per second, datagrams sent per second (UDP streams), or writes/reads of
        /// `message_size_bytes` per second (TCP streams; uploads when both ways).
        public var messagesPerSecond: Double
        public var bytesPerSecondSent: Double
        public var bytesPerSecondReceived: Double
        /// Connect pattern: connections opened (and used) per second.
        public var connectionsPerSecond: Double?
        /// Conversations with named steps: named steps answered per second (requests, as wrk counts
        /// them), beside `messages_per_second`, which stays conversations per second.
        public var requestsPerSecond: Double?
    }

    public struct ServerRecord: Codable, Sendable {
        public var kind: String
        public var address: String
        public var startedBySockbench: Bool
        public var connectionsAccepted: Int?
        public var datagramsReceived: UInt64?
        public var datagramsDropped: UInt64?
    }

    public struct SocketOptionsRecord: Codable, Sendable {
        public var client: RequestedEffective
        /// Absent for an external server (its options cannot be read from here).
        public var server: RequestedEffective?
    }

    /// What the scenario asked for and what getsockopt read back afterwards.
    public struct RequestedEffective: Codable, Sendable {
        public var requested: SocketOptionSet
        public var effective: SocketOptionSet
        /// Requested options whose effective value differs (SO_SNDBUF doubled, a clamp, ...).
        public var mismatched: [String]

        public init(requested: SocketOptionSet, effective: SocketOptionSet) {
            self.requested = requested
            self.effective = effective
            // Nothing read back (no connection) is not a mismatch.
            mismatched = requested.sorted.filter { entry in
                effective[entry.option].map { $0 != entry.value } ?? false
            }.map(\.option.rawValue)
        }
    }

    public struct UDPRecord: Codable, Sendable {
        public var sent: UInt64
        public var received: UInt64?
        public var lost: UInt64?
        public var lossPercent: Double?
        public var duplicated: UInt64
        public var reordered: UInt64
        public var jitterNs: Double?
        /// Sequence numbers answered by a damaged datagram (merged, truncated, garbled): counted as
        /// integrity errors, not in `lost`. Request-response only.
        public var damaged: UInt64?
        /// Datagrams dropped by a full socket receive queue, as the kernel counts them (SO_RXQ_OVFL):
        /// the clients' sockets from the window's start (request-response only), and the reference
        /// server's socket over the whole run, warm-up included.
        public var clientRxqOverflows: UInt64?
        public var serverRxqOverflows: UInt64?
        /// The host's UDP counters across the run (IPv4 and IPv6, every socket on the host:
        /// clients, server, proxy and bystanders): drops for a full receive buffer, and all input errors.
        public var hostRcvbufErrors: UInt64?
        public var hostInErrors: UInt64?

        /// Records the host's counters across the run.
        public mutating func setHost(_ delta: HostUDPStatistics?) {
            hostRcvbufErrors = delta?.rcvbufErrors
            hostInErrors = delta?.inErrors
        }
    }

    public struct CPUUsage: Codable, Sendable {
        /// The whole client process from the first connect to the last close (warm-up and drain included).
        public var clientUserS: Double
        public var clientSysS: Double
        /// The client's worker threads inside the measured window only (user + system): what the
        /// measured messages cost, for per-message comparisons.
        public var clientMeasuredS: Double?
        public var serverUserS: Double?
        public var serverSysS: Double?
    }
}

extension RunResult {
    /// "TCP", "UDP", or "unix stream" / "unix datagram" when the target is a unix socket (whose
    /// report says tcp or udp for the stream or datagram semantics it shares with them).
    public var transportName: String {
        if target.hasPrefix("unix:") { return "unix stream" }
        if target.hasPrefix("unixgram:") { return "unix datagram" }
        return transport.rawValue.uppercased()
    }
}
