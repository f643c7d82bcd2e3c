import CSockBenchLinux
import Glibc

/// One event-loop thread of a UDP reference server (echo or sink). Threads share the socket;
/// each drains it until EAGAIN when woken.
final class UDPServerLoop: @unchecked Sendable {
    static let socketToken: UInt64 = 0
    static let wakeToken: UInt64 = 1

    let configuration: ServerConfiguration
    let socketFD: Int32
    private(set) var statistics = ServerStatistics()
    private let epoll: Epoll
    private let buffer: UnsafeMutableRawPointer
    private static let bufferSize = 65_536
    /// One recvmsg header, reused: the peer's address, the buffer, and the control data that
    /// carries the socket's receive-queue drop counter (SO_RXQ_OVFL).
    private let message: UnsafeMutablePointer<msghdr>
    private let vector: UnsafeMutablePointer<iovec>
    private let peer: UnsafeMutablePointer<sockaddr_storage>
    private let control: UnsafeMutableRawPointer
    private static let controlSize = Int(CSockBenchLinux_RXQ_OVFL_SPACE)

    init(configuration: ServerConfiguration, socketFD: Int32, wakeFD: Int32) throws(SocketError) {
        self.configuration = configuration
        self.socketFD = socketFD
        epoll = try Epoll()
        buffer = .allocate(byteCount: Self.bufferSize, alignment: 16)
        message = .allocate(capacity: 1)
        message.initialize(to: msghdr())
        vector = .allocate(capacity: 1)
        vector.initialize(to: iovec(iov_base: buffer, iov_len: Self.bufferSize))
        peer = .allocate(capacity: 1)
        peer.initialize(to: sockaddr_storage())
        control = .allocate(byteCount: Self.controlSize, alignment: 16)
        statistics.rxqOverflows = CSockBenchLinux_enable_rxq_overflow(socketFD) == 0 ? 0 : nil
        try epoll.add(socketFD, events: Epoll.readable | Epoll.exclusive, data: Self.socketToken)
        try epoll.add(wakeFD, events: Epoll.readable, data: Self.wakeToken)
    }

    deinit {
        buffer.deallocate()
        message.deallocate()
        vector.deallocate()
        peer.deallocate()
        control.deallocate()
    }

    func run() {
        var events = [epoll_event](repeating: epoll_event(), count: 8)
        let dropEvery = UInt64(configuration.dropEvery)
        let echo = configuration.kind == .udpEcho
        while true {
            let count = events.withUnsafeMutableBufferPointer { epoll.wait(into: $0.baseAddress!, capacity: 8, timeoutMilliseconds: -1) }
            for i in 0..<count where events[i].data.u64 == Self.wakeToken { return }
            guard count > 0 else { continue }
            while true {
                let received = receive()
                if received < 0 { break }
                statistics.datagramsReceived &+= 1
                statistics.bytesReceived &+= UInt64(received)
                guard echo else { continue }
                if dropEvery > 0, statistics.datagramsReceived % dropEvery == 0 {
                    statistics.datagramsDropped &+= 1
                    continue
                }
                let sent = peer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(socketFD, buffer, received, Int32(MSG_DONTWAIT), $0, message.pointee.msg_namelen)
                }
                if sent > 0 {
                    statistics.datagramsSent &+= 1
                    statistics.bytesSent &+= UInt64(sent)
                }
            }
        }
    }

    /// One datagram into `buffer` (its sender in `peer`); notes the socket's drop counter.
    private func receive() -> Int {
        message.pointee.msg_name = UnsafeMutableRawPointer(peer)
        message.pointee.msg_namelen = socklen_t(MemoryLayout<sockaddr_storage>.size)
        message.pointee.msg_iov = vector
        message.pointee.msg_iovlen = 1
        message.pointee.msg_control = control
        message.pointee.msg_controllen = Self.controlSize
        message.pointee.msg_flags = 0
        let received = recvmsg(socketFD, message, 0)
        if received >= 0, statistics.rxqOverflows != nil {
            let drops = CSockBenchLinux_rxq_overflow(message)
            if drops >= 0 { statistics.rxqOverflows = UInt64(drops) }
        }
        return received
    }
}
