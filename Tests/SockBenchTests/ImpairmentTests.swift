import Foundation
import Glibc
import Testing
@testable import SockBench

/// Accuracy under impairment: what the proxy injects is what the run measures, within the issue's
/// bounds; and a kernel rate cap (tc tbf on a veth pair between two namespaces) reads the same.
@Suite("impairment accuracy", .serialized)
struct ImpairmentTests {
    static func run(_ yaml: String, _ name: String = #function) throws -> RunResult {
        let scenario = try ScenarioLoader.load(text: yaml, path: "impairment.yaml")
        let options = Runner.Options(outputDirectory: TestSupport.temporaryDirectory(name), capture: false, executable: TestSupport.executable)
        let outcome = try Runner.run(scenario, options: options)
        #expect(outcome.exitCode == 0, "\(outcome.report.failure ?? "")")
        return try #require(outcome.report.runs.first)
    }

    @Test("a 5 ms one-way delay shows in p50 within ±(2% + 200 µs) of the expected round trip")
    func delay() throws {
        func echo(_ delay: String) -> String {
            """
            name: delay
            server: {kind: tcp-echo}
            load: {connections: 1, duration: 1500ms, warmup: 200ms}
            impair: {delay: \(delay)}
            """
        }
        // The base round trip goes through the same proxy without delay: the proxy's own cost is in both.
        let base = try Self.run(echo("0ms")).latencyNs.p50
        let delayed = try Self.run(echo("5ms"))
        let expected = Double(base) + 10_000_000
        let tolerance = 0.02 * expected + 200_000
        let measured = Double(delayed.latencyNs.p50)
        print("impairment accuracy: delay 5ms: p50 \(measured / 1e6) ms, base \(Double(base) / 1e6) ms, expected \(expected / 1e6) ± \(tolerance / 1e6) ms")
        #expect(abs(measured - expected) <= tolerance, "p50 \(measured) ns, expected \(expected) ± \(tolerance)")
        #expect(delayed.impairment?.settings["delay"] == "5ms")
        #expect((delayed.impairment?.injected?.bytesToServer ?? 0) > 0)
    }

    @Test("an injected 10% UDP loss (random, seeded) is measured within ±1 percentage point", arguments: ["10%", "every 10"])
    func udpLoss(_ loss: String) throws {
        let run = try Self.run("""
        name: loss
        server: {kind: udp-echo}
        load: {connections: 4, duration: 1500ms, warmup: 200ms, rate: 20000/s}
        impair: {loss: "\(loss)", direction: to-server, seed: 7}
        """)
        let udp = try #require(run.udp)
        let measured = try #require(udp.lossPercent)
        print("impairment accuracy: loss \(loss): measured \(measured)% of \(udp.sent) datagrams")
        #expect(udp.sent > 20_000)
        #expect(abs(measured - 10) <= 1, "measured loss \(measured)%")
        let injected = try #require(run.impairment?.injected)
        #expect(injected.queueDrops == 0)
        let injectedShare = 100 * Double(injected.dropped) / Double(injected.dropped + injected.datagramsToServer)
        #expect(abs(injectedShare - 10) <= 1, "injected \(injectedShare)%")
    }

    @Test("a 100 Mbit/s cap is measured within ±5%")
    func rateCap() throws {
        let run = try Self.run("""
        name: cap
        server: {kind: tcp-sink}
        client: {so_sndbuf: 128KiB}
        load: {connections: 1, duration: 2s, warmup: 1s, message_size: 16KiB}
        impair: {rate: 100mbit, direction: to-server}
        """)
        let bits = run.throughput.bytesPerSecondSent * 8
        print("impairment accuracy: proxy rate 100mbit: measured \(bits / 1e6) Mbit/s")
        #expect(abs(bits - 100e6) <= 5e6, "measured \(bits / 1e6) Mbit/s")
    }

    @Test("UDP duplication and reordering are injected and counted from sequence numbers")
    func duplicateAndReorder() throws {
        let run = try Self.run("""
        name: dup
        server: {kind: udp-echo}
        load: {connections: 1, duration: 1s, warmup: 100ms, rate: 2000/s}
        impair: {duplicate: "every 50", reorder: "every 40", direction: to-server}
        """)
        let udp = try #require(run.udp)
        let injected = try #require(run.impairment?.injected)
        #expect(injected.duplicated > 0 && injected.reordered > 0)
        // Within the measured window the client sees about what the proxy did over the whole run.
        #expect(udp.duplicated > 0 && udp.duplicated <= injected.duplicated)
        #expect(udp.reordered > 0 && udp.reordered <= injected.reordered)
        #expect(udp.lost == 0)
    }

    @Test("TCP: slicing shows as more segments per message, resets and stalls as errors with reconnects",
          .enabled(if: TestSupport.canCapture, "needs CAP_NET_RAW for the segment count"))
    func tcpFaults() throws {
        let sliced = try Self.runCaptured("""
        name: slice
        server: {kind: tcp-echo}
        load: {connections: 1, duration: 500ms, warmup: 100ms, message_size: 1KiB}
        impair: {slice: 100}
        """)
        let segments = try #require(sliced.capture?.analysis?.tcp?.segmentsPerMessage)
        #expect(segments.serverToClient >= 9, "1 KiB answers in 100-byte writes: \(segments)")
        #expect((sliced.impairment?.injected?.slicedWrites ?? 0) > 0)

        let reset = try Self.run("""
        name: reset
        server: {kind: tcp-echo}
        load: {connections: 2, duration: 800ms, warmup: 0s, reconnect_delay: 20ms}
        impair: {reset_after: 64KiB}
        """)
        #expect(reset.errors.reset > 0)
        #expect(reset.impairment?.injected?.resets ?? 0 >= reset.errors.reset)
        #expect((reset.connections.reconnects ?? 0) > 0)

        let stalled = try Self.run("""
        name: stall
        server: {kind: tcp-echo}
        load: {connections: 1, duration: 1s, warmup: 0s, request_timeout: 200ms, reconnect_delay: 20ms}
        impair: {stall_after: 16KiB, stall_for: 5s}
        """)
        #expect(stalled.errors.timeout > 0)
        #expect(stalled.impairment?.injected?.stalls ?? 0 > 0)
    }

    static func runCaptured(_ yaml: String, _ name: String = #function) throws -> RunResult {
        let scenario = try ScenarioLoader.load(text: yaml, path: "impairment.yaml")
        let options = Runner.Options(outputDirectory: TestSupport.temporaryDirectory(name), executable: TestSupport.executable)
        return try #require(try Runner.run(scenario, options: options).report.runs.first)
    }

    /// Two namespaces joined by a veth pair, addressed from the benchmarking range 198.18.0.0/15,
    /// created here and deleted at the end; nil (with the reason) where `ip netns` is not allowed.
    final class NamespacePair {
        let client: String, server: String
        let ip: String

        init?(reason: inout String) {
            guard let ip = TestSupport.tool("ip"), TestSupport.tool("tc") != nil else {
                reason = "ip or tc is not installed (apt-get install iproute2)"
                return nil
            }
            self.ip = ip
            let tag = "\(getpid() % 100_000)"
            client = "sbc\(tag)"
            server = "sbs\(tag)"
            if let failure = try? TestSupport.program(ip, ["netns", "add", client]), failure.status != 0 {
                reason = "ip netns add is not allowed here: \(failure.stderr.trimmingWhitespace())"
                return nil
            }
            let steps: [[String]] = [
                ["netns", "add", server],
                ["link", "add", "sbv\(tag)c", "netns", client, "type", "veth", "peer", "name", "sbv\(tag)s", "netns", server],
                ["-n", client, "addr", "add", "198.18.0.1/24", "dev", "sbv\(tag)c"],
                ["-n", server, "addr", "add", "198.18.0.2/24", "dev", "sbv\(tag)s"],
                ["-n", client, "link", "set", "sbv\(tag)c", "up"], ["-n", server, "link", "set", "sbv\(tag)s", "up"],
                ["-n", client, "link", "set", "lo", "up"], ["-n", server, "link", "set", "lo", "up"],
            ]
            for step in steps {
                let result = try? TestSupport.program(ip, step)
                if result?.status != 0 {
                    reason = "ip \(step.joined(separator: " ")) failed: \(result?.stderr.trimmingWhitespace() ?? "")"
                    remove()
                    return nil
                }
            }
        }

        var clientDevice: String { "sbv\(getpid() % 100_000)c" }

        func remove() {
            _ = try? TestSupport.program(ip, ["netns", "del", client])
            _ = try? TestSupport.program(ip, ["netns", "del", server])
        }

        deinit { remove() }
    }

    @Test("a 100 Mbit/s cap made with tc tbf on a veth pair between namespaces is measured within ±5%; its target needs --allow-remote")
    func tbfBetweenNamespaces() throws {
        var reason = ""
        guard let namespaces = NamespacePair(reason: &reason) else {
            print("skipped: \(reason)")
            return
        }
        let ip = namespaces.ip
        let shaped = try TestSupport.program(TestSupport.tool("tc")!, ["-n", namespaces.client, "qdisc", "add", "dev", namespaces.clientDevice,
                                                                     "root", "tbf", "rate", "100mbit", "burst", "64kb", "latency", "50ms"])
        try #require(shaped.status == 0, "\(shaped.stderr)")
        let work = TestSupport.temporaryDirectory()
        let server = try RunningCommand(["netns", "exec", namespaces.server, TestSupport.executable, "serve", "tcp-sink", "--bind", "198.18.0.2:5201"],
                                        in: work, executable: ip)
        defer {
            kill(server.pid, SIGTERM)
            _ = server.wait(timeout: 5)
        }
        try #require(TestSupport.eventually(timeout: 10) { server.output.contains("ready on 198.18.0.2:5201") }, "\(server.output)")
        let scenario = try CIGateTests.scenarioFile("""
        name: tbf
        server: {kind: external, address: "198.18.0.2:5201"}
        client: {so_sndbuf: 128KiB}
        load: {connections: 1, duration: 2s, warmup: 1s, pattern: stream, message_size: 16KiB}
        """, in: work)
        // Seen from the client's namespace, 198.18.0.2 is another host.
        let refused = try TestSupport.program(ip, ["netns", "exec", namespaces.client, TestSupport.executable, "run", scenario,
                                                   "--no-capture", "--out", work + "/refused", "--quiet"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("--allow-remote"), "\(refused.stderr)")
        let result = try TestSupport.program(ip, ["netns", "exec", namespaces.client, TestSupport.executable, "run", scenario,
                                                  "--allow-remote", "--no-capture", "--out", work + "/out", "--quiet"], timeout: 60)
        #expect(result.status == 0, "\(result.stderr)")
        let report = try ReportFile.load(work + "/out/report.json")
        let run = try #require(report.runs.first)
        // tbf counts frames; the run counts payload. With MTU 1500 and TCP timestamps a full segment
        // carries 1448 payload bytes in a 1514-byte frame.
        let expected = 100e6 * 1448 / 1514
        let bits = run.throughput.bytesPerSecondSent * 8
        print("impairment accuracy: tc tbf 100mbit: measured \(bits / 1e6) Mbit/s of payload, expected \(expected / 1e6)")
        #expect(abs(bits - expected) <= 0.05 * expected, "measured \(bits / 1e6) Mbit/s of payload, expected \(expected / 1e6)")
    }
}
