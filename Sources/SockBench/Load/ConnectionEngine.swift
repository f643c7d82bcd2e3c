import CSockBenchLinux
import Foundation
import Glibc

/// The connection engine: one client thread running a step program on each of its connections
/// over a transport (TCP, UDP, unix stream or datagram sockets). A program is a list of steps
/// (send a template, expect exact bytes / a count / a regex with an optional length / a
/// delimiter / the server's close / request-response's echo, wait, close); the engine connects,
/// walks the steps, and then either closes and reconnects (one iteration per connection:
/// conversations, connect-per-request) or plays the next iteration on the same connection
/// (kept-alive conversations, request-response, idle pings), until the end. `LoadPlan` builds
/// the program: a scenario's conversation, request-response with a payload of its own or with
/// sockbench's filler and sequence numbers (`.payload` and `.echo`), idle connections (no steps,
/// or a ping); a TCP or unix stream is the program with no messages (`ConnectionEngine+Stream`);
/// UDP's filler loads match their answers by sequence number, in any order, rather than in step
/// order (`ConnectionEngine+Datagrams`).
///
/// Iterations are closed loop (the next follows the last, after `think_time`), open loop
/// (`rate`: each iteration has a scheduled start on the worker's `SendSchedule`, and its
/// latency counts from there), and pipelined (`depth` > 1: the sends of up to `depth`
/// iterations go out ahead of their answers, which are matched in order). A conversation step
/// that gets something else, or nothing within the request timeout, is a `protocol` error, kept
/// in words with the bytes that arrived for the first few; request-response and idle programs
/// count theirs as a raw echo load does (integrity, timeout, closed). The connection opens again
/// per the reconnect policy. At the end, connections are half-closed and drained so they close
/// with a FIN, not an RST (unless `so_linger: 0` asks for resets).
///
/// Reading: each read goes into the worker's buffer and is fed to the steps at once; only
/// bytes a step cannot decide on yet (a regex or delimiter still open, an answer ahead of its
/// step) are copied into the connection's own carry buffer, allocated the first time it is needed
/// and kept, so a connection in steady state allocates nothing. Sends are rendered into the
/// worker's buffer too; what the socket does not take is kept in the connection's pending buffer.
final class ConnectionEngine: LoadWorker, @unchecked Sendable {
    struct Connection {
        enum State: UInt8 { case closed, connecting, active }
        /// What `deadline` is for.
        enum Deadline: UInt8 { case none, connect, expect, pause }
        var fd: Int32 = -1
        var state = State.closed
        /// Counts opens, so bytes read for a connection that closed while they were fed are dropped.
        var generation: UInt32 = 0
        /// The receiver's step, in iteration `iteration` (counted from this connection's open).
        var step = 0
        var iteration: UInt64 = 0
        /// Iterations begun: whose first step ran (depth 1) or whose sends were rendered (pipelined).
        var begun: UInt64 = 0
        /// Depth 1: the current step's send has been written (or queued).
        var sent = false
        var progress = ExpectProgress()
        /// UDP: the answer this step waits for is counted in `udp.sent` (so it is received, damaged or lost).
        var awaiting = false
        /// Depth 1: a byte arrived since the current iteration began.
        var heard = false
        var opened: UInt64 = 0
        var deadline: UInt64 = 0
        var deadlineKind = Deadline.none
        /// Open loop: when the next iteration is due (0: none waiting).
        var due: UInt64 = 0
        var interest: UInt32 = 0
        /// Bytes received but not yet consumed by a step, at the start of `carry`.
        var carried = 0
        var carryCapacity = 0
        var carry: UnsafeMutableRawPointer?
        /// Bytes rendered but not yet taken by the socket, `pendingOffset..<pendingEnd` of `pending`.
        var pendingOffset = 0
        var pendingEnd = 0
        var pendingCapacity = 0
        var pending: UnsafeMutableRawPointer?
        /// Think time: no iteration starts before this moment.
        var notBefore: UInt64 = 0
        /// Streams: the last moment a byte moved (the stall rule).
        var lastActivity: UInt64 = 0
    }

    let plan: LoadPlan
    let intervals: IntervalRecorder
    var result = WorkerResult()
    private(set) var totalsAtEnd = IntervalTotals()
    let epoll: Epoll
    let count: Int
    /// The run-wide index of this worker's first connection (`${conn}`).
    let firstConnection: Int
    let connections: UnsafeMutablePointer<Connection>
    /// Per slot, across reconnects: iterations started (`${seq}`), the open-loop schedule's base,
    /// the seeded generator of `${random:N}`, and whether anything finished in the window.
    let slotSequence: UnsafeMutablePointer<UInt64>
    let scheduleBase: UnsafeMutablePointer<UInt64>
    let random: UnsafeMutablePointer<SplitMix64>
    let exchanged: UnsafeMutablePointer<Bool>
    /// Per slot: it went down after an error; open loop counts what fell due meanwhile as unsent.
    let resuming: UnsafeMutablePointer<Bool>
    /// Per slot: it started an iteration meant for the window (idle: a ping it is owed an answer to).
    let sentInWindow: UnsafeMutablePointer<Bool>
    /// Per connection and iteration in flight (a ring of `ringSize`, the power of two at or above
    /// `depth`, so a slot is found with a mask, not a division): each step's start, then the
    /// iteration's actual start and its scheduled (open loop) or actual start.
    let times: UnsafeMutablePointer<UInt64>
    let timesPerIteration: Int
    var reopening: DeadlineQueue
    var everConnected = false
    let program: ConversationProgram
    /// The steps as the hot path reads them: plain values. (Reading `program.steps` copies a step's
    /// templates and expectations, which costs reference counting on every message.)
    let shapes: UnsafeMutablePointer<ConversationProgram.Shape>
    let stepCount: Int
    /// Filler bytes from offset 0, as long as the longest `.payload` send or `.echo` answer.
    let filler: UnsafeMutableRawPointer
    let depth: Int
    let ringSize: Int
    let reuse: Bool
    let datagrams: Bool
    /// Request-response's filler and its answer: errors counted as a raw echo load counts them.
    let echo: Bool
    /// A TCP or unix stream: no steps, bytes written and read as fast as the socket takes them.
    let streaming: Bool
    /// UDP's filler loads: answers matched by sequence number (`ConnectionEngine+Datagrams`); nil otherwise.
    let datagramFlows: DatagramFlows?
    /// The loop's end: the window's, or for UDP request-response up to the loss timeout (≤ 1 s)
    /// later, so echoes still in flight arrive and loss is not overstated.
    let runUntil: UInt64
    /// TCP: TCP_INFO is read at the window's opening, per interval, and as connections close.
    var tcpInfo: TCPInfoSampler
    /// Ramp-up: nanoseconds between two connection opens, and the next connection to open.
    let openTick: Double?
    var nextToOpen = 0
    /// The next deadline scan: at most 10 ms ahead, sooner when a pause or a due iteration needs it.
    var nextScan: UInt64 = 0
    /// Open loop: when each connection's iterations are due; nil in closed loop.
    var schedule: SendSchedule?
    /// Think time: connections waiting to start their next iteration (one fixed wait, so a FIFO).
    var thinking: DeadlineQueue
    /// Where reads land, and where sends are rendered (apart: a send may be rendered while
    /// the bytes of a read are still being fed).
    let buffer: UnsafeMutableRawPointer
    let bufferCapacity: Int
    let sendBuffer: UnsafeMutableRawPointer
    /// A program of one filler send (request-response, connect, pings): the send buffer holds
    /// filler messages back to back from `init` on (nothing else is rendered there), so a message
    /// costs its 8 sequence bytes only.
    let fillerPrefilled: Bool
    let sendBufferCapacity: Int

    init(plan: LoadPlan, connections count: Int, firstConnection: Int = 0, intervals: IntervalRecorder) throws(SocketError) {
        self.plan = plan
        self.count = count
        self.firstConnection = firstConnection
        self.intervals = intervals
        // The loader compiled every pattern already; a failure here cannot happen.
        program = (try? ConversationProgram(plan.conversation)) ?? (try! ConversationProgram([.send([0x0A])]))
        depth = max(1, plan.depth)
        ringSize = 1 << (Int.bitWidth - (depth - 1).leadingZeroBitCount)
        datagrams = plan.transport == .udp
        echo = plan.echoesFiller
        streaming = plan.pattern == .stream && !datagrams
        datagramFlows = plan.sequencedDatagrams ? DatagramFlows(plan: plan, count: count) : nil
        runUntil = plan.endTime + (datagramFlows?.echoes == true ? min(plan.udpLossTimeout, 1_000_000_000) : 0)
        openTick = plan.connectRate.map { 1e9 / ($0 * Double(count) / Double(plan.totalConnections)) }
        tcpInfo = TCPInfoSampler(count: count, enabled: !datagrams && !plan.target.isUnix)
        reuse = plan.reuseConnection || datagrams || streaming
        epoll = try Epoll()
        connections = .allocate(capacity: count)
        connections.initialize(repeating: Connection(), count: count)
        slotSequence = .allocate(capacity: count)
        slotSequence.initialize(repeating: 0, count: count)
        scheduleBase = .allocate(capacity: count)
        scheduleBase.initialize(repeating: 0, count: count)
        random = .allocate(capacity: count)
        for index in 0..<count { (random + index).initialize(to: SplitMix64(state: UInt64(firstConnection + index + 1) &* 0x2545_F491_4F6C_DD1D)) }
        exchanged = .allocate(capacity: count)
        exchanged.initialize(repeating: false, count: count)
        resuming = .allocate(capacity: count)
        resuming.initialize(repeating: false, count: count)
        sentInWindow = .allocate(capacity: count)
        sentInWindow.initialize(repeating: false, count: count)
        stepCount = program.steps.count
        shapes = .allocate(capacity: max(1, stepCount))
        shapes.initialize(from: program.shapes, count: stepCount)
        filler = Payload.makeTemplate(size: program.shapes.reduce(streaming ? plan.messageSize : 0) { max($0, max($1.filler, $1.echo)) })
        timesPerIteration = stepCount + 2
        times = .allocate(capacity: count * ringSize * timesPerIteration)
        times.initialize(repeating: 0, count: count * ringSize * timesPerIteration)
        reopening = DeadlineQueue(capacity: plan.reconnectDelay == nil ? 0 : count)
        thinking = DeadlineQueue(capacity: plan.thinkTime > 0 ? count : 0)
        // Open loop schedules iterations on kept connections (the loader refuses rate otherwise).
        schedule = reuse ? SendSchedule(rate: plan.rate, share: count, of: plan.totalConnections, start: plan.startTime) : nil
        result.windowStart = plan.measureStart
        result.steps = program.names.map { StepResult(name: $0) }
        bufferCapacity = 64 << 10
        buffer = .allocate(byteCount: bufferCapacity, alignment: 16)
        sendBufferCapacity = max(64 << 10, program.iterationBytes)
        sendBuffer = .allocate(byteCount: sendBufferCapacity, alignment: 16)
        let messageSize = stepCount == 1 ? program.shapes[0].filler : 0
        fillerPrefilled = messageSize > 0
        if fillerPrefilled {
            for offset in stride(from: 0, through: sendBufferCapacity - messageSize, by: messageSize) {
                (sendBuffer + offset).copyMemory(from: filler, byteCount: messageSize)
            }
        }
    }

    deinit {
        for index in 0..<count {
            if connections[index].state != .closed { close(connections[index].fd) }
            connections[index].carry?.deallocate()
            connections[index].pending?.deallocate()
        }
        connections.deinitialize(count: count)
        connections.deallocate()
        slotSequence.deallocate()
        scheduleBase.deallocate()
        random.deallocate()
        exchanged.deallocate()
        resuming.deallocate()
        sentInWindow.deallocate()
        times.deallocate()
        buffer.deallocate()
        sendBuffer.deallocate()
        shapes.deallocate()
        filler.deallocate()
        datagramFlows?.deallocate()
    }

    func run() {
        var now = MonotonicClock.now()
        openDue(now)
        let capacity: Int32 = 512
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: Int(capacity))
        defer { events.deallocate() }
        while now < runUntil, !plan.control.stopRequested {
            // Nested two-argument min: the variadic one builds an array (an allocation per loop iteration).
            // After the window (UDP waiting for echoes in flight), the loop's own end, not a spin on the window's.
            let end = now < plan.endTime ? plan.endTime : runUntil
            var until = min(min(end, nextScan), min(reopening.nextDeadline ?? .max, thinking.nextDeadline ?? .max))
            if let schedule { until = min(until, schedule.nextDue) }
            // The window's opening reads TCP_INFO of the open connections: on time, not up to 10 ms late.
            if !tcpInfo.windowOpened, plan.measureStart > now { until = min(until, plan.measureStart) }
            if nextToOpen < count, openTick != nil { until = min(until, openTime(nextToOpen)) }
            let ready = epoll.wait(into: events, capacity: capacity, timeoutNanoseconds: until > now ? until - now : 0)
            now = MonotonicClock.now()
            intervals.roll(now, totals: result.intervalTotals) { sampleTCPInfo(into: $0) }
            if !tcpInfo.windowOpened, now >= plan.measureStart {
                tcpInfo.openWindow(into: &result) { connections[$0].state == .closed ? nil : (connections[$0].fd, connections[$0].state == .active) }
            }
            for i in 0..<ready {
                let index = Int(events[i].data.u64)
                switch connections[index].state {
                case .connecting: finishConnect(index)
                case .active: service(index, flags: events[i].events)
                case .closed: break
                }
            }
            now = MonotonicClock.now()
            // Iterations that fell due: the schedule's slots (open loop) and think times that ended.
            if var timetable = schedule {
                if datagramFlows != nil {
                    timetable.visitDue(at: now) { index in
                        if connections[index].state == .active { sendDatagrams(index) }
                    }
                } else {
                    timetable.visitDue(at: now) { index in startDue(index, now: now) }
                }
                schedule = timetable
            }
            while let index = thinking.popDue(at: now) { startDue(index, now: now) }
            while let index = reopening.popDue(at: now) {
                guard connections[index].state == .closed else { continue }
                result.reconnects += 1
                open(index)
            }
            if nextToOpen < count { openDue(now) }
            // Deadline scans visit every connection: every 10 ms, or when a pause or an iteration is due.
            guard now >= nextScan else { continue }
            let (open, wake, awaited) = scanDeadlines(now)
            // Every connection failed and none will open again: nothing left to measure.
            if open == 0, nextToOpen == count, reopening.count == 0 || !everConnected { break }
            // UDP after the window: every echo in flight arrived or was given up.
            if datagramFlows != nil, now >= plan.endTime, awaited == 0 { break }
            nextScan = min(wake, now + (datagramFlows != nil ? 5_000_000 : 10_000_000))
        }
        // The last interval's sample, as the window closes (before the drain closes connections),
        // unless a roll at the window's end itself already sealed the last interval with its sample.
        if intervals.nextBoundary - intervals.length < plan.endTime { sampleTCPInfo(into: intervals.slot) }
        intervals.closeWindow(totals: result.intervalTotals)
        totalsAtEnd = result.intervalTotals
        countUnsentWhileDown()
        countStarved()
        // Answers still on their way as the window closed are neither lost nor received.
        for index in 0..<count where connections[index].awaiting { result.udp.sent &-= 1 }
        if !datagrams { finish(events: events, capacity: capacity) }
        for index in 0..<count where connections[index].state != .closed { closeConnection(index) }
    }

    /// After the end, closes every TCP conversation in progress cleanly: half-closes it (a FIN),
    /// then reads and discards until the server closes too, for at most the request timeout
    /// (≤ 1 s), so no connection is closed with unread bytes (which sends an RST instead of a
    /// FIN). Nothing received here is recorded. Interrupted or the server gone: close at once.
    /// With `so_linger: 0`, no drain: every close is the RST the scenario asked for.
    private func finish(events: UnsafeMutablePointer<epoll_event>, capacity: Int32) {
        // so_linger 0 asks for abortive closes: the connections end with the RST asked for, no FIN.
        guard !plan.control.stopRequested, plan.clientOptions[.so_linger] != .integer(0) else { return }
        // A download has nothing to hand over: the server would only go on sending.
        if streaming, plan.direction == .download { return }
        for index in 0..<count where connections[index].state == .active {
            shutdown(connections[index].fd, Int32(SHUT_WR))
            try? watch(index, Epoll.readable)
        }
        let deadline = MonotonicClock.now() + min(plan.requestTimeout, 1_000_000_000)
        while MonotonicClock.now() < deadline, !plan.control.stopRequested {
            var open = 0
            for index in 0..<count where connections[index].state == .active { open += 1 }
            guard open > 0 else { return }
            let ready = epoll.wait(into: events, capacity: capacity, timeoutMilliseconds: 10)
            for i in 0..<ready {
                let index = Int(events[i].data.u64)
                guard connections[index].state == .active else { continue }
                // At most 16 reads per event, so a server that keeps sending cannot hold the loop past its deadline.
                for _ in 0..<16 {
                    let received = recv(connections[index].fd, buffer, bufferCapacity, Int32(MSG_DONTWAIT))
                    if received > 0 { continue }
                    if received == 0 || (errno != EAGAIN && errno != EINTR) { closeConnection(index) }
                    break
                }
            }
        }
    }

    /// Starts connection `index`'s next iteration if it waits (for its schedule's slot or the end
    /// of its think time, which the run loop says has come; `startIteration` checks again and
    /// waits on if not); the deadline scan is the backstop for one missed here.
    private func startDue(_ index: Int, now: UInt64) {
        guard connections[index].state == .active, connections[index].due != 0 else { return }
        connections[index].due = 0
        resume(index, now: now)
    }

    // MARK: Ramp-up and TCP_INFO

    /// When connection `index` opens under the ramp-up (connect_rate).
    private func openTime(_ index: Int) -> UInt64 {
        guard let openTick else { return plan.startTime }
        return plan.startTime.saturatingAdd(UInt64(saturating: Double(index) * openTick))
    }

    /// Opens every connection whose turn has come: all at once, or at the ramp-up rate.
    private func openDue(_ now: UInt64) {
        while nextToOpen < count {
            if openTick != nil, now < openTime(nextToOpen) { return }
            open(nextToOpen)
            nextToOpen += 1
        }
    }

    /// TCP_INFO of the first connected slots into the interval being sealed (`TCPInfoSampler`).
    private func sampleTCPInfo(into slot: UnsafeMutablePointer<IntervalRecorder.Slot>) {
        tcpInfo.sample(into: slot) { connections[$0].state == .active ? connections[$0].fd : nil }
    }

    /// Slots that never completed an exchange in the window. Idle connections without pings
    /// exchange nothing: theirs is to stay open, so a slot not open as the window closes is starved.
    /// Slots the ramp-up never opened are not counted: the client held them back, not the server.
    private func countStarved() {
        for index in 0..<nextToOpen {
            let starved = plan.pattern == .idle
                ? connections[index].state != .active || (sentInWindow[index] && !exchanged[index])
                : !exchanged[index]
            if starved { result.connectionsStarved += 1 }
        }
    }

    /// Open loop: slots still down as the window closed never sent what fell due since they went down.
    private func countUnsentWhileDown() {
        guard let schedule else { return }
        for index in 0..<count where resuming[index] && connections[index].state != .active {
            result.unsentWhileDown &+= schedule.count(connection: index, sequences: scheduleBase[index],
                                                      schedule.due(connection: index, at: plan.endTime),
                                                      meantFor: plan.measureStart, plan.endTime)
        }
    }

    // MARK: Connections

    func open(_ index: Int) {
        let now = MonotonicClock.now()
        let generation = connections[index].generation &+ 1
        let carry = (connections[index].carry, connections[index].carryCapacity)
        let pending = (connections[index].pending, connections[index].pendingCapacity)
        connections[index] = Connection(fd: -1, state: .connecting, generation: generation, opened: now,
                                        deadline: now + plan.connectTimeout, deadlineKind: .connect,
                                        carryCapacity: carry.1, carry: carry.0, pendingCapacity: pending.1, pending: pending.0)
        tcpInfo.opening(index)
        if generation > 1 { resumeSchedule(index, now: now) }
        do {
            let started = try plan.startConnection()
            connections[index].fd = started.fd
            try watch(index, started.connected ? Epoll.readable : Epoll.writable, adding: true)
            if started.connected { connected(index) }
        } catch {
            failConnect(index, ErrorCounts.category(of: error.errno), LoadPlan.connectFailure(error))
        }
    }

    /// Open loop: a connection that opens again takes up the schedule where it stands now; the
    /// iterations that fell due while it was down are counted as unsent, not sent late.
    private func resumeSchedule(_ index: Int, now: UInt64) {
        guard let schedule else { return }
        let due = schedule.due(connection: index, at: now)
        if due > scheduleBase[index] {
            result.unsentWhileDown &+= schedule.count(connection: index, sequences: scheduleBase[index], due,
                                                      meantFor: plan.measureStart, plan.endTime)
            scheduleBase[index] = due
        }
    }

    private func finishConnect(_ index: Int) {
        let code = Socket.pendingError(connections[index].fd)
        guard code == 0 else {
            failConnect(index, ErrorCounts.category(of: code), "connect to \(plan.target) failed: \(String(cString: strerror(code)))")
            return
        }
        connected(index)
    }

    private func connected(_ index: Int) {
        let now = MonotonicClock.now()
        // Every connection counts as established, warm-up included (a long conversation may have
        // opened its only connection before the window); connect-per-request counts its window only.
        if plan.pattern != .connect || plan.measuring(now) { result.connectionsEstablished += 1 }
        everConnected = true
        resuming[index] = false
        // Kept connections are set up before the window, and measured anyway; a connection per
        // conversation (or per request) counts the window's connects only.
        if !datagrams, reuse || plan.measuring(now) { result.connectLatency.record(now - connections[index].opened) }
        // Its close adds its whole TCP_INFO to the window's: what it resent in the warm-up comes off.
        tcpInfo.connected(index, into: &result)
        if result.effectiveOptions == nil {
            result.effectiveOptions = SocketOptionSet.effective(of: connections[index].fd, ipv6: plan.target.family == .ipv6, tcp: !datagrams)
        }
        result.connectionsOpen += 1
        connections[index].state = .active
        connections[index].deadline = 0
        connections[index].deadlineKind = .none
        if streaming {
            beginStream(index, now: now)
            return
        }
        if datagramFlows != nil {
            beginFlow(index)
            return
        }
        try? watch(index, Epoll.readable)
        begin(index, now: now)
    }

    /// An error that ends the connection: counted, closed, and opened again per the reconnect policy.
    func closeWithError(_ index: Int, _ category: ErrorCounts.Category, _ message: @autoclosure () -> String) {
        result.record(category, message())
        closeConnection(index)
        scheduleReconnect(index)
    }

    func failConnect(_ index: Int, _ category: ErrorCounts.Category, _ message: String) {
        result.connectionsFailed += 1
        result.record(category, message)
        closeConnection(index)
        scheduleReconnect(index)
    }

    /// The reconnect policy: a connection lost to an error opens again after the delay, until the end.
    func scheduleReconnect(_ index: Int) {
        resuming[index] = true
        guard let delay = plan.reconnectDelay else { return }
        let now = MonotonicClock.now()
        if plan.running(now + delay) { reopening.push(index, at: now + delay) }
    }

    func closeConnection(_ index: Int) {
        if connections[index].state == .active {
            result.connectionsOpen -= 1
            tcpInfo.closing(connections[index].fd, into: &result)
            if datagramFlows != nil { closeFlow(index) }
        }
        // Open loop: iterations begun on this connection are its schedule's history.
        if reuse { scheduleBase[index] &+= connections[index].begun }
        if connections[index].fd >= 0 {
            epoll.remove(connections[index].fd)
            close(connections[index].fd)
        }
        connections[index].fd = -1
        connections[index].state = .closed
        connections[index].carried = 0
        connections[index].pendingOffset = 0
        connections[index].pendingEnd = 0
        connections[index].begun = 0
        connections[index].due = 0
        connections[index].deadline = 0
        connections[index].deadlineKind = .none
    }

    func watch(_ index: Int, _ events: UInt32, adding: Bool = false) throws(SocketError) {
        if adding {
            try epoll.add(connections[index].fd, events: events, data: UInt64(index))
        } else if connections[index].interest != events {
            try epoll.modify(connections[index].fd, events: events, data: UInt64(index))
        }
        connections[index].interest = events
    }

    // MARK: Deadlines and failures

    /// Ends waits that are over, starts open-loop iterations that fell due, and fails expects and
    /// connects that took too long. Returns the connections still open and the earliest deadline ahead.
    private func scanDeadlines(_ now: UInt64) -> (open: Int, wake: UInt64, awaited: UInt64) {
        var open = 0
        var wake = UInt64.max
        var awaited: UInt64 = 0
        for index in 0..<count where connections[index].state != .closed {
            if datagramFlows != nil {
                awaited += expireFlow(index, now: now)
                if connections[index].state == .active { open += 1 }
                continue
            }
            if connections[index].due != 0, now >= connections[index].due, connections[index].state == .active {
                connections[index].due = 0
                resume(index, now: now)
            }
            let deadline = connections[index].deadline
            if deadline != 0, now >= deadline, connections[index].state != .closed {
                switch connections[index].deadlineKind {
                case .connect:
                    failConnect(index, .timeout, "connect to \(plan.target) timed out after \(Quantity.formatDuration(plan.connectTimeout))")
                case .pause:
                    connections[index].deadline = 0
                    connections[index].deadlineKind = .none
                    nextStep(index, now: now)
                    resume(index, now: now)
                case .expect:
                    if datagrams {
                        lost(index, now: now)
                    } else if echo {
                        closeWithError(index, .timeout, "no answer within \(Quantity.formatDuration(plan.requestTimeout))")
                    } else {
                        mismatch(index, detail: "nothing matching within \(Quantity.formatDuration(plan.requestTimeout))", got: nil)
                    }
                case .none:
                    connections[index].deadline = 0
                }
            }
            if streaming, streamStalled(index, now: now) { continue }
            guard connections[index].state != .closed else { continue }
            open += 1
            if connections[index].deadline != 0 { wake = min(wake, connections[index].deadline) }
            if connections[index].due != 0 { wake = min(wake, connections[index].due) }
        }
        return (open, wake, awaited)
    }

    /// A step got something else: a `protocol` error with the bytes that arrived (escaped, the
    /// first 64), kept in words for the first few; TCP: the conversation starts over on a new
    /// connection; UDP: the next iteration starts on the same socket.
    func mismatch(_ index: Int, detail: String, got: UnsafeRawBufferPointer?) {
        if echo {
            // A raw echo load: the bytes are not the answer sent for; no step to name.
            closeWithError(index, .integrity, detail)
            return
        }
        let step = min(connections[index].step, stepCount - 1)
        var message = program.describe(step) + ": "
        if let got, got.count > 0 {
            message += "got \(ByteText.quote(got.bindMemory(to: UInt8.self)))\(got.count > 64 ? " (\(got.count) bytes)" : ""); "
        } else if got != nil {
            message += "got nothing; "
        }
        message += detail
        result.record(.protocol, message)
        if result.protocolMismatches.count < WorkerResult.keptMismatches { result.protocolMismatches.append(message) }
        if datagrams {
            if connections[index].awaiting { result.udp.damaged &+= 1 }
            abandonIteration(index, now: MonotonicClock.now())
            return
        }
        closeConnection(index)
        scheduleReconnect(index)
    }

    func fail(_ index: Int, _ code: Int32) {
        if code == ECONNRESET || code == EPIPE, !echo, closedBetweenRequests(index) {
            reopenKeptAlive(index, now: MonotonicClock.now())
            return
        }
        closeWithError(index, ErrorCounts.category(of: code), "connection to \(plan.target): \(String(cString: strerror(code)))")
    }
}
