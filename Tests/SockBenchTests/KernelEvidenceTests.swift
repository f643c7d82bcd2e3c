import Foundation
import Testing
@testable import SockBench

/// The kernel's evidence end to end through the CLI: a listener whose accept queue overflows shows
/// in `kernel_counters` and fails `kernel.TcpExtListenOverflows == 0`; TCP_INFO is sampled in every
/// interval and the counters are read whether capture is on or off. Assertions are on counts the
/// kernel keeps, never on time, so a busy machine changes nothing but the figures' size.
@Suite("Kernel evidence in reports", .serialized)
struct KernelEvidenceTests {
    static func counters(_ run: [String: Any]) throws -> [String: Int] {
        let list = try #require(run["kernel_counters"] as? [[String: Any]], "runs[].kernel_counters is there")
        return Dictionary(uniqueKeysWithValues: list.compactMap { entry in
            (entry["name"] as? String).flatMap { name in (entry["delta"] as? Int).map { (name, $0) } }
        })
    }

    @Test("a backlog-overflowing server: TcpExtListenOverflows > 0 in the report, and the threshold on it fails the run (exit 2)",
          .timeLimit(.minutes(2)))
    func listenOverflow() throws {
        // Backlog 1 and no accept until the kernel counted an overflow: 50 concurrent connects overflow it for sure.
        let server = try BacklogServer()
        defer { server.stop() }
        let directory = TestSupport.temporaryDirectory()
        let scenario = try CIGateTests.scenarioFile("""
        name: backlog
        server: {kind: tcp-echo}
        load: {connections: 50, threads: 2, warmup: 0s, duration: 3s, connect_timeout: 30s, request_timeout: 30s, error_budget: 100%}
        thresholds:
          - kernel.TcpExtListenOverflows == 0
          - kernel.TcpExtListenDrops > 0
        """, in: directory)
        let out = directory + "/out"
        let result = try TestSupport.sockbench(["run", scenario, "--target", server.address, "--no-capture", "--quiet", "--out", out], timeout: 120)
        #expect(server.isAccepting, "the server saw the overflow and began to accept")
        let report = try TestSupport.decodeReport(out)
        let run = try #require((report["runs"] as? [[String: Any]])?.first)
        let kernel = try Self.counters(run)
        let overflows = try #require(kernel["TcpExtListenOverflows"])
        print("listen overflow: TcpExtListenOverflows +\(overflows), TcpExtListenDrops +\(kernel["TcpExtListenDrops"] ?? -1), "
            + "TcpExtTCPSynRetrans +\(kernel["TcpExtTCPSynRetrans"] ?? -1) over the 3 s window; 50 connects to a backlog of 1")
        #expect(overflows > 0)
        #expect((kernel["TcpExtListenDrops"] ?? 0) >= overflows, "every overflow is also a listen drop")
        // The threshold on it fails the run; the run itself measured (the connections that got in were answered).
        #expect(result.status == 2, "\(result.stdout)\(result.stderr)")
        #expect(report["status"] as? String == "ok")
        let thresholds = try #require(report["thresholds"] as? [[String: Any]])
        #expect(thresholds.map { $0["passed"] as? Bool } == [false, true])
        #expect((thresholds[0]["message"] as? String)?.hasPrefix("measured \(Format.grouped(Double(overflows)))") == true)
        let markdown = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
        #expect(markdown.contains("| TcpExtListenOverflows | \(overflows) | SYNs or handshake ACKs a listener refused because its accept queue was full"))
        #expect(markdown.contains("every socket of the network namespace"))
        let printed = result.stdout + result.stderr
        #expect(printed.contains("FAIL (exit 2)") && printed.contains("kernel.TcpExtListenOverflows == 0"), "\(printed)")
    }

    @Test("with a warm-up, the connect storm's overflows are the warm-up's: runs[].warmup.kernel_counters, report.md's Warm-up section",
          .timeLimit(.minutes(2)))
    func overflowInWarmup() throws {
        let server = try BacklogServer()
        defer { server.stop() }
        let directory = TestSupport.temporaryDirectory()
        let scenario = try CIGateTests.scenarioFile("""
        name: backlog-warmup
        server: {kind: tcp-echo}
        load: {connections: 50, threads: 2, warmup: 1s, duration: 1s, connect_timeout: 30s, request_timeout: 30s, error_budget: 100%}
        """, in: directory)
        let out = directory + "/out"
        let result = try TestSupport.sockbench(["run", scenario, "--target", server.address, "--no-capture", "--quiet", "--out", out], timeout: 120)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let run = try #require((try TestSupport.decodeReport(out)["runs"] as? [[String: Any]])?.first)
        let warmup = try #require(run["warmup"] as? [String: Any])
        let during = try Self.counters(warmup)
        // Every connect started in the warm-up, before the server accepted anything.
        #expect((during["TcpExtListenOverflows"] ?? 0) > 0 && (during["TcpActiveOpens"] ?? 0) >= 50)
        _ = try Self.counters(run)
        let markdown = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
        #expect(markdown.contains("- kernel counters: TcpActiveOpens +") && markdown.contains("TcpExtListenOverflows +\(during["TcpExtListenOverflows"] ?? 0)"))
    }

    @Test("TCP_INFO in every interval and the window's counters, with capture on and with it off", .timeLimit(.minutes(2)),
          arguments: [true, false])
    func everyInterval(capture: Bool) throws {
        let directory = TestSupport.temporaryDirectory()
        let scenario = try CIGateTests.scenarioFile("""
        name: sampled
        server: {kind: tcp-echo}
        load: {connections: 4, threads: 1, warmup: 0s, duration: 2s, interval: 500ms}
        """, in: directory)
        let out = directory + "/out"
        let result = try TestSupport.sockbench(["run", scenario, "--out", out, "--quiet"] + (capture ? [] : ["--no-capture"]), timeout: 120)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let run = try #require((try TestSupport.decodeReport(out)["runs"] as? [[String: Any]])?.first)
        if capture, TestSupport.canCapture {
            #expect((run["capture"] as? [String: Any]).flatMap { $0["status"] as? String } == "captured")
        }
        let intervals = try #require(run["intervals"] as? [[String: Any]])
        #expect(intervals.count == 4)
        for interval in intervals {
            let info = try #require(interval["tcp_info"] as? [String: Any], "interval at \(interval["start_s"] ?? "?") has TCP_INFO")
            // Four long-lived connections on one thread: all of them sampled, each with an RTT and a window.
            #expect(info["sampled_connections"] as? Int == 4)
            #expect((info["rtt_p50_ns"] as? Int ?? 0) > 0 && (info["snd_cwnd_p50_segments"] as? Int ?? 0) > 0)
            #expect(info["total_retrans"] as? Int != nil && info["lost"] as? Int != nil)
        }
        // No warm-up: the window saw the connections open, at both ends (the reference server runs in this namespace).
        let kernel = try Self.counters(run)
        #expect((kernel["TcpActiveOpens"] ?? 0) >= 4 && (kernel["TcpPassiveOpens"] ?? 0) >= 4 && (kernel["TcpInSegs"] ?? 0) > 0)
        #expect(kernel.count == KernelCounters.reported.count, "every reported counter, risen or not, is in report.json")
        let markdown = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
        #expect(markdown.contains("### Kernel counters") && markdown.contains("| TcpActiveOpens |"))
        #expect(markdown.contains("| rtt p50 | snd_cwnd p50 | retrans. |"))
        #expect(markdown.contains("### Cross-check: capture, TCP_INFO and kernel counters"))
        let csv = try String(contentsOfFile: out + "/intervals.csv", encoding: .utf8).split(separator: "\n")
        #expect(csv.count == 5 && csv.dropFirst().allSatisfy { !$0.hasSuffix(",,,,,,") })
    }
}
