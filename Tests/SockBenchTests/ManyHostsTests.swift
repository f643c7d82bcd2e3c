import Foundation
import Glibc
import Testing
@testable import SockBench

/// Many hosts on one machine: Benchmarks/distributed/many-hosts.sh puts agents and a server of
/// several SO_REUSEPORT processes in network namespaces of their own (198.18.0.0/15), starts the
/// agents at one --start-at and merges their shards. The benchmark holds 100,000 connections this
/// way; the test, a few dozen. Needs root (ip netns); skips with the reason otherwise.
@Suite("Many hosts in network namespaces", .serialized)
struct ManyHostsTests {
    @Test("three agents in three namespaces against a two-process server: all connections held, pings answered, 0 errors, merged on time")
    func threeAgents() throws {
        guard getuid() == 0, TestSupport.tool("ip") != nil else {
            print("skipped: network namespaces need root and iproute2")
            return
        }
        let bash = try #require(TestSupport.tool("bash"))
        let out = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let script = TestSupport.packageRoot + "/Benchmarks/distributed/many-hosts.sh"
        let result = try TestSupport.program("/usr/bin/env", ["SOCKBENCH=\(TestSupport.executable)", bash, script, out, "3", "20", "2", "1s"], timeout: 120)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let report = try ReportFile.load(out + "/merged")
        let run = try #require(report.runs.first)
        #expect(report.status == "ok", "\(report.failure ?? "")")
        #expect(run.connections.requested == 60 && run.connections.established == 60 && run.errors.total == 0, "\(run.connections) \(run.errors)")
        #expect(run.messages.received > 0, "pings were answered")
        #expect(run.shards?.count == 3 && (report.merge?.startSkewS ?? 9) < 0.5, "\(report.merge.map { "\($0.startSkewS)" } ?? "")")
        let namespaces = try TestSupport.program(try #require(TestSupport.tool("ip")), ["netns", "list"])
        #expect(!namespaces.stdout.contains("sbmh-"), "the script removes its namespaces: \(namespaces.stdout)")
    }
}
