import CSockBenchLinux
import Glibc

/// Thin wrappers over the socket calls sockbench makes outside the hot path:
/// every one retries EINTR and throws a `SocketError` that names the call.
public enum Socket {
    public enum Transport: String, Sendable, Codable, CaseIterable { case tcp, udp }

    /// A non-blocking, close-on-exec socket for `address`'s family: AF_UNIX for a unix address,
    /// a stream socket for `.tcp` and a datagram socket for `.udp` whatever the family.
    public static func open(_ transport: Transport, for address: SocketAddress) throws(SocketError) -> Int32 {
        let type = (transport == .tcp ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue))
            | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        do {
            return try syscall("socket") { Glibc.socket(address.domain, type, 0) }
        } catch {
            throw descriptorLimitAware(error)
        }
    }

    /// Binds `fd`; a failure names the address.
    public static func bind(_ fd: Int32, to address: SocketAddress) throws(SocketError) {
        do {
            _ = try address.withSockaddr { addr, len throws(SocketError) in
                try syscall("bind") { Glibc.bind(fd, addr, len) }
            }
        } catch {
            throw SocketError(call: "bind", errno: error.errno, detail: address.description)
        }
    }

    public static func listen(_ fd: Int32, backlog: Int32 = 4096) throws(SocketError) {
        try syscall("listen") { Glibc.listen(fd, backlog) }
    }

    /// Starts a non-blocking connect. Returns true when it completed at once (UDP, unix sockets,
    /// some loopback cases). A unix datagram socket is bound to an address of its own first, so
    /// answers can come back to it.
    public static func startConnect(_ fd: Int32, to address: SocketAddress) throws(SocketError) -> Bool {
        if address.isUnix, socketType(fd) == Int32(SOCK_DGRAM.rawValue) { try autobind(fd) }
        let result = address.withSockaddr { addr, len in Glibc.connect(fd, addr, len) }
        if result == 0 { return true }
        let code = errno
        if code == EINPROGRESS || code == EINTR { return false }
        throw SocketError(call: "connect", errno: code, detail: address.isUnix ? unixConnectDetail(address, errno: code) : address.description)
    }

    /// A failed connect to a unix path in words: the path and what the errno means there.
    static func unixConnectDetail(_ address: SocketAddress, errno code: Int32) -> String {
        switch code {
        case ENOENT: "\(address): no socket file at this path (is the server running?)"
        case ECONNREFUSED: "\(address): the socket file exists but nothing is bound to it (a server that stopped without removing it)"
        // A unix listener with a full backlog refuses at once instead of queueing a retried SYN.
        case EAGAIN: "\(address): the server's listen backlog is full"
        case EPROTOTYPE: "\(address): the socket there is not a \(address.unixKind)"
        case EACCES: "\(address): no permission to write to the socket file"
        default: address.description
        }
    }

    /// Binds a unix socket to an abstract address the kernel picks (Linux autobind: bind with only
    /// sun_family). A datagram client needs one, or the server has nowhere to send its answers.
    static func autobind(_ fd: Int32) throws(SocketError) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sa_family_t>.size)) }
        }
        // EINVAL: bound already.
        if result == -1, errno != EINVAL { throw SocketError(call: "bind", errno: errno, detail: "autobind of a unix datagram client") }
    }

    /// SOCK_STREAM or SOCK_DGRAM (-1 when the descriptor cannot say).
    static func socketType(_ fd: Int32) -> Int32 { intOption(fd, SO_TYPE) }

    /// AF_INET, AF_INET6 or AF_UNIX (-1 when the descriptor cannot say).
    static func socketDomain(_ fd: Int32) -> Int32 { intOption(fd, SO_DOMAIN) }

    private static func intOption(_ fd: Int32, _ name: Int32) -> Int32 {
        var value: Int32 = -1
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, SOL_SOCKET, name, &value, &length) == 0 ? value : -1
    }

    /// The pending error of a socket whose non-blocking connect finished (0 when it succeeded).
    public static func pendingError(_ fd: Int32) -> Int32 {
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) == -1 { return errno }
        return code
    }

    public static func setFlag(_ fd: Int32, level: Int32, name: Int32, _ on: Bool) {
        var value: Int32 = on ? 1 : 0
        _ = setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Adds how to raise the limit when the process ran out of descriptors.
    static func descriptorLimitAware(_ error: SocketError) -> SocketError {
        guard error.errno == EMFILE || error.errno == ENFILE else { return error }
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        return SocketError(call: error.call, errno: error.errno,
                           detail: "the descriptor limit is \(limit.rlim_cur) (ulimit -n); raise it with `ulimit -n N` or use fewer connections")
    }
}
