import CSockBenchLinux
import Glibc

/// One client thread driving connected UDP sockets. Each datagram carries its sequence number
/// and send timestamp, so loss, duplicates, reordering, RTT and RFC 3550 jitter come from the
/// datagrams themselves. A datagram unanswered for `udpLossTimeout` frees its in-flight slot;
/// it counts as lost only if its echo never arrives before the run ends. An answer that arrives
/// damaged (merged with others, truncated, garbled) is an integrity error, and each sequence
/// number it still carries counts as answered-but-damaged rather than lost.
final class UDPWorker: LoadWorker, @unchecked Sendable {
    private struct Flow {
        var fd: Int32 = -1
        var open = false
        var wantsWrite = false
        var sendSequence: UInt64 = 0
        /// Oldest datagram still waiting for its echo (or sendSequence when none).
        var oldestOutstanding: UInt64 = 0
        var highestReceived: UInt64 = 0
        var anyReceived = false
        var jitter: Double = 0
        var previousTransit: Int64 = 0
        /// An answer arrived inside the measured window (a sink: a datagram left in it); else starved.
        var exchanged = false
        /// The socket's SO_RXQ_OVFL drop counter: as last read, and as last read before the window.
        var rxqDrops: UInt64 = 0
        var rxqDropsBeforeWindow: UInt64 = 0
    }

    /// `damaged`: answered, but by a datagram that was not one clean echo.
    private enum Slot: UInt8 { case empty, outstanding, answered, givenUp, damaged }

    let plan: LoadPlan
    let intervals: IntervalRecorder
    private(set) var result = WorkerResult()
    private(set) var totalsAtEnd = IntervalTotals()
    /// Open loop (a target datagram rate): when each datagram is due; nil in closed loop.
    private var schedule: SendSchedule?
    private let epoll: Epoll
    private let count: Int
    private let flows: UnsafeMutablePointer<Flow>
    /// Per flow, `ringSize` slots of send time and state, indexed by sequence % ringSize;
    /// larger than the depth so late echoes and duplicates are still recognised.
    private let ringSize: Int
    private let sendTimes: UnsafeMutablePointer<UInt64>
    private let slots: UnsafeMutablePointer<Slot>
    private let datagram: UnsafeMutableRawPointer
    private let template: UnsafeMutableRawPointer
    private let receiveBuffer: UnsafeMutableRawPointer
    private static let receiveCapacity = 65_536
    /// One recvmsg header, reused for every datagram: `receiveBuffer` and the control data that
    /// carries the socket's receive-queue drop counter (SO_RXQ_OVFL).
    private let receiveMessage: UnsafeMutablePointer<msghdr>
    private let receiveVector: UnsafeMutablePointer<iovec>
    private let receiveControl: UnsafeMutableRawPointer
    private static let controlSize = Int(CSockBenchLinux_RXQ_OVFL_SPACE)
    private let echoes: Bool
    /// Streams: `batchSize` datagrams back to back, each with its own header, sent with one sendmmsg.
    private static let batchSize = 32
    private let batch: UnsafeMutableRawPointer
    private let batchIO: UnsafeMutablePointer<iovec>
    private let batchMessages: UnsafeMutablePointer<CSockBenchLinux_mmsghdr>

    init(plan: LoadPlan, connections count: Int, intervals: IntervalRecorder) throws(SocketError) {
        self.plan = plan
        self.count = count
        self.intervals = intervals
        schedule = SendSchedule(rate: plan.rate, share: count, of: plan.totalConnections, start: plan.startTime)
        epoll = try Epoll()
        echoes = plan.pattern == .requestResponse
        flows = .allocate(capacity: count)
        flows.initialize(repeating: Flow(), count: count)
        result.windowStart = plan.measureStart
        var ring = 1024
        while ring < plan.depth * 4 { ring <<= 1 }
        ringSize = ring
        sendTimes = .allocate(capacity: count * ring)
        sendTimes.initialize(repeating: 0, count: count * ring)
        slots = .allocate(capacity: count * ring)
        slots.initialize(repeating: .empty, count: count * ring)
        datagram = Payload.makeTemplate(size: plan.messageSize)
        template = Payload.makeTemplate(size: plan.messageSize)
        receiveBuffer = .allocate(byteCount: Self.receiveCapacity, alignment: 16)
        receiveVector = .allocate(capacity: 1)
        receiveVector.initialize(to: iovec(iov_base: receiveBuffer, iov_len: Self.receiveCapacity))
        receiveControl = .allocate(byteCount: Self.controlSize, alignment: 16)
        receiveMessage = .allocate(capacity: 1)
        var header = msghdr()
        header.msg_iov = receiveVector
        header.msg_iovlen = 1
        header.msg_control = receiveControl
        receiveMessage.initialize(to: header)
        let size = plan.messageSize
        batch = .allocate(byteCount: Self.batchSize * size, alignment: 16)
        batchIO = .allocate(capacity: Self.batchSize)
        batchMessages = .allocate(capacity: Self.batchSize)
        for k in 0..<Self.batchSize {
            Payload.fill(batch + k * size, size: size)
            batchIO[k] = iovec(iov_base: batch + k * size, iov_len: size)
            var message = CSockBenchLinux_mmsghdr()
            message.msg_hdr.msg_iov = batchIO + k
            message.msg_hdr.msg_iovlen = 1
            batchMessages[k] = message
        }
    }

    deinit {
        for index in 0..<count where flows[index].open { close(flows[index].fd) }
        flows.deinitialize(count: count)
        flows.deallocate()
        sendTimes.deallocate()
        slots.deallocate()
        datagram.deallocate()
        template.deallocate()
        receiveBuffer.deallocate()
        receiveVector.deallocate()
        receiveControl.deallocate()
        receiveMessage.deallocate()
        batch.deallocate()
        batchIO.deallocate()
        batchMessages.deallocate()
    }

    func run() {
        for index in 0..<count { open(index) }
        let capacity: Int32 = 512
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: Int(capacity))
        defer { events.deallocate() }
        // After the end, wait for echoes still in flight (bounded), so loss is not overstated.
        let drainEnd = plan.endTime + (echoes ? min(plan.udpLossTimeout, 1_000_000_000) : 0)
        var now = MonotonicClock.now()
        var nextScan: UInt64 = 0
        while now < drainEnd, !plan.control.stopRequested {
            var wake = min(drainEnd, now + 10_000_000)
            if let schedule, now < plan.endTime { wake = min(wake, schedule.nextDue) }
            let ready = epoll.wait(into: events, capacity: capacity, timeoutNanoseconds: wake > now ? wake - now : 0)
            intervals.roll(MonotonicClock.now(), totals: result.intervalTotals)
            for i in 0..<ready {
                let index = Int(events[i].data.u64)
                guard flows[index].open else { continue }
                if events[i].events & (Epoll.readable | EPOLLERR.rawValue) != 0 { receive(index) }
                if flows[index].open, events[i].events & Epoll.writable != 0 { send(index) }
            }
            now = MonotonicClock.now()
            if var timetable = schedule {
                timetable.visitDue(at: now) { index in
                    if flows[index].open { send(index) }
                }
                schedule = timetable
                now = MonotonicClock.now()
            }
            if now >= nextScan {
                let (open, waiting) = expireOutstanding(now)
                if open == 0 || (now >= plan.endTime && waiting == 0) { break }
                nextScan = now + 5_000_000
            }
        }
        totalsAtEnd = result.intervalTotals
        for index in 0..<count where !flows[index].exchanged { result.connectionsStarved += 1 }
        for index in 0..<count where flows[index].open { closeFlow(index) }
        intervals.closeWindow(totals: result.intervalTotals)
    }

    private func open(_ index: Int) {
        do {
            let fd = try Socket.open(.udp, for: plan.target)
            flows[index].fd = fd
            flows[index].open = true
            result.connectionsOpen += 1
            try plan.clientOptions.apply(to: fd, ipv6: plan.target.family == .ipv6, at: .beforeConnect)
            // Without it the loss has no host-side witness; the run goes on either way.
            _ = CSockBenchLinux_enable_rxq_overflow(fd)
            _ = try Socket.startConnect(fd, to: plan.target)
            try epoll.add(fd, events: Epoll.readable | Epoll.writable, data: UInt64(index))
            flows[index].wantsWrite = true
            result.connectionsEstablished += 1
            if result.effectiveOptions == nil {
                result.effectiveOptions = SocketOptionSet.effective(of: fd, ipv6: plan.target.family == .ipv6, tcp: false)
            }
        } catch {
            result.connectionsFailed += 1
            result.record(ErrorCounts.category(of: error.errno), "\(error)")
            if flows[index].open { closeFlow(index) }
        }
    }

    /// Sends while the in-flight window has room (request-response) or the socket takes more (stream).
    private func send(_ index: Int) {
        if !echoes {
            sendBatches(index)
            return
        }
        let flow = flows + index
        let size = plan.messageSize
        let depth = UInt64(plan.depth)
        let ring = index * ringSize
        for _ in 0..<64 {
            let now = MonotonicClock.now()
            if now >= plan.endTime || flow.pointee.sendSequence - flow.pointee.oldestOutstanding >= depth
                || (schedule.map { $0.due(connection: index, at: now) <= flow.pointee.sendSequence } ?? false) {
                if flow.pointee.wantsWrite { setWriteInterest(index, false) }
                return
            }
            let sequence = flow.pointee.sendSequence
            Payload.writeUInt64(sequence, datagram, at: 0)
            Payload.writeUInt64(now, datagram, at: Payload.timestampOffset)
            if Glibc.send(flow.pointee.fd, datagram, size, 0) < 0 {
                sendFailed(index)
                return
            }
            let slot = ring + Int(sequence & UInt64(ringSize - 1))
            sendTimes[slot] = now
            slots[slot] = .outstanding
            flow.pointee.sendSequence = sequence + 1
            if sequence + 1 - flow.pointee.oldestOutstanding > result.peakInFlight {
                result.peakInFlight = sequence + 1 - flow.pointee.oldestOutstanding
            }
            countSent(index, sequence: sequence, now: now)
        }
    }

    /// Streams: up to 4 sendmmsg calls of `batchSize` datagrams (fewer when the schedule says so).
    private func sendBatches(_ index: Int) {
        let flow = flows + index
        let size = plan.messageSize
        for _ in 0..<4 {
            let now = MonotonicClock.now()
            var count = Self.batchSize
            if let schedule {
                let due = schedule.due(connection: index, at: now)
                count = due > flow.pointee.sendSequence ? min(count, Int(due - flow.pointee.sendSequence)) : 0
            }
            if now >= plan.endTime || count == 0 {
                if flow.pointee.wantsWrite { setWriteInterest(index, false) }
                return
            }
            let first = flow.pointee.sendSequence
            for k in 0..<count {
                Payload.writeUInt64(first + UInt64(k), batch + k * size, at: 0)
                Payload.writeUInt64(now, batch + k * size, at: Payload.timestampOffset)
            }
            let sent = Int(CSockBenchLinux_sendmmsg(flow.pointee.fd, batchMessages, UInt32(count), 0))
            if sent < 0 {
                sendFailed(index)
                return
            }
            flow.pointee.sendSequence = first + UInt64(sent)
            for k in 0..<sent { countSent(index, sequence: first + UInt64(k), now: now) }
            if sent < count {
                if !flow.pointee.wantsWrite { setWriteInterest(index, true) }
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
        if !echoes { flows[index].exchanged = true }
        result.bytesSent &+= UInt64(plan.messageSize)
    }

    /// A send that failed: a full socket waits for writability, anything else ends the flow.
    private func sendFailed(_ index: Int) {
        let code = errno
        if code == EAGAIN || code == ENOBUFS || code == EINTR {
            if !flows[index].wantsWrite { setWriteInterest(index, true) }
        } else {
            fail(index, code)
        }
    }

    /// Reads every datagram waiting on the socket and accounts for each by its sequence number.
    private func receive(_ index: Int) {
        let flow = flows + index
        let size = plan.messageSize
        let ring = index * ringSize
        for _ in 0..<64 {
            receiveMessage.pointee.msg_controllen = Self.controlSize
            receiveMessage.pointee.msg_flags = 0
            let received = recvmsg(flow.pointee.fd, receiveMessage, Int32(MSG_DONTWAIT))
            if received < 0 {
                let code = errno
                if code != EAGAIN && code != EINTR { fail(index, code) }
                break
            }
            let now = MonotonicClock.now()
            noteDrops(index, now: now)
            guard received == size,
                  memcmp(receiveBuffer + 16, template + 16, size - 16) == 0 else {
                receiveDamaged(index, length: received)
                continue
            }
            let sequence = Payload.readUInt64(receiveBuffer, at: 0)
            let sentAt = Payload.readUInt64(receiveBuffer, at: Payload.timestampOffset)
            guard sequence < flow.pointee.sendSequence else {
                result.record(.integrity, "a datagram with a sequence number never sent")
                continue
            }
            // Older than the ring remembers: too late to classify; ignore it.
            guard flow.pointee.sendSequence - sequence <= UInt64(ringSize) else { continue }
            let slot = ring + Int(sequence & UInt64(ringSize - 1))
            guard sendTimes[slot] == sentAt else {
                result.record(.integrity, "a datagram's timestamp differs from its send time")
                continue
            }
            let intended = schedule?.intended(connection: index, sequence: sequence) ?? sentAt
            let inWindow = plan.measuring(intended)
            if slots[slot] == .answered || slots[slot] == .damaged {
                if inWindow { result.udp.duplicated &+= 1 }
                continue
            }
            slots[slot] = .answered
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
                flow.pointee.exchanged = true
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
        advanceOldest(index)
        // send() itself stops at the end of the run.
        if echoes, flow.pointee.open, !flow.pointee.wantsWrite { send(index) }
    }

    /// Reads the socket's drop counter from the datagram just received (absent: nothing dropped yet).
    @inline(__always)
    private func noteDrops(_ index: Int, now: UInt64) {
        let drops = CSockBenchLinux_rxq_overflow(receiveMessage)
        if drops >= 0 { flows[index].rxqDrops = UInt64(drops) }
        if now < plan.measureStart { flows[index].rxqDropsBeforeWindow = flows[index].rxqDrops }
    }

    /// A datagram of `length` bytes (in `receiveBuffer`) that is not one clean answer: one integrity
    /// error. A peer that relays datagrams through a stream (`socat ... PIPE`) joins k answers into
    /// one datagram of k × size bytes, with sequence numbers at 0, size, 2·size...; a truncated one
    /// still carries the first. Each sequence number accepted (sent, within the ring, not answered
    /// yet, and the timestamp bytes present equal to its send time) is answered-but-damaged, not lost.
    private func receiveDamaged(_ index: Int, length: Int) {
        let flow = flows + index
        let size = plan.messageSize
        let ring = index * ringSize
        var recovered = 0
        var offset = 0
        while offset + Payload.sequenceBytes <= length {
            let sequence = Payload.readUInt64(receiveBuffer + offset, at: 0)
            if sequence < flow.pointee.sendSequence, flow.pointee.sendSequence - sequence <= UInt64(ringSize) {
                let slot = ring + Int(sequence & UInt64(ringSize - 1))
                let timestampBytes = min(8, min(size, length - offset) - Payload.timestampOffset)
                if slots[slot] == .outstanding || slots[slot] == .givenUp,
                   Self.matches(sendTimes[slot], receiveBuffer + offset + Payload.timestampOffset, bytes: timestampBytes) {
                    slots[slot] = .damaged
                    recovered += 1
                    let intended = schedule?.intended(connection: index, sequence: sequence) ?? sendTimes[slot]
                    if plan.measuring(intended) { result.udp.damaged &+= 1 }
                }
            }
            offset += size
        }
        result.record(.integrity, Self.damageDescription(length: length, size: size, recovered: recovered))
        advanceOldest(index)
    }

    /// True when the `bytes` (0...8) little-endian bytes at `pointer` are the low bytes of `value`.
    @inline(__always)
    private static func matches(_ value: UInt64, _ pointer: UnsafeRawPointer, bytes: Int) -> Bool {
        for byte in 0..<max(0, bytes) where pointer.load(fromByteOffset: byte, as: UInt8.self) != UInt8(truncatingIfNeeded: value >> UInt64(byte * 8)) {
            return false
        }
        return true
    }

    static func damageDescription(length: Int, size: Int, recovered: Int) -> String {
        let what = if length > size, length % size == 0 {
            "a datagram of \(length) bytes joins \(length / size) answers of \(size) bytes (a peer that relays datagrams through a stream merges them)"
        } else if length < size {
            "a datagram of \(length) bytes is shorter than the \(size) bytes sent (truncated)"
        } else {
            "a datagram of \(length) bytes differs from the \(size) bytes sent"
        }
        return what + "; \(recovered) sequence number\(recovered == 1 ? "" : "s") recovered from it, counted damaged rather than lost"
    }

    /// Moves a flow's window past answered and given-up datagrams.
    @inline(__always)
    private func advanceOldest(_ index: Int) {
        let flow = flows + index
        let ring = index * ringSize
        while flow.pointee.oldestOutstanding < flow.pointee.sendSequence,
              slots[ring + Int(flow.pointee.oldestOutstanding & UInt64(ringSize - 1))] != .outstanding {
            flow.pointee.oldestOutstanding += 1
        }
    }

    /// Gives up on datagrams older than the loss timeout so their slots can be reused.
    /// Returns the open flows and how many datagrams are still awaited.
    private func expireOutstanding(_ now: UInt64) -> (open: Int, waiting: UInt64) {
        var open = 0
        var waiting: UInt64 = 0
        for index in 0..<count where flows[index].open {
            open += 1
            guard echoes else { continue }
            let ring = index * ringSize
            while flows[index].oldestOutstanding < flows[index].sendSequence {
                let slot = ring + Int(flows[index].oldestOutstanding & UInt64(ringSize - 1))
                guard slots[slot] == .outstanding, now - sendTimes[slot] > plan.udpLossTimeout else { break }
                slots[slot] = .givenUp
                advanceOldest(index)
            }
            waiting += flows[index].sendSequence - flows[index].oldestOutstanding
            if now < plan.endTime, !flows[index].wantsWrite { send(index) }
        }
        return (open, waiting)
    }

    private func fail(_ index: Int, _ code: Int32) {
        result.record(ErrorCounts.category(of: code), "UDP socket to \(plan.target): \(String(cString: strerror(code)))")
        closeFlow(index)
    }

    /// Closes a flow and adds its RFC 3550 jitter to the average.
    private func closeFlow(_ index: Int) {
        result.udp.jitterSum += flows[index].jitter
        result.udp.jitterSockets += flows[index].anyReceived ? 1 : 0
        result.udp.clientRxqOverflows += flows[index].rxqDrops &- min(flows[index].rxqDropsBeforeWindow, flows[index].rxqDrops)
        epoll.remove(flows[index].fd)
        close(flows[index].fd)
        flows[index].open = false
        result.connectionsOpen -= 1
    }

    private func setWriteInterest(_ index: Int, _ on: Bool) {
        flows[index].wantsWrite = on
        try? epoll.modify(flows[index].fd, events: Epoll.readable | (on ? Epoll.writable : 0), data: UInt64(index))
    }
}
