import Foundation
import Glibc
import Synchronization
@testable import SockBench

/// An echo server too slow to accept: it listens with a backlog of 1 and accepts nothing until the
/// kernel has counted a listen overflow (`TcpExtListenOverflows` rose: a SYN found its accept
/// queue full), then accepts and echoes. So an overflow happens whatever the machine's speed, and
/// the connections that got in (and those whose retransmitted SYNs get in later) still exchange.
final class BacklogServer: @unchecked Sendable {
    let port: UInt16
    private let listener: Int32
    private let stopped = Atomic<Bool>(false)
    /// Set by the server's thread as it returns: only then is the listener closed (never under its feet).
    private let finished = Atomic<Bool>(false)
    private let accepting = Atomic<Bool>(false)

    /// `waitAtMost`: accept anyway after this long (seconds), so a kernel that never counts an
    /// overflow makes the test fail on its figures rather than hang.
    init(backlog: Int32 = 1, waitAtMost: TimeInterval = 20) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) } }
        guard bound == 0, listen(listener, backlog) == 0 else { throw SocketError(call: "bind/listen", errno: errno) }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        port = UInt16(bigEndian: address.sin_port)
        let before = KernelCounters.read()?["TcpExtListenOverflows"] ?? 0
        let deadline = Date().addingTimeInterval(waitAtMost)
        Thread.detachNewThread { [self] in
            while !stopped.load(ordering: .relaxed), Date() < deadline, (KernelCounters.read()?["TcpExtListenOverflows"] ?? 0) <= before {
                usleep(5_000)
            }
            accepting.store(true, ordering: .relaxed)
            acceptLoop()
            finished.store(true, ordering: .releasing)
        }
    }

    var address: String { "127.0.0.1:\(port)" }

    /// True once the overflow was seen and the server began to accept.
    var isAccepting: Bool { accepting.load(ordering: .relaxed) }

    private func acceptLoop() {
        while !stopped.load(ordering: .relaxed) {
            var ready = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 50) > 0 else { continue }
            let client = accept(listener, nil, nil)
            if client < 0 { continue }
            Thread.detachNewThread {
                var buffer = [UInt8](repeating: 0, count: 65_536)
                while true {
                    let count = recv(client, &buffer, buffer.count, 0)
                    if count <= 0 { break }
                    var offset = 0
                    while offset < count {
                        let sent = buffer.withUnsafeBytes { send(client, $0.baseAddress! + offset, count - offset, Int32(MSG_NOSIGNAL)) }
                        if sent <= 0 { break }
                        offset += sent
                    }
                }
                close(client)
            }
        }
    }

    /// Stops accepting and closes the listener (connections still queued in it are reset).
    func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        // The thread sees the flag within one 50 ms poll (or 5 ms gate check); the wait is bounded all the same.
        _ = TestSupport.eventually(timeout: 10) { finished.load(ordering: .acquiring) }
        close(listener)
    }
}
