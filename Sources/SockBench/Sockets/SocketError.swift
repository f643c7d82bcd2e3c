import CSockBenchLinux
import Glibc

/// A failed system call on a socket, epoll or process: names the call and keeps the errno,
/// so a message can say what the kernel refused and a caller can classify the failure.
public struct SocketError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The call that failed, e.g. `connect` or `setsockopt(SO_SNDBUF)`.
    public let call: String
    /// The errno the kernel returned.
    public let errno: Int32
    /// Extra words for the user (an address, a limit and how to raise it).
    public let detail: String?

    public init(call: String, errno: Int32, detail: String? = nil) {
        self.call = call
        self.errno = errno
        self.detail = detail
    }

    public var description: String {
        let reason = String(cString: strerror(errno))
        var text = "\(call) failed: \(reason) (errno \(errno))"
        if let detail { text += ": \(detail)" }
        return text
    }
}

/// Runs a system call, retrying on EINTR and throwing `SocketError` naming the call on -1.
/// Not for the per-message hot path, which handles EAGAIN itself without throwing.
@inline(__always)
@discardableResult
func syscall<T: FixedWidthInteger>(_ name: @autoclosure () -> String, _ body: () -> T) throws(SocketError) -> T {
    while true {
        let result = body()
        if result == -1 {
            let code = Glibc.errno
            if code == EINTR { continue }
            throw SocketError(call: name(), errno: code)
        }
        return result
    }
}
