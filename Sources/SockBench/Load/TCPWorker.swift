import CSockBenchLinux
import Glibc

/// One client thread driving its TCP connections over its own epoll instance: request-response
/// (closed loop, with think time, or open loop on a `SendSchedule`), connect-per-request, streams
/// and idle connections with optional pings.
///
/// Per-message work touches only memory allocated in `init`: connection slots, the send-time
/// ring, the pre-filled send batch and the receive buffer. No lock, no allocation, no async hop:
/// a message costs one `send`, a share of one `recv`, two clock reads and a few histogram increments.
final class TCPWorker: LoadWorker, @unchecked Sendable {
    private struct Connection {
        enum State: UInt8 { case closed, connecting, active }
        var fd: Int32 = -1
        var state = State.closed
        var wantsWrite = false
        var connectStart: UInt64 = 0
        /// Messages whose sending has started, and answers completed.
        var sendSequence: UInt64 = 0
        var receiveSequence: UInt64 = 0
        /// Bytes of the last started message not yet handed to the kernel.
        var sendRemaining = 0
        /// Bytes of the current answer received so far.
        var receiveOffset = 0
        /// Think time: no request before this moment.
        var notBefore: UInt64 = 0
        /// Streams: the last moment a byte moved (stall detection).
        var lastActivity: UInt64 = 0
        /// `tcpi_total_retrans` when TCP_INFO was last read (an interval's sample, the window's
        /// opening): the next sample counts only what was retransmitted since.
        var retransmissionsRead: UInt64 = 0
        /// A connect under way as the window opened: the SYNs it had resent by then.
        var warmupRetransmissions: UInt64 = 0
    }

    /// What a connection slot keeps across the connections it opens one after another.
    private struct SlotHistory {
        /// Open loop: the slot's place in the timetable where its current connection's sequence 0
        /// falls, so a reopened connection takes up the schedule instead of starting it again.
        var scheduleBase: UInt64 = 0
        /// The next connection resumes after an error: sends that fell due meanwhile are unsent.
        var resuming = false
        /// The slot completed an exchange inside the measured window (else it is starved).
        var exchanged = false
        /// The slot sent a message meant for the measured window (idle: a ping it is owed an answer to).
        var sentInWindow = false
    }

    let plan: LoadPlan
    let intervals: IntervalRecorder
    private(set) var result = WorkerResult()
    private(set) var totalsAtEnd = IntervalTotals()

    private let epoll: Epoll
    private let count: Int
    private let connections: UnsafeMutablePointer<Connection>
    private let history: UnsafeMutablePointer<SlotHistory>
    /// True once the connections open as the window opened had their warm-up TCP_INFO read.
    private var windowOpened = false
    /// Send start times, `depth` per connection, indexed by sequence % depth.
    private let sendTimes: UnsafeMutablePointer<UInt64>
    /// `batchCapacity` request templates back to back: sending k messages writes k sequence numbers.
    private let batch: UnsafeMutableRawPointer
    private let batchCapacity: Int
    /// The expected answer (filler bytes) to compare received bytes with.
    private let answerTemplate: UnsafeMutableRawPointer
    private let receiveBuffer: UnsafeMutableRawPointer
    private let receiveCapacity = 256 << 10
    /// Open loop: when each request is due; nil in closed loop.
    private var schedule: SendSchedule?
    /// Think time: connections waiting to send their next request.
    private var thinking: DeadlineQueue
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
        schedule = SendSchedule(rate: plan.rate, share: count, of: plan.totalConnections, start: plan.startTime)
        thinking = DeadlineQueue(capacity: plan.thinkTime > 0 ? count : 0)
        reopening = DeadlineQueue(capacity: plan.reconnectDelay == nil ? 0 : count)
        openTick = plan.connectRate.map { 1e9 / ($0 * Double(count) / Double(plan.totalConnections)) }
        epoll = try Epoll()
        connections = .allocate(capacity: count)
        connections.initialize(repeating: Connection(), count: count)
        history = .allocate(capacity: count)
        history.initialize(repeating: SlotHistory(), count: count)
        result.windowStart = plan.measureStart
        sendTimes = .allocate(capacity: count * plan.depth)
        sendTimes.initialize(repeating: 0, count: count * plan.depth)
        let size = plan.messageSize
        batchCapacity = max(1, min(plan.depth, (256 << 10) / size))
        batch = .allocate(byteCount: batchCapacity * size, alignment: 16)
        for index in 0..<batchCapacity { Payload.fill(batch + index * size, size: size) }
        answerTemplate = Payload.makeTemplate(size: plan.responseSize)
        receiveBuffer = .allocate(byteCount: receiveCapacity, alignment: 16)
    }

    deinit {
        for index in 0..<count where connections[index].state != .closed { close(connections[index].fd) }
        connections.deinitialize(count: count)
        connections.deallocate()
        history.deallocate()
        sendTimes.deallocate()
        batch.deallocate()
        answerTemplate.deallocate()
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
            if !windowOpened, now >= plan.measureStart { openWindow() }
            for i in 0..<ready {
                let index = Int(events[i].data.u64)
                let flags = events[i].events
                switch connections[index].state {
                case .connecting: finishConnect(index, flags: flags)
                case .active: service(index, flags: flags)
                case .closed: break
                }
            }
            if var timetable = schedule {
                timetable.visitDue(at: now) { index in
                    if connections[index].state == .active { pump(index) }
                }
                schedule = timetable
            }
            while let index = thinking.popDue(at: now) {
                if connections[index].state == .active { pump(index) }
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
        countUnsentWhileDown()
        finish(events: events, capacity: capacity)
        // After the drain: an answer it brought to a request meant for the window is an exchange.
        countStarved()
        totalsAtEnd = result.intervalTotals
        totalsAtEnd.connectionsOpen = openAtEnd
        for index in 0..<count where connections[index].state != .closed { closeConnection(index) }
    }

    /// The measured window opened: what the open connections' TCP_INFO says now belongs to the warm-up.
    /// Connects still under way are read too: the SYNs they resent in the warm-up are the warm-up's,
    /// taken off the window's count once they connect (one that never does is never counted).
    private func openWindow() {
        windowOpened = true
        for index in 0..<count where connections[index].state != .closed {
            guard let info = TCPInfo.read(connections[index].fd) else { continue }
            connections[index].retransmissionsRead = info.totalRetransmissions
            if connections[index].state == .active {
                result.tcpInfoAtWindowStart.add(info)
            } else {
                connections[index].warmupRetransmissions = info.totalRetransmissions
            }
        }
    }

    /// TCP_INFO of the first open connections (at most `IntervalTCPSamples.limit`) into the interval
    /// being sealed: once per interval, a `getsockopt` per sampled connection, nothing allocated.
    /// Slots in index order, so the same long-lived connections are followed from interval to interval.
    private func sampleTCPInfo(into slot: UnsafeMutablePointer<IntervalRecorder.Slot>) {
        var index = 0
        while index < count, !slot.pointee.tcpInfo.isFull {
            if connections[index].state == .active, let info = TCPInfo.read(connections[index].fd) {
                let before = connections[index].retransmissionsRead
                connections[index].retransmissionsRead = info.totalRetransmissions
                slot.pointee.tcpInfo.add(info, retransmitted: info.totalRetransmissions >= before ? info.totalRetransmissions - before : 0)
            }
            index += 1
        }
    }

    /// Slots that never completed an exchange in the window. Idle connections without pings
    /// exchange nothing: theirs is to stay open, so a slot not open as the window closes is starved.
    /// Slots the ramp-up never opened are not counted: the client held them back, not the server.
    private func countStarved() {
        for index in 0..<nextToOpen {
            let starved = plan.pattern == .idle
                ? connections[index].state != .active || (history[index].sentInWindow && !history[index].exchanged)
                : !history[index].exchanged
            if starved { result.connectionsStarved += 1 }
        }
    }

    /// Open loop: slots still down as the window closed never sent what fell due since they went down.
    private func countUnsentWhileDown() {
        guard let schedule else { return }
        for index in 0..<count where history[index].resuming && connections[index].state != .active {
            result.unsentWhileDown &+= schedule.count(connection: index, sequences: history[index].scheduleBase,
                                                      schedule.due(connection: index, at: plan.endTime),
                                                      meantFor: plan.measureStart, plan.endTime)
        }
    }

    /// Open loop: connection `index`'s message `sequence` in the slot's timetable.
    @inline(__always)
    private func scheduled(_ index: Int, _ sequence: UInt64) -> UInt64 { history[index].scheduleBase &+ sequence }

    /// The next moment the loop has something to do without an event: a scheduled send, the end
    /// of a think time, a ramp-up open, the end of the run, or at most 10 ms (timeout scans).
    private func nextWake(_ now: UInt64) -> UInt64 {
        var wake = min(plan.endTime, now + 10_000_000)
        // The window's opening reads TCP_INFO of the open connections: on time, not up to 10 ms late.
        if !windowOpened, plan.measureStart > now { wake = min(wake, plan.measureStart) }
        if let schedule { wake = min(wake, schedule.nextDue) }
        if let deadline = thinking.nextDeadline { wake = min(wake, deadline) }
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
        let uploading = plan.pattern == .stream && plan.direction != .download
        // Interrupted or the server gone: stop now, nothing more is worth waiting for.
        guard plan.exchanges || uploading, !plan.control.stopRequested else { return }
        if uploading {
            for index in 0..<count where connections[index].state == .active {
                shutdown(connections[index].fd, Int32(SHUT_WR))
                try? epoll.modify(connections[index].fd, events: Epoll.readable, data: UInt64(index))
            }
        }
        let deadline = plan.endTime + min(plan.requestTimeout, 1_000_000_000)
        var now = MonotonicClock.now()
        while now < deadline {
            var waiting = false
            for index in 0..<count where connections[index].state == .active
                && (uploading || connections[index].sendSequence > connections[index].receiveSequence) {
                waiting = true
                break
            }
            guard waiting else { return }
            let ready = epoll.wait(into: events, capacity: capacity, timeoutMilliseconds: 10)
            for i in 0..<ready {
                let index = Int(events[i].data.u64)
                guard connections[index].state == .active, events[i].events & (Epoll.readable | Epoll.hangup) != 0 else { continue }
                if uploading {
                    // The sink sends nothing: end of input means it read all and closed.
                    let received = recv(connections[index].fd, receiveBuffer, receiveCapacity, 0)
                    if received == 0 || (received < 0 && errno != EAGAIN && errno != EINTR) { closeConnection(index) }
                } else {
                    receive(index)
                }
            }
            now = MonotonicClock.now()
        }
    }

    // MARK: Connecting

    private func open(_ index: Int) {
        let now = MonotonicClock.now()
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
        if connections[index].warmupRetransmissions > 0 { result.tcpInfoAtWindowStart.addWarmupRetransmissions(connections[index].warmupRetransmissions) }
        everConnected = true
        connections[index].state = .active
        connections[index].lastActivity = now
        if let schedule, history[index].resuming {
            // Back after an error: take up the timetable now; what fell due while down was never sent.
            let due = schedule.due(connection: index, at: now)
            if due > history[index].scheduleBase {
                // Only sends meant for the measured window count as unsent there.
                result.unsentWhileDown &+= schedule.count(connection: index, sequences: history[index].scheduleBase, due,
                                                          meantFor: plan.measureStart, plan.endTime)
                history[index].scheduleBase = due
            }
        }
        history[index].resuming = false
        if result.effectiveOptions == nil {
            result.effectiveOptions = SocketOptionSet.effective(of: connections[index].fd, ipv6: plan.target.family == .ipv6, tcp: true)
        }
        if plan.pattern == .stream {
            if plan.direction != .download { setWriteInterest(index, true) }
        } else if plan.exchanges {
            pump(index)
        }
    }

    private func failConnect(_ index: Int, _ category: ErrorCounts.Category, _ message: String) {
        result.connectionsFailed += 1
        result.record(category, message)
        if connections[index].fd >= 0 { closeConnection(index) }
        scheduleReconnect(index)
    }

    /// The reconnect policy: a connection lost to an error opens again after the delay, until the end.
    private func scheduleReconnect(_ index: Int) {
        history[index].resuming = true
        guard let delay = plan.reconnectDelay else { return }
        let now = MonotonicClock.now()
        if plan.running(now + delay) { reopening.push(index, at: now + delay) }
    }

    // MARK: Traffic

    @inline(__always)
    private func service(_ index: Int, flags: UInt32) {
        if flags & Epoll.writable != 0 {
            if plan.pattern == .stream { upload(index) } else { pump(index) }
        }
        guard connections[index].state == .active else { return }
        if flags & (Epoll.readable | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
            if plan.pattern == .stream {
                download(index)
            } else if plan.exchanges {
                receive(index)
            } else {
                idleInput(index)
            }
        }
    }

    /// Request-response: starts as many requests as the in-flight depth allows, in one `send`.
    private func pump(_ index: Int) {
        let connection = connections + index
        let size = plan.messageSize
        let depth = UInt64(plan.depth)
        let fd = connection.pointee.fd
        if connection.pointee.sendRemaining > 0 {
            // Finish the message a short send left behind; its bytes come from the batch template.
            Payload.writeSequence(connection.pointee.sendSequence - 1, into: batch, size: size)
            let remaining = connection.pointee.sendRemaining
            let sent = Glibc.send(fd, batch + (size - remaining), remaining, Int32(MSG_NOSIGNAL))
            if sent < 0 {
                let code = errno
                if code != EAGAIN && code != EINTR { fail(index, code) }
                return
            }
            connection.pointee.sendRemaining -= sent
            if connection.pointee.sendRemaining > 0 { return }
        }
        var room = depth - (connection.pointee.sendSequence - connection.pointee.receiveSequence)
        let now = room == 0 ? 0 : MonotonicClock.now()
        if room > 0 {
            if let schedule {
                // Open loop: only what is due, however many answers are back.
                let due = schedule.due(connection: index, at: now)
                let next = scheduled(index, connection.pointee.sendSequence)
                room = min(room, due > next ? due - next : 0)
            } else if now < connection.pointee.notBefore {
                room = 0
            }
        }
        if room == 0 || now >= plan.endTime {
            if connection.pointee.wantsWrite { setWriteInterest(index, false) }
            return
        }
        // One send per message when the scenario asks for small writes (the case Nagle coalesces).
        if !plan.batchWrites {
            for _ in 0..<room {
                if !sendMessages(index, count: 1, now: now) { break }
            }
            return
        }
        _ = sendMessages(index, count: min(Int(room), batchCapacity), now: now)
    }

    /// Sends `count` whole messages in one `send`; true when all of them went out and the
    /// socket can take more.
    @inline(__always)
    private func sendMessages(_ index: Int, count messages: Int, now: UInt64) -> Bool {
        let connection = connections + index
        let size = plan.messageSize
        let depth = UInt64(plan.depth)
        let fd = connection.pointee.fd
        let first = connection.pointee.sendSequence
        for k in 0..<messages {
            Payload.writeSequence(first + UInt64(k), into: batch + k * size, size: size)
        }
        let sent = Glibc.send(fd, batch, messages * size, Int32(MSG_NOSIGNAL))
        if sent < 0 {
            let code = errno
            if code == EAGAIN || code == EINTR {
                if !connection.pointee.wantsWrite { setWriteInterest(index, true) }
            } else {
                fail(index, code)
            }
            return false
        }
        let partial = sent % size
        let started = sent / size + (partial > 0 ? 1 : 0)
        let ring = sendTimes + index * plan.depth
        for k in 0..<started {
            let sequence = first + UInt64(k)
            ring[Int(sequence % depth)] = now
            if result.countSend(at: now, intended: schedule?.intended(connection: index, sequence: scheduled(index, sequence)), in: plan) {
                result.messagesSent &+= 1
                history[index].sentInWindow = true
            }
        }
        connection.pointee.sendSequence = first + UInt64(started)
        let inFlight = connection.pointee.sendSequence - connection.pointee.receiveSequence
        if inFlight > result.peakInFlight { result.peakInFlight = inFlight }
        connection.pointee.sendRemaining = partial > 0 ? size - partial : 0
        if plan.measuring(now) { result.bytesSent &+= UInt64(sent) }
        let blocked = connection.pointee.sendRemaining > 0
        if blocked != connection.pointee.wantsWrite { setWriteInterest(index, blocked) }
        return !blocked
    }

    /// Request-response: reads what arrived, verifies it answer by answer, records latencies.
    private func receive(_ index: Int) {
        let connection = connections + index
        let received = recv(connection.pointee.fd, receiveBuffer, receiveCapacity, 0)
        let now = MonotonicClock.now()
        if received <= 0 {
            receiveEnded(index, received)
            return
        }
        let answerSize = plan.responseSize
        let depth = UInt64(plan.depth)
        let ring = sendTimes + index * plan.depth
        let measuring = plan.measuring(now)
        var position = 0
        while position < received {
            let sequence = connection.pointee.receiveSequence
            if sequence >= connection.pointee.sendSequence {
                closeWithError(index, .integrity, "received bytes no request asked for")
                return
            }
            let offset = connection.pointee.receiveOffset
            let take = min(answerSize - offset, received - position)
            if plan.verifyPayload, !matches(sequence: sequence, offset: offset, bytes: receiveBuffer + position, length: take) {
                closeWithError(index, .integrity, "an answer's bytes differ from what was sent (sequence \(sequence))")
                return
            }
            position += take
            if offset + take == answerSize {
                answered(index, sequence: sequence, sentAt: ring[Int(sequence % depth)], now: now, measuring: measuring)
                connection.pointee.receiveSequence = sequence + 1
                connection.pointee.receiveOffset = 0
                if plan.pattern == .connect {
                    if position < received { closeWithError(index, .integrity, "received bytes no request asked for"); return }
                    if measuring { result.bytesReceived &+= UInt64(received) }
                    reconnect(index)
                    return
                }
                if plan.thinkTime > 0 {
                    connection.pointee.notBefore = now + plan.thinkTime
                    thinking.push(index, at: connection.pointee.notBefore)
                }
            } else {
                connection.pointee.receiveOffset = offset + take
            }
        }
        if measuring { result.bytesReceived &+= UInt64(received) }
        pump(index)
    }

    /// Records one complete answer: latency from the intended send (open loop) or the actual one.
    @inline(__always)
    private func answered(_ index: Int, sequence: UInt64, sentAt: UInt64, now: UInt64, measuring: Bool) {
        let slot = intervals.slot
        if let schedule {
            // Answers to messages meant for the window count even when they arrive during the final drain.
            let intended = schedule.intended(connection: index, sequence: scheduled(index, sequence))
            guard plan.measuring(intended) else { return }
            result.latency.record(now &- intended)
            result.latencyUncorrected.record(now &- sentAt)
            slot.pointee.latency.record(now &- intended)
            slot.pointee.uncorrected.record(now &- sentAt)
        } else {
            guard measuring, sentAt >= plan.measureStart else { return }
            // Connect-per-request times the whole transaction: connect, request, answer.
            let latency = plan.pattern == .connect ? now &- connections[index].connectStart : now &- sentAt
            result.latency.record(latency)
            slot.pointee.latency.record(latency)
        }
        result.messagesReceived &+= 1
        history[index].exchanged = true
    }

    /// Connect-per-request: closes the finished connection and opens the next one (until the end).
    private func reconnect(_ index: Int) {
        closeConnection(index)
        if MonotonicClock.now() < plan.endTime { open(index) }
    }

    /// Compares `length` received bytes with the expected answer from `offset` on.
    @inline(__always)
    private func matches(sequence: UInt64, offset: Int, bytes: UnsafeMutableRawPointer, length: Int) -> Bool {
        var checked = 0
        while offset + checked < Payload.sequenceBytes, checked < length {
            guard offset + checked < plan.responseSize else { break }
            if bytes.load(fromByteOffset: checked, as: UInt8.self) != Payload.expectedByte(sequence: sequence, offset: offset + checked) {
                return false
            }
            checked += 1
        }
        guard checked < length else { return true }
        return memcmp(bytes + checked, answerTemplate + (offset + checked), length - checked) == 0
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
                history[index].exchanged = true
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
                history[index].exchanged = true
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
                let waiting = connection.pointee.receiveSequence
                if plan.exchanges, connection.pointee.sendSequence > waiting {
                    let started = sendTimes[index * plan.depth + Int(waiting % UInt64(plan.depth))]
                    if now > started, now - started > plan.requestTimeout {
                        closeWithError(index, .timeout, "no answer within \(Quantity.formatDuration(plan.requestTimeout))")
                        continue
                    }
                } else if plan.pattern == .stream, now > connection.pointee.lastActivity,
                          now - connection.pointee.lastActivity > plan.idleTimeout {
                    closeWithError(index, .timeout, "the stream stalled: no byte moved for \(Quantity.formatDuration(plan.idleTimeout)) (idle_timeout)")
                    continue
                }
            }
            open += 1
        }
        return open
    }

    /// Idle connections expect nothing: bytes from the server are an integrity error, a close is counted.
    private func idleInput(_ index: Int) {
        let received = recv(connections[index].fd, receiveBuffer, receiveCapacity, 0)
        if received > 0 {
            closeWithError(index, .integrity, "the server sent \(received) bytes on an idle connection")
        } else {
            receiveEnded(index, received)
        }
    }

    /// A `recv` that returned 0 (the server closed) or -1: an error unless the socket is just empty.
    private func receiveEnded(_ index: Int, _ received: Int) {
        if received == 0 {
            let owed = connections[index].sendSequence - connections[index].receiveSequence
            let partial = connections[index].receiveOffset > 0 ? " in the middle of an answer" : ""
            closeWithError(index, .closed, owed > 0
                ? "the server closed a connection\(partial) with \(owed) answer\(owed == 1 ? "" : "s") owed"
                : "the server closed a connection")
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
            if let info = TCPInfo.read(connections[index].fd) {
                // A connection that ended in the warm-up is the warm-up's, whole.
                if windowOpened { result.tcpInfo.add(info) } else { result.tcpInfoClosedInWarmup.add(info) }
            }
        }
        epoll.remove(connections[index].fd)
        close(connections[index].fd)
        // The next connection of this slot continues its timetable.
        history[index].scheduleBase &+= connections[index].sendSequence
        connections[index] = Connection()
    }

    private func setWriteInterest(_ index: Int, _ on: Bool) {
        connections[index].wantsWrite = on
        let events = plan.pattern == .stream && plan.direction == .upload
            ? (on ? Epoll.writable : 0)
            : Epoll.readable | (on ? Epoll.writable : 0)
        try? epoll.modify(connections[index].fd, events: events, data: UInt64(index))
    }
}
