import Foundation
import Glibc
import Testing
@testable import SockBench

/// The launchers: a Kubernetes Indexed Job manifest validated offline against the Kubernetes
/// schema (kubernetes-validate, pinned in scripts/setup.sh; no cluster runs here and the test does
/// not pretend one did), and the Slurm script's shape. The Slurm array runs for real in SlurmTests.
@Suite("Launchers: Kubernetes and Slurm")
struct LauncherTests {
    static let scenarioText = """
    # a scenario with quotes, a colon and a "#": it must reach the pods byte for byte
    name: "shard me: please"
    server: {kind: external, address: "127.0.0.1:7"}
    load: {connections: 100, duration: 5s, rate: 1000/s}
    thresholds: ["latency.p99 < 20ms"]

    """

    static func scenarioFile() throws -> String {
        let directory = TestSupport.temporaryDirectory()
        let path = directory + "/shards.yaml"
        try scenarioText.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("sockbench kubernetes: an Indexed Job that validates strictly for Kubernetes 1.29 to 1.37, the scenario intact in its ConfigMap",
          arguments: [(1, [String]()), (4, ["--namespace", "load-tests"]), (100, ["--reports-claim", "sockbench-reports", "--start-in", "5m"])])
    func kubernetesManifest(_ shards: Int, _ extra: [String]) throws {
        let python = try #require(TestSupport.pythonTool("python"), Comment(rawValue: TestSupport.pythonSetup))
        let scenario = try Self.scenarioFile()
        let before = StartTime.wallClockNow()
        let generated = try TestSupport.sockbench(["kubernetes", scenario, "--shards", "\(shards)", "--image", "registry.example/sockbench:1.0",
                                                   "--target", "198.18.0.10:7000"] + extra)
        #expect(generated.status == 0, "\(generated.stderr)")
        let manifest = generated.stdout
        for line in ["completionMode: Indexed", "completions: \(shards)", "parallelism: \(shards)", "backoffLimitPerIndex: 0",
                     "podReplacementPolicy: Failed", "restartPolicy: Never", "- \"--shards\"\n            - \"\(shards)\"", "- \"--report-line\""] {
            #expect(manifest.contains(line), "\(line) not in the manifest")
        }
        #expect(manifest.contains(extra.contains("--reports-claim") ? "claimName: \"sockbench-reports\"" : "emptyDir: {}"))
        if extra.contains("--namespace") { #expect(manifest.components(separatedBy: "namespace: \"load-tests\"").count == 3) }
        // --start-at is computed when the manifest is generated: now + --start-in.
        let start = try #require(manifest.split(separator: "\n").first { $0.contains("starting together at") }?.split(separator: " ").last)
        let at = try StartTime(parsing: String(start.dropLast()), now: before)
        let delay = Double(at.unixNanoseconds - before) / 1e9
        #expect(abs(delay - (extra.contains("5m") ? 300 : 60)) < 5, "starts \(delay) s after generation")
        #expect(generated.stderr.contains("kubectl wait") && generated.stderr.contains("sockbench merge"))

        let file = TestSupport.temporaryDirectory() + "/job.yaml"
        try manifest.write(toFile: file, atomically: true, encoding: .utf8)
        let validator = TestSupport.packageRoot + "/Tests/SockBenchTests/Fixtures/validate_manifest.py"
        let checked = try TestSupport.program(python, [validator, file, "1.29.0", "1.33.0", "1.37.0"])
        #expect(checked.status == 0, "\(checked.stdout)\(checked.stderr)")
        #expect(checked.stdout.components(separatedBy: "OK ").count - 1 == 6, "\(checked.stdout)")
        let data = try JSONDecoder().decode([String: String].self, from: Data((checked.stdout.split(separator: "\n").last ?? "").utf8))
        #expect(data["scenario.yaml"] == Self.scenarioText)

        // The validator can fail: a misspelt field, a wrong enum, a wrong type.
        for (from, to) in [("parallelism:", "parallelizm:"), ("completionMode: Indexed", "completionMode: Indexd"),
                           ("completions: \(shards)", "completions: \"many\"")] {
            try manifest.replacingOccurrences(of: from, with: to).write(toFile: file, atomically: true, encoding: .utf8)
            let broken = try TestSupport.program(python, [validator, file, "1.33.0"])
            #expect(broken.status == 1 && broken.stdout.contains("ERROR"), "\(to): \(broken.stdout)")
        }
    }

    @Test("the launchers refuse what cannot be sharded: a reference server per shard, fewer connections than shards, a bad --start-in")
    func refusals() throws {
        let scenario = try Self.scenarioFile()
        let reference = TestSupport.temporaryDirectory() + "/reference.yaml"
        try "name: r\nserver: {kind: tcp-echo}\nload: {connections: 4}\n".write(toFile: reference, atomically: true, encoding: .utf8)
        for (arguments, words) in [
            (["kubernetes", reference, "--shards", "2", "--image", "x"], "own reference server"),
            (["kubernetes", scenario, "--shards", "101", "--image", "x"], "cannot be spread over 101 shards"),
            (["slurm", scenario, "--shards", "2", "--out", "/tmp/x", "--start-in", "soon"], "--start-in"),
            (["kubernetes", scenario, "--shards", "0", "--image", "x"], "--shards"),
            // A loopback server in a pod is the pod itself.
            (["kubernetes", scenario, "--shards", "2", "--image", "x"], "loopback"),
            // Slurm reads #SBATCH lines without a shell: a folder that needs quoting is refused, never spliced.
            (["slurm", scenario, "--shards", "2", "--out", "/tmp/x/$(touch /tmp/x/PWNED)"], "may hold letters"),
            (["slurm", scenario, "--shards", "2", "--out", "/tmp/run 1"], "may hold letters"),
            (["slurm", scenario, "--shards", "2", "--out", "/tmp/x\ntouch y"], "may hold letters"),
        ] {
            let result = try TestSupport.sockbench(arguments)
            #expect(result.status == 1 && result.stderr.contains(words), "\(arguments): \(result.stderr)")
            #expect(result.stdout.isEmpty, "nothing half-written on standard output")
        }
    }

    @Test("a scenario name that would end a comment line (a newline, then YAML or shell) stays inside it")
    func commentInjection() throws {
        let python = try #require(TestSupport.pythonTool("python"), Comment(rawValue: TestSupport.pythonSetup))
        let path = TestSupport.temporaryDirectory() + "/inject.yaml"
        try #"""
        name: "x\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: injected}\n---\n#"
        server: {kind: external, address: "198.18.0.10:7000"}
        load: {connections: 4}
        """#.write(toFile: path, atomically: true, encoding: .utf8)
        let manifest = try TestSupport.sockbench(["kubernetes", path, "--shards", "2", "--image", "x"])
        #expect(manifest.status == 0, "\(manifest.stderr)")
        let file = TestSupport.temporaryDirectory() + "/job.yaml"
        try manifest.stdout.write(toFile: file, atomically: true, encoding: .utf8)
        let kinds = try TestSupport.program(python, ["-c", "import sys, yaml; print([d['kind'] for d in yaml.safe_load_all(open(sys.argv[1])) if d])", file])
        #expect(kinds.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "['ConfigMap', 'Job']", "\(kinds.stdout)\(kinds.stderr)")
        let script = try TestSupport.sockbench(["slurm", path, "--shards", "2", "--out", TestSupport.temporaryDirectory() + "/out"])
        #expect(script.status == 0 && !script.stdout.contains("\nkind: Pod") && !script.stdout.contains("\n---"), "\(script.stdout)")
    }

    @Test("sockbench slurm: an array of N tasks with the shard flags, whose first task submits the merge after the whole array")
    func slurmScript() throws {
        let scenario = try Self.scenarioFile()
        let work = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        // Stand-ins that record their arguments: sbatch (on PATH) and the sockbench the nodes run.
        let fake = "#!/bin/bash\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > \"$0.args\"\n"
        try FileManager.default.createDirectory(atPath: work + "/bin", withIntermediateDirectories: true)
        for tool in ["bin/sbatch", "sockbench"] {
            try fake.write(toFile: "\(work)/\(tool)", atomically: true, encoding: .utf8)
            chmod("\(work)/\(tool)", 0o755)
        }
        let out = work + "/run-1"
        let result = try TestSupport.sockbench(["slurm", scenario, "--shards", "3", "--out", out, "--executable", work + "/sockbench"])
        #expect(result.status == 0, "\(result.stderr)")
        let script = result.stdout
        for line in ["#!/bin/bash", "#SBATCH --array=0-2", "#SBATCH --job-name=sockbench-shard-me-please"] {
            #expect(script.contains(line), "\(line) not in:\n\(script)")
        }
        let file = work + "/job.sh"
        try script.write(toFile: file, atomically: true, encoding: .utf8)
        let bash = try #require(TestSupport.tool("bash"))
        // Task 0 of the array: it submits the merge, then runs its shard.
        let task = try TestSupport.program("/usr/bin/env", ["PATH=\(work)/bin:/usr/bin:/bin", "SLURM_ARRAY_TASK_ID=0", "SLURM_ARRAY_TASK_MIN=0",
                                                            "SLURM_ARRAY_JOB_ID=41", bash, file])
        #expect(task.status == 0, "\(task.stdout)\(task.stderr)")
        let submitted = try String(contentsOfFile: work + "/bin/sbatch.args", encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(submitted.contains("--dependency=afterany:41"), "\(submitted)")
        let wrap = try #require(submitted.first { $0.hasPrefix("--wrap=") }?.dropFirst(7))
        // The merge command, as the node's shell reads it.
        let words = try TestSupport.program(bash, ["-c", "for a in \(wrap); do printf '%s\\n' \"$a\"; done", "sh"])
        #expect(words.stdout.split(separator: "\n").map(String.init).prefix(3) == [work + "/sockbench", "merge", out + "/shard-*"], "\(words.stdout)")
        let shard = try String(contentsOfFile: work + "/sockbench.args", encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(Array(shard.prefix(5)) == ["run", scenario, "--shards", "3", "--start-at"], "\(shard)")
        #expect(shard.suffix(3) == ["--out", out + "/shard-0", "--quiet"], "\(shard)")
        // Another task runs its shard only.
        try? FileManager.default.removeItem(atPath: work + "/bin/sbatch.args")
        let other = try TestSupport.program("/usr/bin/env", ["PATH=\(work)/bin:/usr/bin:/bin", "SLURM_ARRAY_TASK_ID=2", "SLURM_ARRAY_TASK_MIN=0",
                                                             "SLURM_ARRAY_JOB_ID=41", bash, file])
        #expect(other.status == 0 && !FileManager.default.fileExists(atPath: work + "/bin/sbatch.args"))
    }
}
