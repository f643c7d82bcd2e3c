import CSockBenchLinux
import Foundation
import Glibc

/// One client thread playing a scripted conversation on each of its TCP connections: connect,
/// walk the steps (send, expect, expect_bytes, expect_regex, wait, close), close, reconnect, until
/// the end. A step that gets something else, or nothing within the request timeout, is a
/// `protocol` error; the first few mismatches are kept in words for the report. A connection lost
/// to an error (refused, reset, a failed step) opens again per the reconnect policy; at the end,
/// conversations in progress are half-closed and drained so they close with a FIN, not an RST.
///
/// Each `recv` asks for no more than the current step needs (a regex peeks first and then takes
/// exactly through its match), so bytes meant for a later step stay in the socket and no
/// connection needs a buffer of its own. Literal and byte-count steps allocate nothing; a regex
/// step matches the peeked bytes in place with PCRE2 under a match budget (`BoundedRegex`), so no
/// pattern can spin a worker past a signal.
final class ConversationWorker: LoadWorker, @unchecked Sendable {
    private struct Connection {
        enum State: UInt8 { case closed, connecting, active }
        var fd: Int32 = -1
        var state = State.closed
        var step = 0
        /// Bytes of the current send or expect step done so far.
        var progress = 0
        var started: UInt64 = 0
        /// When the current wait ends, or by when the current expect must be met.
        var deadline: UInt64 = 0
        var interest: UInt32 = 0
    }

    let plan: LoadPlan
    let intervals: IntervalRecorder
    private(set) var result = WorkerResult()
    private(set) var totalsAtEnd = IntervalTotals()
    private let epoll: Epoll
    private let count: Int
    private let connections: UnsafeMutablePointer<Connection>
    /// Per slot: a conversation finished inside the measured window (else the slot is starved).
    private let exchanged: UnsafeMutablePointer<Bool>
    /// Reconnect policy: slots whose connection failed, waiting to open again (one fixed delay, so a FIFO).
    private var reopening: DeadlineQueue
    /// True once any connection was established: a target that never answered is not retried forever.
    private var everConnected = false
    private let steps: [ConversationStep]
    /// Each expect_regex step's pattern, compiled for this worker alone (its match data is scratch space).
    private let patterns: [Int: BoundedRegex]
    private let buffer: UnsafeMutableRawPointer
    private static let bufferCapacity = 64 << 10
    /// The most bytes a regex step looks at for its match.
    static let regexWindow = 4096

    init(plan: LoadPlan, connections count: Int, intervals: IntervalRecorder) throws(SocketError) {
        self.plan = plan
        self.count = count
        self.intervals = intervals
        steps = plan.conversation
        var patterns: [Int: BoundedRegex] = [:]
        for (index, step) in plan.conversation.enumerated() {
            if case .expectRegex(let text) = step { patterns[index] = try? BoundedRegex(text) }
        }
        self.patterns = patterns
        epoll = try Epoll()
        connections = .allocate(capacity: count)
        connections.initialize(repeating: Connection(), count: count)
        exchanged = .allocate(capacity: count)
        exchanged.initialize(repeating: false, count: count)
        reopening = DeadlineQueue(capacity: plan.reconnectDelay == nil ? 0 : count)
        result.windowStart = plan.measureStart
        buffer = .allocate(byteCount: Self.bufferCapacity, alignment: 16)
    }

    deinit {
        for index in 0..<count where connections[index].state != .closed { close(connections[index].fd) }
        connections.deinitialize(count: count)
        connections.deallocate()
        exchanged.deallocate()
        buffer.deallocate()
    }

    func run() {
        for index in 0..<count { open(index) }
        let capacity: Int32 = 512
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: Int(capacity))
        defer { events.deallocate() }
        var now = MonotonicClock.now()
        var wake = now
        while plan.running(now) {
            let until = min(plan.endTime, wake, now + 10_000_000, reopening.nextDeadline ?? .max)
            let ready = epoll.wait(into: events, capacity: capacity, timeoutNanoseconds: until > now ? until - now : 0)
            now = MonotonicClock.now()
            intervals.roll(now, totals: result.intervalTotals)
            for i in 0..<ready {
                let index = Int(events[i].data.u64)
                switch connections[index].state {
                case .connecting: finishConnect(index)
                case .active: service(index, flags: events[i].events)
                case .closed: break
                }
            }
            now = MonotonicClock.now()
            while let index = reopening.popDue(at: now) {
                guard connections[index].state == .closed else { continue }
                result.reconnects += 1
                open(index)
            }
            let (open, nextWake) = scanDeadlines(now)
            // Every connection failed and none will open again: nothing left to measure.
            if open == 0, reopening.count == 0 || !everConnected { break }
            wake = nextWake
        }
        intervals.closeWindow(totals: result.intervalTotals)
        totalsAtEnd = result.intervalTotals
        for index in 0..<count where !exchanged[index] { result.connectionsStarved += 1 }
        finish(events: events, capacity: capacity)
        for index in 0..<count where connections[index].state != .closed { closeConnection(index) }
    }

    /// After the end, closes every conversation in progress cleanly: half-closes it (a FIN), then
    /// reads and discards until the server closes too, for at most the request timeout (≤ 1 s), so
    /// no connection is closed with unread bytes (which sends an RST instead of a FIN). Nothing
    /// received here is recorded. Interrupted or the server gone: close at once.
    private func finish(events: UnsafeMutablePointer<epoll_event>, capacity: Int32) {
        guard !plan.control.stopRequested else { return }
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
                    let received = recv(connections[index].fd, buffer, Self.bufferCapacity, Int32(MSG_DONTWAIT))
                    if received > 0 { continue }
                    if received == 0 || (errno != EAGAIN && errno != EINTR) { closeConnection(index) }
                    break
                }
            }
        }
    }

    // MARK: Connections

    private func open(_ index: Int) {
        let now = MonotonicClock.now()
        connections[index] = Connection(state: .connecting, started: now, deadline: now + plan.connectTimeout)
        do {
            let started = try plan.startTCPConnection()
            connections[index].fd = started.fd
            try watch(index, started.connected ? Epoll.readable : Epoll.writable, adding: true)
            if started.connected { connected(index) }
        } catch {
            failConnect(index, ErrorCounts.category(of: error.errno), LoadPlan.connectFailure(error))
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
        // opened its only connection before the window); conversations started count in the window.
        result.connectionsEstablished += 1
        everConnected = true
        if plan.measuring(now) {
            result.connectLatency.record(now - connections[index].started)
            result.messagesSent &+= 1
        }
        if result.effectiveOptions == nil {
            result.effectiveOptions = SocketOptionSet.effective(of: connections[index].fd, ipv6: plan.target.family == .ipv6, tcp: true)
        }
        result.connectionsOpen += 1
        connections[index].state = .active
        connections[index].deadline = 0
        advance(index, now: now)
    }

    private func failConnect(_ index: Int, _ category: ErrorCounts.Category, _ message: String) {
        result.connectionsFailed += 1
        result.record(category, message)
        closeConnection(index)
        scheduleReconnect(index)
    }

    /// The reconnect policy: a connection lost to an error opens again after the delay, until the end.
    private func scheduleReconnect(_ index: Int) {
        guard let delay = plan.reconnectDelay else { return }
        let now = MonotonicClock.now()
        if plan.running(now + delay) { reopening.push(index, at: now + delay) }
    }

    private func closeConnection(_ index: Int) {
        if connections[index].fd >= 0 {
            epoll.remove(connections[index].fd)
            close(connections[index].fd)
        }
        if connections[index].state == .active { result.connectionsOpen -= 1 }
        connections[index] = Connection()
    }

    private func watch(_ index: Int, _ events: UInt32, adding: Bool = false) throws(SocketError) {
        if adding {
            try epoll.add(connections[index].fd, events: events, data: UInt64(index))
        } else if connections[index].interest != events {
            try epoll.modify(connections[index].fd, events: events, data: UInt64(index))
        }
        connections[index].interest = events
    }

    // MARK: Steps

    /// Carries out steps until one has to wait for the socket or the clock.
    private func advance(_ index: Int, now: UInt64) {
        while connections[index].state == .active {
            guard connections[index].step < steps.count else { complete(index, now: now); return }
            switch steps[connections[index].step] {
            case .send(let bytes):
                let offset = connections[index].progress
                let sent = bytes.withUnsafeBytes { Glibc.send(connections[index].fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
                if sent < 0 {
                    if errno == EAGAIN || errno == EINTR { try? watch(index, Epoll.writable) } else { fail(index, errno) }
                    return
                }
                if plan.measuring(now) { result.bytesSent &+= UInt64(sent) }
                connections[index].progress += sent
                if connections[index].progress < bytes.count {
                    try? watch(index, Epoll.writable)
                    return
                }
                next(index)
            case .wait(let duration):
                if connections[index].deadline == 0 {
                    connections[index].deadline = now + duration
                    try? watch(index, 0)
                }
                if now < connections[index].deadline { return }
                next(index)
            case .expect, .expectBytes, .expectRegex:
                if connections[index].deadline == 0 { connections[index].deadline = now + plan.requestTimeout }
                try? watch(index, Epoll.readable)
                return
            case .close:
                complete(index, now: now)
                return
            }
        }
    }

    private func next(_ index: Int) {
        connections[index].step += 1
        connections[index].progress = 0
        connections[index].deadline = 0
    }

    private func service(_ index: Int, flags: UInt32) {
        let now = MonotonicClock.now()
        guard connections[index].step < steps.count else { return }
        switch steps[connections[index].step] {
        case .expect(let bytes): expectLiteral(index, bytes)
        case .expectBytes(let total): expectCount(index, total)
        case .expectRegex: expectPattern(index)
        case .send, .wait, .close: if flags & (EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 { fail(index, Socket.pendingError(connections[index].fd)) }
        }
        if connections[index].state == .active { advance(index, now: now) }
    }

    private func expectLiteral(_ index: Int, _ expected: [UInt8]) {
        let offset = connections[index].progress
        guard let received = read(index, upTo: expected.count - offset) else { return }
        let same = expected.withUnsafeBytes { memcmp($0.baseAddress! + offset, buffer, received) == 0 }
        guard same else {
            mismatch(index, got: received, detail: "expected \(Self.quote(expected[...]))")
            return
        }
        connections[index].progress += received
        if connections[index].progress == expected.count { next(index) }
    }

    private func expectCount(_ index: Int, _ total: Int) {
        guard let received = read(index, upTo: min(total - connections[index].progress, Self.bufferCapacity)) else { return }
        connections[index].progress += received
        if connections[index].progress == total { next(index) }
    }

    /// Peeks at what arrived; takes it through the end of the first match, or waits for more.
    private func expectPattern(_ index: Int) {
        let step = connections[index].step
        let peeked = recv(connections[index].fd, buffer, Self.regexWindow, Int32(MSG_PEEK))
        guard peeked > 0 else { _ = read(index, upTo: 1); return }
        let outcome = patterns[step]?.firstMatch(in: UnsafeRawBufferPointer(start: buffer, count: peeked)) ?? .noMatch
        switch outcome {
        case .match(_, let through):
            _ = read(index, upTo: through)
            next(index)
        case .budgetExceeded:
            mismatch(index, got: peeked, detail: "the pattern exceeded its match budget (\(BoundedRegex.matchLimit) steps) on \(peeked) bytes")
        case .failed(let why):
            mismatch(index, got: peeked, detail: "matching /\(Self.regexText(steps[step]))/ failed: \(why)")
        case .noMatch where peeked >= Self.regexWindow:
            mismatch(index, got: peeked, detail: "no match for /\(Self.regexText(steps[step]))/ in the first \(Self.regexWindow) bytes")
        case .noMatch:
            break
        }
    }

    /// Receives up to `limit` bytes into the buffer; nil when nothing usable came (and the
    /// connection was closed on an error or end of input).
    private func read(_ index: Int, upTo limit: Int) -> Int? {
        let received = recv(connections[index].fd, buffer, max(1, limit), 0)
        if received > 0 {
            if plan.measuring(MonotonicClock.now()) { result.bytesReceived &+= UInt64(received) }
            return received
        }
        if received == 0 {
            mismatch(index, got: 0, detail: "the server closed the connection")
        } else if errno != EAGAIN && errno != EINTR {
            fail(index, errno)
        }
        return nil
    }

    /// The conversation reached its end (or a close step): record it, close, start the next one.
    private func complete(_ index: Int, now: UInt64) {
        if plan.measuring(now) {
            let latency = now - connections[index].started
            result.latency.record(latency)
            intervals.slot.pointee.latency.record(latency)
            result.messagesReceived &+= 1
            exchanged[index] = true
        }
        closeConnection(index)
        if now < plan.endTime { open(index) }
    }

    // MARK: Deadlines and failures

    /// Ends waits that are over and fails expects and connects that took too long. Returns the
    /// connections still open and the earliest deadline ahead.
    private func scanDeadlines(_ now: UInt64) -> (open: Int, wake: UInt64) {
        var open = 0
        var wake = UInt64.max
        for index in 0..<count where connections[index].state != .closed {
            let deadline = connections[index].deadline
            if deadline != 0, now >= deadline {
                switch connections[index].state {
                case .connecting:
                    failConnect(index, .timeout, "connect to \(plan.target) timed out after \(Quantity.formatDuration(plan.connectTimeout))")
                case .active:
                    if case .wait = steps[connections[index].step] {
                        advance(index, now: now)
                    } else {
                        mismatch(index, got: 0, detail: "nothing matching within \(Quantity.formatDuration(plan.requestTimeout))")
                    }
                case .closed: break
                }
            }
            guard connections[index].state != .closed else { continue }
            open += 1
            if connections[index].deadline != 0 { wake = min(wake, connections[index].deadline) }
        }
        return (open, wake)
    }

    /// A step got something else: a `protocol` error, kept in words for the first few, and the
    /// conversation starts over on a new connection.
    private func mismatch(_ index: Int, got received: Int, detail: String) {
        let step = connections[index].step
        let got = received > 0 ? "got \(Self.quote(UnsafeRawBufferPointer(start: buffer, count: min(received, 48)).bindMemory(to: UInt8.self)[...]))" : ""
        let message = "step \(step + 1) (\(Self.describe(steps[step]))): \([got, detail].filter { !$0.isEmpty }.joined(separator: "; "))"
        result.record(.protocol, message)
        if result.protocolMismatches.count < WorkerResult.keptMismatches { result.protocolMismatches.append(message) }
        closeConnection(index)
        scheduleReconnect(index)
    }

    private func fail(_ index: Int, _ code: Int32) {
        result.record(ErrorCounts.category(of: code), "connection to \(plan.target): \(String(cString: strerror(code)))")
        closeConnection(index)
        scheduleReconnect(index)
    }

    static func describe(_ step: ConversationStep) -> String {
        switch step {
        case .send(let bytes): "send \(quote(bytes[...]))"
        case .expect(let bytes): "expect \(quote(bytes[...]))"
        case .expectBytes(let count): "expect_bytes \(count)"
        case .expectRegex(let text): "expect_regex /\(text)/"
        case .wait(let ns): "wait \(Quantity.formatDuration(ns))"
        case .close: "close"
        }
    }

    static func regexText(_ step: ConversationStep) -> String {
        if case .expectRegex(let text) = step { text } else { "" }
    }

    /// Bytes as a short quoted string with \r, \n, \t and \xNN escapes.
    static func quote<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var text = "\""
        for byte in bytes.prefix(48) {
            switch byte {
            case 0x0A: text += "\\n"
            case 0x0D: text += "\\r"
            case 0x09: text += "\\t"
            case 0x22: text += "\\\""
            case 0x5C: text += "\\\\"
            case 0x20...0x7E: text.append(Character(Unicode.Scalar(byte)))
            default: text += String(format: "\\x%02x", byte)
            }
        }
        return text + (bytes.count > 48 ? "…\"" : "\"")
    }
}
