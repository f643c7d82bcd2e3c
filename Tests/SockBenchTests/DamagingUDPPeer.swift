import Foundation
import Glibc
import Synchronization
@testable import SockBench

/// A UDP echo peer, written independently of sockbench's reference servers, that answers the way
/// broken or stream-relaying peers do: two datagrams joined into one, answers cut short or with
/// flipped bytes, or one answer many times over. It counts what it did, so a test can compare the
/// client's figures with the truth.
final class DamagingUDPPeer: @unchecked Sendable {
    enum Mode: Sendable {
        /// The first two datagrams of every four are answered as one datagram (both back to back,
        /// as a relay through a pipe does); the other two are echoed as they came. A datagram left
        /// waiting for its partner for 20 ms is echoed alone.
        case mergePairs
        /// Of every `every` datagrams: the first cut to 12 bytes (sequence and half a timestamp), the
        /// second cut to 40 bytes, the third with a filler byte flipped, the fourth with the top
        /// byte of its sequence number flipped (beyond recovery); the rest echoed as they came.
        case damage(every: Int)
        /// Every datagram answered `copies` times at once.
        case flood(copies: Int)
    }

    /// What the peer sent back, by kind.
    struct Counts: Sendable, Equatable {
        var clean = 0
        /// Datagrams that joined two answers.
        var merged = 0
        /// Answers cut short, with a flipped filler byte, or with a flipped sequence number.
        var truncated = 0
        var garbled = 0
        var unrecoverable = 0
        var copies = 0
    }

    let port: UInt16
    private let fd: Int32
    private let state = Mutex(Counts())
    private let stopping = Atomic<Bool>(false)
    private let stopped = Atomic<Bool>(false)

    init(_ mode: Mode) throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0 else { throw SocketError(call: "bind", errno: errno) }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        port = UInt16(bigEndian: address.sin_port)
        // Wakes every 20 ms: to echo a datagram whose partner did not come, and to see `stop`.
        var timeout = timeval(tv_sec: 0, tv_usec: 20_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var big: Int32 = 4 << 20
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, socklen_t(MemoryLayout<Int32>.size))
        Thread.detachNewThread { [self] in
            serve(mode)
            stopped.store(true, ordering: .releasing)
        }
    }

    deinit {
        stop()
        close(fd)
    }

    var address: String { "127.0.0.1:\(port)" }
    var counts: Counts { state.withLock { $0 } }

    /// Stops answering and waits (at most 2 s) for the thread to leave.
    func stop() {
        stopping.store(true, ordering: .relaxed)
        let deadline = Date().addingTimeInterval(2)
        while !stopped.load(ordering: .acquiring), Date() < deadline { usleep(5_000) }
    }

    private func serve(_ mode: Mode) {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var held: [UInt8] = []
        var heldPeer = sockaddr_in()
        var received = 0
        while !stopping.load(ordering: .relaxed) {
            var peer = sockaddr_in()
            var peerLength = socklen_t(MemoryLayout<sockaddr_in>.size)
            let count = withUnsafeMutablePointer(to: &peer) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buffer, buffer.count, 0, $0, &peerLength) }
            }
            if count < 0 {
                // Timed out: a datagram still waiting for its partner goes alone.
                if !held.isEmpty {
                    answer(held, to: &heldPeer)
                    state.withLock { $0.clean += 1 }
                    held = []
                }
                continue
            }
            received += 1
            let datagram = Array(buffer[0..<count])
            switch mode {
            case .mergePairs:
                switch received % 4 {
                case 1:
                    held = datagram
                    heldPeer = peer
                case 2 where !held.isEmpty:
                    answer(held + datagram, to: &peer)
                    state.withLock { $0.merged += 1 }
                    held = []
                default:
                    answer(datagram, to: &peer)
                    state.withLock { $0.clean += 1 }
                }
            case .damage(let every):
                var answerBytes = datagram
                switch received % every {
                case 0:
                    answerBytes = Array(datagram.prefix(12))
                    state.withLock { $0.truncated += 1 }
                case 1:
                    answerBytes = Array(datagram.prefix(40))
                    state.withLock { $0.truncated += 1 }
                case 2:
                    answerBytes[20] ^= 0x5a
                    state.withLock { $0.garbled += 1 }
                case 3:
                    answerBytes[7] ^= 0xff
                    state.withLock { $0.unrecoverable += 1 }
                default:
                    state.withLock { $0.clean += 1 }
                }
                answer(answerBytes, to: &peer)
            case .flood(let copies):
                for _ in 0..<copies { answer(datagram, to: &peer) }
                state.withLock { $0.copies += copies }
            }
        }
    }

    private func answer(_ bytes: [UInt8], to peer: inout sockaddr_in) {
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &peer) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, bytes, bytes.count, 0, $0, length) }
        }
    }
}
