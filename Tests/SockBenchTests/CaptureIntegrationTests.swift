import Foundation
import Glibc
import Testing
@testable import SockBench

/// Real runs on loopback with real libpcap capture, checked against tshark and tcpdump.
@Suite("packet capture, end to end", .serialized)
struct CaptureIntegrationTests {
    static let privilege = "capturing needs CAP_NET_RAW (run the tests as root)"
    static let tshark = TestSupport.tool("tshark")

    static func report(_ directory: String) throws -> Report {
        try JSONDecoder.snakeCase.decode(Report.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/report.json")))
    }

    static func writeScenario(_ text: String, _ name: String = #function) throws -> String {
        let path = TestSupport.temporaryDirectory(name) + "/scenario.yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Frames and the sum of their wire lengths as tshark reads them.
    static func tsharkTotals(_ file: String) throws -> (packets: UInt64, bytes: UInt64) {
        let result = try TestSupport.program(try #require(tshark), ["-r", file, "-T", "fields", "-e", "frame.len"])
        #expect(result.status == 0, "tshark: \(result.stderr)")
        let lengths = result.stdout.split(separator: "\n").compactMap { UInt64($0) }
        return (UInt64(lengths.count), lengths.reduce(0, +))
    }

    @Test("a quickstart run's capture.pcap: tshark counts exactly the report's packets and bytes; 0600, nanosecond pcap, headers only",
          .enabled(if: TestSupport.canCapture, Comment(rawValue: privilege)),
          .enabled(if: tshark != nil, "needs tshark (apt-get install tshark)"))
    func quickstartCapture() throws {
        let out = TestSupport.temporaryDirectory()
        let result = try TestSupport.sockbench(["run", "scenarios/quickstart.yaml", "--duration", "500ms", "--out", out])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("capture.pcap"))
        let run = try #require(try Self.report(out).runs.first)
        let capture = try #require(run.capture)
        #expect(capture.status == .captured && capture.details.file == "capture.pcap" && capture.details.interface == "lo")
        #expect(capture.details.kernelDropped == 0)
        let analysis = try #require(capture.analysis)
        // The file holds the warm-up too; the report splits it off (runs[].warmup.capture).
        let warmup = try #require(run.warmup?.capture)
        #expect(warmup.packets.total > 0 && analysis.packets.total > 0)
        let file = out + "/capture.pcap"

        let counted = try Self.tsharkTotals(file)
        #expect(counted.packets == analysis.packets.total + warmup.packets.total, "tshark and the report count the same frames")
        #expect(counted.bytes == analysis.bytes.total + warmup.bytes.total, "and the same bytes on the wire")
        #expect(capture.details.packetsWritten == analysis.packets.total + warmup.packets.total)
        // A floor, not a speed: a machine busy elsewhere once gave 475 packets in the 500 ms window.
        #expect(analysis.packets.total > 100)

        var info = stat()
        #expect(stat(file, &info) == 0 && info.st_mode & 0o777 == 0o600, "capture files are private")
        let magic = try FileHandle(forReadingFrom: URL(fileURLWithPath: file)).readData(ofLength: 4)
        #expect([UInt8](magic) == [0x4D, 0x3C, 0xB2, 0xA1], "nanosecond pcap magic, little-endian")
        // Every stored frame ends where its TCP header ends: no payload in the file.
        let layout = try TestSupport.program(try #require(Self.tshark), ["-r", file, "-T", "fields", "-E", "separator=,",
                                                                         "-e", "frame.cap_len", "-e", "ip.hdr_len", "-e", "tcp.hdr_len"])
        let rows = layout.stdout.split(separator: "\n").map { $0.split(separator: ",").compactMap { Int($0) } }
        #expect(!rows.isEmpty && rows.allSatisfy { $0.count == 3 && $0[0] == 14 + $0[1] + $0[2] })

        let tcp = try #require(analysis.tcp), setup = try #require(warmup.tcp)
        // The connections open in the warm-up (its SYNs are its packets); handshakes are kept whole, as connect latency is.
        #expect(setup.syn == 16 && setup.synAck == 16 && tcp.syn == 0 && tcp.handshakes == 16 && tcp.handshakeRttNs.count == 16)
        // Windows mode captures the close after the measured window too.
        #expect(tcp.fin == 32 && tcp.rst == 0, "every connection ends with a FIN each way, none with a reset")
        let perMessage = try #require(tcp.segmentsPerMessage)
        #expect(perMessage.clientToServer > 0.9 && perMessage.clientToServer < 1.1, "TCP_NODELAY and depth 1: a segment per message")
        #expect(try #require(run.tcpInfo).connections == 16)

        let markdown = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
        #expect(markdown.contains("### Capture") && markdown.contains("segments per message") && markdown.contains("handshake (SYN → ACK)"))
        #expect(markdown.contains("### TCP_INFO"))

        // analyze reads the same file to the same figures (port and sizes from the report beside it).
        let analyzed = try TestSupport.sockbench(["analyze", file, "--json"])
        #expect(analyzed.status == 0, "\(analyzed.stderr)")
        let offline = try JSONDecoder.snakeCase.decode(CaptureAnalysis.self, from: Data(analyzed.stdout.utf8))
        // The whole file is the warm-up and the window added up.
        #expect(offline.packets.total == analysis.packets.total + warmup.packets.total)
        #expect(offline.bytes == CaptureAnalysis.Counts(total: analysis.bytes.total + warmup.bytes.total,
                                                        clientToServer: analysis.bytes.clientToServer + warmup.bytes.clientToServer,
                                                        serverToClient: analysis.bytes.serverToClient + warmup.bytes.serverToClient))
        let whole = try #require(offline.tcp), early = try #require(warmup.tcp)
        #expect(whole.dataSegments.clientToServer == tcp.dataSegments.clientToServer + early.dataSegments.clientToServer)
        #expect(whole.retransmissions == tcp.retransmissions + early.retransmissions)
        #expect(whole.syn == tcp.syn + early.syn && whole.handshakes == tcp.handshakes, "connection setup is kept whole")
        #expect(whole.fin == tcp.fin + early.fin && whole.rst == tcp.rst + early.rst)
        let text = try TestSupport.sockbench(["analyze", file])
        #expect(text.status == 0 && text.stdout.contains("segments per message") && text.stdout.contains("\(offline.packets.total)"))
    }

    @Test("pipelined small writes: TCP_NODELAY off gives far fewer segments per message than on",
          .enabled(if: TestSupport.canCapture, Comment(rawValue: privilege)))
    func nagleCoalescing() throws {
        var perMessage: [Bool: Double] = [:]
        for nodelay in [false, true] {
            let scenario = try Self.writeScenario("""
                name: nagle-\(nodelay)
                server: {kind: tcp-echo, tcp_nodelay: \(nodelay)}
                client: {tcp_nodelay: \(nodelay)}
                load: {connections: 4, depth: 16, message_size: 32, batch_writes: false, warmup: 200ms, duration: 800ms}
                """, "nagle\(nodelay)")
            let out = TestSupport.temporaryDirectory("nagleout\(nodelay)")
            let result = try TestSupport.sockbench(["run", scenario, "--out", out])
            #expect(result.status == 0, "\(result.stderr)")
            let tcp = try #require(try Self.report(out).runs.first?.capture?.analysis?.tcp)
            perMessage[nodelay] = try #require(tcp.segmentsPerMessage).clientToServer
        }
        let off = try #require(perMessage[false]), on = try #require(perMessage[true])
        #expect(on > 0.8, "with TCP_NODELAY every small write leaves at once (\(on) segments per message)")
        #expect(off < on * 0.6, "Nagle holds small writes back and coalesces them (\(off) vs \(on))")
    }

    @Test("keepalive probes appear at the configured idle time and interval",
          .enabled(if: TestSupport.canCapture, Comment(rawValue: privilege)))
    func keepaliveProbes() throws {
        let scenario = try Self.writeScenario("""
            name: keepalive-test
            server: {kind: tcp-echo}
            client: {so_keepalive: true, tcp_keepidle: 1, tcp_keepintvl: 1, tcp_keepcnt: 3}
            load: {pattern: idle, connections: 2, warmup: 0s, duration: 2600ms}
            """)
        let out = TestSupport.temporaryDirectory()
        let result = try TestSupport.sockbench(["run", scenario, "--out", out])
        #expect(result.status == 0, "\(result.stderr)")
        let tcp = try #require(try Self.report(out).runs.first?.capture?.analysis?.tcp)
        // Two connections, probes after 1 s and 2 s of silence.
        #expect(tcp.keepalive.probes >= 4, "\(tcp.keepalive.probes) probes")
        for (name, summary) in [("interval", tcp.keepalive.intervalNs), ("idle", tcp.keepalive.idleBeforeFirstProbeNs)] {
            #expect(summary.count >= 2 && summary.p50 > 900_000_000 && summary.p50 < 1_250_000_000, "\(name) p50 \(summary.p50) ns")
        }
        #expect(tcp.dataSegments.clientToServer == 0 && tcp.retransmissions == 0)
    }

    @Test("analyze reads a pcap tcpdump wrote during a run against an external server",
          .enabled(if: TestSupport.canCapture, Comment(rawValue: privilege)),
          .enabled(if: TestSupport.tool("tcpdump") != nil && tshark != nil, "needs tcpdump and tshark"))
    func tcpdumpFile() throws {
        let server = try ServerProcess.launch(executable: TestSupport.executable,
                                              configuration: ServerConfiguration(kind: .tcpEcho, bind: try SocketAddress(parsing: "127.0.0.1:0")))
        defer { _ = server.stop() }
        let port = server.address.port
        let file = TestSupport.temporaryDirectory() + "/tcpdump.pcap"
        let tcpdump = Process()
        tcpdump.executableURL = URL(fileURLWithPath: try #require(TestSupport.tool("tcpdump")))
        tcpdump.arguments = ["-i", "lo", "-n", "-U", "-w", file, "tcp port \(port)"]
        let errors = Pipe()
        tcpdump.standardError = errors
        tcpdump.standardOutput = FileHandle.nullDevice
        try tcpdump.run()
        // Process starts tcpdump with this thread's signal mask, where SIGTERM is blocked: stop it with
        // SIGKILL, which -U (a flush after every packet) makes safe for the file.
        defer { if tcpdump.isRunning { kill(tcpdump.processIdentifier, SIGKILL) } }
        // tcpdump says "listening on lo" once its capture is active.
        var said = ""
        let deadline = Date().addingTimeInterval(10)
        while !said.contains("listening"), Date() < deadline {
            said += String(decoding: errors.fileHandleForReading.availableData, as: UTF8.self)
        }
        #expect(said.contains("listening"), "tcpdump: \(said)")

        let out = TestSupport.temporaryDirectory("tcpdumprun")
        let run = try TestSupport.sockbench(["run", "scenarios/quickstart.yaml", "--target", "127.0.0.1:\(port)", "--no-capture",
                                             "--duration", "300ms", "--out", out])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Self.report(out).runs.first?.capture?.status == .disabled)
        usleep(200_000)
        kill(tcpdump.processIdentifier, SIGKILL)
        tcpdump.waitUntilExit()

        let analyzed = try TestSupport.sockbench(["analyze", file, "--port", "\(port)", "--message-size", "64", "--json"])
        #expect(analyzed.status == 0, "\(analyzed.stderr)")
        let analysis = try JSONDecoder.snakeCase.decode(CaptureAnalysis.self, from: Data(analyzed.stdout.utf8))
        let counted = try Self.tsharkTotals(file)
        #expect(analysis.packets.total == counted.packets && analysis.bytes.total == counted.bytes)
        let tcp = try #require(analysis.tcp)
        #expect(tcp.handshakes == 16 && analysis.flowCount == 16)
        #expect(analysis.flows.allSatisfy { $0.server == "127.0.0.1:\(port)" })
        let perMessage = try #require(tcp.segmentsPerMessage).clientToServer
        #expect(perMessage > 0.9 && perMessage < 1.1)
    }

    @Test("UDP over IPv6: datagrams per direction on the wire match what the client counted",
          .enabled(if: TestSupport.canCapture, Comment(rawValue: privilege)))
    func udpOverIPv6() throws {
        let scenario = try Self.writeScenario("""
            name: udp6
            server: {kind: udp-echo, bind: "[::1]:0"}
            load: {connections: 2, message_size: 64, warmup: 0s, duration: 300ms}
            capture: {mode: full}
            """)
        let out = TestSupport.temporaryDirectory()
        let result = try TestSupport.sockbench(["run", scenario, "--out", out])
        #expect(result.status == 0, "\(result.stderr)")
        let run = try #require(try Self.report(out).runs.first)
        let analysis = try #require(run.capture?.analysis)
        let udp = try #require(analysis.udp)
        let client = try #require(run.udp)
        #expect(udp.datagrams.clientToServer == client.sent, "every datagram the client sent is on the wire")
        let received = try #require(client.received)
        #expect(udp.datagrams.serverToClient >= received)
        #expect(analysis.undecodedPackets == 0 && analysis.tcp == nil)
        #expect(analysis.flows.allSatisfy { $0.client.hasPrefix("[::1]:") && $0.transport == "udp" })
    }

    @Test("without CAP_NET_RAW the run goes on and says why; with capture.required it fails with exit 3")
    func withoutPrivilege() throws {
        // Drop the capability when the tests have it; otherwise the run already lacks it.
        var prefix: [String] = []
        if TestSupport.canCapture {
            let setpriv = try #require(TestSupport.tool("setpriv"), "setpriv (util-linux) drops CAP_NET_RAW for this test")
            prefix = [setpriv, "--bounding-set", "-net_raw,-net_admin", "--inh-caps", "-net_raw,-net_admin", TestSupport.executable]
        }
        func sockbench(_ arguments: [String]) throws -> TestSupport.CommandResult {
            prefix.isEmpty ? try TestSupport.sockbench(arguments) : try TestSupport.program(prefix[0], Array(prefix.dropFirst()) + arguments)
        }
        let out = TestSupport.temporaryDirectory()
        let degraded = try sockbench(["run", "scenarios/quickstart.yaml", "--duration", "200ms", "--out", out])
        #expect(degraded.status == 0, "\(degraded.stderr)")
        #expect(degraded.stderr.contains("warning: no packet capture") && degraded.stderr.contains("CAP_NET_RAW"))
        #expect(degraded.stdout.contains("capture      unavailable"))
        let capture = try #require(try Self.report(out).runs.first?.capture)
        #expect(capture.status == .unavailable && capture.details.reason?.contains("CAP_NET_RAW") == true && capture.analysis == nil)
        #expect(!FileManager.default.fileExists(atPath: out + "/capture.pcap"))
        let markdown = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
        #expect(markdown.contains("No packets were captured (unavailable)"))

        let required = try Self.writeScenario("""
            name: capture-required
            server: {kind: tcp-echo}
            load: {connections: 1, duration: 100ms, warmup: 0s}
            capture: {required: true}
            """)
        let strictOut = TestSupport.temporaryDirectory("strict")
        let strict = try sockbench(["run", required, "--out", strictOut])
        #expect(strict.status == 3)
        let said = strict.stdout + strict.stderr
        #expect(said.contains("capture is required") && said.contains("CAP_NET_RAW"), "\(said)")
        // A failed report says why, as every failure does.
        let failed = try ReportFile.load(strictOut + "/report.json")
        #expect(failed.status == "failed" && failed.runs.isEmpty && failed.failure?.contains("capture is required") == true)
    }
}
