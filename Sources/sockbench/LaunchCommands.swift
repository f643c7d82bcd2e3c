import ArgumentParser
import Foundation
import SockBench

/// What `sockbench kubernetes` and `sockbench slurm` share: the scenario (read and checked as
/// `run` reads it), the shard count, when the shards start, the server they load.
struct LaunchOptions: ParsableArguments {
    @Argument(help: "The scenario file every shard runs.")
    var scenario: String

    @Option(name: .long, help: ArgumentHelp("How many shards (generators) share the load.", valueName: "n"))
    var shards: Int

    @Option(name: .long, help: ArgumentHelp("The shards start their warm-up this long after the file is generated (--start-at in every shard).", valueName: "duration"))
    var startIn = "60s"

    @Option(name: .long, help: ArgumentHelp("The server every shard loads (HOST:PORT), instead of the scenario's external server.", valueName: "host:port"))
    var target: String?

    func plan() throws -> LaunchPlan {
        let loaded: Scenario
        let text: String
        do {
            loaded = try ScenarioLoader.load(path: scenario)
            text = try String(contentsOfFile: scenario, encoding: .utf8)
        } catch let error as ScenarioError {
            throw CommandFailure.badInput(error.description)
        } catch {
            throw CommandFailure.badInput("\(scenario): \(error.localizedDescription)")
        }
        if let target {
            do { _ = try SocketAddress(parsing: target) } catch { throw CommandFailure.badInput("--target: \(error)") }
        }
        do {
            let start = try StartTime(parsing: "+" + startIn)
            return try LaunchPlan(scenario: loaded, text: text, shards: shards, startAt: start, target: target)
        } catch {
            throw CommandFailure.badInput(error.message.replacingOccurrences(of: "--start-at: expected +DURATION", with: "--start-in: expected a duration"))
        }
    }
}

struct KubernetesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kubernetes",
        abstract: "Print a Kubernetes Indexed Job that runs a scenario as N shards, and the commands that collect and merge them.",
        discussion: """
        The manifest (on standard output) holds a ConfigMap with the scenario and an Indexed Job \
        (completionMode Indexed, parallelism = completions = N, backoffLimitPerIndex 0, \
        podReplacementPolicy Failed). Every pod runs `sockbench run --shards N --start-at T \
        --report-line`: JOB_COMPLETION_INDEX names its shard, T is now + --start-in, and its report \
        leaves as its last log line. The commands to apply, wait, collect the logs and merge go to \
        standard error (or --instructions FILE). See docs/distributed.md.
        """
    )

    @OptionGroup var launch: LaunchOptions

    @Option(name: .long, help: "The container image that holds sockbench (on PATH, or --executable).")
    var image: String

    @Option(name: .long, help: "The namespace of the ConfigMap and the Job.")
    var namespace: String?

    @Option(name: .long, help: ArgumentHelp("A ReadWriteMany PersistentVolumeClaim mounted at /reports, where every shard's report folder stays too.", valueName: "claim"))
    var reportsClaim: String?

    @Option(name: .long, help: "The sockbench executable inside the image.")
    var executable = "sockbench"

    func run() throws {
        let plan = try launch.plan()
        if let loopback = plan.loopback {
            throw CommandFailure.badInput("the server \(loopback) is a loopback address: in a pod that is the pod itself; pass --target with an address the pods reach (a Service's ClusterIP)")
        }
        let options = KubernetesJob.Options(image: image, namespace: namespace, reportsClaim: reportsClaim, executable: executable)
        FileHandleOutput.standardOutput(KubernetesJob.manifest(plan, options), terminator: "")
        FileHandleOutput.standardError("# then (the shards start at \(plan.startAt.text)):\n" + KubernetesJob.instructions(plan, options, manifestFile: "\(plan.jobName).yaml"))
    }
}

struct SlurmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slurm",
        abstract: "Print an sbatch script whose job array runs a scenario as N shards, then merges them.",
        discussion: """
        `sbatch` the printed script: its array (--array=0-(N-1)) runs one shard per task \
        (SLURM_ARRAY_TASK_ID names it), each starting at now + --start-in, and its first task \
        submits `sockbench merge` as a job that waits for the whole array. Reports go to \
        --out/shard-I and the merged report to --out/merged; --out must be a folder every node \
        sees (created now if missing: Slurm opens the tasks' output files there before they run). \
        See docs/distributed.md.
        """
    )

    @OptionGroup var launch: LaunchOptions

    @Option(name: .long, help: ArgumentHelp("The folder, shared by every node, for the shards' reports and the merge.", valueName: "dir"))
    var out: String

    @Option(name: .long, help: "The sockbench executable on the compute nodes (default: this one).")
    var executable: String?

    func run() throws {
        let plan = try launch.plan()
        guard !out.isEmpty else { throw CommandFailure.badInput("--out: name the shared folder for the reports") }
        let absolute = { (path: String) in path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path }
        let options = SlurmScript.Options(executable: executable ?? RunCommand.executablePath(), directory: absolute(out),
                                          scenarioPath: absolute(launch.scenario))
        do { try SlurmScript.checkDirectory(options.directory) } catch { throw CommandFailure.badInput(error.message) }
        // Slurm opens each task's --output file before the task runs: the folder must exist at submission.
        do {
            try FileManager.default.createDirectory(atPath: options.directory, withIntermediateDirectories: true)
        } catch {
            throw CommandFailure.badInput("--out \(out): cannot create the folder: \(error.localizedDescription)")
        }
        FileHandleOutput.standardOutput(SlurmScript.script(plan, options), terminator: "")
    }
}
