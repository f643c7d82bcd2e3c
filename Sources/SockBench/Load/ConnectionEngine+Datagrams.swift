import CSockBenchLinux
import Glibc

/// UDP's filler loads on the engine (`DatagramFlows`): request-response keeps up to `depth`
/// datagrams in flight per socket and matches answers by sequence number, in any order; a
/// stream sends batches of datagrams with one sendmmsg into a sink. A datagram unanswered for
/// `udpLossTimeout` frees its in-flight slot; it counts as lost only if its echo never arrives
/// before the run ends (after the window, the loop waits up to the loss timeout for echoes in
/// flight). An answer that arrives damaged (merged with others, truncated, garbled) is an
/// integrity error, and each sequence number it still carries counts as answered-but-damaged
/// rather than lost. A UDP socket that fails is not opened again.
extension ConnectionEngine {
    @inline(__always)
    private var sequenced: DatagramFlows { datagramFlows.unsafelyUnwrapped }

    /// A socket just opened (connected at once): ask for the host's drop counter and start sending.
    func beginFlow(_ index: Int) {
        // Without it the loss has no host-side witness; the run goes on either way.
        _ = CSockBenchLinux_enable_rxq_overflow(connections[index].fd)
        setWriteInterest(index, true)
    }

    @inline(__always)
    func serviceFlow(_ index: Int, flags: UInt32) {
        if flags & (Epoll.readable | EPOLLERR.rawValue) != 0 { receiveDatagrams(index) }
        if connections[index].state == .active, flags & Epoll.writable != 0 { sendDatagrams(index) }
    }

    /// Sends while the in-flight window has room (request-response) or the socket takes more (stream).
    func sendDatagrams(_ index: Int) {
        let state = sequenced
        guard state.echoes else {
            sendBatches(index)
            return
        }
        let flow = state.flows + index
        let size = plan.messageSize
        let depth = UInt64(plan.depth)
        for _ in 0..<64 {
            let now = MonotonicClock.now()
            if now >= plan.endTime || flow.pointee.sendSequence - flow.pointee.oldestOutstanding >= depth
                || (schedule.map { $0.due(connection: index, at: now) <= flow.pointee.sendSequence } ?? false) {
                if wantsWrite(index) { setWriteInterest(index, false) }
                return
            }
            let sequence = flow.pointee.sendSequence
            Payload.writeUInt64(sequence, state.datagram, at: 0)
            Payload.writeUInt64(now, state.datagram, at: Payload.timestampOffset)
            if Glibc.send(connections[index].fd, state.datagram, size, 0) < 0 {
                sendFailed(index)
                return
            }
            let slot = state.slot(index, sequence)
            state.sendTimes[slot] = now
            state.slots[slot] = .outstanding
            flow.pointee.sendSequence = sequence + 1
            if sequence + 1 - flow.pointee.oldestOutstanding > result.peakInFlight {
                result.peakInFlight = sequence + 1 - flow.pointee.oldestOutstanding
            }
            countSent(index, sequence: sequence, now: now)
        }
    }

    /// Streams: up to 4 sendmmsg calls of `batchSize` datagrams (fewer when the schedule says so).
    private func sendBatches(_ index: Int) {
        let state = sequenced
        let flow = state.flows + index
        let size = plan.messageSize
        for _ in 0..<4 {
            let now = MonotonicClock.now()
            var count = DatagramFlows.batchSize
            if let schedule {
                let due = schedule.due(connection: index, at: now)
                count = due > flow.pointee.sendSequence ? min(count, Int(due - flow.pointee.sendSequence)) : 0
            }
            if now >= plan.endTime || count == 0 {
                if wantsWrite(index) { setWriteInterest(index, false) }
                return
            }
            let first = flow.pointee.sendSequence
            for k in 0..<count {
                Payload.writeUInt64(first + UInt64(k), state.batch + k * size, at: 0)
                Payload.writeUInt64(now, state.batch + k * size, at: Payload.timestampOffset)
            }
            let sent = Int(CSockBenchLinux_sendmmsg(connections[index].fd, state.batchMessages, UInt32(count), 0))
            if sent < 0 {
                sendFailed(index)
                return
            }
            flow.pointee.sendSequence = first + UInt64(sent)
            for k in 0..<sent { countSent(index, sequence: first + UInt64(k), now: now) }
            if sent < count {
                if !wantsWrite(index) { setWriteInterest(index, true) }
                return
            }
        }
    }

    /// Accounts for one datagram handed to the kernel at `now`.
    @inline(__always)
    private func countSent(_ index: Int, sequence: UInt64, now: UInt64) {
        result.udp.sentIncludingWarmup &+= 1
        guard result.countSend(at: now, intended: schedule?.intended(connection: index, sequence: sequence), in: plan) else { return }
        result.udp.sent &+= 1
        result.messagesSent &+= 1
        if !sequenced.echoes { exchanged[index] = true }
        result.bytesSent &+= UInt64(plan.messageSize)
    }

    /// A send that failed: a full socket waits for writability, anything else ends the flow.
    private func sendFailed(_ index: Int) {
        let code = errno
        if code == EAGAIN || code == ENOBUFS || code == EINTR {
            if !wantsWrite(index) { setWriteInterest(index, true) }
        } else {
            failFlow(index, code)
        }
    }

    /// Reads every datagram waiting on the socket and accounts for each by its sequence number.
    private func receiveDatagrams(_ index: Int) {
        let state = sequenced
        let flow = state.flows + index
        let size = plan.messageSize
        for _ in 0..<64 {
            state.receiveMessage.pointee.msg_controllen = DatagramFlows.controlSize
            state.receiveMessage.pointee.msg_flags = 0
            let received = recvmsg(connections[index].fd, state.receiveMessage, Int32(MSG_DONTWAIT))
            if received < 0 {
                let code = errno
                if code != EAGAIN && code != EINTR { failFlow(index, code) }
                break
            }
            let now = MonotonicClock.now()
            noteDrops(index, now: now)
            guard received == size,
                  memcmp(state.receiveBuffer + 16, state.template + 16, size - 16) == 0 else {
                receiveDamaged(index, length: received)
                continue
            }
            let sequence = Payload.readUInt64(state.receiveBuffer, at: 0)
            let sentAt = Payload.readUInt64(state.receiveBuffer, at: Payload.timestampOffset)
            guard sequence < flow.pointee.sendSequence else {
                result.record(.integrity, "a datagram with a sequence number never sent")
                continue
            }
            // Older than the ring remembers: too late to classify; ignore it.
            guard flow.pointee.sendSequence - sequence <= UInt64(state.ringSize) else { continue }
            let slot = state.slot(index, sequence)
            guard state.sendTimes[slot] == sentAt else {
                result.record(.integrity, "a datagram's timestamp differs from its send time")
                continue
            }
            let intended = schedule?.intended(connection: index, sequence: sequence) ?? sentAt
            let inWindow = plan.measuring(intended)
            if state.slots[slot] == .answered || state.slots[slot] == .damaged {
                if inWindow { result.udp.duplicated &+= 1 }
                continue
            }
            state.slots[slot] = .answered
            if flow.pointee.anyReceived, sequence < flow.pointee.highestReceived {
                if inWindow { result.udp.reordered &+= 1 }
            } else {
                flow.pointee.highestReceived = sequence
            }
            // RFC 3550 section 6.4.1: J += (|D| - J) / 16, with the round trip as the transit time.
            let transit = Int64(bitPattern: now &- sentAt)
            if flow.pointee.anyReceived {
                let difference = Double(abs(transit - flow.pointee.previousTransit))
                flow.pointee.jitter += (difference - flow.pointee.jitter) / 16
            }
            flow.pointee.previousTransit = transit
            flow.pointee.anyReceived = true
            if inWindow {
                exchanged[index] = true
                result.udp.received &+= 1
                result.messagesReceived &+= 1
                result.bytesReceived &+= UInt64(received)
                result.latency.record(now &- intended)
                intervals.slot.pointee.latency.record(now &- intended)
                if schedule != nil {
                    result.latencyUncorrected.record(now &- sentAt)
                    intervals.slot.pointee.uncorrected.record(now &- sentAt)
                }
            }
        }
        guard connections[index].state == .active else { return }
        advanceOldest(index)
        // sendDatagrams itself stops at the end of the run.
        if state.echoes, !wantsWrite(index) { sendDatagrams(index) }
    }

    /// Reads the socket's drop counter from the datagram just received (absent: nothing dropped yet).
    @inline(__always)
    private func noteDrops(_ index: Int, now: UInt64) {
        let state = sequenced
        let drops = CSockBenchLinux_rxq_overflow(state.receiveMessage)
        if drops >= 0 { state.flows[index].rxqDrops = UInt64(drops) }
        if now < plan.measureStart { state.flows[index].rxqDropsBeforeWindow = state.flows[index].rxqDrops }
    }

    /// A datagram of `length` bytes (in the receive buffer) that is not one clean answer: one
    /// integrity error. A peer that relays datagrams through a stream (`socat ... PIPE`) joins k
    /// answers into one datagram of k × size bytes, with sequence numbers at 0, size, 2·size...;
    /// a truncated one still carries the first. Each sequence number accepted (sent, within the
    /// ring, not answered yet, and the timestamp bytes present equal to its send time) is
    /// answered-but-damaged, not lost.
    private func receiveDamaged(_ index: Int, length: Int) {
        let state = sequenced
        let flow = state.flows + index
        let size = plan.messageSize
        var recovered = 0
        var offset = 0
        while offset + Payload.sequenceBytes <= length {
            let sequence = Payload.readUInt64(state.receiveBuffer + offset, at: 0)
            if sequence < flow.pointee.sendSequence, flow.pointee.sendSequence - sequence <= UInt64(state.ringSize) {
                let slot = state.slot(index, sequence)
                let timestampBytes = min(8, min(size, length - offset) - Payload.timestampOffset)
                if state.slots[slot] == .outstanding || state.slots[slot] == .givenUp,
                   DatagramFlows.matches(state.sendTimes[slot], state.receiveBuffer + offset + Payload.timestampOffset, bytes: timestampBytes) {
                    state.slots[slot] = .damaged
                    recovered += 1
                    let intended = schedule?.intended(connection: index, sequence: sequence) ?? state.sendTimes[slot]
                    if plan.measuring(intended) { result.udp.damaged &+= 1 }
                }
            }
            offset += size
        }
        result.record(.integrity, DatagramFlows.damageDescription(length: length, size: size, recovered: recovered))
        advanceOldest(index)
    }

    /// Moves a flow's window past answered and given-up datagrams.
    @inline(__always)
    private func advanceOldest(_ index: Int) {
        let state = sequenced
        let flow = state.flows + index
        while flow.pointee.oldestOutstanding < flow.pointee.sendSequence,
              state.slots[state.slot(index, flow.pointee.oldestOutstanding)] != .outstanding {
            flow.pointee.oldestOutstanding += 1
        }
    }

    /// From the deadline scan: gives up on datagrams older than the loss timeout so their slots
    /// can be reused, and sends on where the window has room again. Returns how many are awaited.
    func expireFlow(_ index: Int, now: UInt64) -> UInt64 {
        let state = sequenced
        guard state.echoes else { return 0 }
        let flow = state.flows + index
        while flow.pointee.oldestOutstanding < flow.pointee.sendSequence {
            let slot = state.slot(index, flow.pointee.oldestOutstanding)
            // `now` is the scan's: a datagram sent since (the schedule's visit) is younger, not overdue.
            let sentAt = state.sendTimes[slot]
            guard state.slots[slot] == .outstanding, now > sentAt, now - sentAt > plan.udpLossTimeout else { break }
            state.slots[slot] = .givenUp
            advanceOldest(index)
        }
        let waiting = flow.pointee.sendSequence - flow.pointee.oldestOutstanding
        if now < plan.endTime, !wantsWrite(index) { sendDatagrams(index) }
        return waiting
    }

    /// A socket error ends the flow: counted, closed, not opened again (its sequence state would start over).
    private func failFlow(_ index: Int, _ code: Int32) {
        result.record(ErrorCounts.category(of: code), "UDP socket to \(plan.target): \(String(cString: strerror(code)))")
        closeConnection(index)
    }

    /// As the socket closes: its RFC 3550 jitter joins the average, its host drops the window's count.
    func closeFlow(_ index: Int) {
        let flow = sequenced.flows[index]
        result.udp.jitterSum += flow.jitter
        result.udp.jitterSockets += flow.anyReceived ? 1 : 0
        result.udp.clientRxqOverflows += flow.rxqDrops &- min(flow.rxqDropsBeforeWindow, flow.rxqDrops)
    }

    @inline(__always)
    private func wantsWrite(_ index: Int) -> Bool { connections[index].interest & Epoll.writable != 0 }

    private func setWriteInterest(_ index: Int, _ on: Bool) {
        try? watch(index, Epoll.readable | (on ? Epoll.writable : 0))
    }
}
