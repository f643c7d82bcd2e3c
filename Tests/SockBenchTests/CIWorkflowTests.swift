import Foundation
import Glibc
import Testing
@testable import SockBench

/// docs/ci.md's GitHub Actions workflow, as written: valid for GitHub (check-jsonschema's vendored
/// github-workflows schema), and its `run:` steps work in a checkout owned by an unprivileged user
/// (the runner's): the sudo step as root with SUDO_UID set, the others as that user; the first run
/// bootstraps the baseline, the second checks against it, and everything uploaded is readable.
@Suite("docs/ci.md's workflow runs as written", .serialized)
struct CIWorkflowTests {
    static let runner: uid_t = OutputOwner.userID(named: "nobody") ?? 65534

    /// The workflow block of docs/ci.md written to `directory`, and its steps as (name, run) pairs.
    static func workflow(in directory: String) throws -> (file: String, steps: [(name: String, run: String?)]) {
        let python = try #require(TestSupport.pythonTool("python"), Comment(rawValue: TestSupport.pythonSetup))
        let extract = """
        import json, sys, yaml
        text = open(sys.argv[1]).read()
        block = text.split("## Example workflow", 1)[1].split("```yaml\\n", 1)[1].split("```", 1)[0]
        open(sys.argv[2], "w").write(block)
        steps = yaml.safe_load(block)["jobs"]["sockbench"]["steps"]
        print(json.dumps([[step.get("name", step.get("uses", "")), step.get("run")] for step in steps]))
        """
        let file = directory + "/workflow.yml"
        let result = try TestSupport.program(python, ["-c", extract, TestSupport.packageRoot + "/docs/ci.md", file])
        #expect(result.status == 0, "\(result.stderr)")
        let pairs = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[Any]])
        return (file, pairs.map { (($0.first as? String) ?? "", $0.last as? String) })
    }

    @Test("check-jsonschema --builtin-schema vendor.github-workflows accepts it, and rejects it broken")
    func validWorkflow() throws {
        let checker = try #require(TestSupport.pythonTool("check-jsonschema"), Comment(rawValue: TestSupport.pythonSetup))
        let work = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let (file, steps) = try Self.workflow(in: work)
        #expect(steps.count >= 6)
        let checked = try TestSupport.program(checker, ["--builtin-schema", "vendor.github-workflows", file])
        #expect(checked.status == 0, "\(checked.stdout)\(checked.stderr)")
        // The control: a job without runs-on is not a workflow GitHub runs.
        let broken = work + "/broken.yml"
        try (try String(contentsOfFile: file, encoding: .utf8)).replacingOccurrences(of: "    runs-on: ubuntu-latest\n", with: "")
            .write(toFile: broken, atomically: true, encoding: .utf8)
        #expect(try TestSupport.program(checker, ["--builtin-schema", "vendor.github-workflows", broken]).status != 0)
    }

    @Test("its run steps, twice, in a checkout the runner's user owns: bootstrap, then check; the uploads are readable")
    func runsAsWritten() throws {
        guard geteuid() == 0, TestSupport.canCapture else { return }
        let work = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        chmod(work, 0o755)
        let (_, steps) = try Self.workflow(in: work)
        let repo = work + "/checkout"
        try FileManager.default.createDirectory(atPath: repo + "/scenarios", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: repo + "/.build/release", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: TestSupport.packageRoot + "/scenarios/ci-gate.yaml", toPath: repo + "/scenarios/ci-gate.yaml")
        try FileManager.default.createSymbolicLink(atPath: repo + "/.build/release/sockbench", withDestinationPath: TestSupport.executable)
        let summary = work + "/step-summary.md"
        FileManager.default.createFile(atPath: summary, contents: nil)
        let user = String(Self.runner)
        #expect(try TestSupport.program("/bin/chown", ["-R", "-h", "\(user):\(user)", repo, summary]).status == 0)

        func step(_ script: String) throws -> TestSupport.CommandResult {
            // GitHub runs each step with `bash -e`; `sudo` keeps SUDO_UID/SUDO_GID for the command.
            if script.hasPrefix("sudo ") {
                return try TestSupport.program("/usr/bin/env", ["SUDO_UID=\(user)", "SUDO_GID=\(user)", "GITHUB_STEP_SUMMARY=\(summary)",
                                                                "/bin/bash", "-ec", "cd \"$0\" && " + script.dropFirst(5), repo], timeout: 180)
            }
            return try TestSupport.program("/usr/bin/setpriv", ["--reuid", user, "--regid", user, "--clear-groups", "--",
                                                                "/usr/bin/env", "-u", "SUDO_UID", "-u", "SUDO_GID", "HOME=/tmp", "GITHUB_STEP_SUMMARY=\(summary)",
                                                                "/bin/bash", "-ec", "cd \"$0\"\n" + script, repo], timeout: 180)
        }
        let runSteps = steps.filter { $0.run != nil && !$0.name.hasPrefix("Set up") }
        #expect(runSteps.count == 2, "\(runSteps.map(\.name))")
        for pass in 1...2 {
            for (name, script) in runSteps {
                let result = try step(script!)
                // 2 is a verdict (a threshold on a busy machine), not a broken step.
                #expect(result.status == 0 || result.status == 2, "pass \(pass), \(name): exit \(result.status)\n\(result.stdout)\(result.stderr)")
                if pass == 1, name.hasPrefix("Check") { #expect(result.stdout.contains("::notice::no baselines/main.json yet"), "\(result.stdout)") }
                if pass == 2, name.hasPrefix("Check") { #expect(result.stdout.contains("sockbench: "), "\(result.stdout)") }
            }
        }
        // What the upload and publish steps read, read as the runner's user.
        let uploads = ["reports/pr/report.json", "reports/pr/report.html", "junit-run.xml", "junit-check.xml", "baselines/main.json"]
        let names = (try? FileManager.default.contentsOfDirectory(atPath: repo + "/reports/pr")) ?? []
        #expect(names.contains { $0.hasSuffix(".pcap") }, "\(names)")
        for path in uploads + names.map({ "reports/pr/" + $0 }) where FileManager.default.fileExists(atPath: repo + "/" + path) || uploads.contains(path) {
            let read = try TestSupport.program("/usr/bin/setpriv", ["--reuid", user, "--regid", user, "--clear-groups", "--", "/bin/cat", repo + "/" + path])
            #expect(read.status == 0, "\(path): \(read.stderr)")
        }
        #expect((try String(contentsOfFile: summary, encoding: .utf8)).components(separatedBy: "## ").count >= 4, "two runs and a check in the step summary")
    }
}
