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

    init(configuration: ServerConfiguration, socketFD: Int32, wakeFD: Int32) throws(SocketError) {
        self.configuration = configuration
        self.socketFD = socketFD
        epoll = try Epoll()
        buffer = .allocate(byteCount: Self.bufferSize, alignment: 16)
        try epoll.add(socketFD, events: Epoll.readable | Epoll.exclusive, data: Self.socketToken)
        try epoll.add(wakeFD, events: Epoll.readable, data: Self.wakeToken)
    }

    deinit { buffer.deallocate() }

    func run() {
        var events = [epoll_event](repeating: epoll_event(), count: 8)
        var peer = sockaddr_storage()
        let dropEvery = UInt64(configuration.dropEvery)
        let echo = configuration.kind == .udpEcho
        while true {
            let count = events.withUnsafeMutableBufferPointer { epoll.wait(into: $0.baseAddress!, capacity: 8, timeoutMilliseconds: -1) }
            for i in 0..<count where events[i].data.u64 == Self.wakeToken { return }
            guard count > 0 else { continue }
            while true {
                var peerLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
                let received = withUnsafeMutablePointer(to: &peer) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(socketFD, buffer, Self.bufferSize, 0, $0, &peerLength)
                    }
                }
                if received < 0 { break }
                statistics.datagramsReceived &+= 1
                statistics.bytesReceived &+= UInt64(received)
                guard echo else { continue }
                if dropEvery > 0, statistics.datagramsReceived % dropEvery == 0 {
                    statistics.datagramsDropped &+= 1
                    continue
                }
                let sent = withUnsafePointer(to: &peer) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(socketFD, buffer, received, Int32(MSG_DONTWAIT), $0, peerLength)
                    }
                }
                if sent > 0 {
                    statistics.datagramsSent &+= 1
                    statistics.bytesSent &+= UInt64(sent)
                }
            }
        }
    }
}
