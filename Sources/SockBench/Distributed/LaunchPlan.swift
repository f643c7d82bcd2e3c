import Foundation

/// What a launcher (a Kubernetes Job, a Slurm array) needs to start N shards of one scenario:
/// the scenario's text and name, the shard count, the start time every shard waits for, and the
/// flags each `sockbench run` gets. Launchers generate what the engine runs; they do not run it.
public struct LaunchPlan: Sendable {
    public var scenarioName: String
    /// The scenario file as written (a ConfigMap carries it into the pods).
    public var scenarioText: String
    public var shards: Int
    public var startAt: StartTime
    /// `--target HOST:PORT` for every shard (a server outside the generators), or nil: the scenario's own.
    public var target: String?
    /// The server's address when it is a loopback one: each generator would load itself (refused on Kubernetes).
    public var loopback: String?

    /// Checks the plan against the scenario: every shard must have a connection, and all shards
    /// must load one server (not a reference server each).
    public init(scenario: Scenario, text: String, shards: Int, startAt: StartTime, target: String?) throws(DistributedError) {
        guard shards >= 1, shards <= 10_000 else { throw DistributedError("--shards: expected 1 to 10000, got \(shards)") }
        if target == nil, scenario.server.kind != .external {
            throw DistributedError("the shards would each start their own reference server (server.kind: \(scenario.server.kind.rawValue)): pass --target HOST:PORT, the server every shard loads")
        }
        for variant in scenario.runVariants where variant.scenario.load.connections < shards {
            throw DistributedError("\(variant.name == "default" ? "" : variant.name + ": ")\(variant.scenario.load.connections) connection\(variant.scenario.load.connections == 1 ? "" : "s") cannot be spread over \(shards) shards")
        }
        if let address = target.flatMap({ try? SocketAddress(parsing: $0) }) ?? scenario.server.address, address.isLoopback {
            loopback = address.description
        } else {
            loopback = nil
        }
        scenarioName = scenario.name
        scenarioText = text
        self.shards = shards
        self.startAt = startAt
        self.target = target
    }

    /// A name Kubernetes and Slurm accept: `sockbench-` and the scenario's name in lower-case
    /// letters, digits and dashes, at most 52 characters (room for a pod's suffix).
    public var jobName: String {
        var name = "sockbench-" + String(scenarioName.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" })
        name = String(name.prefix(52))
        while name.hasSuffix("-") { name.removeLast() }
        while name.contains("--") { name = name.replacingOccurrences(of: "--", with: "-") }
        return name
    }

    /// The flags after `run SCENARIO` that every shard gets (the shard index comes from the
    /// launcher's environment, the count from `--shards`). The server is another host's by nature
    /// of a distributed run: `--allow-remote`.
    func runFlags() -> [String] {
        ["--shards", "\(shards)", "--start-at", startAt.text] + (target.map { ["--target", $0] } ?? []) + ["--allow-remote"]
    }

    /// The scenario's name for a comment line: printable ASCII only (a name with a newline would
    /// end the comment and inject lines into the manifest or the script).
    var commentName: String { String(scenarioName.map { $0.isASCII && !$0.isNewline && ($0.asciiValue ?? 0) >= 0x20 && $0 != "\u{7F}" ? $0 : "?" }) }
}

/// Quoting for the generated files.
enum LaunchQuoting {
    /// A double-quoted YAML (and JSON) string.
    static func yaml(_ text: String) -> String {
        let data = (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\\/", with: "/")
    }

    /// A single-quoted POSIX shell word.
    static func shell(_ text: String) -> String {
        if !text.isEmpty, text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_./:=+@%,".contains($0)) }) { return text }
        return "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
