import CSockBenchLinux
import Glibc

/// Everything a worker thread needs to drive its share of the connections; one immutable value,
/// built from the scenario by `LoadEngine`, with the run's timeline on the monotonic clock.
public struct LoadPlan: Sendable {
    public var target: SocketAddress
    public var transport: Socket.Transport
    public var pattern: LoadSpec.Pattern
    public var direction: LoadSpec.Direction
    /// Bytes per request (or per write, for streams).
    public var messageSize: Int
    /// Bytes per answer: equal to `messageSize` for echo servers.
    public var responseSize: Int
    /// Compare every answered byte with what was expected (echo, and sockbench's own tcp-rr).
    public var verifyPayload: Bool
    public var depth: Int
    public var batchWrites: Bool
    public var clientOptions: SocketOptionSet
    public var connectTimeout: UInt64
    public var requestTimeout: UInt64
    public var udpLossTimeout: UInt64
    /// Streams: no byte moved for this long is a stall.
    public var idleTimeout: UInt64
    /// Nil: a closed connection stays closed; else the delay before it opens again.
    public var reconnectDelay: UInt64?
    /// Stops the load early (interrupted, server gone).
    public var control = RunControl()
    /// Open loop: sends per second across all connections (idle pings are an open loop too); nil: closed loop.
    public var rate: Double?
    public var totalConnections: Int
    public var thinkTime: UInt64
    /// Ramp-up: connections opened per second in total; nil: all at once.
    public var connectRate: Double?
    public var intervalLength: UInt64
    /// Shard runs keep each interval's histogram encoded in the report (for `merge`).
    public var intervalHistograms = false
    /// The steps the connection engine plays: the scenario's conversation, or request-response
    /// (and connect, idle pings) as one step: a payload of the scenario's own and its answer, or
    /// the filler message with its sequence number and its echo.
    public var conversation: [ConversationStep]
    /// Conversations: iterations follow each other on the same connection.
    public var reuseConnection: Bool
    /// The most bytes a regex or delimiter step holds while it looks for its match.
    public var maxMessageSize: Int

    /// When the load starts, when recording starts (after the warm-up) and when the load ends, on the monotonic clock.
    public var startTime: UInt64 = 0
    public var measureStart: UInt64 = 0
    public var endTime: UInt64 = 0

    /// True for UDP's filler loads (request-response against an echo with sockbench's filler, and
    /// streams into a sink): the engine matches their answers by sequence number, in any order
    /// (`DatagramFlows`), not through steps. Everything else is a step program.
    var sequencedDatagrams: Bool { transport == .udp && pattern != .conversation && pattern != .idle && conversation.isEmpty }

    /// True when the steps are request-response's filler message and its answer, or idle
    /// connections' (pings or none): errors are counted as a raw echo load counts them
    /// (integrity, timeout, closed), not as a conversation's protocol errors.
    var echoesFiller: Bool {
        if pattern == .idle { return true }
        guard conversation.count == 1, case .echo? = conversation[0].expect else { return false }
        return true
    }

    /// True when connections send requests and wait for answers (request-response, connect, idle pings).
    var exchanges: Bool { pattern == .requestResponse || pattern == .connect || (pattern == .idle && rate != nil) }

    public init(scenario: Scenario, target: SocketAddress) {
        let load = scenario.load
        self.target = target
        transport = scenario.transport
        pattern = load.pattern
        direction = load.direction
        messageSize = load.messageSize
        responseSize = scenario.server.responseSize ?? load.messageSize
        // Echo answers are the request itself; sockbench's tcp-rr writes the sequence into a filler answer.
        verifyPayload = responseSize == load.messageSize || scenario.server.kind == .tcpRR
        depth = load.depth
        batchWrites = load.batchWrites
        clientOptions = scenario.client.options
        connectTimeout = load.connectTimeoutNanoseconds
        requestTimeout = load.requestTimeoutNanoseconds
        udpLossTimeout = load.udpLossTimeoutNanoseconds
        idleTimeout = load.idleTimeoutNanoseconds
        reconnectDelay = load.reconnect ? load.reconnectDelayNanoseconds : nil
        totalConnections = load.connections
        thinkTime = load.thinkTimeNanoseconds
        connectRate = load.connectRate
        intervalLength = load.intervalNanoseconds
        conversation = scenario.conversation
        reuseConnection = load.reuseConnection
        maxMessageSize = load.maxMessageSize
        if load.pattern == .requestResponse, let payload = load.payload {
            // Literal payloads without an answer of their own are echoed back byte for byte.
            let answer = load.answer ?? payload.literal.map { .exact($0) } ?? .bytes(payload.maximumLength)
            conversation = [ConversationStep(send: payload, expect: answer)]
            reuseConnection = true
        } else if load.pattern == .requestResponse || load.pattern == .connect || (load.pattern == .idle && load.pingIntervalNanoseconds != nil),
                  scenario.transport == .tcp {
            // Request-response over a stream is a one-step program on the connection engine: the
            // filler message with its sequence number, and its answer (the echo, or tcp-rr's).
            conversation = [ConversationStep(send: SendTemplate(pieces: [.payload(load.messageSize)]),
                                             expect: .echo(size: responseSize, verify: verifyPayload))]
            reuseConnection = load.pattern != .connect
        } else if load.pattern == .idle {
            // Idle connections without pings: a program of no steps, the connection held open.
            reuseConnection = true
        }
        if let ping = load.pingIntervalNanoseconds {
            rate = Double(load.connections) * 1e9 / Double(ping)
            depth = 1
        } else {
            rate = load.rate?.total(connections: load.connections)
        }
        if pattern == .connect { depth = 1 }
    }

    /// What "messages per second" means for this load: answers for exchanges, datagrams sent for
    /// UDP streams, writes (or reads) of `message_size` for TCP streams.
    func messagesPerSecond(_ totals: IntervalTotals, seconds: Double) -> Double {
        guard seconds > 0 else { return 0 }
        switch (pattern, transport) {
        case (.requestResponse, _), (.connect, _), (.conversation, _): return Double(totals.messagesReceived) / seconds
        case (.idle, _): return rate == nil ? 0 : Double(totals.messagesReceived) / seconds
        case (.stream, .udp): return Double(totals.messagesSent) / seconds
        case (.stream, .tcp):
            let bytes = direction == .download ? totals.bytesReceived : totals.bytesSent
            return Double(bytes) / Double(messageSize) / seconds
        }
    }

    /// True while the load should go on: before the end, and not asked to stop.
    @inline(__always)
    func running(_ now: UInt64) -> Bool { now < endTime && !control.stopRequested }

    /// True while `now` is inside the measured window (after warm-up, before the end).
    @inline(__always)
    func measuring(_ time: UInt64) -> Bool { time >= measureStart && time <= endTime }
}

extension LoadPlan {
    /// A non-blocking socket to the target (`transport`, or the plan's) with the client's options,
    /// connecting; `connected` when connect finished at once (a datagram socket always does). The
    /// socket is closed again if a step fails.
    func startConnection(_ transport: Socket.Transport? = nil) throws(SocketError) -> (fd: Int32, connected: Bool) {
        let fd = try Socket.open(transport ?? self.transport, for: target)
        do {
            try clientOptions.apply(to: fd, ipv6: target.family == .ipv6, at: .beforeConnect)
            return (fd, try Socket.startConnect(fd, to: target))
        } catch {
            close(fd)
            throw error
        }
    }

    /// A failed connect in words; connect(2) says EADDRNOTAVAIL when no ephemeral port is free
    /// (many connections, or connect-per-request's TIME_WAITs).
    static func connectFailure(_ error: SocketError) -> String {
        error.errno == EADDRNOTAVAIL
            ? "\(error) (no free ephemeral port: widen net.ipv4.ip_local_port_range, or let TIME_WAIT sockets be reused with net.ipv4.tcp_tw_reuse)"
            : "\(error)"
    }
}
