import CSockBenchLinux
import Glibc

/// One epoll instance. The 64-bit user data of each registration is an index the owner chooses
/// (a connection slot), so dispatch needs no lookup and no allocation.
public struct Epoll: ~Copyable {
    public let fd: Int32

    public static let readable = EPOLLIN.rawValue
    public static let writable = EPOLLOUT.rawValue
    public static let hangup = EPOLLHUP.rawValue | EPOLLERR.rawValue | EPOLLRDHUP.rawValue
    public static let exclusive = EPOLLEXCLUSIVE.rawValue

    public init() throws(SocketError) {
        fd = try syscall("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
    }

    deinit { close(fd) }

    public func add(_ target: Int32, events: UInt32, data: UInt64) throws(SocketError) {
        try control(EPOLL_CTL_ADD, target, events: events, data: data)
    }

    public func modify(_ target: Int32, events: UInt32, data: UInt64) throws(SocketError) {
        try control(EPOLL_CTL_MOD, target, events: events, data: data)
    }

    public func remove(_ target: Int32) {
        _ = epoll_ctl(fd, EPOLL_CTL_DEL, target, nil)
    }

    private func control(_ op: Int32, _ target: Int32, events: UInt32, data: UInt64) throws(SocketError) {
        var event = epoll_event()
        event.events = events
        event.data.u64 = data
        try syscall("epoll_ctl") { epoll_ctl(fd, op, target, &event) }
    }

    /// Waits up to `timeoutMilliseconds` (-1 forever) and returns how many events were written.
    /// EINTR counts as zero events so callers just loop again.
    public func wait(into events: UnsafeMutablePointer<epoll_event>, capacity: Int32, timeoutMilliseconds: Int32) -> Int {
        let count = epoll_wait(fd, events, capacity, timeoutMilliseconds)
        return count < 0 ? 0 : Int(count)
    }

    /// Waits up to `timeoutNanoseconds` (epoll_pwait2), for loops that keep a send schedule.
    public func wait(into events: UnsafeMutablePointer<epoll_event>, capacity: Int32, timeoutNanoseconds: UInt64) -> Int {
        let count = CSockBenchLinux_epoll_wait_ns(fd, events, capacity, Int64(min(timeoutNanoseconds, 1_000_000_000)))
        return count < 0 ? 0 : Int(count)
    }
}

/// An eventfd used to wake epoll loops from another thread (stop requests).
public struct WakeUp: ~Copyable, @unchecked Sendable {
    public let fd: Int32

    public init() throws(SocketError) {
        fd = try syscall("eventfd") { eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC)) }
    }

    deinit { close(fd) }

    /// Makes the eventfd readable for every epoll watching it (level-triggered).
    public func signal() {
        var one: UInt64 = 1
        _ = write(fd, &one, 8)
    }
}
