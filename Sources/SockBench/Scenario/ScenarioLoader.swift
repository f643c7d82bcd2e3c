import Foundation
import Yams

/// Reads a scenario from YAML or JSON (JSON is read by the same YAML parser, so its errors
/// carry line and column too), checks every key and value, and fills in defaults.
public enum ScenarioLoader {
    static let topKeys = ["name", "description", "server", "client", "load", "capture"]
    static let serverKeys = ["kind", "bind", "address", "protocol", "threads", "response_size"]
    static let loadKeys = ["connections", "duration", "warmup", "threads", "pattern", "message_size", "depth",
                           "direction", "batch_writes", "connect_timeout", "request_timeout", "udp_loss_timeout"]
    static let captureKeys = ["enabled", "required", "interface", "snaplen", "payload", "buffer_size", "max_file_size"]
    static let optionKeys = SocketOption.allCases.map(\.rawValue)

    /// The largest UDP payload over IPv4.
    public static let maximumDatagram = 65_507
    /// UDP payloads carry a sequence number and a send timestamp.
    public static let minimumDatagram = 16

    public static func load(path: String) throws(ScenarioError) -> Scenario {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read (permission denied or a directory)" : "no such file"
            throw ScenarioError(file: path, line: 1, column: 1, key: nil, message: "scenario file \(reason)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ScenarioError(file: path, line: 1, column: 1, key: nil, message: "scenario file is not UTF-8 text")
        }
        return try load(text: text, path: path)
    }

    public static func load(text: String, path: String) throws(ScenarioError) -> Scenario {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw ScenarioError(file: path, line: 1, column: 1, key: nil,
                                    message: "scenario is empty; expected a mapping with keys \(topKeys.joined(separator: ", "))")
            }
            root = node
        } catch let error as ScenarioError {
            throw error
        } catch {
            throw yamlError(error, path: path, text: text)
        }
        return try scenario(from: root, path: path)
    }

    static func scenario(from root: Node, path: String) throws(ScenarioError) -> Scenario {
        let top = try ScenarioDocument(file: path, path: "", node: root)
        try top.checkKeys(allowed: topKeys)
        guard let name = try top.string("name") else { throw top.missing("name", "a short name for the scenario") }
        guard !name.trimmingWhitespace().isEmpty else { throw top.error("name", at: top["name"], "must not be empty") }
        guard let serverNode = top["server"] else { throw top.missing("server", "a mapping with at least 'kind'") }
        guard let loadNode = top["load"] else { throw top.missing("load", "a mapping such as {connections: 16, duration: 5s}") }

        let serverDoc = try ScenarioDocument(file: path, path: "server", node: serverNode)
        try serverDoc.checkKeys(allowed: serverKeys + optionKeys)
        let loadDoc = try ScenarioDocument(file: path, path: "load", node: loadNode)
        try loadDoc.checkKeys(allowed: loadKeys)
        let clientDoc = try top["client"].map { node throws(ScenarioError) in try ScenarioDocument(file: path, path: "client", node: node) }
        try clientDoc?.checkKeys(allowed: optionKeys)

        var server = try serverSpec(serverDoc)
        let load = try loadSpec(loadDoc, server: &server, serverDoc: serverDoc)
        let client = ClientSpec(options: try clientDoc?.socketOptions(transport: server.transport) ?? SocketOptionSet())
        let capture = try top["capture"].map { node throws(ScenarioError) in
            try captureSpec(ScenarioDocument(file: path, path: "capture", node: node))
        } ?? CaptureSpec()
        return Scenario(name: name, description: try top.string("description") ?? "", server: server,
                        client: client, load: load, capture: capture, sourcePath: path)
    }

    static func serverSpec(_ doc: ScenarioDocument) throws(ScenarioError) -> ServerSpec {
        guard let kind = try doc.choice("kind", of: ServerKind.self) else {
            throw doc.missing("kind", "one of \(ServerKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var server = ServerSpec(kind: kind)
        if kind == .external {
            guard let address = try doc.address("address") else {
                throw doc.missing("address", "the external server's HOST:PORT (kind: external)")
            }
            server.address = address
            if doc["bind"] != nil { throw doc.error("bind", at: doc["bind"], "bind is for reference servers; an external server has 'address'") }
            if doc["threads"] != nil { throw doc.error("threads", at: doc["threads"], "threads is for reference servers, not kind: external") }
            server.externalTransport = try doc.choice("protocol", of: Socket.Transport.self) ?? .tcp
        } else {
            if doc["address"] != nil {
                throw doc.error("address", at: doc["address"], "address is only for kind: external; a reference server listens on 'bind'")
            }
            if doc["protocol"] != nil {
                throw doc.error("protocol", at: doc["protocol"], "protocol is only for kind: external; \(kind.rawValue) implies it")
            }
            server.bind = try doc.address("bind") ?? ServerSpec.defaultBind
            server.threads = try doc.integer("threads", in: 1...64) ?? 1
        }
        if let responseSize = try doc.size("response_size", in: 1...(16 << 20)) {
            guard kind == .tcpRR || kind == .external else {
                throw doc.error("response_size", at: doc["response_size"], "response_size is for kind: tcp-rr (or external)")
            }
            server.responseSize = responseSize
        }
        server.options = try doc.socketOptions(transport: server.transport)
        return server
    }

    static func loadSpec(_ doc: ScenarioDocument, server: inout ServerSpec, serverDoc: ScenarioDocument) throws(ScenarioError) -> LoadSpec {
        var load = LoadSpec()
        load.connections = try doc.integer("connections", in: 1...100_000) ?? load.connections
        load.durationNanoseconds = try doc.duration("duration", minimum: 1_000_000) ?? load.durationNanoseconds
        load.warmupNanoseconds = try doc.duration("warmup") ?? load.warmupNanoseconds
        load.threads = min(try doc.integer("threads", in: 1...64) ?? load.threads, load.connections)
        load.pattern = try doc.choice("pattern", of: LoadSpec.Pattern.self) ?? impliedPattern(server.kind) ?? .requestResponse
        load.depth = try doc.integer("depth", in: 1...1024) ?? 1
        load.direction = try doc.choice("direction", of: LoadSpec.Direction.self) ?? (server.kind == .tcpSource ? .download : .upload)
        load.batchWrites = try doc.boolean("batch_writes") ?? load.batchWrites
        load.connectTimeoutNanoseconds = try doc.duration("connect_timeout", minimum: 1_000_000) ?? load.connectTimeoutNanoseconds
        load.requestTimeoutNanoseconds = try doc.duration("request_timeout", minimum: 1_000_000) ?? load.requestTimeoutNanoseconds
        load.udpLossTimeoutNanoseconds = try doc.duration("udp_loss_timeout", minimum: 1_000_000) ?? load.udpLossTimeoutNanoseconds

        let udp = server.transport == .udp
        let sizeRange = udp ? minimumDatagram...maximumDatagram : 1...(16 << 20)
        let defaultSize = load.pattern == .stream && !udp ? 128 << 10 : 64
        load.messageSize = try doc.size("message_size", in: sizeRange) ?? defaultSize

        if load.pattern == .idle {
            guard server.transport == .tcp else {
                throw doc.error("pattern", at: doc["pattern"], "pattern: idle holds TCP connections open; UDP has none")
            }
            for key in ["depth", "direction", "message_size", "batch_writes", "request_timeout"] where doc[key] != nil {
                throw doc.error(key, at: doc[key], "\(key) does not apply to pattern: idle (nothing is sent)")
            }
            if server.kind == .tcpSource {
                throw doc.error("pattern", at: doc["pattern"], "tcp-source sends at once; idle connections need a quiet server such as tcp-echo")
            }
        } else if let expected = impliedPattern(server.kind), load.pattern != expected {
            throw doc.error("pattern", at: doc["pattern"] ?? serverDoc["kind"],
                            "\(server.kind.rawValue) is driven with pattern: \(expected.rawValue), not \(load.pattern.rawValue)")
        }
        if doc["batch_writes"] != nil, load.pattern != .requestResponse || server.transport != .tcp {
            throw doc.error("batch_writes", at: doc["batch_writes"], "batch_writes applies to TCP pattern: request-response")
        }
        if load.pattern == .stream {
            if server.kind == .tcpSink || server.kind == .udpSink, load.direction != .upload {
                throw doc.error("direction", at: doc["direction"], "\(server.kind.rawValue) only receives: use direction: upload")
            }
            if server.kind == .tcpSource, load.direction != .download {
                throw doc.error("direction", at: doc["direction"], "tcp-source only sends: use direction: download")
            }
            if udp, load.direction == .download {
                throw doc.error("direction", at: doc["direction"], "UDP streams go one way, client to server: use direction: upload")
            }
            if doc["depth"] != nil { throw doc.error("depth", at: doc["depth"], "depth applies to pattern: request-response") }
        } else if load.pattern == .requestResponse, doc["direction"] != nil {
            throw doc.error("direction", at: doc["direction"], "direction applies to pattern: stream")
        }
        if server.kind == .tcpRR, server.responseSize == nil { server.responseSize = load.messageSize }
        return load
    }

    static func captureSpec(_ doc: ScenarioDocument) throws(ScenarioError) -> CaptureSpec {
        try doc.checkKeys(allowed: captureKeys)
        var capture = CaptureSpec()
        capture.enabled = try doc.boolean("enabled") ?? capture.enabled
        capture.required = try doc.boolean("required") ?? capture.required
        capture.payload = try doc.boolean("payload") ?? capture.payload
        capture.snaplen = try doc.size("snaplen", in: 64...262_144)
        capture.bufferSize = try doc.size("buffer_size", in: CaptureSpec.minimumBuffer...(1 << 30)) ?? capture.bufferSize
        capture.maxFileSize = try doc.size("max_file_size", in: 1 << 20...(1 << 40)) ?? capture.maxFileSize
        if let interface = try doc.string("interface") {
            let valid = !interface.isEmpty && interface.count < 16 && interface.allSatisfy { $0.isLetter || $0.isNumber || "-_.:@".contains($0) }
            guard valid else { throw doc.error("interface", at: doc["interface"], "expected a network interface name such as lo, eth0 or any") }
            capture.interface = interface
        }
        if capture.required, !capture.enabled {
            throw doc.error("required", at: doc["required"], "required: true needs enabled: true")
        }
        return capture
    }

    /// The pattern a reference kind is driven with; nil when any fits (external).
    static func impliedPattern(_ kind: ServerKind) -> LoadSpec.Pattern? {
        switch kind {
        case .tcpEcho, .tcpRR, .udpEcho: .requestResponse
        case .tcpSink, .tcpSource, .udpSink: .stream
        case .external: nil
        }
    }

    /// Turns a Yams parse error into one located line.
    static func yamlError(_ error: any Error, path: String, text: String) -> ScenarioError {
        guard let yaml = error as? YamlError else {
            return ScenarioError(file: path, line: 1, column: 1, key: nil, message: "cannot parse: \(error)")
        }
        switch yaml {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let prefix = context.map { "\($0.text.trimmingWhitespace()): " } ?? ""
            return ScenarioError(file: path, line: mark.line, column: mark.column, key: nil, message: "invalid YAML: \(prefix)\(problem)")
        case .reader(let problem, let offset, _, _):
            return ScenarioError(file: path, line: 1, column: (offset ?? 0) + 1, key: nil, message: "invalid text: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            // Yams marks the mapping; point at the key's second appearance after it instead.
            let key = duplicates.first ?? ""
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            let hits = lines.indices.filter { $0 + 1 >= context.mark.line && lines[$0].trimmingWhitespace().hasPrefix(key + ":") }
            let line = hits.count >= 2 ? hits[1] + 1 : context.mark.line
            let column = hits.count >= 2 ? lines[hits[1]].prefix { $0 == " " }.count + 1 : context.mark.column
            return ScenarioError(file: path, line: line, column: column, key: key.isEmpty ? nil : key,
                                 message: "key appears more than once in the same mapping")
        default:
            return ScenarioError(file: path, line: 1, column: 1, key: nil, message: "cannot parse: \(yaml)")
        }
    }
}
