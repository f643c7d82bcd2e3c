/// How to run one reference server (`sockbench serve`).
public struct ServerConfiguration: Sendable {
    public var kind: ServerKind
    public var bind: SocketAddress
    public var threads: Int
    public var options: SocketOptionSet
    /// tcp-rr: bytes in one request.
    public var requestSize: Int
    /// tcp-rr: bytes in one answer.
    public var responseSize: Int
    /// udp-echo: drop every Nth datagram on purpose (0: never). For loss-counting tests.
    public var dropEvery: Int
    /// tcp-echo: bytes sent on every new connection before anything is echoed.
    public var greeting: [UInt8]
    /// TCP: most connections open at once; more are closed as they arrive (with a log line).
    public var maxConnections = ServerConfiguration.defaultMaxConnections
    /// TCP: most bytes parked for clients that do not read their answers; a connection that would
    /// pass it is closed (with a log line).
    public var maxBufferedBytes = ServerConfiguration.defaultMaxBufferedBytes

    public static let defaultMaxConnections = 100_000
    public static let defaultMaxBufferedBytes = 1 << 30

    /// What a scenario's server section and `sockbench serve`'s flags accept, checked where they are read.
    public static let threadsRange = 1...64
    public static let maxConnectionsRange = 1...1_000_000
    public static let maxBufferedRange = (256 << 10)...(64 << 30)
    /// tcp-rr request and answer sizes (and TCP message sizes): 1 byte to 16 MiB.
    public static let messageSizeRange = 1...(16 << 20)
    /// tcp-echo's greeting: 1 to 4096 bytes.
    public static let maximumGreeting = 4096

    public init(kind: ServerKind, bind: SocketAddress = ServerSpec.defaultBind, threads: Int = 1,
                options: SocketOptionSet = SocketOptionSet(), requestSize: Int = 64, responseSize: Int = 64,
                dropEvery: Int = 0, greeting: [UInt8] = []) {
        self.kind = kind
        self.bind = bind
        self.threads = threads
        self.options = options
        self.requestSize = requestSize
        self.responseSize = responseSize
        self.dropEvery = dropEvery
        self.greeting = greeting
    }
}

/// What a reference server saw, reported when it stops.
public struct ServerStatistics: Codable, Sendable, Equatable {
    public var connectionsAccepted: Int = 0
    public var bytesReceived: UInt64 = 0
    public var bytesSent: UInt64 = 0
    public var datagramsReceived: UInt64 = 0
    public var datagramsSent: UInt64 = 0
    public var datagramsDropped: UInt64 = 0
    /// UDP: datagrams the kernel dropped because the server socket's receive queue was full
    /// (SO_RXQ_OVFL, as of the last datagram read); nil for TCP servers.
    public var rxqOverflows: UInt64?
    /// Connections closed on arrival at the connection cap, and closed for passing the buffer cap.
    public var connectionsRefusedByCap: Int?
    public var connectionsClosedByBufferCap: Int?
    /// The server process's peak resident memory (VmHWM), read as it stops.
    public var peakResidentBytes: UInt64?
    /// Options read back from the first accepted socket (TCP) or the server socket (UDP).
    public var effectiveOptions: SocketOptionSet?

    public init() {}

    mutating func add(_ other: ServerStatistics) {
        connectionsAccepted += other.connectionsAccepted
        bytesReceived += other.bytesReceived
        bytesSent += other.bytesSent
        datagramsReceived += other.datagramsReceived
        datagramsSent += other.datagramsSent
        datagramsDropped += other.datagramsDropped
        // UDP loops share one socket: each saw the same counter, at a different moment.
        if let overflows = other.rxqOverflows { rxqOverflows = max(rxqOverflows ?? 0, overflows) }
        peakResidentBytes = max(peakResidentBytes ?? 0, other.peakResidentBytes ?? 0)
        effectiveOptions = effectiveOptions ?? other.effectiveOptions
    }
}
