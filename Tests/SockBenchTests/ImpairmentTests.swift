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

    @Test("a 5 ms one-way delay: no round trip under 10 ms, and p50 within ±(2% + 200 µs + the base run's p99 − p50) of the expected round trip")
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
        let base = try Self.run(echo("0ms")).latencyNs
        let delayed = try Self.run(echo("5ms"))
        let expected = Double(base.p50) + 10_000_000
        // A busy machine wakes every hop late by a varying amount, and a delayed round trip has more
        // wake-ups (timers) than the base one; the base run's own spread (p99 over p50) says how late
        // this machine wakes now, and widens the bound by that. Idle, it is a few hundred µs.
        let spread = Double(base.p99 - base.p50)
        let tolerance = 0.02 * expected + 200_000 + spread
        let measured = Double(delayed.latencyNs.p50)
        print("impairment accuracy: delay 5ms: p50 \(measured / 1e6) ms (min \(Double(delayed.latencyNs.min) / 1e6)), base p50 \(Double(base.p50) / 1e6) ms "
            + "p99 \(Double(base.p99) / 1e6) ms, expected \(expected / 1e6) ± \(tolerance / 1e6) ms")
        // The delay is a floor whatever the load: held 5 ms each way, no answer comes back sooner
        // (0.1%: the histogram's precision).
        #expect(Double(delayed.latencyNs.min) >= 0.999 * 10_000_000, "min \(delayed.latencyNs.min) ns")
        #expect(abs(measured - expected) <= tolerance, "p50 \(measured) ns, expected \(expected) ± \(tolerance)")
        #expect(delayed.impairment?.settings["delay"] == "5ms")
        #expect((delayed.impairment?.injected?.bytesToServer ?? 0) > 0)
    }

    /// Datagrams lost somewhere the injector did not say: no more than the host counted as dropped
    /// by full buffers or other input errors (the client's, server's and proxy's sockets all
    /// count there), plus `slack`. A loaded machine may drop more; it never drops silently.
    static func expectExplained(lost: UInt64, injected: UInt64, udp: RunResult.UDPRecord, sent: UInt64, sourceLocation: SourceLocation = #_sourceLocation) {
        let host = udp.hostInErrors ?? 0
        let slack = Int64(sent / 1000) + 5
        let unexplained = Int64(lost) - Int64(injected)
        #expect(udp.hostInErrors != nil, "the host's UDP counters were not read", sourceLocation: sourceLocation)
        #expect(unexplained >= -slack && unexplained <= Int64(host) + slack,
                "lost \(lost), injected \(injected), host-visible drops \(host) (client \(udp.clientRxqOverflows ?? 0), server \(udp.serverRxqOverflows ?? 0)), slack \(slack)",
                sourceLocation: sourceLocation)
    }

    @Test("an injected 10% UDP loss (random, seeded) is what the run measures, apart from drops the host counted", arguments: ["10%", "every 10"])
    func udpLoss(_ loss: String) throws {
        // No warm-up: the proxy's counts and the run's cover the same datagrams.
        let run = try Self.run("""
        name: loss
        server: {kind: udp-echo}
        load: {connections: 4, duration: 1500ms, warmup: 0s, rate: 20000/s}
        impair: {loss: "\(loss)", direction: to-server, seed: 7}
        """)
        let udp = try #require(run.udp)
        let measured = try #require(udp.lossPercent)
        let lost = try #require(udp.lost)
        let injected = try #require(run.impairment?.injected)
        let injectedShare = 100 * Double(injected.dropped) / Double(injected.dropped + injected.datagramsToServer)
        let host = udp.hostInErrors ?? 0
        print("impairment accuracy: loss \(loss): measured \(measured)% (\(lost)) of \(udp.sent) datagrams; injected \(injected.dropped) "
            + "(\(injectedShare)% of arrivals) + \(injected.queueDrops) queue drops; host-visible drops \(host) "
            + "(client \(udp.clientRxqOverflows ?? 0), server \(udp.serverRxqOverflows ?? 0)); damaged \(udp.damaged ?? 0)")
        #expect(udp.sent > 20_000)
        // The injector did what it was asked, whatever the load on the machine.
        #expect(abs(injectedShare - 10) <= 1, "injected \(injectedShare)%")
        // The run measured what the injector did, and whatever else was lost the host saw dropped.
        Self.expectExplained(lost: lost, injected: injected.dropped + injected.queueDrops, udp: udp, sent: udp.sent)
        // So 10% ± 1 point, plus at most what the host saw dropped (a datagram a full buffer took before
        // the proxy saw it is one the proxy could not drop: the loss never falls below 10%).
        let hostShare = 100 * Double(host) / Double(udp.sent)
        #expect(measured >= 9 && measured <= 11 + hostShare, "measured \(measured)%, host-visible drops \(hostShare)%")
        #expect(udp.damaged == 0)
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
        // Nothing is dropped on purpose: any loss is a full buffer the host counted.
        Self.expectExplained(lost: try #require(udp.lost), injected: 0, udp: udp, sent: udp.sent)
        #expect(udp.damaged == 0)
    }

    @Test("TCP: slicing shows as more segments per message, resets and stalls as errors with reconnects",
          .enabled(if: TestSupport.canCapture, "needs CAP_NET_RAW for the segment count"))
    func tcpFaults() throws {
        let sliced = try Self.runCaptured("""
        name: slice
        server: {kind: tcp-echo}
        load: {connections: 1, duration: 500ms, warmup: 100ms, message_size: 1KiB}
        impair: {slice: 100}
        capture: {mode: full}
        """)
        let segments = try #require(sliced.capture?.analysis?.tcp?.segmentsPerMessage)
        // Every packet: a sliced exchange waits on delayed ACKs (tens of ms), so capture windows of a
        // loaded machine could hold no answer at all.
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
