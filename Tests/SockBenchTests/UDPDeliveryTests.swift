import Foundation
import Glibc
import Testing
@testable import SockBench

/// UDP answers that come back damaged (merged by a stream relay, truncated, garbled) are integrity
/// errors and not also losses; drops by full receive queues are counted where the host sees them
/// (the client's and the server's SO_RXQ_OVFL, the host's UDP RcvbufErrors).
@Suite("UDP delivery: damaged answers and buffer drops", .serialized)
struct UDPDeliveryTests {
    static func run(_ yaml: String, _ name: String = #function) throws -> (run: RunResult, directory: String) {
        let scenario = try ScenarioLoader.load(text: yaml, path: "udp-delivery.yaml")
        let directory = TestSupport.temporaryDirectory(name)
        let options = Runner.Options(outputDirectory: directory, capture: false, executable: TestSupport.executable)
        let outcome = try Runner.run(scenario, options: options)
        return (try #require(outcome.report.runs.first), directory)
    }

    static func external(_ address: String, load: String) -> String {
        """
        name: udp-delivery
        server: {kind: external, address: "\(address)", protocol: udp}
        load: {\(load)}
        """
    }

    @Test("a peer that joins pairs of answers into one datagram: integrity errors, both sequence numbers damaged, none lost")
    func merged() throws {
        let peer = try DamagingUDPPeer(.mergePairs)
        let (run, directory) = try Self.run(Self.external(peer.address, load: "connections: 1, depth: 4, duration: 500ms, warmup: 0s, udp_loss_timeout: 500ms"))
        peer.stop()
        let counts = peer.counts
        let udp = try #require(run.udp)
        print("udp delivery: merged: peer \(counts); client sent \(udp.sent), received \(udp.received ?? 0), damaged \(udp.damaged ?? 0), lost \(udp.lost ?? 0), integrity \(run.errors.integrity)")
        #expect(counts.merged > 10)
        #expect(run.errors.integrity == UInt64(counts.merged))
        #expect(udp.damaged == 2 * UInt64(counts.merged))
        #expect(udp.received == UInt64(counts.clean))
        #expect(udp.lost == 0)
        #expect(udp.lossPercent == 0)
        #expect((udp.received ?? 0) + (udp.damaged ?? 0) + (udp.lost ?? 0) == udp.sent)
        let markdown = try String(contentsOfFile: directory + "/report.md", encoding: .utf8)
        #expect(markdown.contains("\(udp.damaged ?? 0) answers arrived damaged"), "\(markdown)")
        let json = try TestSupport.decodeReport(directory)
        let record = try #require(((json["runs"] as? [[String: Any]])?.first?["udp"]) as? [String: Any])
        #expect(record["damaged"] as? Int == Int(udp.damaged ?? 0))
        for key in ["client_rxq_overflows", "host_rcvbuf_errors", "host_in_errors"] { #expect(record[key] is Int, "\(key) in \(record)") }
    }

    @Test("answers cut short or with a flipped filler byte are damaged, not lost; one with a flipped sequence number is lost")
    func truncatedAndGarbled() throws {
        let peer = try DamagingUDPPeer(.damage(every: 7))
        let (run, _) = try Self.run(Self.external(peer.address, load: "connections: 1, rate: 2000/s, duration: 500ms, warmup: 0s, udp_loss_timeout: 500ms"))
        peer.stop()
        let counts = peer.counts
        let udp = try #require(run.udp)
        print("udp delivery: damaged: peer \(counts); client sent \(udp.sent), received \(udp.received ?? 0), damaged \(udp.damaged ?? 0), lost \(udp.lost ?? 0), integrity \(run.errors.integrity)")
        #expect(counts.truncated > 50 && counts.garbled > 50 && counts.unrecoverable > 50)
        #expect(run.errors.integrity == UInt64(counts.truncated + counts.garbled + counts.unrecoverable))
        #expect(udp.damaged == UInt64(counts.truncated + counts.garbled))
        #expect(udp.lost == UInt64(counts.unrecoverable))
        #expect(udp.received == UInt64(counts.clean))
        #expect((udp.received ?? 0) + (udp.damaged ?? 0) + (udp.lost ?? 0) == udp.sent)
    }

    @Test("socat relaying through a pipe as the target: lost + damaged + received == sent")
    func socat() throws {
        // scripts/setup.sh --test installs it; without it the test fails rather than passing silently.
        let socat = try #require(TestSupport.tool("socat"), "socat is not installed (bash scripts/setup.sh --test)")
        // socat needs a port number up front: take a free one from the kernel.
        let probe = try Socket.open(.udp, for: SocketAddress(parsing: "127.0.0.1:0"))
        try Socket.bind(probe, to: SocketAddress(parsing: "127.0.0.1:0"))
        let port = try SocketAddress.local(of: probe).port
        close(probe)
        let work = TestSupport.temporaryDirectory()
        let relay = try RunningCommand(["-T2", "UDP4-LISTEN:\(port),fork,bind=127.0.0.1", "PIPE"], in: work, executable: socat)
        defer {
            kill(relay.pid, SIGTERM)
            _ = relay.wait(timeout: 5)
        }
        usleep(200_000)
        // One flow: socat's children share the port, so with several clients at once a child also
        // answers datagrams of the others to its own (integrity errors there, losses where they belonged).
        let (run, _) = try Self.run(Self.external("127.0.0.1:\(port)", load: "connections: 1, rate: 8000/s, depth: 32, duration: 1s, warmup: 0s"))
        let udp = try #require(run.udp)
        print("udp delivery: socat: sent \(udp.sent), received \(udp.received ?? 0), damaged \(udp.damaged ?? 0), lost \(udp.lost ?? 0), "
            + "integrity \(run.errors.integrity), client overflows \(udp.clientRxqOverflows ?? 0), host input errors \(udp.hostInErrors ?? 0)")
        #expect(udp.sent > 5_000)
        #expect((udp.received ?? 0) > 0)
        #expect((udp.received ?? 0) + (udp.damaged ?? 0) + (udp.lost ?? 0) == udp.sent)
        // socat and loopback lose a datagram only to a full buffer, which the host counts.
        #expect((udp.lost ?? 0) <= (udp.hostInErrors ?? 0), "lost \(udp.lost ?? 0), host input errors \(udp.hostInErrors ?? 0)")
        // Every merged datagram is one integrity error carrying at least two damaged answers.
        #expect((udp.damaged ?? 0) >= 2 * run.errors.integrity, "damaged \(udp.damaged ?? 0), integrity \(run.errors.integrity)")
    }

    @Test("a client socket flooded past its receive buffer: SO_RXQ_OVFL counts the drops, the host counts at least as many")
    func clientOverflow() throws {
        let peer = try DamagingUDPPeer(.flood(copies: 200))
        let (run, directory) = try Self.run("""
        name: udp-flood
        server: {kind: external, address: "\(peer.address)", protocol: udp}
        client: {so_rcvbuf: 4KiB}
        load: {connections: 1, duration: 400ms, warmup: 0s, udp_loss_timeout: 20ms}
        """)
        peer.stop()
        let udp = try #require(run.udp)
        let overflows = try #require(udp.clientRxqOverflows)
        print("udp delivery: flood: sent \(udp.sent), received \(udp.received ?? 0), duplicated \(udp.duplicated), lost \(udp.lost ?? 0), "
            + "client overflows \(overflows), host rcvbuf errors \(udp.hostRcvbufErrors ?? 0)")
        #expect(overflows > 0)
        #expect(overflows <= (udp.hostRcvbufErrors ?? 0))
        #expect((udp.lost ?? 0) <= overflows)
        #expect(udp.duplicated > 0)
        let markdown = try String(contentsOfFile: directory + "/report.md", encoding: .utf8)
        #expect(markdown.contains("full receive buffers dropped \(overflows) at the clients"), "\(markdown)")
    }

    @Test("a udp-sink server with a tiny receive buffer: its SO_RXQ_OVFL count travels in the stats line and bounds the loss")
    func serverOverflow() throws {
        let (run, _) = try Self.run("""
        name: udp-sink-overflow
        server: {kind: udp-sink, so_rcvbuf: 4KiB}
        load: {connections: 1, pattern: stream, duration: 300ms, warmup: 100ms}
        """)
        let udp = try #require(run.udp)
        let overflows = try #require(udp.serverRxqOverflows)
        let lost = try #require(udp.lost)
        print("udp delivery: sink overflow: sent \(udp.sent), server received \(udp.received ?? 0), lost \(lost), server overflows \(overflows), "
            + "host rcvbuf errors \(udp.hostRcvbufErrors ?? 0), host input errors \(udp.hostInErrors ?? 0)")
        #expect(overflows > 0)
        #expect(overflows <= lost)
        // Beyond the drops, at most a small buffer's worth was still queued when the server stopped.
        #expect(lost <= (udp.hostInErrors ?? 0) + 64, "lost \(lost), host input errors \(udp.hostInErrors ?? 0)")
        #expect(overflows <= (udp.hostRcvbufErrors ?? 0))
    }

    @Test("the host's UDP counters parse from /proc/net/snmp and snmp6, and their delta never goes below zero")
    func hostCounters() throws {
        let snmp = """
        Ip: Forwarding DefaultTTL InReceives
        Ip: 1 64 12345
        Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
        Udp: 900 3 41 880 37 0 4 0 0
        UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
        UdpLite: 0 0 99 0 99 0 0 0 0
        """
        let snmp6 = """
        Udp6InDatagrams                 \t10
        Udp6InErrors                    \t6
        Udp6RcvbufErrors                \t5
        UdpLite6InErrors                \t77
        """
        let parsed = try #require(HostUDPStatistics.parse(snmp: snmp, snmp6: snmp6))
        #expect(parsed == HostUDPStatistics(rcvbufErrors: 42, inErrors: 47))
        #expect(HostUDPStatistics.parse(snmp: snmp, snmp6: nil) == HostUDPStatistics(rcvbufErrors: 37, inErrors: 41))
        #expect(HostUDPStatistics.parse(snmp: "Udp: InErrors RcvbufErrors\nUdp: 1\n", snmp6: nil) == nil)
        #expect(HostUDPStatistics.parse(snmp: "Ip: 1\n", snmp6: snmp6) == nil)
        let later = HostUDPStatistics(rcvbufErrors: 50, inErrors: 40)
        #expect(later.since(parsed) == HostUDPStatistics(rcvbufErrors: 8, inErrors: 0))
        #expect(HostUDPStatistics.read() != nil)
    }

    @Test("report.md says in one sentence what the proxy dropped and what full buffers dropped")
    func dropSentence() {
        var injected = InjectedStatistics()
        injected.dropped = 300
        injected.datagramsToServer = 2_700
        injected.queueDrops = 2
        let udp = RunResult.UDPRecord(sent: 3_000, received: 2_680, lost: 310, lossPercent: 310.0 / 30, duplicated: 0, reordered: 0, jitterNs: 1,
                                      damaged: 10, clientRxqOverflows: 3, serverRxqOverflows: 4, hostRcvbufErrors: 8, hostInErrors: 9)
        let sentence = MarkdownReport.udpDropSentence(udp, injected: injected)
        #expect(sentence == "Loss 10.333% (310 of 3000 datagrams in the window): the impairment proxy dropped 10.00% of datagrams to the server "
            + "on purpose (300 over the whole run, warm-up included) and 2 in its full queue; full receive buffers dropped 3 at the clients, "
            + "4 at the server, 8 host-wide (UDP RcvbufErrors of every socket on this host across the run; 9 input errors in all). "
            + "10 answers arrived damaged (merged, truncated or garbled): integrity errors, not counted lost.", "\(sentence)")
    }
}
