import Foundation
import Testing
@testable import SockBench

/// Request-response, connect-per-request, idle connections and conversations are step programs
/// on one connection engine (`ConnectionEngine`); only TCP streams and UDP's filler loads keep
/// workers of their own. These tests pin which load runs where, and that the programs built for
/// raw echo loads count their faults as such a load must (integrity, timeout, closed: never the
/// `protocol` of a conversation).
@Suite("One connection engine", .serialized)
struct ConnectionEngineTests {
    static func plan(_ yaml: String) throws -> LoadPlan {
        let scenario = try ScenarioLoader.load(text: yaml, path: "engine.yaml")
        return LoadPlan(scenario: scenario, target: try SocketAddress(parsing: "127.0.0.1:9"))
    }

    @Test("request-response, connect, idle (with and without pings) and TCP streams play steps; UDP filler loads and streams are sequenced datagrams")
    func whichEngine() throws {
        let rr = try Self.plan("name: a\nserver: {kind: tcp-echo}\nload: {connections: 2, message_size: 100, depth: 4}\n")
        #expect(!rr.sequencedDatagrams && rr.echoesFiller && rr.reuseConnection)
        #expect(rr.conversation == [ConversationStep(send: SendTemplate(pieces: [.payload(100)]), expect: .echo(size: 100, verify: true))])
        let tcpRR = try Self.plan("name: a\nserver: {kind: tcp-rr, response_size: 4KiB}\nload: {message_size: 64}\n")
        #expect(tcpRR.conversation.first?.expect == .echo(size: 4096, verify: true))
        let connect = try Self.plan("name: a\nserver: {kind: tcp-echo}\nload: {pattern: connect}\n")
        #expect(!connect.sequencedDatagrams && connect.echoesFiller && !connect.reuseConnection)
        let idle = try Self.plan("name: a\nserver: {kind: tcp-echo}\nload: {pattern: idle}\n")
        #expect(!idle.sequencedDatagrams && idle.echoesFiller && idle.conversation.isEmpty)
        let pinged = try Self.plan("name: a\nserver: {kind: tcp-echo}\nload: {pattern: idle, ping_interval: 1s}\n")
        #expect(!pinged.sequencedDatagrams && pinged.conversation.count == 1 && pinged.rate != nil)
        let stream = try Self.plan("name: a\nserver: {kind: tcp-sink}\nload: {message_size: 64KiB}\n")
        #expect(!stream.sequencedDatagrams && stream.conversation.isEmpty && !stream.echoesFiller)
        let udpStream = try Self.plan("name: a\nserver: {kind: udp-sink}\nload: {message_size: 64}\n")
        #expect(udpStream.sequencedDatagrams)
        let udp = try Self.plan("name: a\nserver: {kind: udp-echo}\nload: {message_size: 64}\n")
        #expect(udp.sequencedDatagrams)
    }

    @Test("an echo answer is matched in pieces by both forms; a damaged sequence or filler byte is a mismatch", arguments: [3, 40, 99])
    func echoMatching(damaged: Int) throws {
        let sequence: UInt64 = 0x0102_0304_0506_0708
        let filler = Payload.makeTemplate(size: 100)
        defer { filler.deallocate() }
        let answer = (0..<100).map { Payload.expectedByte(sequence: sequence, offset: $0) }
        let generic = try CompiledExpectation(.echo(size: 100, verify: true))
        for useEngineForm in [false, true] {
            func feed(_ bytes: ArraySlice<UInt8>, _ progress: inout ExpectProgress) -> (Int, ExpectMatcher.Status) {
                Array(bytes).withUnsafeBytes { raw in
                    let (taken, status) = useEngineForm
                        ? ExpectMatcher.feedEcho(filler, size: 100, verify: true, raw, &progress, sequence: sequence)
                        : ExpectMatcher.feed(generic, raw, &progress, maximum: 1 << 20, sequence: sequence)
                    return (taken, status)
                }
            }
            var progress = ExpectProgress()
            #expect(feed(answer[0..<5], &progress) == (5, .needMore))
            #expect(feed(answer[5..<100], &progress) == (95, .complete))
            var damagedAnswer = answer
            damagedAnswer[damaged] ^= 0x40
            progress = ExpectProgress()
            #expect(feed(damagedAnswer[0..<100], &progress) == (0, .mismatch(ExpectMatcher.echoMismatch(sequence))))
            // verify: false only counts the bytes.
            progress = ExpectProgress()
            let counted = damagedAnswer.withUnsafeBytes { ExpectMatcher.feedEcho(filler, size: 100, verify: false, $0, &progress, sequence: sequence) }
            #expect(counted == (100, .complete))
        }
    }

    static func run(_ yaml: String, against server: PlainEchoServer) throws -> WorkerResult {
        let scenario = try ScenarioLoader.load(text: yaml, path: "engine.yaml")
        let load = try LoadEngine.run(plan: LoadPlan(scenario: scenario, target: try SocketAddress(parsing: server.address)),
                                      connections: scenario.load.connections, threads: scenario.load.threads,
                                      warmup: scenario.load.warmupNanoseconds, duration: scenario.load.durationNanoseconds)
        return load.result
    }

    @Test("a damaged sequence number is an integrity error naming the sequence, not a protocol error")
    func damagedSequence() throws {
        let server = try PlainEchoServer(fault: .corruptFirstByte(every: 50))
        defer { server.stop() }
        let result = try Self.run("name: a\nserver: {kind: external, address: \(server.address)}\nload: {connections: 2, message_size: 64, warmup: 0s, duration: 500ms}\n",
                                  against: server)
        #expect(result.errors.integrity > 0)
        #expect(result.errors.protocol == 0 && result.errors.timeout == 0)
        #expect(result.firstError?.contains("differ from what was sent (sequence 49)") == true, "\(result.firstError ?? "")")
        // Each damaged answer ends its connection, which opens again: the load goes on.
        #expect(result.messagesReceived >= 49 * result.errors.integrity)
    }

    @Test("an echo server that answers twice: the extra bytes are an integrity error (no request asked for them)")
    func answeredTwice() throws {
        let server = try PlainEchoServer(fault: .answerTwice(gapMicroseconds: 0))
        defer { server.stop() }
        let result = try Self.run("name: a\nserver: {kind: external, address: \(server.address)}\nload: {connections: 1, message_size: 64, warmup: 0s, duration: 300ms, reconnect: false}\n",
                                  against: server)
        #expect(result.errors.integrity == 1 && result.errors.protocol == 0, "\(result.errors)")
        #expect(result.messagesReceived == 1)
    }

    @Test("think time with a payload of its own: requests wait between answers, and the wait is no part of latency")
    func thinkTimeWithPayload() throws {
        let server = try PlainEchoServer()
        defer { server.stop() }
        let result = try Self.run("""
            name: a
            server: {kind: external, address: \(server.address)}
            load: {connections: 2, payload: "ping\\n", think_time: 50ms, warmup: 0s, duration: 1s}
            """, against: server)
        #expect(result.errors.total == 0, "\(result.firstError ?? "")")
        // 2 connections × 1 s / (50 ms + a round trip): about 40, never more; a loaded machine fewer.
        #expect(result.messagesReceived >= 10 && result.messagesReceived <= 42, "\(result.messagesReceived)")
        // Median latency is a loopback round trip, far below the 50 ms think time.
        #expect(result.latency.percentile(50) < 25_000_000)
    }

    // MARK: Streams on the engine

    static func stream(_ yaml: String) throws -> LoadEngineTests.Measured {
        try LoadEngineTests.measure(try ScenarioLoader.load(text: yaml, path: "engine.yaml"))
    }

    @Test("a stream in each direction against tcp-source: bytes move the way asked, none the other way, 0 errors, no slot starved",
          arguments: ["download", "both"])
    func streamDirections(_ direction: String) throws {
        let measured = try Self.stream("name: a\nserver: {kind: tcp-source}\nload: {pattern: stream, direction: \(direction), connections: 2, message_size: 16KiB, warmup: 100ms, duration: 500ms}\n")
        let result = measured.result
        #expect(result.errors.total == 0, "\(result.firstError ?? "")")
        #expect(result.bytesReceived > 1 << 20, "\(result.bytesReceived)")
        if direction == "both" { #expect(result.bytesSent > 1 << 20, "\(result.bytesSent)") } else { #expect(result.bytesSent == 0) }
        #expect(result.connectionsStarved == 0 && result.connectionsEstablished == 2 && result.connectLatency.count == 2)
    }

    @Test("an upload into a server that resets: reset errors, reconnects, and bytes keep moving after each")
    func streamReset() throws {
        let server = try PlainEchoServer(fault: .reset(after: 20))
        defer { server.stop() }
        let result = try Self.run("name: a\nserver: {kind: external, address: \(server.address)}\nload: {pattern: stream, direction: both, connections: 1, message_size: 4KiB, warmup: 0s, duration: 600ms, reconnect_delay: 20ms}\n",
                                  against: server)
        #expect(result.errors.reset + result.errors.closed > 0, "\(result.errors)")
        #expect(result.reconnects > 0 && result.bytesSent > 0)
        #expect(result.errors.timeout == 0 && result.errors.other == 0, "\(result.errors) \(result.firstError ?? "")")
    }

    @Test("an upload into an echo server nobody reads from: the echo fills up, writes stop, and the stall rule (idle_timeout) ends it with a timeout")
    func streamStall() throws {
        let server = try PlainEchoServer()
        defer { server.stop() }
        let result = try Self.run("name: a\nserver: {kind: external, address: \(server.address)}\nload: {pattern: stream, direction: upload, connections: 1, message_size: 64KiB, warmup: 0s, duration: 1500ms, idle_timeout: 300ms, reconnect: false}\n",
                                  against: server)
        #expect(result.errors.timeout == 1, "\(result.errors) \(result.firstError ?? "")")
        #expect(result.firstError?.contains("the stream stalled: no byte moved for 300ms") == true, "\(result.firstError ?? "")")
        #expect(result.bytesSent > 0 && result.connectionsOpen == 0)
    }

    // MARK: UDP's sequenced datagrams on the engine

    /// Open loop at a rate the echo answers at once: most scans find the oldest datagram just sent
    /// by the schedule's visit, after the scan's clock reading (a datagram younger than `now`).
    @Test("UDP echo open loop over 4 sockets: every datagram sent in the window is answered or counted, 0 errors, none starved",
          arguments: [(rate: "4000/s", depth: 1), (rate: "20000/s", depth: 64)])
    func udpOpenLoop(_ load: (rate: String, depth: Int)) throws {
        let measured = try Self.stream("name: a\nserver: {kind: udp-echo}\nload: {connections: 4, message_size: 64, rate: \(load.rate), depth: \(load.depth), warmup: 100ms, duration: 1s}\n")
        let result = measured.result
        let rate = Double(load.rate.dropLast(2))!
        #expect(result.errors.total == 0, "\(result.firstError ?? "")")
        // Open loop sends what fell due in the window, whatever the machine's load.
        #expect(abs(Double(result.udp.sent) - rate * measured.seconds) <= rate * measured.seconds * 0.02 + 8, "\(result.udp.sent)")
        #expect(result.udp.received + result.udp.lost + result.udp.damaged == result.udp.sent)
        #expect(result.udp.received > 0 && result.latency.count == result.udp.received && result.connectionsStarved == 0)
    }

    @Test("UDP stream into a sink: datagrams leave in sendmmsg batches, counted sent; nothing is awaited after the window")
    func udpStream() throws {
        let started = MonotonicClock.now()
        let measured = try Self.stream("name: a\nserver: {kind: udp-sink}\nload: {pattern: stream, connections: 2, message_size: 64, warmup: 100ms, duration: 500ms}\n")
        let result = measured.result
        #expect(result.errors.total == 0, "\(result.firstError ?? "")")
        #expect(result.udp.sent > 1_000 && result.messagesSent == result.udp.sent && result.bytesSent == result.udp.sent * 64)
        #expect(measured.server.datagramsReceived > 0 && result.connectionsStarved == 0)
        // No drain for echoes that never come: the load ends with its window (well under the 200 ms loss timeout after it).
        #expect(Double(MonotonicClock.now() - started) / 1e9 < 0.6 + 1.5, "a sink's load does not wait for answers")
    }
}
