import CSockBenchLinux
import Glibc

/// A reference server (tcp-echo, tcp-sink, tcp-source, tcp-rr, udp-echo, udp-sink) running on
/// its own event-loop threads. `sockbench serve` runs one; `sockbench run` starts that command
/// as a child process so server CPU time is measured apart from the client's.
public final class ReferenceServer: @unchecked Sendable {
    public let configuration: ServerConfiguration
    /// The address the server is bound to (with the port the kernel chose for `:0`).
    public let address: SocketAddress

    private let socketFD: Int32
    private let wake: WakeUp
    private var tcpLoops: [TCPServerLoop] = []
    private var udpLoops: [UDPServerLoop] = []
    private var threads: [JoinableThread] = []
    private var stopped = false
    /// TCP caps shared by every loop of this server.
    private let limits: ServerLimits
    /// The socket file this server created (unix addresses), removed when it stops.
    private var socketFile: UnixSocketFile?

    /// Opens, configures and binds the socket (and listens, for TCP). Threads start with `start()`.
    public init(configuration: ServerConfiguration) throws(SocketError) {
        precondition(configuration.kind != .external, "external is not a reference server")
        self.configuration = configuration
        limits = ServerLimits(maxConnections: configuration.maxConnections, maxBufferedBytes: configuration.maxBufferedBytes)
        let transport = configuration.kind.transport ?? .tcp
        let ipv6 = configuration.bind.family == .ipv6
        let unix = configuration.bind.isUnix
        socketFD = try Socket.open(transport, for: configuration.bind)
        do {
            if transport == .tcp, !unix, configuration.options[.so_reuseaddr] == nil {
                Socket.setFlag(socketFD, level: SOL_SOCKET, name: SO_REUSEADDR, true)
            }
            try configuration.options.apply(to: socketFD, ipv6: ipv6, at: .beforeBind)
            if unix { try UnixSocketFile.prepare(configuration.bind) }
            try Socket.bind(socketFD, to: configuration.bind)
            socketFile = UnixSocketFile(boundTo: configuration.bind)
            if transport == .tcp { try Socket.listen(socketFD) }
            // A unix address keeps its spelling (a relative path stays relative, for the parent).
            address = unix ? configuration.bind : try SocketAddress.local(of: socketFD)
            wake = try WakeUp()
        } catch {
            close(socketFD)
            socketFile?.remove()
            throw error
        }
    }

    deinit {
        stop()
        close(socketFD)
    }

    public func start() throws(SocketError) {
        for index in 0..<max(1, configuration.threads) {
            if configuration.kind.transport == .udp {
                let loop = try UDPServerLoop(configuration: configuration, socketFD: socketFD, wakeFD: wake.fd)
                udpLoops.append(loop)
                threads.append(try JoinableThread(name: "udp-server-\(index)") { loop.run() })
            } else {
                let loop = try TCPServerLoop(configuration: configuration, listener: socketFD, wakeFD: wake.fd, limits: limits)
                tcpLoops.append(loop)
                threads.append(try JoinableThread(name: "tcp-server-\(index)") { loop.run() })
            }
        }
    }

    /// Stops every loop and waits for its thread. Safe to call twice.
    public func stop() {
        guard !stopped else { return }
        stopped = true
        wake.signal()
        threads.forEach { $0.join() }
        socketFile?.remove()
        socketFile = nil
    }

    /// Totals over all loops; complete once `stop()` returned.
    public var statistics: ServerStatistics {
        var total = ServerStatistics()
        tcpLoops.forEach { total.add($0.statistics) }
        udpLoops.forEach { total.add($0.statistics) }
        if configuration.kind.transport == .tcp {
            total.connectionsRefusedByCap = limits.refusedConnections
            total.connectionsClosedByBufferCap = limits.connectionsClosedForBuffer
        }
        if configuration.kind.transport == .udp {
            total.effectiveOptions = SocketOptionSet.effective(of: socketFD, ipv6: configuration.bind.family == .ipv6, tcp: false)
        }
        return total
    }

    /// The line `sockbench serve` prints once it accepts traffic; `ServerProcess` parses it.
    public var readyLine: String { "sockbench serve: \(configuration.kind.rawValue) ready on \(address)" }
}
