import CSockBenchLinux
import Glibc

/// UDP delivery counted from sequence numbers, over datagrams sent in the measured window.
public struct UDPCounters: Sendable, Equatable {
    public var sent: UInt64 = 0
    public var received: UInt64 = 0
    public var duplicated: UInt64 = 0
    public var reordered: UInt64 = 0
    /// Sequence numbers answered by a damaged datagram (merged, truncated, garbled): integrity
    /// errors, not losses.
    public var damaged: UInt64 = 0
    /// Datagrams the kernel dropped because a client socket's receive queue was full (SO_RXQ_OVFL),
    /// from the start of the window to the last datagram each socket read.
    public var clientRxqOverflows: UInt64 = 0
    /// RFC 3550 interarrival jitter, summed over sockets to average at the end.
    public var jitterSum: Double = 0
    public var jitterSockets: Int = 0
    /// Every datagram sent, warm-up included (compared with what a sink server counted).
    public var sentIncludingWarmup: UInt64 = 0

    public init() {}

    /// Sequence numbers sent in the window and never answered, cleanly or damaged.
    public var lost: UInt64 { sent > received &+ damaged ? sent - received - damaged : 0 }
    public var jitter: Double { jitterSockets == 0 ? 0 : jitterSum / Double(jitterSockets) }

    mutating func add(_ other: UDPCounters) {
        sent += other.sent
        received += other.received
        duplicated += other.duplicated
        reordered += other.reordered
        damaged += other.damaged
        clientRxqOverflows += other.clientRxqOverflows
        jitterSum += other.jitterSum
        jitterSockets += other.jitterSockets
        sentIncludingWarmup += other.sentIncludingWarmup
    }
}

/// One named conversation step's figures: its latency from the start of its send (or, with no
/// send, from the end of the step before it) to its last expected byte, inside the measured window.
public struct StepResult: Sendable {
    /// The step's `name:` in the scenario.
    public var name: String
    /// Open loop: an iteration's first step is timed from the iteration's scheduled start
    /// (coordinated omission corrected), as request-response answers are.
    public var latency = LatencyHistogram()
    /// Open loop: the same, timed from the actual send (equal to `latency` in closed loop).
    public var latencyUncorrected = LatencyHistogram()

    public init(name: String) { self.name = name }

    /// Steps answered in the measured window.
    public var count: UInt64 { latency.count }

    mutating func merge(_ other: StepResult) {
        latency.merge(other.latency)
        latencyUncorrected.merge(other.latencyUncorrected)
    }
}

/// What one worker thread measured; merged across workers by `LoadEngine`.
public struct WorkerResult: Sendable {
    /// Latency of each answer; in open loop counted from the intended send time.
    public var latency = LatencyHistogram()
    /// Open loop: the same answers timed from their actual send.
    public var latencyUncorrected = LatencyHistogram()
    /// Open loop: how late each send left against its intended time.
    public var sendLag = LatencyHistogram()
    public var connectLatency = LatencyHistogram()
    /// Conversations: one entry per named step, in the order of the steps (empty otherwise).
    public var steps: [StepResult] = []
    /// Conversations: named steps answered in the measured window (requests, as wrk counts them).
    public var requests: UInt64 = 0
    /// Messages sent and answers received in the measured window.
    public var messagesSent: UInt64 = 0
    public var messagesReceived: UInt64 = 0
    public var bytesSent: UInt64 = 0
    public var bytesReceived: UInt64 = 0
    /// Errors inside the measured window (and its final drain); warm-up errors are kept apart.
    public var errors = ErrorCounts()
    /// Errors before the measured window opened: reported in `runs[].warmup`, in no other figure.
    public var warmupErrors = ErrorCounts()
    /// When the measured window opens (monotonic clock): errors before it are warm-up errors.
    var windowStart: UInt64 = 0
    /// Connection slots (UDP: flows) that never completed an exchange inside the measured window.
    public var connectionsStarved = 0
    /// Open-loop sends that fell due while their connection was down and were never made.
    public var unsentWhileDown: UInt64 = 0
    /// The most requests one connection had in flight at once (reaches `depth` when pipelining works).
    public var peakInFlight: UInt64 = 0
    public var connectionsEstablished = 0
    public var connectionsFailed = 0
    /// Connections open right now (the worker's running count).
    public var connectionsOpen = 0
    public var udp = UDPCounters()
    public var effectiveOptions: SocketOptionSet?
    /// TCP_INFO of every connection, read as the client closed it.
    public var tcpInfo = TCPInfoAccumulator()
    /// TCP_INFO of the connections open as the measured window opened, read at that moment: what
    /// their warm-up contributed, taken off the window's retransmission count.
    public var tcpInfoAtWindowStart = TCPInfoAccumulator()
    /// TCP_INFO of the connections that closed before the measured window opened (in no window figure).
    public var tcpInfoClosedInWarmup = TCPInfoAccumulator()
    /// The first error of the measured window in words, for the terminal and the report.
    public var firstError: String?
    /// The first warm-up error in words (why nothing could start, when nothing did).
    public var firstWarmupError: String?
    /// The first few failed conversation expectations, in words.
    public var protocolMismatches: [String] = []
    /// Closed connections opened again (the reconnect policy).
    public var reconnects: UInt64 = 0
    /// The first errors with the moment they happened (monotonic clock), in words.
    public var errorLog: [LoggedError] = []

    public struct LoggedError: Sendable {
        public var time: UInt64
        public var category: ErrorCounts.Category
        public var message: String
    }

    public static let keptMismatches = 5
    /// Errors kept in words per worker: the timeline's first entries, not every error of a dead server.
    public static let keptErrors = 20
    /// Warm-up errors kept in words per worker (apart from the window's, so they cannot crowd them out).
    public static let keptWarmupErrors = 5

    public init() {}

    /// The running counts an interval series is cut from.
    var intervalTotals: IntervalTotals {
        IntervalTotals(messagesSent: messagesSent, messagesReceived: messagesReceived, bytesSent: bytesSent, bytesReceived: bytesReceived,
                       errors: errors, connectionsEstablished: connectionsEstablished, connectionsOpen: connectionsOpen)
    }

    mutating func merge(_ other: WorkerResult) {
        latency.merge(other.latency)
        latencyUncorrected.merge(other.latencyUncorrected)
        sendLag.merge(other.sendLag)
        connectLatency.merge(other.connectLatency)
        if steps.isEmpty { steps = other.steps } else {
            for index in steps.indices where index < other.steps.count { steps[index].merge(other.steps[index]) }
        }
        requests += other.requests
        messagesSent += other.messagesSent
        messagesReceived += other.messagesReceived
        bytesSent += other.bytesSent
        bytesReceived += other.bytesReceived
        errors.add(other.errors)
        warmupErrors.add(other.warmupErrors)
        connectionsStarved += other.connectionsStarved
        unsentWhileDown += other.unsentWhileDown
        tcpInfoAtWindowStart.merge(other.tcpInfoAtWindowStart)
        tcpInfoClosedInWarmup.merge(other.tcpInfoClosedInWarmup)
        peakInFlight = max(peakInFlight, other.peakInFlight)
        connectionsEstablished += other.connectionsEstablished
        connectionsFailed += other.connectionsFailed
        connectionsOpen += other.connectionsOpen
        udp.add(other.udp)
        effectiveOptions = effectiveOptions ?? other.effectiveOptions
        tcpInfo.merge(other.tcpInfo)
        firstError = firstError ?? other.firstError
        firstWarmupError = firstWarmupError ?? other.firstWarmupError
        protocolMismatches += other.protocolMismatches.prefix(max(0, Self.keptMismatches - protocolMismatches.count))
        reconnects += other.reconnects
        errorLog = (errorLog + other.errorLog).sorted { $0.time < $1.time }
    }

    /// Decides whether a message that left at `now` belongs to the measured window: in open loop its
    /// intended time decides and its lateness is recorded; in closed loop its send time decides.
    @inline(__always)
    mutating func countSend(at now: UInt64, intended: UInt64?, in plan: LoadPlan) -> Bool {
        guard let intended else { return plan.measuring(now) }
        guard plan.measuring(intended) else { return false }
        sendLag.record(now &- intended)
        return true
    }

    /// Counts an error; the first few are kept in words with their time (off the hot path: errors
    /// end a connection, and past `keptErrors` nothing is allocated).
    mutating func record(_ category: ErrorCounts.Category, _ message: @autoclosure () -> String) {
        let now = MonotonicClock.now()
        guard now >= windowStart else {
            // Warm-up: counted apart, and logged only while few are (the window's errors come first).
            warmupErrors.count(category)
            if firstWarmupError == nil { firstWarmupError = message() }
            if warmupErrors.total <= UInt64(Self.keptWarmupErrors) {
                errorLog.append(LoggedError(time: now, category: category, message: message()))
            }
            return
        }
        errors.count(category)
        let logged = errorLog.count(where: { $0.time >= windowStart })
        guard firstError == nil || logged < Self.keptErrors else { return }
        let text = message()
        if firstError == nil { firstError = text }
        if logged < Self.keptErrors { errorLog.append(LoggedError(time: now, category: category, message: text)) }
    }
}
