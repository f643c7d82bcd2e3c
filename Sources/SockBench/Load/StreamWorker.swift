import CSockBenchLinux
import Glibc

/// One client thread driving TCP (or unix) streams over its own epoll instance: uploads that
/// write `message_size` at a time until the socket is full, downloads that read until it is
/// empty, or both. Everything that exchanges messages (request-response, connect-per-request,
/// idle connections and their pings, conversations) is a step program on `ConnectionEngine`;
/// a stream has no messages to match, so it keeps this smaller loop (see DESIGN.md, "One
/// connection engine").
///
/// Per-write work touches only memory allocated in `init`: connection slots, the pre-filled
/// send buffer and the receive buffer. No lock, no allocation, no async hop.
final class StreamWorker: LoadWorker, @unchecked Sendable {
    private struct Connection {
        enum State: UInt8 { case closed, connecting, active }
        var fd: Int32 = -1
        var state = State.closed
        var wantsWrite = false
        var connectStart: UInt64 = 0
        /// The last moment a byte moved (stall detection).
        var lastActivity: UInt64 = 0
    }


    let plan: LoadPlan
    let intervals: IntervalRecorder
    private(set) var result = WorkerResult()
    private(set) var totalsAtEnd = IntervalTotals()

    private let epoll: Epoll
    private let count: Int
    private let connections: UnsafeMutablePointer<Connection>
    /// Per slot, across reconnects: a byte moved inside the measured window (else it is starved).
    private let exchanged: UnsafeMutablePointer<Bool>
    private var tcpInfo: TCPInfoSampler
    /// One write's worth of filler.
    private let batch: UnsafeMutableRawPointer
    private let receiveBuffer: UnsafeMutableRawPointer
    private let receiveCapacity = 256 << 10
    /// Reconnect policy: closed connections waiting to open again (one fixed delay, so deadlines stay in order).
    private var reopening: DeadlineQueue
    /// True once any connection was established: a target that never answered is not retried forever.
    private var everConnected = false
    /// Ramp-up: nanoseconds between two connection opens, and the next connection to open.
    private let openTick: Double?
    private var nextToOpen = 0

    init(plan: LoadPlan, connections count: Int, intervals: IntervalRecorder) throws(SocketError) {
        self.plan = plan
        self.count = count
        self.intervals = intervals
        reopening = DeadlineQueue(capacity: plan.reconnectDelay == nil ? 0 : count)
        openTick = plan.connectRate.map { 1e9 / ($0 * Double(count) / Double(plan.totalConnections)) }
        tcpInfo = TCPInfoSampler(count: count)
        epoll = try Epoll()
        connections = .allocate(capacity: count)
        connections.initialize(repeating: Connection(), count: count)
        exchanged = .allocate(capacity: count)
        exchanged.initialize(repeating: false, count: count)
        result.windowStart = plan.measureStart
        batch = Payload.makeTemplate(size: plan.messageSize)
        receiveBuffer = .allocate(byteCount: receiveCapacity, alignment: 16)
    }

    deinit {
        for index in 0..<count where connections[index].state != .closed { close(connections[index].fd) }
        connections.deinitialize(count: count)
        connections.deallocate()
        exchanged.deallocate()
        batch.deallocate()
        receiveBuffer.deallocate()
    }

    // MARK: Run loop

    func run() {
        var now = MonotonicClock.now()
        openDue(now)
        let capacity: Int32 = 512
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: Int(capacity))
        defer { events.deallocate() }
        var nextTimeoutScan: UInt64 = 0
        while plan.running(now) {
            let wake = nextWake(now)
            let ready = epoll.wait(into: events, capacity: capacity, timeoutNanoseconds: wake > now ? wake - now : 0)
            now = MonotonicClock.now()
            intervals.roll(now, totals: result.intervalTotals) { sampleTCPInfo(into: $0) }
            if !tcpInfo.windowOpened, now >= plan.measureStart {
                tcpInfo.openWindow(into: &result) { connections[$0].state == .closed ? nil : (connections[$0].fd, connections[$0].state == .active) }
            }
            for i in 0..<ready {
                let index = Int(events[i].data.u64)
                let flags = events[i].events
                switch connections[index].state {
                case .connecting: finishConnect(index, flags: flags)
                case .active: service(index, flags: flags)
                case .closed: break
                }
            }
            while let index = reopening.popDue(at: now) {
                guard connections[index].state == .closed else { continue }
                result.reconnects += 1
                open(index)
            }
            if nextToOpen < count { openDue(now) }
            now = MonotonicClock.now()
            if now >= nextTimeoutScan {
                // Every connection failed and none will open again: nothing left to measure.
                if scanTimeouts(now) == 0, nextToOpen == count, reopening.count == 0 || !everConnected { break }
                nextTimeoutScan = now + 10_000_000
            }
        }
        // The last interval's sample, as the window closes (before the drain closes connections),
        // unless a roll at the window's end itself already sealed the last interval with its sample.
        if intervals.nextBoundary - intervals.length < plan.endTime { sampleTCPInfo(into: intervals.slot) }
        intervals.closeWindow(totals: result.intervalTotals)
        let openAtEnd = result.connectionsOpen
        finish(events: events, capacity: capacity)
        // Slots the ramp-up never opened are not counted: the client held them back, not the server.
        for index in 0..<nextToOpen where !exchanged[index] { result.connectionsStarved += 1 }
        totalsAtEnd = result.intervalTotals
        totalsAtEnd.connectionsOpen = openAtEnd
        for index in 0..<count where connections[index].state != .closed { closeConnection(index) }
    }

    /// TCP_INFO of the first connected slots into the interval being sealed (`TCPInfoSampler`).
    private func sampleTCPInfo(into slot: UnsafeMutablePointer<IntervalRecorder.Slot>) {
        tcpInfo.sample(into: slot) { connections[$0].state == .active ? connections[$0].fd : nil }
    }

    /// The next moment the loop has something to do without an event: a ramp-up open, a
    /// reconnect, the end of the run, or at most 10 ms (timeout scans).
    private func nextWake(_ now: UInt64) -> UInt64 {
        var wake = min(plan.endTime, now + 10_000_000)
        // The window's opening reads TCP_INFO of the open connections: on time, not up to 10 ms late.
        if !tcpInfo.windowOpened, plan.measureStart > now { wake = min(wake, plan.measureStart) }
        if let deadline = reopening.nextDeadline { wake = min(wake, deadline) }
        if nextToOpen < count, let openTick { wake = min(wake, plan.startTime.saturatingAdd(UInt64(saturating: Double(nextToOpen) * openTick))) }
        return wake
    }

    /// Opens every connection whose turn has come: all at once, or at the ramp-up rate.
    private func openDue(_ now: UInt64) {
        while nextToOpen < count {
            if let openTick, now < plan.startTime.saturatingAdd(UInt64(saturating: Double(nextToOpen) * openTick)) { return }
            open(nextToOpen)
            nextToOpen += 1
        }
    }

    /// After the end, lets every connection finish cleanly within a bound (the request timeout,
    /// at most 1 s): request-response waits for answers still in flight, so connections close with
    /// empty receive queues (a FIN, not the RST a close with unread data sends); an upload half-closes
    /// and waits for the server to read everything and close. Nothing received here is recorded.
    private func finish(events: UnsafeMutablePointer<epoll_event>, capacity: Int32) {
        // A download ends at once; interrupted or the server gone: nothing is worth waiting for.
        guard plan.direction != .download, !plan.control.stopRequested else { return }
        for index in 0..<count where connections[index].state == .active {
            shutdown(connections[index].fd, Int32(SHUT_WR))
            try? epoll.modify(connections[index].fd, events: Epoll.readable, data: UInt64(index))
        }
        let deadline = plan.endTime + min(plan.requestTimeout, 1_000_000_000)
        while MonotonicClock.now() < deadline {
            guard (0..<count).contains(where: { connections[$0].state == .active }) else { return }
            let ready = epoll.wait(into: events, capacity: capacity, timeoutMilliseconds: 10)
            for i in 0..<ready {
                let index = Int(events[i].data.u64)
                guard connections[index].state == .active, events[i].events & (Epoll.readable | Epoll.hangup) != 0 else { continue }
                // The sink sends nothing: end of input means it read all and closed. (Both ways:
                // what the server still sends is read and dropped.)
                let received = recv(connections[index].fd, receiveBuffer, receiveCapacity, 0)
                if received == 0 || (received < 0 && errno != EAGAIN && errno != EINTR) { closeConnection(index) }
            }
        }
    }

    // MARK: Connecting

    private func open(_ index: Int) {
        let now = MonotonicClock.now()
        tcpInfo.opening(index)
        let started: (fd: Int32, connected: Bool)
        do {
            started = try plan.startConnection(.tcp)
        } catch {
            failConnect(index, ErrorCounts.category(of: error.errno), LoadPlan.connectFailure(error))
            return
        }
        connections[index].fd = started.fd
        connections[index].state = .connecting
        connections[index].connectStart = now
        do {
            try epoll.add(started.fd, events: started.connected ? Epoll.readable : Epoll.writable, data: UInt64(index))
        } catch {
            failConnect(index, ErrorCounts.category(of: error.errno), "\(error)")
            return
        }
        if started.connected { connected(index) }
    }

    private func finishConnect(_ index: Int, flags: UInt32) {
        let fd = connections[index].fd
        let code = Socket.pendingError(fd)
        guard code == 0 else {
            failConnect(index, ErrorCounts.category(of: code), "connect to \(plan.target) failed: \(String(cString: strerror(code)))")
            return
        }
        do {
            try epoll.modify(fd, events: Epoll.readable, data: UInt64(index))
        } catch {
            failConnect(index, .other, "\(error)")
            return
        }
        connected(index)
    }

    private func connected(_ index: Int) {
        let now = MonotonicClock.now()
        // Long-lived connections are set up before the window, and measured anyway; connect-per-request counts its window only.
        if plan.pattern != .connect || plan.measuring(now) {
            result.connectLatency.record(now - connections[index].connectStart)
            result.connectionsEstablished += 1
        }
        result.connectionsOpen += 1
        // Its close adds its whole TCP_INFO to the window's: what it resent in the warm-up comes off.
        tcpInfo.connected(index, into: &result)
        everConnected = true
        connections[index].state = .active
        connections[index].lastActivity = now
        if result.effectiveOptions == nil {
            result.effectiveOptions = SocketOptionSet.effective(of: connections[index].fd, ipv6: plan.target.family == .ipv6, tcp: true)
        }
        if plan.direction != .download { setWriteInterest(index, true) }
    }

    private func failConnect(_ index: Int, _ category: ErrorCounts.Category, _ message: String) {
        result.connectionsFailed += 1
        result.record(category, message)
        if connections[index].fd >= 0 { closeConnection(index) }
        scheduleReconnect(index)
    }

    /// The reconnect policy: a connection lost to an error opens again after the delay, until the end.
    private func scheduleReconnect(_ index: Int) {
        guard let delay = plan.reconnectDelay else { return }
        let now = MonotonicClock.now()
        if plan.running(now + delay) { reopening.push(index, at: now + delay) }
    }

    // MARK: Traffic

    @inline(__always)
    private func service(_ index: Int, flags: UInt32) {
        if flags & Epoll.writable != 0 { upload(index) }
        guard connections[index].state == .active else { return }
        if flags & (Epoll.readable | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 { download(index) }
    }

    /// Stream upload: writes until the socket is full.
    private func upload(_ index: Int) {
        let fd = connections[index].fd
        let size = plan.messageSize
        for _ in 0..<16 {
            let sent = Glibc.send(fd, batch, size, Int32(MSG_NOSIGNAL))
            if sent < 0 {
                let code = errno
                if code != EAGAIN && code != EINTR { fail(index, code) }
                return
            }
            let now = MonotonicClock.now()
            connections[index].lastActivity = now
            if plan.measuring(now) {
                result.bytesSent &+= UInt64(sent)
                exchanged[index] = true
            }
            if sent < size { return }
        }
    }

    /// Stream download: reads until the socket is empty.
    private func download(_ index: Int) {
        let fd = connections[index].fd
        for _ in 0..<16 {
            let received = recv(fd, receiveBuffer, receiveCapacity, 0)
            if received <= 0 {
                receiveEnded(index, received)
                return
            }
            let now = MonotonicClock.now()
            connections[index].lastActivity = now
            if plan.measuring(now) {
                result.bytesReceived &+= UInt64(received)
                exchanged[index] = true
            }
        }
    }

    // MARK: Deadlines and failures

    /// Applies connect and request timeouts; returns how many connections are still open.
    private func scanTimeouts(_ now: UInt64) -> Int {
        var open = 0
        for index in 0..<count {
            let connection = connections + index
            switch connection.pointee.state {
            case .closed:
                continue
            case .connecting:
                if now - connection.pointee.connectStart > plan.connectTimeout {
                    failConnect(index, .timeout, "connect to \(plan.target) timed out after \(Quantity.formatDuration(plan.connectTimeout))")
                    continue
                }
            case .active:
                if now > connection.pointee.lastActivity, now - connection.pointee.lastActivity > plan.idleTimeout {
                    closeWithError(index, .timeout, "the stream stalled: no byte moved for \(Quantity.formatDuration(plan.idleTimeout)) (idle_timeout)")
                    continue
                }
            }
            open += 1
        }
        return open
    }

    /// A `recv` that returned 0 (the server closed) or -1: an error unless the socket is just empty.
    private func receiveEnded(_ index: Int, _ received: Int) {
        if received == 0 {
            closeWithError(index, .closed, "the server closed a connection")
        } else if errno != EAGAIN && errno != EINTR {
            fail(index, errno)
        }
    }

    private func fail(_ index: Int, _ code: Int32) {
        closeWithError(index, ErrorCounts.category(of: code), "connection to \(plan.target): \(String(cString: strerror(code)))")
    }

    private func closeWithError(_ index: Int, _ category: ErrorCounts.Category, _ message: @autoclosure () -> String) {
        result.record(category, message())
        closeConnection(index)
        scheduleReconnect(index)
    }

    private func closeConnection(_ index: Int) {
        if connections[index].state == .active {
            result.connectionsOpen -= 1
            tcpInfo.closing(connections[index].fd, into: &result)
        }
        epoll.remove(connections[index].fd)
        close(connections[index].fd)
        connections[index] = Connection()
    }

    private func setWriteInterest(_ index: Int, _ on: Bool) {
        connections[index].wantsWrite = on
        let events = plan.direction == .upload
            ? (on ? Epoll.writable : 0)
            : Epoll.readable | (on ? Epoll.writable : 0)
        try? epoll.modify(connections[index].fd, events: events, data: UInt64(index))
    }
}
