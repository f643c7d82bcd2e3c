import CSockBenchLinux
import Glibc

/// The steps: iterations begun on schedule, sends rendered and written, arriving bytes fed to
/// the expectations in order, answers timed. An iteration belongs to the measured window when it
/// starts in it (open loop: when it was scheduled to), as a request-response message does; its
/// steps and its answer count with it.
extension ConnectionEngine {
    /// Where iteration `iteration` of connection `index` keeps its step times in the ring.
    @inline(__always)
    func ring(_ index: Int, _ iteration: UInt64) -> UnsafeMutablePointer<UInt64> {
        times + (index * ringSize + Int(truncatingIfNeeded: iteration) & (ringSize - 1)) * timesPerIteration
    }

    /// A connection just opened: its first iteration (or its pipeline) starts.
    func begin(_ index: Int, now: UInt64) {
        advance(index, now: now, input: nil)
    }

    /// Carries on after a pause, a due schedule or a lost datagram, with what the carry holds.
    func resume(_ index: Int, now: UInt64) {
        guard connections[index].state == .active else { return }
        advance(index, now: now, input: nil)
    }

    /// Depth 1: starts the next iteration if it is due; false when it waits for its schedule.
    private func startIteration(_ index: Int, now: UInt64) -> Bool {
        let connection = connections + index
        // Think time: the next request waits; the wait is no part of its latency.
        if connection.pointee.notBefore > now {
            connection.pointee.due = connection.pointee.notBefore
            return false
        }
        var scheduled = reuse ? now : connection.pointee.opened
        if let schedule {
            let sequence = scheduleBase[index] &+ connection.pointee.begun
            let intended = schedule.intended(connection: index, sequence: sequence)
            // Due by the count the run loop's `visitDue` uses, so a visit always starts it (the
            // intended time, in floating point, can come out a nanosecond after the visit).
            if schedule.due(connection: index, at: now) <= sequence {
                connection.pointee.due = max(intended, now + 1)
                return false
            }
            scheduled = min(intended, now)
            if plan.measuring(intended) { result.sendLag.record(now &- scheduled) }
        }
        guard plan.running(now) else { return false }
        let slot = ring(index, connection.pointee.begun)
        slot[stepCount] = scheduled
        slot[stepCount + 1] = reuse ? now : connection.pointee.opened
        slot[0] = now
        connection.pointee.begun += 1
        slotSequence[index] &+= 1
        connection.pointee.step = 0
        connection.pointee.sent = false
        connection.pointee.progress = ExpectProgress()
        connection.pointee.heard = false
        if plan.measuring(scheduled) {
            result.messagesSent &+= 1
            sentInWindow[index] = true
        }
        if result.peakInFlight == 0 { result.peakInFlight = 1 }
        return true
    }

    /// Pipelined: renders the sends of every iteration that may go now (fewer than `depth` in
    /// flight, due on the schedule) into one buffer and writes it with one `send`.
    private func fillPipeline(_ index: Int, now: UInt64) {
        let connection = connections + index
        guard connection.pointee.pendingEnd == connection.pointee.pendingOffset else { return }
        var length = 0
        while connection.pointee.begun - connection.pointee.iteration < UInt64(depth), plan.running(now),
              length + program.iterationBytes <= sendBufferCapacity {
            var scheduled = now
            if let schedule {
                let sequence = scheduleBase[index] &+ connection.pointee.begun
                let intended = schedule.intended(connection: index, sequence: sequence)
                if schedule.due(connection: index, at: now) <= sequence {
                    connection.pointee.due = max(intended, now + 1)
                    break
                }
                scheduled = min(intended, now)
                if plan.measuring(intended) { result.sendLag.record(now &- scheduled) }
            }
            let slot = ring(index, connection.pointee.begun)
            slot[stepCount] = scheduled
            slot[stepCount + 1] = now
            let sequence = slotSequence[index]
            for position in 0..<stepCount {
                slot[position] = now
                length += render(position, at: sendBuffer + length, index, sequence: sequence)
            }
            connection.pointee.begun += 1
            slotSequence[index] &+= 1
            if plan.measuring(scheduled) {
                result.messagesSent &+= 1
                sentInWindow[index] = true
            }
            // One send per iteration when the scenario asks for small writes (the case Nagle coalesces).
            if !plan.batchWrites {
                guard write(index, length, now: now) else { return }
                length = 0
                if connection.pointee.pendingEnd > connection.pointee.pendingOffset { break }
            }
        }
        let inFlight = connection.pointee.begun - connection.pointee.iteration
        if inFlight > result.peakInFlight { result.peakInFlight = inFlight }
        if length > 0 { _ = write(index, length, now: now) }
    }

    /// Plays steps until one has to wait for bytes, the clock or the socket; feeds `input` (bytes
    /// just read into the worker's buffer) or, when nil, what the connection's carry holds.
    /// Returns how many bytes of `input` were consumed; the caller carries the rest.
    @discardableResult
    func advance(_ index: Int, now: UInt64, input: UnsafeRawBufferPointer?) -> Int {
        let connection = connections + index
        let generation = connection.pointee.generation
        let fromCarry = input == nil
        var view = input ?? UnsafeRawBufferPointer(start: connection.pointee.carry, count: connection.pointee.carried)
        var consumed = 0
        guard !program.steps.isEmpty else {
            // Idle, without pings: nothing is asked, so any byte is one the server should not have sent.
            if view.count > 0 { mismatch(index, detail: "the server sent \(view.count) bytes on an idle connection", got: view) }
            return view.count
        }
        // Pipelined: the sender tops up the iterations in flight before the receiver reads.
        if depth > 1 { fillPipeline(index, now: now) }
        steps: while connection.pointee.state == .active, connection.pointee.generation == generation {
            if connection.pointee.iteration >= connection.pointee.begun {
                if depth == 1, startIteration(index, now: now) { continue }
                // Nothing is owed (the next iteration waits for its schedule): bytes now answer
                // no request, and taken as the next answer they would time it from before its send.
                if !datagrams, view.count > consumed, plan.running(now) {
                    let extra = UnsafeRawBufferPointer(rebasing: view[consumed...])
                    mismatch(index, detail: "\(extra.count) bytes arrived with no request outstanding (an answer nobody asked for)", got: extra)
                    return view.count
                }
                break
            }
            let position = connection.pointee.step
            if position == stepCount {
                completeIteration(index, now: now)
                continue
            }
            let step = shapes[position]
            if let wait = step.wait {
                if connection.pointee.deadlineKind != .pause {
                    connection.pointee.deadline = now + wait
                    connection.pointee.deadlineKind = .pause
                    if now + wait < nextScan { nextScan = now + wait }
                }
                break
            }
            if step.close {
                completeIteration(index, now: now, closing: true)
                break
            }
            if depth == 1, step.sends, !connection.pointee.sent {
                // Bytes read before this send cannot answer it: the answer before took fewer bytes
                // than the server sent (a framing that stops short) or the server answered twice.
                if !datagrams, view.count > consumed {
                    let early = UnsafeRawBufferPointer(rebasing: view[consumed...])
                    mismatch(index, detail: "\(early.count) bytes arrived before this step's send: the answer before was longer than its expect took, or the server answered twice", got: early)
                    return view.count
                }
                connection.pointee.sent = true
                ring(index, connection.pointee.iteration)[position] = now
                let length = render(position, at: sendBuffer, index, sequence: slotSequence[index] &- 1)
                guard write(index, length, now: now) else { break }
            }
            guard step.expects else {
                nextStep(index, now: now)
                continue
            }
            if connection.pointee.deadlineKind != .expect {
                // Pipelined: the answer is owed from its send, which went out ahead of this moment.
                let owedSince = depth > 1 ? ring(index, connection.pointee.iteration)[position] : now
                connection.pointee.deadline = owedSince + (datagrams ? plan.udpLossTimeout : plan.requestTimeout)
                connection.pointee.deadlineKind = .expect
                if datagrams, plan.measuring(now) {
                    result.udp.sent &+= 1
                    connection.pointee.awaiting = true
                }
            }
            let remaining = UnsafeRawBufferPointer(rebasing: view[consumed...])
            guard !remaining.isEmpty else { break }
            // The iteration's sequence number, which an echo answer carries.
            let sequence = slotSequence[index] &- (connection.pointee.begun &- connection.pointee.iteration)
            let (taken, status) = step.echo > 0
                ? ExpectMatcher.feedEcho(filler, size: step.echo, verify: step.verify, remaining, &connection.pointee.progress, sequence: sequence)
                : ExpectMatcher.feed(program.steps[position].expect!, remaining, &connection.pointee.progress,
                                     maximum: plan.maxMessageSize, whole: datagrams, sequence: sequence)
            switch status {
            case .complete where datagrams && taken < remaining.count:
                mismatch(index, detail: "\(remaining.count - taken) bytes follow the expected message in the datagram", got: remaining)
                return view.count
            case .complete:
                consumed += taken
                answered(index, now: now)
                if datagrams {
                    // One datagram answers one step; the next step waits for the next datagram.
                    view = UnsafeRawBufferPointer(start: nil, count: 0)
                    consumed = 0
                }
                nextStep(index, now: now)
            case .needMore where datagrams:
                mismatch(index, detail: "the datagram ended before the expected message", got: remaining)
                return view.count
            case .needMore:
                // Everything `expect` could take is taken; what is left (an open regex or
                // delimiter) waits in the carry for more bytes.
                consumed += taken
                break steps
            case .mismatch(let why):
                mismatch(index, detail: why, got: remaining)
                return view.count
            }
        }
        // Pipelined: answers read here freed room in flight; their successors go out in one send.
        if depth > 1, connection.pointee.generation == generation, connection.pointee.state == .active { fillPipeline(index, now: now) }
        guard fromCarry, connection.pointee.generation == generation, connection.pointee.state == .active else { return consumed }
        if consumed > 0 {
            let left = connection.pointee.carried - consumed
            if left > 0 { connection.pointee.carry!.copyMemory(from: connection.pointee.carry! + consumed, byteCount: left) }
            connection.pointee.carried = left
        }
        return consumed
    }

    /// Renders step `position`'s send for connection `index` at `buffer`; the bytes written (0: no send).
    @inline(__always)
    private func render(_ position: Int, at buffer: UnsafeMutableRawPointer, _ index: Int, sequence: UInt64) -> Int {
        let shape = shapes[position]
        guard shape.sends else { return 0 }
        if fillerPrefilled {
            Payload.writeSequence(sequence, into: buffer, size: shape.filler)
            return shape.filler
        }
        return TemplateRenderer.render(program.steps[position].send!, into: buffer, connection: firstConnection + index,
                                       sequence: sequence, random: &random[index])
    }

    /// The step is done: the next one begins (and, without a send of its own, is timed from now).
    func nextStep(_ index: Int, now: UInt64) {
        let connection = connections + index
        connection.pointee.step += 1
        connection.pointee.sent = false
        connection.pointee.progress = ExpectProgress()
        connection.pointee.deadline = 0
        connection.pointee.deadlineKind = .none
        if connection.pointee.step < stepCount, !shapes[connection.pointee.step].sends {
            ring(index, connection.pointee.iteration)[connection.pointee.step] = now
        }
    }

    /// A step's expectation was met: a named step records its latency.
    private func answered(_ index: Int, now: UInt64) {
        let connection = connections + index
        let position = connection.pointee.step
        let slot = ring(index, connection.pointee.iteration)
        let scheduled = slot[stepCount]
        if datagrams, connection.pointee.awaiting {
            result.udp.received &+= 1
            connection.pointee.awaiting = false
        }
        let target = shapes[position].result
        guard target >= 0 else { return }
        guard plan.measuring(scheduled) else { return }
        let started = slot[position]
        let corrected = schedule != nil && position == program.firstSend ? min(scheduled, started) : started
        result.steps[target].latency.record(now &- corrected)
        result.steps[target].latencyUncorrected.record(now &- started)
        result.requests &+= 1
    }

    /// The iteration reached its end (or a close step): record it; the next iteration starts on
    /// the same connection, or (one conversation per connection) the connection closes and reopens.
    private func completeIteration(_ index: Int, now: UInt64, closing: Bool = false) {
        let connection = connections + index
        let slot = ring(index, connection.pointee.iteration)
        let scheduled = slot[stepCount]
        let started = slot[stepCount + 1]
        // Closed loop: an answer counts inside the window only (its bytes are counted there too);
        // open loop: every iteration meant for the window counts, late answers included.
        if plan.measuring(scheduled), schedule != nil || plan.measuring(now) {
            result.latency.record(now &- scheduled)
            intervals.slot.pointee.latency.record(now &- scheduled)
            if schedule != nil {
                result.latencyUncorrected.record(now &- started)
                intervals.slot.pointee.uncorrected.record(now &- started)
            }
            result.messagesReceived &+= 1
            exchanged[index] = true
        }
        connection.pointee.iteration += 1
        connection.pointee.step = 0
        connection.pointee.sent = false
        connection.pointee.progress = ExpectProgress()
        connection.pointee.deadline = 0
        connection.pointee.deadlineKind = .none
        if plan.thinkTime > 0 {
            connection.pointee.notBefore = now + plan.thinkTime
            thinking.push(index, at: connection.pointee.notBefore)
        }
        guard !reuse || closing, !datagrams else { return }
        closeConnection(index)
        if plan.running(now) { open(index) }
    }

    /// UDP: the answer did not come within the loss timeout; the iteration is given up (the
    /// loss shows in the datagram counts) and the next one starts.
    func lost(_ index: Int, now: UInt64) {
        abandonIteration(index, now: now)
        resume(index, now: now)
    }

    /// UDP: drops the iteration under way; the next one starts at the next scan.
    func abandonIteration(_ index: Int, now: UInt64) {
        let connection = connections + index
        connection.pointee.awaiting = false
        connection.pointee.iteration = connection.pointee.begun
        connection.pointee.step = 0
        connection.pointee.sent = false
        connection.pointee.progress = ExpectProgress()
        connection.pointee.deadline = 0
        connection.pointee.deadlineKind = .none
        connection.pointee.carried = 0
        dueAt(index, max(now, 1))
    }

    /// The next iteration of connection `index` waits until `time` (a lost datagram's
    /// successor); the next deadline scan, brought forward to then, starts it. (The schedule's
    /// slots and think times have their own wake-ups in the run loop.)
    @inline(__always)
    func dueAt(_ index: Int, _ time: UInt64) {
        connections[index].due = time
        if time < nextScan { nextScan = time }
    }

    // MARK: Sockets

    /// Writes `length` bytes rendered in the send buffer, or queues them behind bytes still
    /// pending; false when the connection failed.
    func write(_ index: Int, _ length: Int, now: UInt64) -> Bool {
        let connection = connections + index
        if connection.pointee.pendingEnd > connection.pointee.pendingOffset {
            keepPending(index, from: sendBuffer, length)
            return true
        }
        let sent = Glibc.send(connection.pointee.fd, sendBuffer, length, Int32(MSG_NOSIGNAL))
        if sent < 0 {
            guard errno == EAGAIN || errno == EINTR else {
                fail(index, errno)
                return false
            }
            keepPending(index, from: sendBuffer, length)
            return true
        }
        if plan.measuring(now) { result.bytesSent &+= UInt64(sent) }
        if sent < length { keepPending(index, from: sendBuffer + sent, length - sent) }
        return true
    }

    /// Copies unsent bytes into the connection's pending buffer (grown the first times only)
    /// and asks for writability.
    private func keepPending(_ index: Int, from bytes: UnsafeRawPointer, _ length: Int) {
        let connection = connections + index
        let held = connection.pointee.pendingEnd - connection.pointee.pendingOffset
        if connection.pointee.pendingOffset > 0, held > 0 {
            connection.pointee.pending!.copyMemory(from: connection.pointee.pending! + connection.pointee.pendingOffset, byteCount: held)
        }
        connection.pointee.pendingOffset = 0
        connection.pointee.pendingEnd = held
        Self.grow(&connection.pointee.pending, &connection.pointee.pendingCapacity, toHold: held + length, keeping: held)
        (connection.pointee.pending! + held).copyMemory(from: bytes, byteCount: length)
        connection.pointee.pendingEnd = held + length
        try? watch(index, Epoll.readable | Epoll.writable)
    }

    /// Sends what is pending; true when nothing is left.
    private func flush(_ index: Int, now: UInt64) -> Bool {
        let connection = connections + index
        while connection.pointee.pendingEnd > connection.pointee.pendingOffset {
            let length = connection.pointee.pendingEnd - connection.pointee.pendingOffset
            let sent = Glibc.send(connection.pointee.fd, connection.pointee.pending! + connection.pointee.pendingOffset, length, Int32(MSG_NOSIGNAL))
            if sent < 0 {
                if errno != EAGAIN, errno != EINTR { fail(index, errno) }
                return false
            }
            if plan.measuring(now) { result.bytesSent &+= UInt64(sent) }
            connection.pointee.pendingOffset += sent
        }
        connection.pointee.pendingOffset = 0
        connection.pointee.pendingEnd = 0
        try? watch(index, Epoll.readable)
        return true
    }

    /// An epoll event on an open connection: flush what is pending, read what arrived.
    func service(_ index: Int, flags: UInt32) {
        if streaming {
            serviceStream(index, flags: flags)
            return
        }
        if datagramFlows != nil {
            serviceFlow(index, flags: flags)
            return
        }
        let now = MonotonicClock.now()
        let connection = connections + index
        let generation = connection.pointee.generation
        if flags & Epoll.writable != 0 {
            if flush(index, now: now), depth > 1 { advance(index, now: now, input: nil) }
            // A send still blocked must not keep the answers unread: the server may be blocked
            // sending them, waiting for this side to read (a deadlock with large messages).
            guard connection.pointee.state == .active, connection.pointee.generation == generation else { return }
        }
        guard flags & (Epoll.readable | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 else { return }
        // A few reads per event, so one busy connection cannot starve the others.
        for _ in 0..<4 {
            guard connection.pointee.state == .active, connection.pointee.generation == generation else { return }
            let intoCarry = connection.pointee.carried > 0 && !datagrams
            if intoCarry {
                guard connection.pointee.carried < carryLimit else {
                    tooMuchAhead(index, UnsafeRawBufferPointer(start: connection.pointee.carry, count: connection.pointee.carried))
                    return
                }
                growCarry(index, toHold: min(connection.pointee.carried + 16 << 10, carryLimit))
            }
            let target = intoCarry ? connection.pointee.carry! + connection.pointee.carried : buffer
            let room = intoCarry ? connection.pointee.carryCapacity - connection.pointee.carried : bufferCapacity
            let received = recv(connection.pointee.fd, target, room, 0)
            if received < 0 {
                if errno != EAGAIN, errno != EINTR { fail(index, errno) }
                return
            }
            if received == 0 {
                if datagrams { continue }
                serverClosed(index, now: now)
                return
            }
            if plan.measuring(now) { result.bytesReceived &+= UInt64(received) }
            connection.pointee.heard = true
            if intoCarry {
                connection.pointee.carried += received
                advance(index, now: now, input: nil)
            } else {
                let input = UnsafeRawBufferPointer(start: buffer, count: received)
                let consumed = advance(index, now: now, input: input)
                if !datagrams, consumed < received, connection.pointee.state == .active, connection.pointee.generation == generation {
                    carry(index, UnsafeRawBufferPointer(rebasing: input[consumed...]))
                }
            }
            if received < room { return }
        }
    }

    /// Keeps bytes no step could take yet; more than the maximum message size is a protocol error.
    private func carry(_ index: Int, _ bytes: UnsafeRawBufferPointer) {
        let connection = connections + index
        guard connection.pointee.carried + bytes.count <= carryLimit else {
            tooMuchAhead(index, bytes)
            return
        }
        growCarry(index, toHold: connection.pointee.carried + bytes.count)
        (connection.pointee.carry! + connection.pointee.carried).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        connection.pointee.carried += bytes.count
    }

    /// The most bytes a connection holds for steps that cannot take them yet: the maximum
    /// message size, plus a read's worth of what follows it.
    var carryLimit: Int { plan.maxMessageSize + bufferCapacity }

    private func tooMuchAhead(_ index: Int, _ bytes: UnsafeRawBufferPointer) {
        mismatch(index, detail: "more than \(plan.maxMessageSize) bytes arrived that no step could take yet (load.max_message_size)", got: bytes)
    }

    private func growCarry(_ index: Int, toHold wanted: Int) {
        let connection = connections + index
        Self.grow(&connection.pointee.carry, &connection.pointee.carryCapacity, toHold: wanted, keeping: connection.pointee.carried)
    }

    /// Grows a connection's buffer (carry or pending) to hold `wanted` bytes, doubling and at
    /// least 4 KiB, keeping its first `kept` bytes. Off the steady path: a buffer grows only the
    /// first times a connection needs it, then is reused.
    static func grow(_ buffer: inout UnsafeMutableRawPointer?, _ capacity: inout Int, toHold wanted: Int, keeping kept: Int) {
        guard wanted > capacity else { return }
        let larger = max(max(wanted, capacity * 2), 4096)
        let grown = UnsafeMutableRawPointer.allocate(byteCount: larger, alignment: 16)
        if kept > 0 { grown.copyMemory(from: buffer!, byteCount: kept) }
        buffer?.deallocate()
        buffer = grown
        capacity = larger
    }

    /// True when a kept-alive connection ended after answering at least one iteration and
    /// before any byte of the next answer: the next request may have gone out as the server
    /// decided to close (nginx's keepalive_requests, `Connection: close`). HTTP clients retry
    /// such a request on a new connection (RFC 9112, 9.3.1); so does this worker, without an error.
    func closedBetweenRequests(_ index: Int) -> Bool {
        let connection = connections[index]
        return reuse && !datagrams && depth == 1 && connection.iteration > 0 && connection.iteration + 1 == connection.begun
            && connection.step == 0 && !connection.heard && connection.carried == 0
    }

    /// Opens the connection again at once and plays the iteration afresh (a reconnect, not an error).
    func reopenKeptAlive(_ index: Int, now: UInt64) {
        closeConnection(index)
        result.reconnects += 1
        if plan.running(now) { open(index) }
    }

    /// The server closed its side. Expected (an `expect_close` step): the conversation ends
    /// there. With nothing owed (between iterations of a kept-alive connection, as a server
    /// that limits requests per connection does): reopen. Else a `closed` error.
    private func serverClosed(_ index: Int, now: UInt64) {
        let connection = connections + index
        let inProgress = connection.pointee.iteration < connection.pointee.begun
        let position = connection.pointee.step
        if echo {
            // A raw echo load: any close of the server's is one, with what it still owed.
            let owed = connection.pointee.begun - connection.pointee.iteration
            let partial = connection.pointee.progress.done > 0 ? " in the middle of an answer" : ""
            closeWithError(index, .closed, owed > 0
                ? "the server closed a connection\(partial) with \(owed) answer\(owed == 1 ? "" : "s") owed"
                : "the server closed a connection")
            return
        }
        if inProgress, position < stepCount, case .close? = program.steps[position].expect, connection.pointee.carried == 0 {
            answered(index, now: now)
            nextStep(index, now: now)
            completeIteration(index, now: now, closing: true)
            return
        }
        let owed = inProgress && (depth > 1 || position > 0 || connection.pointee.sent || connection.pointee.carried > 0)
        // Nothing owed yet: only a kept-alive connection that already answered may close cleanly.
        let clean = !owed && reuse && connection.pointee.iteration > 0
        guard !clean, !closedBetweenRequests(index) else {
            reopenKeptAlive(index, now: now)
            return
        }
        let carried = UnsafeRawBufferPointer(start: connection.pointee.carry, count: connection.pointee.carried)
        let message = "\(program.describe(min(position, stepCount - 1))): the server closed the connection"
            + (carried.isEmpty ? "" : " after \(ByteText.quote(carried.bindMemory(to: UInt8.self)))")
        result.record(.closed, message)
        if result.protocolMismatches.count < WorkerResult.keptMismatches { result.protocolMismatches.append(message) }
        closeConnection(index)
        scheduleReconnect(index)
    }
}
