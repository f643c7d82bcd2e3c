import Foundation
import Glibc
import Testing
@testable import SockBench

/// Slurm for real: a one-node cluster on localhost (munged, slurmctld, slurmd, configured in a
/// temporary folder by scripts/slurm-local.sh), the script `sockbench slurm` generates submitted
/// with sbatch against a server in this process, and its merged report checked. Skips, saying
/// why, where the daemons cannot start; stops them in every case.
@Suite("Slurm job array", .serialized)
struct SlurmTests {
    @Test("sbatch of the generated script: two shards run as an array, the dependent job merges them, the merged report passes its thresholds")
    func jobArray() throws {
        let bash = try #require(TestSupport.tool("bash"))
        let cluster = TestSupport.temporaryDirectory("slurm-cluster")
        let script = TestSupport.packageRoot + "/scripts/slurm-local.sh"
        // Stopped in every case, even when start itself fails or times out.
        defer { _ = try? TestSupport.program(bash, [script, "stop", cluster], timeout: 120) }
        let started = try TestSupport.program(bash, [script, "start", cluster], timeout: 180)
        if started.status == 77 {
            print("skipped: Slurm cannot run here: \(started.stderr)")
            return
        }
        try #require(started.status == 0, "slurm-local.sh start: \(started.stderr)")
        let conf = try #require(started.stdout.split(separator: "\n").compactMap { line -> String? in
            line.hasPrefix("export SLURM_CONF=") ? String(line.dropFirst("export SLURM_CONF=".count)).trimmingCharacters(in: CharacterSet(charactersIn: "'\"")) : nil
        }.first, "no SLURM_CONF in: \(started.stdout)")

        let server = try PlainEchoServer()
        defer { server.stop() }
        let work = TestSupport.temporaryDirectory("slurm-run")
        let scenario = try CIGateTests.scenarioFile("""
        name: slurm-array
        server: {kind: external, address: "\(server.address)"}
        load: {connections: 4, warmup: 200ms, duration: 1s, rate: 400/s, interval: 250ms}
        thresholds: ["errors.total == 0", "latency.p99 < 5s"]
        """, in: work)
        let out = work + "/reports"
        let generated = try TestSupport.sockbench(["slurm", scenario, "--shards", "2", "--out", out, "--start-in", "6s"])
        try #require(generated.status == 0, "\(generated.stderr)")
        let job = work + "/job.sh"
        try generated.stdout.write(toFile: job, atomically: true, encoding: .utf8)
        let sbatch = try #require(TestSupport.tool("sbatch"), "slurm-local.sh installed slurm-wlm")
        let submitted = try TestSupport.program("/usr/bin/env", ["SLURM_CONF=\(conf)", sbatch, "--parsable", job])
        try #require(submitted.status == 0, "sbatch: \(submitted.stderr)")
        // The merge job writes the merged report last; wait for it (shards start 6 s from generation, run 1.2 s).
        let merged = out + "/merged/report.json"
        let done = TestSupport.eventually(timeout: 120) { FileManager.default.fileExists(atPath: merged) }
        let logs = ((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []).filter { $0.hasSuffix(".out") }.sorted()
            .map { name in "\(name): " + ((try? String(contentsOfFile: out + "/" + name, encoding: .utf8)) ?? "") }.joined(separator: "\n")
        try #require(done, "no merged report after 120 s; job output:\n\(logs)")
        let report = try ReportFile.load(merged)
        let run = try #require(report.runs.first)
        #expect(report.merge?.shards == 2 && run.shards?.map(\.connections) == [2, 2], "\(logs)")
        #expect(report.status == "ok" && report.thresholds?.allSatisfy(\.passed) == true, "\(report.failure ?? "") \(report.thresholds ?? [])")
        #expect(run.messages.received > 200 && run.errors.total == 0)
        let shards = try (0..<2).map { try ReportFile.load("\(out)/shard-\($0)") }
        #expect(shards.map { $0.shard?.index } == [0, 1] && shards.allSatisfy { ($0.shard?.lateS ?? 99) < 3 }, "late: \(shards.map { $0.shard?.lateS ?? -1 })")
        #expect(run.messages.received == shards.reduce(0) { $0 + $1.runs[0].messages.received })
    }
}
