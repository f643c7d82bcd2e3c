/// A load test as a user describes it: which server, which load, which socket options.
/// Produced by `ScenarioLoader`, validated, with every default filled in.
public struct Scenario: Sendable, Equatable {
    public var name: String
    public var description: String
    public var server: ServerSpec
    public var client: ClientSpec
    public var load: LoadSpec
    public var capture: CaptureSpec
    /// Steps each connection plays (pattern: conversation).
    public var conversation: [ConversationStep]
    /// The file the scenario came from, for messages; `command line` for a URL run (`run tcp://…`).
    public var sourcePath: String
    /// The `sockbench run …` command that runs this scenario again, command-line values included
    /// (set by the CLI; nil when a scenario is loaded by other means).
    public var command: String?
    /// `matrix:`: the variants a run expands to (nil: the scenario runs as it is).
    public var matrix: ScenarioMatrix?
    /// `repeat:`: how many times each variant runs, interleaved (A B A B, not A A B B).
    public var repetitions = 1
    /// `thresholds:`: conditions every variant's figures must meet, else exit code 2.
    public var thresholds: [Threshold] = []
    /// `impair:`: an impairment proxy between the clients and the server (nil: none).
    public var impairment: ImpairmentSpec?

    public init(name: String, description: String = "", server: ServerSpec, client: ClientSpec = ClientSpec(),
                load: LoadSpec = LoadSpec(), capture: CaptureSpec = CaptureSpec(), conversation: [ConversationStep] = [],
                sourcePath: String = "<memory>") {
        self.name = name
        self.description = description
        self.server = server
        self.client = client
        self.load = load
        self.capture = capture
        self.conversation = conversation
        self.sourcePath = sourcePath
    }

    /// The transport the clients use.
    public var transport: Socket.Transport { server.transport }
}

/// The kind of server a scenario drives.
public enum ServerKind: String, Sendable, Codable, CaseIterable {
    case tcpEcho = "tcp-echo"
    case tcpSink = "tcp-sink"
    case tcpSource = "tcp-source"
    case tcpRR = "tcp-rr"
    case udpEcho = "udp-echo"
    case udpSink = "udp-sink"
    case external

    /// The reference kinds `sockbench serve` can run.
    public static let reference: [ServerKind] = allCases.filter { $0 != .external }

    public var transport: Socket.Transport? {
        switch self {
        case .tcpEcho, .tcpSink, .tcpSource, .tcpRR: .tcp
        case .udpEcho, .udpSink: .udp
        case .external: nil
        }
    }
}

/// The server side: a reference server sockbench starts, or an external address.
public struct ServerSpec: Sendable, Equatable {
    public var kind: ServerKind
    /// Where a reference server binds (loopback unless told otherwise).
    public var bind: SocketAddress
    /// The server to load when `kind` is external.
    public var address: SocketAddress?
    /// Transport of an external server; a reference kind implies its own.
    public var externalTransport: Socket.Transport
    /// What an external server is expected to do with a request; echo unless `response_size` is set.
    public var responseSize: Int?
    /// Event-loop threads of a reference server.
    public var threads: Int
    /// tcp-echo: bytes the server sends first on every connection (servers that speak first).
    public var greeting: [UInt8]
    public var options: SocketOptionSet
    /// TCP reference servers: the connection and parked-bytes caps (`max_connections`, `max_buffered`).
    public var maxConnections = ServerConfiguration.defaultMaxConnections
    public var maxBufferedBytes = ServerConfiguration.defaultMaxBufferedBytes

    public init(kind: ServerKind, bind: SocketAddress = ServerSpec.defaultBind, address: SocketAddress? = nil,
                externalTransport: Socket.Transport = .tcp, responseSize: Int? = nil, threads: Int = 1,
                greeting: [UInt8] = [], options: SocketOptionSet = SocketOptionSet()) {
        self.kind = kind
        self.bind = bind
        self.address = address
        self.externalTransport = externalTransport
        self.responseSize = responseSize
        self.threads = threads
        self.greeting = greeting
        self.options = options
    }

    public static let defaultBind = try! SocketAddress(parsing: "127.0.0.1:0")

    public var transport: Socket.Transport { kind.transport ?? externalTransport }
}

/// The client side's socket options.
public struct ClientSpec: Sendable, Equatable {
    public var options: SocketOptionSet
    public init(options: SocketOptionSet = SocketOptionSet()) { self.options = options }
}

/// How the clients load the server.
public struct LoadSpec: Sendable, Equatable {
    public enum Pattern: String, Sendable, Codable, CaseIterable {
        /// Send a message, wait for the answer, repeat (up to `depth` in flight per connection).
        case requestResponse = "request-response"
        /// Send (upload) or receive (download) as fast as the socket allows.
        case stream
        /// Connect and stay quiet until the end (TCP): what keepalive and idle timeouts act on;
        /// with `ping_interval`, each connection sends one echoed message per interval.
        case idle
        /// Open, one request and its answer, close, repeat (TCP): netperf TCP_CRR, neper tcp_crr.
        case connect
        /// Play the scenario's `conversation` steps on each connection, then reconnect and repeat (TCP).
        case conversation
    }

    /// Which way a stream flows; `both` sends and receives at once on every connection.
    public enum Direction: String, Sendable, Codable, CaseIterable { case upload, download, both }

    /// A fixed send schedule (open loop): events per second in total or per connection.
    public struct Rate: Sendable, Equatable, Codable {
        public var perSecond: Double
        public var perConnection: Bool

        public init(perSecond: Double, perConnection: Bool = false) {
            self.perSecond = perSecond
            self.perConnection = perConnection
        }

        /// The whole run's rate.
        public func total(connections: Int) -> Double { perConnection ? perSecond * Double(connections) : perSecond }
    }

    public var connections: Int = 1
    /// Measured time, after the warm-up.
    public var durationNanoseconds: UInt64 = 10_000_000_000
    /// Time before measuring starts; nothing in it is recorded.
    public var warmupNanoseconds: UInt64 = 1_000_000_000
    /// Client event-loop threads.
    public var threads: Int = 1
    public var pattern: Pattern = .requestResponse
    /// Bytes per request (request-response) or per write (stream).
    public var messageSize: Int = 64
    /// Requests in flight per connection (pipelining).
    public var depth: Int = 1
    public var direction: Direction = .upload
    /// Open loop: requests (or datagrams) leave on this schedule whatever the answers do, and latency
    /// counts from each message's intended send time. Nil: closed loop, the next request follows an answer.
    public var rate: Rate?
    /// Closed loop: pause after each answer before the next request (depth 1).
    public var thinkTimeNanoseconds: UInt64 = 0
    /// Ramp-up: connections open at this many per second instead of all at once.
    public var connectRate: Double?
    /// Idle pattern: each connection sends one echoed message this often.
    public var pingIntervalNanoseconds: UInt64?
    /// Length of one entry of the interval series.
    public var intervalNanoseconds: UInt64 = 1_000_000_000
    /// Pipelined requests that are due together go out in one `send`; false sends each message
    /// with its own `send`, as many applications do: the small writes TCP_NODELAY is about.
    public var batchWrites = true
    public var connectTimeoutNanoseconds: UInt64 = 3_000_000_000
    /// A TCP request without its answer for this long is a timeout error.
    public var requestTimeoutNanoseconds: UInt64 = 5_000_000_000
    /// A UDP datagram without its echo for this long is given up as lost (its slot is reused).
    public var udpLossTimeoutNanoseconds: UInt64 = 200_000_000
    /// A stream connection that moves no byte either way for this long has stalled (a timeout error).
    public var idleTimeoutNanoseconds: UInt64 = 10_000_000_000
    /// A TCP connection that failed or was closed by the server opens again after `reconnectDelay`,
    /// as wrk's do; false leaves it closed for the rest of the run, as iperf3's are.
    public var reconnect = true
    public var reconnectDelayNanoseconds: UInt64 = 100_000_000
    /// More errors than this and the run is degraded (exit 3); nil: errors are reported, never fatal.
    public var errorBudget: ErrorBudget?
    /// Conversations: play the steps again and again on the same connection until the end (a
    /// kept-alive load); false: one conversation per connection, which then closes and reopens.
    public var reuseConnection = false
    /// The most bytes a regex or delimiter step holds while it looks for its match (a protocol
    /// message's header); more without a match is a protocol error.
    public var maxMessageSize = LoadSpec.defaultMaxMessageSize
    /// Request-response with a payload of the scenario's own (`payload`, `payload_hex`) instead
    /// of sockbench's numbered filler: each request sends these bytes and reads `answer`.
    public var payload: SendTemplate?
    /// What each request's answer must be; nil with a payload: the payload itself (an echo).
    public var answer: Expectation?

    public static let defaultMaxMessageSize = 64 << 10

    public init() {}

    /// UDP datagrams in flight when a rate is set and the scenario names no depth: datagrams leave on
    /// schedule whatever the echoes do. (TCP keeps depth 1, as wrk2 does: a connection waits for its
    /// answer, the schedule does not, and the wait shows in the corrected latency.)
    public static let udpOpenLoopDepth = 1024
}
