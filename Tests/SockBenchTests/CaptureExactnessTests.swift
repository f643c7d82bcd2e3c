import Foundation
import Glibc
import Testing
@testable import SockBench

/// The capture analysis against tshark on real captures where a 4-tuple carries many connections
/// (crr reusing client ports, connections closed by RST and reused) and where the network loses
/// packets for real (a tbf-shaped veth link between namespaces): every count equals tshark's.
@Suite("capture analysis equals tshark", .serialized)
struct CaptureExactnessTests {
    static let tshark = TestSupport.tool("tshark")

    /// The counts both tools give for one file.
    struct Counts: Equatable, CustomStringConvertible {
        var connections = 0
        var syn: UInt64 = 0, synAck: UInt64 = 0, fin: UInt64 = 0, rst: UInt64 = 0
        var retransmissions: UInt64 = 0, fastRetransmissions: UInt64 = 0, spuriousRetransmissions: UInt64 = 0
        var outOfOrder: UInt64 = 0, zeroWindow: UInt64 = 0, duplicateAcks: UInt64 = 0

        var description: String {
            "connections \(connections), SYN \(syn), SYN-ACK \(synAck), FIN \(fin), RST \(rst), retransmissions \(retransmissions) "
                + "(fast \(fastRetransmissions), spurious \(spuriousRetransmissions)), out of order \(outOfOrder), "
                + "zero window \(zeroWindow), duplicate ACKs \(duplicateAcks)"
        }

        /// tshark's: `tcp.stream` values for connections, the flag bits, and the analysis flags.
        static func tshark(_ file: String) throws -> Counts {
            let fields = ["tcp.stream", "tcp.flags", "tcp.analysis.retransmission", "tcp.analysis.fast_retransmission",
                          "tcp.analysis.spurious_retransmission", "tcp.analysis.out_of_order", "tcp.analysis.zero_window",
                          "tcp.analysis.duplicate_ack"]
            let result = try TestSupport.program(try #require(CaptureExactnessTests.tshark),
                                                 ["-r", file, "-T", "fields", "-E", "separator=|", "-E", "occurrence=f"]
                                                    + fields.flatMap { ["-e", $0] }, timeout: 120)
            try #require(result.status == 0, "tshark: \(result.stderr)")
            var counts = Counts()
            var streams = Set<Substring>()
            for line in result.stdout.split(separator: "\n") {
                let field = line.split(separator: "|", omittingEmptySubsequences: false)
                guard field.count == fields.count, !field[0].isEmpty else { continue }
                streams.insert(field[0])
                let flags = UInt16(field[1].dropFirst(2), radix: 16) ?? 0
                if flags & 0x02 != 0 { if flags & 0x10 != 0 { counts.synAck += 1 } else { counts.syn += 1 } }
                if flags & 0x01 != 0 { counts.fin += 1 }
                if flags & 0x04 != 0 { counts.rst += 1 }
                func seen(_ index: Int) -> UInt64 { field[index].isEmpty ? 0 : 1 }
                counts.retransmissions += seen(2)
                counts.fastRetransmissions += seen(3)
                counts.spuriousRetransmissions += seen(4)
                counts.outOfOrder += seen(5)
                counts.zeroWindow += seen(6)
                counts.duplicateAcks += seen(7)
            }
            counts.connections = streams.count
            return counts
        }

        /// sockbench's, from the analysis `sockbench analyze` and the run's report use.
        static func sockbench(_ file: String) throws -> Counts {
            let analysis = try CaptureAnalyzer.analyze(file: file, configuration: .init())
            let tcp = try #require(analysis.tcp)
            return Counts(connections: analysis.flowCount, syn: tcp.syn, synAck: tcp.synAck, fin: tcp.fin, rst: tcp.rst,
                          retransmissions: tcp.retransmissions, fastRetransmissions: tcp.fastRetransmissions ?? 0,
                          spuriousRetransmissions: tcp.spuriousRetransmissions ?? 0, outOfOrder: tcp.outOfOrder,
                          zeroWindow: tcp.zeroWindow, duplicateAcks: tcp.duplicateAcks ?? 0)
        }
    }

    /// Runs `yaml` with full capture in a namespace with a 32-port ephemeral range
    /// (`narrowPortRange`); nil, having said why, where namespaces cannot be made.
    static func capturedRunReusingPorts(_ yaml: String, name: String = #function) throws -> (file: String, run: RunResult)? {
        var reason = ""
        guard let (namespaces, wrapper) = try narrowPortRange(reason: &reason) else {
            print("skipped: \(reason)")
            return nil
        }
        defer { namespaces.remove() }
        return try capturedRun(yaml, via: wrapper, name: name)
    }

    /// Runs `yaml` with full capture and returns the pcap and the report's run.
    static func capturedRun(_ yaml: String, arguments: [String] = [], via wrapper: [String] = [], name: String = #function) throws -> (file: String, run: RunResult) {
        let work = TestSupport.temporaryDirectory(name)
        let scenario = try CIGateTests.scenarioFile(yaml, in: work)
        let command = wrapper + [TestSupport.executable, "run", scenario, "--capture", "full", "--out", work + "/out", "--quiet"] + arguments
        let result = try TestSupport.program(command[0], Array(command.dropFirst()), timeout: 120)
        #expect(result.status == 0 || result.status == 3, "\(result.stderr)")
        let report = try ReportFile.load(work + "/out/report.json")
        let run = try #require(report.runs.first)
        #expect(run.capture?.details.mode == "full" && run.capture?.details.kernelDropped == 0)
        return (work + "/out/capture.pcap", run)
    }

    /// A network namespace (with its own loopback) whose ephemeral port range is 32 ports wide, so
    /// a crr run reuses client ports within milliseconds however slowly a busy machine runs it; nil
    /// (with the reason) where namespaces cannot be made.
    static func narrowPortRange(reason: inout String) throws -> (namespaces: ImpairmentTests.NamespacePair, wrapper: [String])? {
        guard let namespaces = ImpairmentTests.NamespacePair(reason: &reason) else { return nil }
        let set = try TestSupport.program(namespaces.ip, ["netns", "exec", namespaces.client, "sysctl", "-w",
                                                          "net.ipv4.ip_local_port_range=40000 40031"])
        guard set.status == 0 else {
            reason = "cannot narrow the namespace's port range: \(set.stderr)"
            return nil
        }
        return (namespaces, [namespaces.ip, "netns", "exec", namespaces.client])
    }

    /// Client ports that carried more than one SYN: the reuse the test is about must have happened.
    static func reusedPorts(_ file: String) throws -> Int {
        let result = try TestSupport.program(try #require(tshark), ["-r", file, "-Y", "tcp.flags.syn == 1 && tcp.flags.ack == 0",
                                                                    "-T", "fields", "-e", "tcp.srcport"], timeout: 120)
        var seen: [Substring: Int] = [:]
        for port in result.stdout.split(separator: "\n") { seen[port, default: 0] += 1 }
        return seen.values.filter { $0 > 1 }.count
    }

    @Test("crr reusing client ports: connections, SYN, FIN, RST and retransmissions equal tshark's",
          .enabled(if: TestSupport.canCapture, "capturing needs CAP_NET_RAW (run the tests as root)"),
          .enabled(if: tshark != nil, "needs tshark (apt-get install tshark)"))
    func crrPortReuse() throws {
        guard let (file, run) = try Self.capturedRunReusingPorts("""
        name: crr
        server: {kind: tcp-echo, tcp_nodelay: true}
        client: {tcp_nodelay: true}
        load: {connections: 8, pattern: connect, message_size: 64, warmup: 100ms, duration: 1s}
        """) else { return }
        let expected = try Counts.tshark(file), measured = try Counts.sockbench(file)
        print("crr: tshark \(expected); sockbench \(measured)")
        #expect(try Self.reusedPorts(file) > 0, "no client port was reused: the run did not test what it should")
        #expect(measured == expected)
        // One flow per connection: about one SYN each, never 4-tuples folded together.
        #expect(measured.connections == Int(measured.syn) && measured.fin == 2 * measured.syn)
        #expect(measured.connections >= run.connections.established)
    }

    @Test("connections closed by RST (SO_LINGER 0) and their ports reused at once: every count equals tshark's",
          .enabled(if: TestSupport.canCapture, "capturing needs CAP_NET_RAW (run the tests as root)"),
          .enabled(if: tshark != nil, "needs tshark (apt-get install tshark)"))
    func resetThenReuse() throws {
        guard let (file, _) = try Self.capturedRunReusingPorts("""
        name: crr-reset
        server: {kind: tcp-echo, tcp_nodelay: true}
        client: {tcp_nodelay: true, so_linger: 0}
        load: {connections: 8, pattern: connect, message_size: 64, warmup: 100ms, duration: 1s}
        """) else { return }
        let expected = try Counts.tshark(file), measured = try Counts.sockbench(file)
        print("crr with resets: tshark \(expected); sockbench \(measured)")
        #expect(try Self.reusedPorts(file) > 0, "no client port was reused")
        #expect(expected.rst > 0 && expected.fin == 0)
        #expect(measured == expected)
    }

    @Test("a receiver that stops reading: zero windows, probes and window updates counted as tshark counts them",
          .enabled(if: TestSupport.canCapture, "capturing needs CAP_NET_RAW (run the tests as root)"),
          .enabled(if: tshark != nil, "needs tshark (apt-get install tshark)"))
    func zeroWindow() throws {
        let server = try PlainEchoServer()
        defer { server.stop() }
        server.pause(for: 10_000_000_000)
        let (file, _) = try Self.capturedRun("""
        name: zero-window
        server: {kind: external, address: "\(server.address)"}
        client: {so_sndbuf: 64KiB, so_rcvbuf: 64KiB}
        load: {connections: 2, pattern: stream, message_size: 16KiB, warmup: 0s, duration: 1500ms}
        """)
        let expected = try Counts.tshark(file), measured = try Counts.sockbench(file)
        print("zero window: tshark \(expected); sockbench \(measured)")
        #expect(expected.zeroWindow > 0, "the receiver never advertised a zero window")
        #expect(measured == expected)
    }

    @Test("real losses on a tbf-shaped veth link between namespaces: retransmissions (fast, spurious), out of order, duplicate ACKs equal tshark's",
          .enabled(if: TestSupport.canCapture, "capturing needs CAP_NET_RAW (run the tests as root)"),
          .enabled(if: tshark != nil, "needs tshark (apt-get install tshark)"))
    func lossyLink() throws {
        var reason = ""
        guard let namespaces = ImpairmentTests.NamespacePair(reason: &reason) else {
            print("skipped: \(reason)")
            return
        }
        // A queue of 12 KiB in front of 20 Mbit/s drops whatever a burst puts beyond it.
        let shaped = try TestSupport.program(TestSupport.tool("tc")!, ["-n", namespaces.client, "qdisc", "add", "dev", namespaces.clientDevice,
                                                                     "root", "tbf", "rate", "20mbit", "burst", "8kb", "limit", "12kb"])
        try #require(shaped.status == 0, "\(shaped.stderr)")
        let work = TestSupport.temporaryDirectory()
        let server = try RunningCommand(["netns", "exec", namespaces.server, TestSupport.executable, "serve", "tcp-echo", "--bind", "198.18.0.2:5202"],
                                        in: work, executable: namespaces.ip)
        defer {
            kill(server.pid, SIGTERM)
            _ = server.wait(timeout: 5)
        }
        try #require(TestSupport.eventually(timeout: 10) { server.output.contains("ready on 198.18.0.2:5202") }, "\(server.output)")
        let wrapper = [namespaces.ip, "netns", "exec", namespaces.client]
        let (file, _) = try Self.capturedRun("""
        name: lossy
        server: {kind: external, address: "198.18.0.2:5202"}
        load: {connections: 16, message_size: 32KiB, depth: 4, request_timeout: 5s, error_budget: 100%, warmup: 100ms, duration: 1500ms}
        capture: {interface: \(namespaces.clientDevice)}
        """, arguments: ["--allow-remote"], via: wrapper)
        let expected = try Counts.tshark(file), measured = try Counts.sockbench(file)
        print("lossy link: tshark \(expected); sockbench \(measured)")
        #expect(expected.retransmissions > 0 && expected.duplicateAcks > 0, "the link lost nothing: the test did not test")
        #expect(measured == expected)
    }
}
