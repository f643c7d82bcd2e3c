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

    /// When recording starts (after the warm-up) and when the load ends, on the monotonic clock.
    public var measureStart: UInt64 = 0
    public var endTime: UInt64 = 0

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
    }

    /// True while `now` is inside the measured window (after warm-up, before the end).
    @inline(__always)
    func measuring(_ time: UInt64) -> Bool { time >= measureStart && time <= endTime }
}
