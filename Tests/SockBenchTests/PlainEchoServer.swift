import Foundation
import Glibc
import Synchronization
@testable import SockBench

/// A deliberately plain blocking echo server, written independently of sockbench's reference
/// servers, to show `--target` works against a server sockbench did not start. It can also stop
/// answering for a while (`pause`), like a server in a garbage-collection pause.
final class PlainEchoServer: @unchecked Sendable {
    /// Monotonic time until which no connection answers.
    final class Pause: Sendable {
        let until = Atomic<UInt64>(0)
        /// Added before every answer: a server made slower on purpose.
        let perAnswerMicroseconds: UInt32

        init(perAnswerMicroseconds: UInt32) { self.perAnswerMicroseconds = perAnswerMicroseconds }

        func wait() {
            let end = until.load(ordering: .relaxed)
            let now = MonotonicClock.now()
            if end > now { usleep(useconds_t((end - now) / 1000)) }
            if perAnswerMicroseconds > 0 { usleep(perAnswerMicroseconds) }
        }
    }

    /// What each connection does after `after` requests: the faults a run must count, not crash on.
    enum Fault: Sendable {
        case none
        /// Closes with SO_LINGER 0: the client sees a reset.
        case reset(after: Int)
        /// Sends half an answer, then closes.
        case closeMidAnswer(after: Int)
        /// Reads and never answers again (a hung server).
        case stall(after: Int)
        /// Sends half an answer, then reads and never answers again.
        case halfThenStall(after: Int)
        /// Closes every connection as soon as it is accepted (a server at its connection limit).
        case closeOnAccept
        /// Answers every request twice, the second copy `gapMicroseconds` after the first (0: in the same send).
        case answerTwice(gapMicroseconds: UInt32)
        /// Flips the first byte of every `every`th answer (a sequence number damaged on the way).
        case corruptFirstByte(every: Int)
    }

    let port: UInt16
    let pause: Pause
    private let listener: Int32
    private var threads: [Thread] = []

    /// `delayMicroseconds` delays every answer (a slower build of the server under test). With
    /// `faultFor`, only connections accepted that long after the start have the fault (a server
    /// that misbehaves during a warm-up only). `serial` serves one connection at a time, to its
    /// end, as a naive tutorial server does: the others wait in the listen backlog.
    init(delayMicroseconds: UInt32 = 0, fault: Fault = .none, faultFor: UInt64? = nil, serial: Bool = false) throws {
        pause = Pause(perAnswerMicroseconds: delayMicroseconds)
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) } }
        guard bound == 0, listen(listener, 128) == 0 else { throw SocketError(call: "bind/listen", errno: errno) }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        port = UInt16(bigEndian: address.sin_port)
        let pause = self.pause
        let faultEnd = faultFor.map { MonotonicClock.now() + $0 }
        let acceptor = Thread {
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 { return }
                let fault = faultEnd.map { MonotonicClock.now() < $0 } ?? true ? fault : .none
                let serve: @Sendable () -> Void = {
                    if case .closeOnAccept = fault {
                        close(client)
                        return
                    }
                    var buffer = [UInt8](repeating: 0, count: 65_536)
                    var requests = 0
                    while true {
                        let count = recv(client, &buffer, buffer.count, 0)
                        if count <= 0 { break }
                        requests += 1
                        pause.wait()
                        var answer = count
                        switch fault {
                        case .none: break
                        case .reset(let after) where requests > after:
                            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
                            setsockopt(client, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
                            answer = 0
                        case .closeMidAnswer(let after) where requests > after:
                            answer = max(1, count / 2)
                        case .stall(let after) where requests > after:
                            while recv(client, &buffer, buffer.count, 0) > 0 {}
                            answer = 0
                        case .corruptFirstByte(let every) where requests % every == 0:
                            buffer[0] ^= 0xFF
                        case .halfThenStall(let after) where requests > after:
                            _ = buffer.withUnsafeBytes { send(client, $0.baseAddress!, max(1, count / 2), Int32(MSG_NOSIGNAL)) }
                            while recv(client, &buffer, buffer.count, 0) > 0 {}
                            answer = 0
                        default: break
                        }
                        if case .answerTwice(let gap) = fault {
                            if gap == 0 {
                                // Both copies in one send: the client reads them together.
                                let doubled = Array(buffer[0..<count]) + Array(buffer[0..<count])
                                _ = doubled.withUnsafeBytes { send(client, $0.baseAddress!, doubled.count, Int32(MSG_NOSIGNAL)) }
                                answer = 0
                            } else {
                                _ = buffer.withUnsafeBytes { send(client, $0.baseAddress!, count, Int32(MSG_NOSIGNAL)) }
                                usleep(gap)
                            }
                        }
                        var offset = 0
                        while offset < answer {
                            let sent = buffer.withUnsafeBytes { send(client, $0.baseAddress! + offset, answer - offset, Int32(MSG_NOSIGNAL)) }
                            if sent <= 0 { break }
                            offset += sent
                        }
                        if answer < count, !fault.answersTwice { break }
                    }
                    close(client)
                }
                if serial { serve() } else { Thread.detachNewThread(serve) }
            }
        }
        acceptor.start()
        threads.append(acceptor)
    }

    var address: String { "127.0.0.1:\(port)" }

    /// Stops answering on every connection for `nanoseconds` from now.
    func pause(for nanoseconds: UInt64) { pause.until.store(MonotonicClock.now() + nanoseconds, ordering: .relaxed) }

    /// Stops accepting (accept fails once the listener is shut down).
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }
}

extension PlainEchoServer.Fault {
    var answersTwice: Bool {
        if case .answerTwice = self { return true }
        return false
    }
}
