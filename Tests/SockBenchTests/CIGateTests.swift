import Foundation
import FoundationXML
import Testing
@testable import SockBench

/// The CI gate end to end through the CLI: thresholds and exit code 2, JUnit and the step summary,
/// `baseline save` and `check` against a server made slower on purpose, `compare`, and report.html
/// rendered by a real browser.
@Suite("sockbench run/check/compare: CI gate", .serialized)
struct CIGateTests {
    /// Five short repetitions against an external echo server (`--target`).
    static let gate = """
    name: gate
    server: {kind: tcp-echo}
    load: {connections: 2, duration: 250ms, warmup: 50ms}
    repeat: 5
    """

    static func scenarioFile(_ text: String, in directory: String) throws -> String {
        let path = directory + "/scenario.yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A count summed over the file's suites (the Ant schema allows no totals on `testsuites`).
    static func total(_ attribute: String, _ document: XMLDocument) throws -> Int {
        try document.nodes(forXPath: "//testsuite/@\(attribute)").compactMap { $0.stringValue.flatMap(Int.init) }.reduce(0, +)
    }

    static func runGate(_ scenario: String, server: PlainEchoServer, out: String) throws -> TestSupport.CommandResult {
        try TestSupport.sockbench(["run", scenario, "--target", server.address, "--no-capture", "--quiet", "--out", out], timeout: 120)
    }

    @Test("check: exit 0 on an unchanged server, 2 on one made slower on purpose, 0 with 'improved' when faster")
    func checkAgainstBaseline() throws {
        let work = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let scenario = try Self.scenarioFile(Self.gate, in: work)
        let fast = try PlainEchoServer()
        defer { fast.stop() }
        let slow = try PlainEchoServer(delayMicroseconds: 10_000)
        defer { slow.stop() }

        #expect(try Self.runGate(scenario, server: fast, out: work + "/base").status == 0)
        let saved = try TestSupport.sockbench(["baseline", "save", work + "/base", "--name", "main", "--dir", work + "/baselines"])
        #expect(saved.status == 0, "\(saved.stderr)")
        #expect(saved.stdout.contains("1 variant, 5 samples each"))
        let baseline = try String(contentsOfFile: work + "/baselines/main.json", encoding: .utf8)
        #expect(baseline.contains("\"schema\" : \"sockbench/baseline/v1\""))

        // Wide tolerances: the same code measured seconds apart on a shared VM, even with both cores
        // busy, must pass; 10 ms per answer (some 50 times the median on loopback) must not.
        let tolerance = ["--tolerance", "p50=+500%,p99=+1000%,throughput=-80%", "--baseline-dir", work + "/baselines"]
        #expect(try Self.runGate(scenario, server: fast, out: work + "/same").status == 0)
        let same = try TestSupport.sockbench(["check", work + "/same", "--baseline", "main"] + tolerance)
        #expect(same.status == 0, "\(same.stdout)\(same.stderr)")
        #expect(same.stdout.split(separator: "\n").last?.hasPrefix("sockbench: PASS") == true, "\(same.stdout)")

        #expect(try Self.runGate(scenario, server: slow, out: work + "/slow").status == 0)
        let junit = work + "/junit.xml"
        let worse = try TestSupport.sockbench(["check", work + "/slow", "--baseline", "main", "--junit", junit] + tolerance)
        #expect(worse.status == 2, "\(worse.stdout)\(worse.stderr)")
        let last = String(worse.stdout.split(separator: "\n").last ?? "")
        // p50 (60 µs against 10 ms) and throughput (10 ms per answer) regress on any machine; p99 only
        // when the baseline's own tail was short, which a busy machine does not promise.
        #expect(last.hasPrefix("sockbench: FAIL (exit 2): 3 of 3 checks failed") || last.hasPrefix("sockbench: FAIL (exit 2): 2 of 3 checks failed"), "\(last)")
        #expect(last.contains("first: latency.p50 vs main: regressed"), "\(last)")
        let document = try XMLDocument(contentsOf: URL(fileURLWithPath: junit))
        let failures = try Self.total("failures", document)
        #expect(failures >= 2 && failures <= 3)
        // The run's own outcome, then the three baseline metrics.
        #expect(try document.nodes(forXPath: "//testcase").count == 4)
        let failed = try document.nodes(forXPath: "//testcase[failure]/@name").compactMap(\.stringValue)
        #expect(failed.contains { $0.contains("latency.p50") } && failed.contains { $0.contains("throughput") }, "\(failed)")

        // The slow run as the baseline: the fast one is better, which never fails.
        let better = try TestSupport.sockbench(["check", work + "/same", "--baseline", work + "/slow/report.json"] + tolerance)
        #expect(better.status == 0, "\(better.stdout)")
        #expect(better.stdout.contains("improved"))
    }

    @Test("run: a failed threshold exits 2 with the verdict last; JUnit and the summary say which")
    func failedThreshold() throws {
        let work = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let scenario = try Self.scenarioFile("""
        name: thresholds
        server: {kind: tcp-echo}
        load: {connections: 1, duration: 200ms, warmup: 0}
        capture: {enabled: false}
        thresholds:
          - errors.total == 0
          - latency.p50 < 1ns
        """, in: work)
        let junit = work + "/junit.xml", summary = work + "/summary.md"
        for _ in 0..<2 {
            let result = try TestSupport.sockbench(["run", scenario, "--out", work + "/out", "--junit", junit, "--summary", summary])
            #expect(result.status == 2, "\(result.stderr)")
            let last = String(result.stdout.split(separator: "\n").last ?? "")
            #expect(last.hasPrefix("sockbench: FAIL (exit 2): 1 of 2 checks failed; first: latency.p50 < 1ns: measured"), "\(last)")
        }
        let document = try XMLDocument(contentsOf: URL(fileURLWithPath: junit))
        #expect(try Self.total("tests", document) == 3, "the outcome and two thresholds")
        #expect(try Self.total("failures", document) == 1)
        let failure = try #require(try document.nodes(forXPath: "//failure").first as? XMLElement)
        #expect((failure.parent as? XMLElement)?.attribute(forName: "name")?.stringValue == "run: latency.p50 < 1ns")
        #expect(failure.attribute(forName: "message")?.stringValue?.contains("allowed < 1ns") == true)
        // --summary appends (as $GITHUB_STEP_SUMMARY expects): two runs, two sections.
        let text = try String(contentsOfFile: summary, encoding: .utf8)
        #expect(text.components(separatedBy: "## ❌ sockbench thresholds").count == 3)
        #expect(text.contains("| `latency.p50 < 1ns` | default |"))
        let report = try TestSupport.decodeReport(work + "/out")
        #expect((report["thresholds"] as? [[String: Any]])?.count == 2)
        #expect(report["status"] as? String == "ok")
    }

    @Test("compare: the same table for saved reports; different workloads are refused")
    func compareReports() throws {
        let work = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let base = "name: c\nserver: {kind: tcp-echo}\nload: {connections: 1, duration: 150ms, warmup: 0}\ncapture: {enabled: false}\n"
        let first = try Self.scenarioFile(base, in: work)
        #expect(try TestSupport.sockbench(["run", first, "--out", work + "/a", "--quiet"]).status == 0)
        #expect(try TestSupport.sockbench(["run", first, "--out", work + "/b", "--quiet"]).status == 0)
        let compared = try TestSupport.sockbench(["compare", work + "/a", work + "/b/report.json"])
        #expect(compared.status == 0, "\(compared.stderr)")
        #expect(compared.stdout.contains("/a (baseline) | "), "\(compared.stdout)")
        #expect(compared.stdout.contains("/b |"), "\(compared.stdout)")
        #expect(compared.stdout.contains("throughput.messages_per_second"))
        #expect(compared.stdout.contains("no difference can reach p < 0.05"))

        let other = try Self.scenarioFile(base.replacingOccurrences(of: "connections: 1", with: "connections: 2"), in: work)
        #expect(try TestSupport.sockbench(["run", other, "--out", work + "/c", "--quiet"]).status == 0)
        let refused = try TestSupport.sockbench(["compare", work + "/a", work + "/c"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("they measured different workloads (connections 1 vs 2)"), "\(refused.stderr)")
        let missing = try TestSupport.sockbench(["check", work + "/a", "--baseline", "nope", "--baseline-dir", work])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("cannot read \(work)/nope.json: no such file"), "\(missing.stderr)")
        let badName = try TestSupport.sockbench(["baseline", "save", work + "/a", "--name", "../escape"])
        #expect(badName.status == 1)
    }
}
