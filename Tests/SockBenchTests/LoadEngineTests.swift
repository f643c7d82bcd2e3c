import Foundation
import Glibc
import Testing
@testable import SockBench

/// The client engine against real reference servers on loopback (in this process, port 0).
@Suite("Client engine on real sockets", .serialized)
struct LoadEngineTests {
    struct Measured {
        var result: WorkerResult
        var server: ServerStatistics
        var seconds: Double
    }

    /// Runs `scenario` against an in-process reference server configured from it.
    static func measure(_ scenario: Scenario, dropEvery: Int = 0, serverKind: ServerKind? = nil) throws -> Measured {
        var configuration = Runner.serverConfiguration(scenario)!
        configuration.dropEvery = dropEvery
        if let serverKind { configuration.kind = serverKind }
        let server = try ReferenceServer(configuration: configuration)
        try server.start()
        let load = try LoadEngine.run(plan: LoadPlan(scenario: scenario, target: server.address), connections: scenario.load.connections,
                                      threads: scenario.load.threads, warmup: scenario.load.warmupNanoseconds,
                                      duration: scenario.load.durationNanoseconds)
        server.stop()
        return Measured(result: load.result, server: server.statistics, seconds: Double(load.measuredNanoseconds) / 1e9)
    }

    @Test("TCP echo: every answer verified, latency recorded per answer, no errors")
    func echo() throws {
        var scenario = TestSupport.scenario(.tcpEcho, connections: 4, messageSize: 100)
        scenario.load.threads = 2
        let measured = try Self.measure(scenario)
        let result = measured.result
        #expect(result.errors.total == 0, "\(result.firstError ?? "")")
        #expect(result.messagesReceived > 100)
        #expect(result.latency.count == result.messagesReceived)
        #expect(result.bytesReceived >= result.messagesReceived * 100)
        #expect(result.connectLatency.count == 4)
        #expect(result.connectionsEstablished == 4)
        #expect(measured.server.connectionsAccepted == 4)
        #expect(result.effectiveOptions?[.tcp_nodelay] != nil)
    }

    @Test("pipelining keeps `depth` requests in flight and still matches every answer")
    func pipelined() throws {
        let shallow = try Self.measure(TestSupport.scenario(.tcpEcho, connections: 1, messageSize: 64, depth: 1))
        let deep = try Self.measure(TestSupport.scenario(.tcpEcho, connections: 1, messageSize: 64, depth: 16))
        #expect(deep.result.errors.total == 0)
        #expect(deep.result.messagesReceived > 0)
        #expect(shallow.result.peakInFlight == 1)
        #expect(deep.result.peakInFlight == 16)
    }

    @Test("messages larger than a socket buffer survive short sends and partial reads")
    func largeMessages() throws {
        let measured = try Self.measure(TestSupport.scenario(.tcpEcho, connections: 2, messageSize: 1 << 20, depth: 2))
        #expect(measured.result.errors.total == 0, "\(measured.result.firstError ?? "")")
        #expect(measured.result.messagesReceived > 10)
    }

    @Test("tcp-rr answers each 64-byte request with 4 KiB carrying its sequence number")
    func requestResponse() throws {
        var scenario = TestSupport.scenario(.tcpRR, connections: 3, messageSize: 64, depth: 4)
        scenario.server.responseSize = 4096
        let measured = try Self.measure(scenario)
        #expect(measured.result.errors.total == 0, "\(measured.result.firstError ?? "")")
        #expect(measured.result.messagesReceived > 100)
        #expect(measured.result.bytesReceived >= measured.result.messagesReceived * 4096)
    }

    @Test("a server sending the wrong bytes is counted as an integrity error")
    func integrity() throws {
        // A tcp-source sends filler that is not the echo of any request.
        var scenario = TestSupport.scenario(.tcpEcho, connections: 2)
        scenario.load.reconnect = false // one failure per connection (the fault tests cover reconnecting)
        let measured = try Self.measure(scenario, serverKind: .tcpSource)
        #expect(measured.result.errors.integrity == 2)
        #expect(measured.result.messagesReceived == 0)
    }

    @Test("stream upload into tcp-sink and download from tcp-source move bytes one way")
    func streams() throws {
        var upload = TestSupport.scenario(.tcpSink, connections: 1, messageSize: 128 << 10)
        upload.load.direction = .upload
        let up = try Self.measure(upload)
        #expect(up.result.bytesSent > 1 << 20)
        #expect(up.server.bytesReceived >= up.result.bytesSent)
        #expect(up.result.errors.total == 0)
        let down = try Self.measure(TestSupport.scenario(.tcpSource, connections: 1, messageSize: 128 << 10))
        #expect(down.result.bytesReceived > 1 << 20)
        #expect(down.result.bytesSent == 0)
    }

    @Test("IPv6 loopback works for TCP and UDP")
    func ipv6() throws {
        for kind in [ServerKind.tcpEcho, .udpEcho] {
            var scenario = TestSupport.scenario(kind, connections: 2)
            scenario.server.bind = try SocketAddress(parsing: "[::1]:0")
            let measured = try Self.measure(scenario)
            #expect(measured.result.errors.total == 0, "\(kind): \(measured.result.firstError ?? "")")
            #expect(measured.result.messagesReceived > 0)
        }
    }

    @Test("UDP loss is counted exactly against a server that drops every 20th datagram")
    func udpLoss() throws {
        var scenario = TestSupport.scenario(.udpEcho, connections: 1, messageSize: 64, depth: 1, duration: 400_000_000)
        scenario.load.udpLossTimeoutNanoseconds = 2_000_000
        let measured = try Self.measure(scenario, dropEvery: 20)
        let udp = measured.result.udp
        #expect(udp.sent > 200)
        // The server counts from its first datagram: drops are exactly sequence numbers 19, 39, ...
        #expect(udp.lost == udp.sent / 20, "sent \(udp.sent), lost \(udp.lost), server dropped \(measured.server.datagramsDropped)")
        #expect(udp.lost == measured.server.datagramsDropped)
        #expect(udp.received + udp.lost == udp.sent)
        #expect(udp.duplicated == 0)
        #expect(udp.reordered == 0)
        #expect(udp.jitterSockets == 1)
        #expect(measured.result.latency.count == udp.received)
    }

    @Test("UDP without loss: everything sent comes back, jitter is measured")
    func udpClean() throws {
        let measured = try Self.measure(TestSupport.scenario(.udpEcho, connections: 3, messageSize: 200, depth: 8))
        let udp = measured.result.udp
        #expect(udp.sent > 100)
        #expect(udp.lost == 0)
        #expect(udp.received == udp.sent)
        #expect(udp.jitter > 0)
        #expect(measured.result.errors.total == 0)
        #expect(measured.result.peakInFlight == 8, "depth 8 keeps 8 datagrams in flight")
    }

    @Test("nothing listening: every connection is refused, quickly")
    func refused() throws {
        let address = try TestSupport.closedPort()
        var scenario = TestSupport.scenario(.tcpEcho, connections: 5, duration: 5_000_000_000)
        scenario.server = ServerSpec(kind: .external, address: address)
        let started = Date()
        let load = try LoadEngine.run(plan: LoadPlan(scenario: scenario, target: address), connections: 5, threads: 1,
                                      warmup: 0, duration: scenario.load.durationNanoseconds)
        #expect(load.result.errors.refused == 5)
        #expect(load.result.connectionsEstablished == 0)
        #expect(Date().timeIntervalSince(started) < 1, "a refused run ends at once, not after its duration")
    }

    @Test("a server that never accepts makes connects time out at connect_timeout")
    func connectTimeout() throws {
        // A listener with a full backlog that never accepts: further SYNs go unanswered.
        let listener = try Socket.open(.tcp, for: SocketOptionTests.loopback)
        defer { close(listener) }
        try Socket.bind(listener, to: SocketOptionTests.loopback)
        try Socket.listen(listener, backlog: 0)
        let address = try SocketAddress.local(of: listener)
        var scenario = TestSupport.scenario(.tcpEcho, connections: 6, duration: 3_000_000_000)
        scenario.load.connectTimeoutNanoseconds = 200_000_000
        scenario.load.requestTimeoutNanoseconds = 200_000_000
        scenario.load.reconnect = false
        let started = Date()
        let load = try LoadEngine.run(plan: LoadPlan(scenario: scenario, target: address), connections: 6, threads: 1,
                                      warmup: 0, duration: scenario.load.durationNanoseconds)
        #expect(load.result.errors.timeout >= 1)
        #expect(load.result.errors.total == 6, "each connection fails once: connect or request timeout")
        #expect(Date().timeIntervalSince(started) < 2)
    }

    @Test("fd hygiene: a run leaves no descriptor open")
    func noDescriptorLeak() throws {
        _ = try Self.measure(TestSupport.scenario(.tcpEcho, connections: 8, duration: 100_000_000))
        let before = TestSupport.openDescriptors()
        for kind in [ServerKind.tcpEcho, .udpEcho, .tcpRR] {
            _ = try Self.measure(TestSupport.scenario(kind, connections: 8, duration: 100_000_000))
        }
        #expect(TestSupport.openDescriptors() == before)
    }
}
