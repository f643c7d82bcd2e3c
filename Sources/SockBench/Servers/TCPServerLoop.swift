import CSockBenchLinux
import Glibc

/// One event-loop thread of a TCP reference server. All threads share the listening socket
/// (EPOLLEXCLUSIVE wakes one of them per connection) and each owns the connections it accepted.
/// Output that cannot be sent at once is parked per connection and reading pauses until it drains,
/// so a client that does not read cannot make the server buffer without bound.
final class TCPServerLoop: @unchecked Sendable {
    private struct Connection {
        var open = false
        /// Unsent output, allocated the first time a send is short, reused after.
        var pending: UnsafeMutableRawPointer?
        var pendingOffset = 0
        var pendingLength = 0
        /// tcp-rr: bytes of the current request seen so far, and its sequence number.
        var requestOffset = 0
        var sequence: UInt64 = 0
    }

    static let listenerToken = UInt64.max
    static let wakeToken = UInt64.max - 1

    let configuration: ServerConfiguration
    let listener: Int32
    let wakeFD: Int32
    private(set) var statistics = ServerStatistics()

    private let epoll: Epoll
    private var connections: [Connection] = []
    /// Scratch buffers: input, and output assembled for tcp-rr / tcp-source.
    private let inputCapacity: Int
    private let input: UnsafeMutableRawPointer
    private let outputCapacity: Int
    private let output: UnsafeMutableRawPointer
    /// tcp-rr: the largest input one recv may take so its answers fit in `output`.
    private let requestReadLimit: Int
    /// tcp-echo: sent on every new connection first.
    private let greeting: UnsafeMutableRawPointer?

    private let limits: ServerLimits
    /// Held in reserve for EMFILE: closed to accept (and close) one connection, so a level-triggered
    /// listener with a full backlog does not spin.
    private var spareDescriptor: Int32 = open("/dev/null", O_RDONLY | O_CLOEXEC)

    init(configuration: ServerConfiguration, listener: Int32, wakeFD: Int32, limits: ServerLimits) throws(SocketError) {
        self.configuration = configuration
        self.limits = limits
        self.listener = listener
        self.wakeFD = wakeFD
        epoll = try Epoll()
        inputCapacity = 256 << 10
        input = .allocate(byteCount: inputCapacity, alignment: 16)
        switch configuration.kind {
        case .tcpRR:
            outputCapacity = max(256 << 10, configuration.responseSize)
            let answers = max(1, outputCapacity / configuration.responseSize)
            requestReadLimit = min(inputCapacity, max(1, answers * configuration.requestSize - 1))
        default:
            outputCapacity = 256 << 10
            requestReadLimit = inputCapacity
        }
        output = Payload.makeTemplate(size: outputCapacity)
        if configuration.greeting.isEmpty {
            greeting = nil
        } else {
            let bytes = UnsafeMutableRawPointer.allocate(byteCount: configuration.greeting.count, alignment: 1)
            bytes.copyMemory(from: configuration.greeting, byteCount: configuration.greeting.count)
            greeting = bytes
        }
        try epoll.add(listener, events: Epoll.readable | Epoll.exclusive, data: Self.listenerToken)
        try epoll.add(wakeFD, events: Epoll.readable, data: Self.wakeToken)
    }

    deinit {
        for index in connections.indices where connections[index].open { closeConnection(Int32(index)) }
        input.deallocate()
        output.deallocate()
        greeting?.deallocate()
        if spareDescriptor >= 0 { close(spareDescriptor) }
    }

    /// Runs until the wake-up descriptor becomes readable.
    func run() {
        let capacity: Int32 = 256
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: Int(capacity))
        defer { events.deallocate() }
        while true {
            let count = epoll.wait(into: events, capacity: capacity, timeoutMilliseconds: -1)
            for i in 0..<count {
                let token = events[i].data.u64
                let flags = events[i].events
                switch token {
                case Self.wakeToken: return
                case Self.listenerToken: acceptAll()
                default: handle(fd: Int32(truncatingIfNeeded: token), flags: flags)
                }
            }
        }
    }

    private func acceptAll() {
        while true {
            let fd = CSockBenchLinux_accept4(listener, Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue))
            if fd < 0 {
                if errno == EMFILE || errno == ENFILE { shedOneConnection() }
                return // EAGAIN: another thread took it
            }
            guard limits.admitConnection() else {
                close(fd)
                continue
            }
            let ipv6 = configuration.bind.family == .ipv6
            do {
                try configuration.options.apply(to: fd, ipv6: ipv6, at: .accepted)
            } catch {
                FileHandleOutput.standardError("sockbench serve: \(error)")
            }
            if statistics.effectiveOptions == nil {
                statistics.effectiveOptions = SocketOptionSet.effective(of: fd, ipv6: ipv6, tcp: true)
            }
            statistics.connectionsAccepted += 1
            let index = Int(fd)
            if index >= connections.count {
                connections.append(contentsOf: repeatElement(Connection(), count: index + 1 - connections.count + 64))
            }
            connections[index] = Connection(open: true)
            // A source also reads (and discards), so a client can stream both ways at once.
            let interest = configuration.kind == .tcpSource ? Epoll.writable | Epoll.readable : Epoll.readable
            do {
                try epoll.add(fd, events: interest | EPOLLRDHUP.rawValue, data: UInt64(fd))
            } catch {
                closeConnection(fd)
                continue
            }
            if let greeting { send(fd, from: greeting, length: configuration.greeting.count) }
        }
    }

    /// Out of descriptors: accepts one waiting connection with the spare descriptor and closes it,
    /// so the listener stops reporting it (level-triggered, it would wake this loop forever).
    private func shedOneConnection() {
        guard spareDescriptor >= 0 else { return }
        close(spareDescriptor)
        let fd = CSockBenchLinux_accept4(listener, Int32(SOCK_CLOEXEC.rawValue))
        if fd >= 0 { close(fd) }
        spareDescriptor = open("/dev/null", O_RDONLY | O_CLOEXEC)
        FileHandleOutput.standardError("sockbench serve: out of file descriptors; closing a new connection (raise ulimit -n or lower --max-connections)")
    }

    private func handle(fd: Int32, flags: UInt32) {
        let index = Int(fd)
        guard index < connections.count, connections[index].open else { return }
        if flags & Epoll.writable != 0 {
            if configuration.kind == .tcpSource {
                sendSource(fd)
            } else {
                flushPending(fd)
            }
        }
        if flags & Epoll.readable != 0, connections[index].open, connections[index].pendingLength == 0 {
            receive(fd)
        } else if flags & (EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0, connections[index].open {
            closeConnection(fd)
        }
    }

    private func receive(_ fd: Int32) {
        let limit = configuration.kind == .tcpRR ? requestReadLimit : inputCapacity
        let count = recv(fd, input, limit, 0)
        if count == 0 { closeConnection(fd); return }
        if count < 0 {
            if errno != EAGAIN && errno != EINTR { closeConnection(fd) }
            return
        }
        statistics.bytesReceived &+= UInt64(count)
        switch configuration.kind {
        case .tcpEcho: send(fd, from: input, length: count)
        case .tcpRR: answerRequests(fd, received: count)
        default: break // sink: discard
        }
    }

    /// tcp-rr: walks the received bytes request by request, answering each complete request
    /// with `responseSize` bytes that start with the request's sequence number.
    private func answerRequests(_ fd: Int32, received: Int) {
        let requestSize = configuration.requestSize
        let responseSize = configuration.responseSize
        var consumed = 0
        var produced = 0
        var connection = connections[Int(fd)]
        while consumed < received {
            let take = min(requestSize - connection.requestOffset, received - consumed)
            if connection.requestOffset < Payload.sequenceBytes {
                let sequenceEnd = min(Payload.sequenceBytes, requestSize)
                var offset = connection.requestOffset
                while offset < sequenceEnd, offset < connection.requestOffset + take {
                    let byte = UInt64(input.load(fromByteOffset: consumed + offset - connection.requestOffset, as: UInt8.self))
                    connection.sequence |= byte << UInt64(offset * 8)
                    offset += 1
                }
            }
            connection.requestOffset += take
            consumed += take
            if connection.requestOffset == requestSize {
                Payload.writeSequence(connection.sequence, into: output + produced, size: responseSize)
                produced += responseSize
                connection.requestOffset = 0
                connection.sequence = 0
            }
        }
        connections[Int(fd)] = connection
        guard produced > 0 else { return }
        // Only answer headers change between sends (each is rewritten above): the filler stays valid.
        send(fd, from: output, length: produced)
    }

    private func sendSource(_ fd: Int32) {
        let count = Glibc.send(fd, output, outputCapacity, Int32(MSG_NOSIGNAL))
        if count > 0 {
            statistics.bytesSent &+= UInt64(count)
        } else if count < 0, errno != EAGAIN, errno != EINTR {
            closeConnection(fd)
        }
    }

    /// Sends `length` bytes; what the socket does not take is parked and reading pauses.
    private func send(_ fd: Int32, from buffer: UnsafeMutableRawPointer, length: Int) {
        var sent = Glibc.send(fd, buffer, length, Int32(MSG_NOSIGNAL))
        if sent < 0 {
            guard errno == EAGAIN || errno == EINTR else { closeConnection(fd); return }
            sent = 0
        }
        statistics.bytesSent &+= UInt64(sent)
        guard sent < length else { return }
        let index = Int(fd)
        let capacity = max(inputCapacity, outputCapacity)
        if connections[index].pending == nil {
            guard limits.reserveBuffer(capacity) else {
                closeConnection(fd)
                return
            }
            connections[index].pending = .allocate(byteCount: capacity, alignment: 16)
        }
        connections[index].pending!.copyMemory(from: buffer + sent, byteCount: length - sent)
        connections[index].pendingOffset = 0
        connections[index].pendingLength = length - sent
        try? epoll.modify(fd, events: Epoll.writable | EPOLLRDHUP.rawValue, data: UInt64(fd))
    }

    private func flushPending(_ fd: Int32) {
        let index = Int(fd)
        guard let pending = connections[index].pending, connections[index].pendingLength > 0 else { return }
        let offset = connections[index].pendingOffset
        let length = connections[index].pendingLength
        let sent = Glibc.send(fd, pending + offset, length, Int32(MSG_NOSIGNAL))
        if sent < 0 {
            if errno != EAGAIN && errno != EINTR { closeConnection(fd) }
            return
        }
        statistics.bytesSent &+= UInt64(sent)
        connections[index].pendingOffset += sent
        connections[index].pendingLength -= sent
        if connections[index].pendingLength == 0 {
            try? epoll.modify(fd, events: Epoll.readable | EPOLLRDHUP.rawValue, data: UInt64(fd))
        }
    }

    private func closeConnection(_ fd: Int32) {
        let index = Int(fd)
        epoll.remove(fd)
        close(fd)
        if let pending = connections[index].pending {
            pending.deallocate()
            limits.releaseBuffer(max(inputCapacity, outputCapacity))
        }
        if connections[index].open { limits.connectionClosed() }
        connections[index] = Connection()
    }
}
