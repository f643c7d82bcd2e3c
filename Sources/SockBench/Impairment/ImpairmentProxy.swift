import CSockBenchLinux
import Glibc
import Synchronization

/// A user-space TCP or UDP proxy that impairs what passes through it (`ImpairmentSpec`): clients
/// connect to `address`, the proxy connects to `upstream`, and each direction's bytes wait in an
/// `ImpairmentLane` for their release time and the rate cap. One thread, one epoll instance,
/// edge-triggered: readiness is remembered per socket, so a full queue can pause reading without
/// losing the event.
///
/// This is test equipment, not the measured path: it allocates per chunk and per datagram, and
/// its own latency (tens of microseconds on loopback) is part of the base round trip that an
/// impaired run is compared with.
public final class ImpairmentProxy: @unchecked Sendable {
    public let address: SocketAddress
    public let transport: Socket.Transport
    let spec: ImpairmentSpec
    let upstream: SocketAddress
    let epoll: Epoll
    let listener: Int32
    var random: SplitMix64
    public internal(set) var statistics = InjectedStatistics()
    private let stopRequested = Atomic<Bool>(false)

    /// Most bytes one TCP direction holds before the proxy stops reading its source (backpressure),
    /// and most datagrams one UDP direction holds before it drops (a full router queue).
    static let laneByteLimit = 256 << 10
    static let laneDatagramLimit = 4096
    /// Socket buffers of rate-capped TCP connections: small, so what waits is in the proxy's queue
    /// (the "router"), not in kernel buffers that would hide the cap from a sender for seconds.
    static let cappedBufferBytes: Int32 = 128 << 10
    static let listenerTag = UInt64.max

    // TCP state: connection pairs by slot; the epoll data is slot << 1 | side (0 client, 1 server).
    var pairs: [TCPPair?] = []
    var freeSlots: [Int] = []
    // UDP state: one flow (and upstream socket) per client address.
    var flows: [UDPFlow] = []
    var flowByClient: [String: Int] = [:]
    var arrivals = (toServer: UInt64(0), toClient: UInt64(0))
    let buffer: UnsafeMutableRawPointer
    static let bufferBytes = 64 << 10

    public init(spec: ImpairmentSpec, transport: Socket.Transport, listen: SocketAddress, upstream: SocketAddress) throws(SocketError) {
        self.spec = spec
        self.transport = transport
        self.upstream = upstream
        random = SplitMix64(state: spec.seed)
        epoll = try Epoll()
        let fd = try Socket.open(transport, for: listen)
        do {
            Socket.setFlag(fd, level: SOL_SOCKET, name: SO_REUSEADDR, true)
            try Socket.bind(fd, to: listen)
            if transport == .tcp { try Socket.listen(fd) }
            address = try SocketAddress.local(of: fd)
            try epoll.add(fd, events: Epoll.readable | EPOLLET.rawValue, data: Self.listenerTag)
        } catch {
            close(fd)
            throw error
        }
        listener = fd
        buffer = .allocate(byteCount: Self.bufferBytes, alignment: 16)
    }

    deinit {
        for slot in pairs.indices { if pairs[slot] != nil { closePair(slot, reset: false) } }
        for flow in flows { close(flow.upstream) }
        close(listener)
        buffer.deallocate()
    }

    /// What `sockbench proxy --report-stats` prints before exiting: this prefix and one line of JSON.
    public static let statisticsPrefix = "sockbench proxy: stats "

    /// The line `sockbench proxy` prints once it listens (the same shape as `serve`'s).
    public var readyLine: String { "sockbench proxy: \(transport.rawValue) ready on \(address) (forwarding to \(upstream))" }

    /// Asks `run` to return (from any thread); it notices within 10 ms.
    public func stop() { stopRequested.store(true, ordering: .relaxed) }

    /// Forwards until `stop`.
    public func run() {
        // Release times are kept to microseconds, not the default 50 µs timer slack.
        CSockBenchLinux_set_timer_slack(1)
        let capacity: Int32 = 256
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: Int(capacity))
        defer { events.deallocate() }
        var due = MonotonicClock.now()
        while !stopRequested.load(ordering: .relaxed) {
            let now = MonotonicClock.now()
            let wake = min(due, now + 10_000_000)
            let ready = epoll.wait(into: events, capacity: capacity, timeoutNanoseconds: wake > now ? wake - now : 0)
            for i in 0..<ready {
                let data = events[i].data.u64
                let flags = events[i].events
                switch transport {
                case .tcp: data == Self.listenerTag ? acceptAll() : noteReadiness(data, flags: flags)
                case .udp: data == Self.listenerTag ? receiveFromClients() : receiveFromServer(Int(data))
                }
            }
            due = transport == .tcp ? serviceTCP(MonotonicClock.now()) : serviceUDP(MonotonicClock.now())
        }
    }

    /// Delay for one chunk or datagram in the given direction: the delay ± jitter, or none.
    func delay(toServer: Bool) -> UInt64 {
        guard spec.acts(toServer: toServer), spec.delayNanoseconds > 0 else { return 0 }
        guard spec.jitterNanoseconds > 0 else { return spec.delayNanoseconds }
        let offset = (random.unit() * 2 - 1) * Double(spec.jitterNanoseconds)
        return UInt64(max(0, Double(spec.delayNanoseconds) + offset))
    }

    /// The rate cap for a direction, if it is impaired and capped.
    func rate(toServer: Bool) -> Double? { spec.acts(toServer: toServer) ? spec.rateBitsPerSecond : nil }
}
