import Foundation
import Glibc
import Testing
@testable import SockBench

/// Reference servers under hostile or broken clients: they keep serving well-behaved ones, and
/// their connection and buffer caps bite with a log line instead of the machine running out.
@Suite("hostile peers", .serialized)
struct HostilePeerTests {
    /// A raw blocking loopback client socket to `address`.
    static func connectRaw(_ address: SocketAddress) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        _ = address.withSockaddr { connect(fd, $0, $1) }
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    /// Writes up to `bytes` without ever reading (stops when the socket stays full).
    static func flood(_ fd: Int32, bytes: Int) {
        let chunk = [UInt8](repeating: 0x5A, count: 64 << 10)
        var sent = 0
        while sent < bytes {
            let count = chunk.withUnsafeBytes { send(fd, $0.baseAddress!, min(chunk.count, bytes - sent), Int32(MSG_NOSIGNAL)) }
            if count <= 0 { return }
            sent += count
        }
    }

    static func startServer(_ arguments: [String], in work: String) throws -> (RunningCommand, SocketAddress) {
        let server = try RunningCommand(["serve", "tcp-echo"] + arguments, in: work)
        var address: SocketAddress?
        #expect(TestSupport.eventually(timeout: 10) {
            guard let line = server.output.split(separator: "\n").first(where: { $0.contains(" ready on ") }) else { return false }
            address = try? SocketAddress(parsing: String(line.split(separator: " ").last!))
            return address != nil
        })
        return (server, try #require(address))
    }

    @Test("a well-behaved load runs clean while others flood without reading, hold idle connections, half-close, reset and send garbage")
    func servesThroughAbuse() throws {
        let work = TestSupport.temporaryDirectory()
        let (server, address) = try Self.startServer(["--threads", "2"], in: work)
        defer {
            kill(server.pid, SIGTERM)
            _ = server.wait(timeout: 5)
        }
        var hostile: [Int32] = []
        defer { hostile.forEach { close($0) } }
        // Oversized and malformed: megabytes of garbage sent, answers never read.
        for _ in 0..<8 {
            let fd = Self.connectRaw(address)
            Self.flood(fd, bytes: 8 << 20)
            hostile.append(fd)
        }
        // Slowloris: connections that send a byte and then nothing, forever.
        for _ in 0..<200 {
            let fd = Self.connectRaw(address)
            _ = send(fd, "x", 1, Int32(MSG_NOSIGNAL))
            hostile.append(fd)
        }
        // Half-close after a request, and immediate resets.
        for _ in 0..<50 {
            let fd = Self.connectRaw(address)
            _ = send(fd, "hello", 5, Int32(MSG_NOSIGNAL))
            shutdown(fd, Int32(SHUT_WR))
            hostile.append(fd)
            let resetter = Self.connectRaw(address)
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            setsockopt(resetter, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
            close(resetter)
        }
        var scenario = TestSupport.scenario(.tcpEcho, connections: 8, duration: 1_000_000_000)
        scenario.load.warmupNanoseconds = 100_000_000
        var options = Runner.Options(outputDirectory: work + "/out", capture: false, executable: TestSupport.executable)
        options.target = address
        let outcome = try Runner.run(scenario, options: options)
        let run = try #require(outcome.report.runs.first)
        #expect(outcome.exitCode == 0, "\(outcome.report.failure ?? "")")
        #expect(run.errors.total == 0, "\(run.errors) \(run.firstError ?? "")")
        #expect(run.messages.received > 1_000)
        // The half-closed clients got their echo and an end of stream.
        var buffer = [UInt8](repeating: 0, count: 16)
        let halfClosed = hostile[208]
        #expect(recv(halfClosed, &buffer, 16, 0) == 5)
        #expect(recv(halfClosed, &buffer, 16, 0) == 0)
    }

    @Test("the connection cap closes connections past it, with one log line; the server keeps serving")
    func connectionCap() throws {
        let work = TestSupport.temporaryDirectory()
        let (server, address) = try Self.startServer(["--max-connections", "10", "--report-stats"], in: work)
        var held: [Int32] = []
        for _ in 0..<25 { held.append(Self.connectRaw(address)) }
        usleep(200_000)
        // Those past the cap were accepted and closed at once: they read end-of-stream.
        var closedByServer = 0
        var byte: UInt8 = 0
        for fd in held where recv(fd, &byte, 1, 0) == 0 { closedByServer += 1 }
        #expect(closedByServer == 15)
        held.forEach { close($0) }
        usleep(200_000)
        // Once they are gone, a new client is served again.
        let fresh = Self.connectRaw(address)
        #expect(send(fresh, "ping", 4, Int32(MSG_NOSIGNAL)) == 4)
        var answer = [UInt8](repeating: 0, count: 4)
        #expect(recv(fresh, &answer, 4, Int32(MSG_WAITALL)) == 4)
        close(fresh)
        kill(server.pid, SIGTERM)
        _ = server.wait(timeout: 5)
        let lines = server.output.split(separator: "\n").filter { $0.contains("connection cap reached") }
        #expect(lines.count == 1, "\(server.output)")
        let stats: ServerStatistics? = ServerProcess.decodeLast(prefix: ServerProcess.statisticsPrefix, in: server.output)
        #expect(stats?.connectionsRefusedByCap == 15)
    }

    @Test("the buffer cap closes clients that never read their answers, with one log line")
    func bufferCap() throws {
        let work = TestSupport.temporaryDirectory()
        let (server, address) = try Self.startServer(["--max-buffered", "1MiB", "--report-stats"], in: work)
        var floods: [Int32] = []
        for _ in 0..<12 {
            let fd = Self.connectRaw(address)
            Self.flood(fd, bytes: 16 << 20)
            floods.append(fd)
        }
        usleep(200_000)
        kill(server.pid, SIGTERM)
        _ = server.wait(timeout: 5)
        floods.forEach { close($0) }
        let stats: ServerStatistics? = ServerProcess.decodeLast(prefix: ServerProcess.statisticsPrefix, in: server.output)
        // 256 KiB parked per never-reading client: four fit under 1 MiB, the rest are closed.
        #expect(stats?.connectionsClosedByBufferCap == 8, "\(server.output)")
        #expect(server.output.components(separatedBy: "buffer cap reached").count - 1 == 1, "\(server.output)")
    }
}
