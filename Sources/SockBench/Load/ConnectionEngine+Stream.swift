import CSockBenchLinux
import Glibc

/// Streams (TCP or unix): a program of no messages. An upload writes `message_size` of filler at
/// a time until the socket is full, a download reads until it is empty, `both` does each; the
/// only deadline is the stall rule (`idle_timeout`: no byte moved either way). Bytes count in
/// the window when they move in it; a slot that moved none there is starved.
extension ConnectionEngine {
    /// A stream connection just opened: ask for what its direction moves.
    func beginStream(_ index: Int, now: UInt64) {
        connections[index].lastActivity = now
        let events: UInt32 = switch plan.direction {
        case .upload: Epoll.writable
        case .download: Epoll.readable
        case .both: Epoll.readable | Epoll.writable
        }
        do {
            try watch(index, events)
        } catch {
            closeWithError(index, .other, "\(error)")
        }
    }

    /// An epoll event on an open stream: write while the socket takes it, read while it has
    /// bytes, 16 calls each at most so one connection cannot starve the others.
    @inline(__always)
    func serviceStream(_ index: Int, flags: UInt32) {
        if flags & Epoll.writable != 0, plan.direction != .download { upload(index) }
        guard connections[index].state == .active else { return }
        // An upload asks for no reads, but a hang-up or an error still arrives: reading shows which.
        if flags & (Epoll.readable | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 { download(index) }
    }

    private func upload(_ index: Int) {
        let fd = connections[index].fd
        let size = plan.messageSize
        for _ in 0..<16 {
            let sent = Glibc.send(fd, filler, size, Int32(MSG_NOSIGNAL))
            if sent < 0 {
                let code = errno
                if code != EAGAIN && code != EINTR { fail(index, code) }
                return
            }
            if moved(index) { result.bytesSent &+= UInt64(sent) }
            if sent < size { return }
        }
    }

    private func download(_ index: Int) {
        let fd = connections[index].fd
        for _ in 0..<16 {
            let received = recv(fd, buffer, bufferCapacity, 0)
            if received == 0 {
                closeWithError(index, .closed, "the server closed a connection")
                return
            }
            if received < 0 {
                let code = errno
                if code != EAGAIN && code != EINTR { fail(index, code) }
                return
            }
            if moved(index) { result.bytesReceived &+= UInt64(received) }
        }
    }

    /// Bytes just moved on the connection: the stall rule's clock restarts; true (and the slot has
    /// exchanged something) when they count in the window.
    @inline(__always)
    private func moved(_ index: Int) -> Bool {
        let now = MonotonicClock.now()
        connections[index].lastActivity = now
        guard plan.measuring(now) else { return false }
        exchanged[index] = true
        return true
    }

    /// The stall rule, from the deadline scan: true when the connection was closed for it.
    func streamStalled(_ index: Int, now: UInt64) -> Bool {
        let last = connections[index].lastActivity
        guard connections[index].state == .active, now > last, now - last > plan.idleTimeout else { return false }
        closeWithError(index, .timeout, "the stream stalled: no byte moved for \(Quantity.formatDuration(plan.idleTimeout)) (idle_timeout)")
        return true
    }
}
