import Foundation
import Yams

/// Reads a scenario from YAML or JSON (JSON is read by the same YAML parser, so its errors
/// carry line and column too), checks every key and value, and fills in defaults.
public enum ScenarioLoader {
    typealias Load = ScenarioKeys.Load
    typealias Capture = ScenarioKeys.Capture

    static let topKeys = ScenarioKeys.names(ScenarioKeys.Top.all)
    static let serverKeys = ScenarioKeys.names(ScenarioKeys.Server.all)
    static let loadKeys = ScenarioKeys.names(ScenarioKeys.Load.all)
    static let captureKeys = ScenarioKeys.names(ScenarioKeys.Capture.all)
    static let optionKeys = SocketOption.allCases.map(\.rawValue)

    /// The largest UDP payload over IPv4.
    public static let maximumDatagram = 65_507
    /// UDP payloads carry a sequence number and a send timestamp.
    public static let minimumDatagram = 16

    public static func load(path: String) throws(ScenarioError) -> Scenario {
        try load(text: read(path: path), path: path)
    }

    public static func load(text: String, path: String) throws(ScenarioError) -> Scenario {
        try scenario(from: compose(text: text, path: path), path: path)
    }

    /// The file's text, or the reason it has none.
    static func read(path: String) throws(ScenarioError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read (permission denied or a directory)" : "no such file"
            throw ScenarioError(file: path, line: 1, column: 1, key: nil, message: "scenario file \(reason)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ScenarioError(file: path, line: 1, column: 1, key: nil, message: "scenario file is not UTF-8 text")
        }
        return text
    }

    /// The YAML tree of a scenario's text.
    static func compose(text: String, path: String) throws(ScenarioError) -> Node {
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw ScenarioError(file: path, line: 1, column: 1, key: nil,
                                    message: "scenario is empty; expected a mapping with keys \(topKeys.joined(separator: ", "))")
            }
            return node
        } catch let error as ScenarioError {
            throw error
        } catch {
            throw yamlError(error, path: path, text: text)
        }
    }

    static func scenario(from root: Node, path: String) throws(ScenarioError) -> Scenario {
        let top = try ScenarioDocument(file: path, path: "", node: root)
        try top.checkKeys(allowed: topKeys)
        let thresholds = try thresholdList(top)
        let repetitions = try top.integer(ScenarioKeys.Top.repetitions) ?? 1
        var scenario: Scenario
        if let matrixNode = top["matrix"] {
            let matrix = try expandMatrix(matrixNode, root: root, path: path)
            scenario = matrix.variants[0].scenario
            scenario.matrix = matrix
        } else {
            scenario = try singleScenario(top, path: path)
        }
        scenario.repetitions = repetitions
        scenario.thresholds = thresholds
        try checkStepThresholds(top, thresholds, stepNames: StepRecord.stepNames(scenario))
        return scenario
    }

    /// One complete scenario from a document with any matrix already applied.
    static func singleScenario(_ top: ScenarioDocument, path: String) throws(ScenarioError) -> Scenario {
        guard let name = try top.string(ScenarioKeys.Top.name) else { throw top.missing("name", "a short name for the scenario") }
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
        let conversation = try top["conversation"].map { node throws(ScenarioError) in try conversationSteps(node, path: path) } ?? []
        let load = try loadSpec(loadDoc, server: &server, serverDoc: serverDoc, conversation: conversation)
        let client = ClientSpec(options: try clientDoc?.socketOptions(transport: server.transport, address: server.target) ?? SocketOptionSet())
        let captureDoc = try top["capture"].map { node throws(ScenarioError) in try ScenarioDocument(file: path, path: "capture", node: node) }
        let capture = try captureDoc.map { doc throws(ScenarioError) in try captureSpec(doc) } ?? CaptureSpec()
        if capture.required, server.target.isUnix, let captureDoc {
            throw captureDoc.error("required", at: captureDoc["required"],
                                   "\(UnixSocketRules.captureReason(server.target)); capture cannot be required (leave it out: the run says why there is none)")
        }
        if server.target.isUnix, top["impair"] != nil {
            throw top.error("impair", at: top["impair"], UnixSocketRules.impairmentReason(server.target))
        }
        if load.pattern != .conversation, top["conversation"] != nil {
            throw top.error("conversation", at: top["conversation"], "conversation steps need load.pattern: conversation")
        }
        var scenario = Scenario(name: name, description: try top.string(ScenarioKeys.Top.description) ?? "", server: server,
                                client: client, load: load, capture: capture, conversation: conversation, sourcePath: path)
        scenario.impairment = try top["impair"].map { node throws(ScenarioError) in
            try impairment(node, path: path, transport: server.transport)
        }
        return scenario
    }

    static func serverSpec(_ doc: ScenarioDocument) throws(ScenarioError) -> ServerSpec {
        guard let kind = try doc.choice(ScenarioKeys.Server.kind) else {
            throw doc.missing("kind", "one of \(ServerKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var server = ServerSpec(kind: kind)
        if kind == .external {
            guard let address = try doc.address(ScenarioKeys.Server.address) else {
                throw doc.missing("address", "the external server's HOST:PORT (kind: external)")
            }
            server.address = address
            if doc["bind"] != nil { throw doc.error("bind", at: doc["bind"], "bind is for reference servers; an external server has 'address'") }
            if doc["threads"] != nil { throw doc.error("threads", at: doc["threads"], "threads is for reference servers, not kind: external") }
            let given = try doc.choice(ScenarioKeys.Server.transport)
            if address.isUnix {
                // The spelling says it: unix: is a stream, unixgram: a datagram socket.
                let implied: Socket.Transport = address.isUnixDatagram ? .udp : .tcp
                if let given, let mismatch = UnixSocketRules.transportMismatch(address, transport: given, user: "protocol: \(given.rawValue)") {
                    throw doc.error("protocol", at: doc["protocol"], mismatch)
                }
                server.externalTransport = implied
            } else {
                server.externalTransport = given ?? .tcp
            }
        } else {
            if doc["address"] != nil {
                throw doc.error("address", at: doc["address"], "address is only for kind: external; a reference server listens on 'bind'")
            }
            if doc["protocol"] != nil {
                throw doc.error("protocol", at: doc["protocol"], "protocol is only for kind: external; \(kind.rawValue) implies it")
            }
            server.bind = try doc.address(ScenarioKeys.Server.bind) ?? ServerSpec.defaultBind
            if let mismatch = UnixSocketRules.transportMismatch(server.bind, transport: kind.transport ?? .tcp, user: kind.rawValue) {
                throw doc.error("bind", at: doc["bind"], mismatch)
            }
            server.threads = try doc.integer(ScenarioKeys.Server.threads) ?? 1
            server.maxConnections = try doc.integer(ScenarioKeys.Server.maxConnections) ?? server.maxConnections
            server.maxBufferedBytes = try doc.size(ScenarioKeys.Server.maxBuffered) ?? server.maxBufferedBytes
        }
        if let responseSize = try doc.size(ScenarioKeys.Server.responseSize) {
            guard kind == .tcpRR || kind == .external else {
                throw doc.error("response_size", at: doc["response_size"], "response_size is for kind: tcp-rr (or external)")
            }
            server.responseSize = responseSize
        }
        if let greeting = try doc.string(ScenarioKeys.Server.greeting) {
            guard kind == .tcpEcho else { throw doc.error("greeting", at: doc["greeting"], "greeting is for kind: tcp-echo") }
            guard !greeting.isEmpty, greeting.utf8.count <= ServerConfiguration.maximumGreeting else {
                throw doc.error("greeting", at: doc["greeting"], "expected 1 to 4096 bytes of text")
            }
            server.greeting = Array(greeting.utf8)
        }
        server.options = try doc.socketOptions(transport: server.transport, address: server.target)
        return server
    }

    static func loadSpec(_ doc: ScenarioDocument, server: inout ServerSpec, serverDoc: ScenarioDocument,
                         conversation: [ConversationStep]) throws(ScenarioError) -> LoadSpec {
        var load = LoadSpec()
        load.connections = try doc.integer(Load.connections) ?? load.connections
        load.durationNanoseconds = try doc.duration(Load.duration) ?? load.durationNanoseconds
        load.warmupNanoseconds = try doc.duration(Load.warmup) ?? load.warmupNanoseconds
        load.threads = min(try doc.integer(Load.threads) ?? load.threads, load.connections)
        load.pattern = try doc.choice(Load.pattern)
            ?? (conversation.isEmpty ? nil : .conversation) ?? impliedPattern(server.kind) ?? .requestResponse
        load.rate = try doc.rate(Load.rate)
        if let rate = load.rate, rate.total(connections: load.connections) > Quantity.maximumRate {
            throw doc.error("rate", at: doc["rate"], "\(Quantity.formatRate(rate.perSecond)) per connection over \(plural(load.connections, "connection")) "
                            + "is more than 1G/s in total, the most a schedule keeps")
        }
        load.depth = try doc.integer(Load.depth) ?? (load.rate != nil && server.transport == .udp && load.pattern != .conversation ? LoadSpec.udpOpenLoopDepth : 1)
        load.thinkTimeNanoseconds = try doc.duration(Load.thinkTime) ?? 0
        load.connectRate = try doc.rate(Load.connectRate).map { rate throws(ScenarioError) in
            guard !rate.perConnection else { throw doc.error("connect_rate", at: doc["connect_rate"], "connect_rate is connections per second in total") }
            return rate.perSecond
        }
        load.pingIntervalNanoseconds = try doc.duration(Load.pingInterval)
        load.intervalNanoseconds = try doc.duration(Load.interval) ?? load.intervalNanoseconds
        load.direction = try doc.choice(Load.direction) ?? (server.kind == .tcpSource ? .download : .upload)
        load.batchWrites = try doc.boolean(Load.batchWrites) ?? load.batchWrites
        load.connectTimeoutNanoseconds = try doc.duration(Load.connectTimeout) ?? load.connectTimeoutNanoseconds
        load.requestTimeoutNanoseconds = try doc.duration(Load.requestTimeout) ?? load.requestTimeoutNanoseconds
        load.udpLossTimeoutNanoseconds = try doc.duration(Load.udpLossTimeout) ?? load.udpLossTimeoutNanoseconds
        load.idleTimeoutNanoseconds = try doc.duration(Load.idleTimeout) ?? load.idleTimeoutNanoseconds
        load.reconnect = try doc.boolean(Load.reconnect) ?? load.reconnect
        load.reconnectDelayNanoseconds = try doc.duration(Load.reconnectDelay) ?? load.reconnectDelayNanoseconds
        if let text = try doc.scalar(Load.errorBudget.name, expected: "a count of errors (10) or a percentage of attempts (1%)") {
            guard let budget = ErrorBudget(parsing: text) else {
                throw doc.error("error_budget", at: doc["error_budget"], "expected a count of errors (10) or a percentage from 0% to 100% (0.5%), got '\(text)'")
            }
            load.errorBudget = budget
        }

        load.reuseConnection = try doc.boolean(Load.reuseConnection) ?? load.reuseConnection
        load.maxMessageSize = try doc.size(Load.maxMessageSize) ?? load.maxMessageSize
        try requestPayload(doc, into: &load)

        let udp = server.transport == .udp
        for key in ["reconnect", "reconnect_delay", "idle_timeout", "reuse_connection"] where udp && doc[key] != nil {
            throw doc.error(key, at: doc[key], "\(key) applies to TCP connections; UDP has none to lose")
        }
        if load.payload != nil, doc["message_size"] != nil {
            throw doc.error("message_size", at: doc["message_size"], "the payload sets the request's size; message_size is for sockbench's own filler")
        }
        let sizeRange = udp ? minimumDatagram...maximumDatagram : 1...(16 << 20)
        let defaultSize = load.pattern == .stream && !udp ? 128 << 10 : 64
        load.messageSize = try doc.size(Load.messageSize, in: sizeRange) ?? defaultSize

        try checkPatternFits(doc, load: load, server: server, serverDoc: serverDoc, conversation: conversation)
        if load.pattern == .idle {
            let pinging = load.pingIntervalNanoseconds != nil
            for key in ["depth", "direction", "batch_writes"] + (pinging ? [] : ["message_size", "request_timeout"]) where doc[key] != nil {
                throw doc.error(key, at: doc[key], "\(key) does not apply to pattern: idle\(pinging ? "" : " without ping_interval (nothing is sent)")")
            }
            if server.kind == .tcpSource || server.kind == .tcpSink || server.kind == .tcpRR {
                throw doc.error("pattern", at: doc["pattern"], "idle connections (and their pings) need a quiet echo server: use kind: tcp-echo")
            }
        } else if let expected = impliedPattern(server.kind), load.pattern != expected,
                  !(expected == .requestResponse && (load.pattern == .connect || load.pattern == .conversation)) {
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
            if server.kind == .tcpSource, load.direction == .upload {
                throw doc.error("direction", at: doc["direction"], "tcp-source sends (and discards what it receives): use direction: download or both")
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

    /// Which of rate, think_time, connect_rate, ping_interval, greeting and conversation go with the pattern.
    static func checkPatternFits(_ doc: ScenarioDocument, load: LoadSpec, server: ServerSpec, serverDoc: ScenarioDocument,
                                 conversation: [ConversationStep]) throws(ScenarioError) {
        let tcp = server.transport == .tcp
        switch load.pattern {
        case .idle, .connect:
            if !tcp, server.target.isUnix { throw doc.error("pattern", at: doc["pattern"], UnixSocketRules.patternReason(load.pattern, server.target)) }
            guard tcp else { throw doc.error("pattern", at: doc["pattern"], "pattern: \(load.pattern.rawValue) is for TCP; UDP has no connections") }
        case .requestResponse, .stream, .conversation:
            break
        }
        if load.rate != nil, !(load.pattern == .requestResponse || load.pattern == .conversation || (load.pattern == .stream && !tcp)) {
            throw doc.error("rate", at: doc["rate"], "rate applies to pattern: request-response, conversation and to UDP streams (a paced datagram rate)")
        }
        if load.pattern != .conversation, doc["reuse_connection"] != nil {
            throw doc.error("reuse_connection", at: doc["reuse_connection"], "reuse_connection applies to pattern: conversation (request-response connections are always kept)")
        }
        if load.pattern != .conversation, doc["max_message_size"] != nil, load.answer == nil {
            throw doc.error("max_message_size", at: doc["max_message_size"], "max_message_size bounds what a conversation's regex or delimiter step holds (pattern: conversation, or load.expect_regex / expect_until)")
        }
        if load.payload != nil {
            guard load.pattern == .requestResponse else {
                let key = doc["payload"] != nil ? "payload" : "payload_hex"
                throw doc.error(key, at: doc[key], "\(key) applies to pattern: request-response (a conversation's steps say what is sent)")
            }
            guard server.kind == .tcpEcho || server.kind == .udpEcho || server.kind == .external else {
                let key = doc["payload"] != nil ? "payload" : "payload_hex"
                throw doc.error(key, at: doc[key], "\(server.kind.rawValue) answers sockbench's own filler; a payload of your own needs an echo or an external server")
            }
            if case .close = load.answer { throw doc.error("expect_close", at: doc["expect_close"], "a request-response connection stays open: expect_close belongs in a conversation") }
        }
        if load.thinkTimeNanoseconds > 0 {
            guard load.pattern == .requestResponse, load.rate == nil, load.depth == 1, tcp else {
                throw doc.error("think_time", at: doc["think_time"], "think_time applies to closed-loop TCP request-response with depth 1 (no rate)")
            }
        }
        if load.connectRate != nil, !tcp || load.pattern == .connect || load.pattern == .conversation {
            throw doc.error("connect_rate", at: doc["connect_rate"], "connect_rate ramps up TCP connections that stay open (request-response, stream, idle)")
        }
        if load.pingIntervalNanoseconds != nil, load.pattern != .idle {
            throw doc.error("ping_interval", at: doc["ping_interval"], "ping_interval applies to pattern: idle")
        }
        if load.pattern == .stream, load.direction == .both, !tcp {
            throw doc.error("direction", at: doc["direction"], "UDP streams go one way, client to server: use direction: upload")
        }
        if load.pattern == .conversation {
            guard !conversation.isEmpty else {
                throw doc.error("pattern", at: doc["pattern"], "pattern: conversation needs a top-level 'conversation' list of steps")
            }
            guard server.kind == .tcpEcho || server.kind == .udpEcho || server.kind == .external else {
                throw doc.error("pattern", at: doc["pattern"], "a conversation needs a server that answers it: kind: tcp-echo, udp-echo or external")
            }
            for key in ["direction", "batch_writes", "message_size"] where doc[key] != nil {
                throw doc.error(key, at: doc[key], "\(key) does not apply to pattern: conversation (the steps say what is sent)")
            }
            try checkConversationFits(doc, load: load, tcp: tcp, conversation: conversation)
        } else if !server.greeting.isEmpty {
            throw serverDoc.error("greeting", at: serverDoc["greeting"], "a greeting would break \(load.pattern.rawValue)'s answers; use it with pattern: conversation")
        }
        if load.pattern == .connect {
            for key in ["depth", "direction"] where doc[key] != nil {
                throw doc.error(key, at: doc[key], "\(key) does not apply to pattern: connect (one request per connection)")
            }
        }
    }

    static func captureSpec(_ doc: ScenarioDocument) throws(ScenarioError) -> CaptureSpec {
        try doc.checkKeys(allowed: captureKeys)
        var capture = CaptureSpec()
        capture.enabled = try doc.boolean(Capture.enabled) ?? capture.enabled
        capture.required = try doc.boolean(Capture.required) ?? capture.required
        capture.payload = try doc.boolean(Capture.payload) ?? capture.payload
        capture.snaplen = try doc.size(Capture.snaplen)
        capture.bufferSize = try doc.size(Capture.bufferSize) ?? capture.bufferSize
        capture.maxFileSize = try doc.size(Capture.maxFileSize) ?? capture.maxFileSize
        if let interface = try doc.string(Capture.interface) {
            let valid = !interface.isEmpty && interface.count < 16 && interface.allSatisfy { $0.isLetter || $0.isNumber || "-_.:@".contains($0) }
            guard valid else { throw doc.error("interface", at: doc["interface"], "expected a network interface name such as lo, eth0 or any") }
            capture.interface = interface
        }
        if capture.required, !capture.enabled {
            throw doc.error("required", at: doc["required"], "required: true needs enabled: true")
        }
        if let mode = try doc.choice(Capture.mode) {
            capture.mode = mode
            capture.modeIsDefault = false
        }
        // A window shorter than a few ring-block timeouts would be mostly opening and closing.
        capture.windowLength = try doc.duration(Capture.window) ?? capture.windowLength
        capture.windowEvery = try doc.duration(Capture.every) ?? capture.windowEvery
        if capture.windowEvery > 3_600_000_000_000 {
            throw doc.error("every", at: doc["every"], "must be at most 1h, got '\(Quantity.formatDuration(capture.windowEvery))'")
        }
        if capture.windowLength >= capture.windowEvery {
            let key = doc["window"] != nil ? "window" : "every"
            throw doc.error(key, at: doc[key], "capture.window (\(Quantity.formatDuration(capture.windowLength))) must be shorter than capture.every (\(Quantity.formatDuration(capture.windowEvery))); for every packet use mode: full")
        }
        if capture.mode == .full, doc["window"] != nil || doc["every"] != nil {
            let key = doc["window"] != nil ? "window" : "every"
            throw doc.error(key, at: doc[key], "\(key) applies to mode: windows, not mode: full")
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
