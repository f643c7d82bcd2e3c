import CSockBenchLinux
import Glibc

/// Thin wrappers over the socket calls sockbench makes outside the hot path:
/// every one retries EINTR and throws a `SocketError` that names the call.
public enum Socket {
    public enum Transport: String, Sendable, Codable, CaseIterable { case tcp, udp }

    /// A non-blocking, close-on-exec socket for `address`'s family.
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

    /// Starts a non-blocking connect. Returns true when it completed at once (UDP, some loopback cases).
    public static func startConnect(_ fd: Int32, to address: SocketAddress) throws(SocketError) -> Bool {
        let result = address.withSockaddr { addr, len in Glibc.connect(fd, addr, len) }
        if result == 0 { return true }
        let code = errno
        if code == EINPROGRESS || code == EINTR { return false }
        throw SocketError(call: "connect", errno: code, detail: address.description)
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
