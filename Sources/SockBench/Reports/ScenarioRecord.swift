/// The scenario as it was run, defaults filled in, in report form (durations in seconds).
public struct ScenarioRecord: Codable, Sendable {
    public var name: String
    public var description: String
    /// The scenario file, or `command line` for a run with no file (`sockbench run tcp://HOST:PORT`).
    public var source: String
    /// The command that reruns this scenario, with every command-line value (`--set`, `--connections`, …);
    /// absent in reports written before it existed.
    public var command: String?
    public var server: Server
    public var client: Client
    public var load: Load
    /// Absent in reports written before capture existed.
    public var capture: Capture?

    public struct Server: Codable, Sendable {
        public var kind: String
        public var bind: String?
        public var address: String?
        public var `protocol`: String
        public var threads: Int?
        public var responseSizeBytes: Int?
        public var greeting: String?
        public var options: SocketOptionSet
    }

    public struct Client: Codable, Sendable {
        public var options: SocketOptionSet
    }

    public struct Load: Codable, Sendable {
        public var connections: Int
        public var durationS: Double
        public var warmupS: Double
        public var threads: Int
        public var pattern: String
        public var messageSizeBytes: Int
        public var depth: Int
        public var direction: String?
        public var connectTimeoutS: Double
        public var requestTimeoutS: Double
        public var udpLossTimeoutS: Double
        /// Open loop: the requested rate as the scenario wrote it, and the run's total per second.
        public var rate: String?
        public var ratePerSecond: Double?
        public var thinkTimeS: Double?
        public var connectRatePerSecond: Double?
        public var pingIntervalS: Double?
        public var intervalS: Double?
        /// pattern: conversation, each step in words.
        public var conversation: [String]?
    }

    public struct Capture: Codable, Sendable {
        public var enabled: Bool
        public var required: Bool
        public var interface: String?
        public var snaplen: Int
        /// `snaplen` again, named with its unit (v1 keeps both).
        public var snaplenBytes: Int?
        public var payload: Bool
        public var bufferSizeBytes: Int
        public var maxFileSizeBytes: Int
    }

    public init(_ scenario: Scenario) {
        let server = scenario.server
        let load = scenario.load
        let external = server.kind == .external
        name = scenario.name
        description = scenario.description
        source = scenario.sourcePath
        command = scenario.command
        self.server = Server(kind: server.kind.rawValue, bind: external ? nil : server.bind.description,
                             address: server.address?.description, protocol: server.transport.rawValue,
                             threads: external ? nil : server.threads, responseSizeBytes: server.responseSize,
                             greeting: server.greeting.isEmpty ? nil : String(decoding: server.greeting, as: UTF8.self),
                             options: server.options)
        client = Client(options: scenario.client.options)
        self.load = Load(connections: load.connections, durationS: seconds(load.durationNanoseconds),
                         warmupS: seconds(load.warmupNanoseconds), threads: load.threads, pattern: load.pattern.rawValue,
                         messageSizeBytes: load.messageSize, depth: load.depth,
                         direction: load.pattern == .stream ? load.direction.rawValue : nil,
                         connectTimeoutS: seconds(load.connectTimeoutNanoseconds),
                         requestTimeoutS: seconds(load.requestTimeoutNanoseconds),
                         udpLossTimeoutS: seconds(load.udpLossTimeoutNanoseconds),
                         rate: load.rate.map { Quantity.formatRate($0.perSecond) + ($0.perConnection ? " per connection" : "") },
                         ratePerSecond: load.rate?.total(connections: load.connections),
                         thinkTimeS: load.thinkTimeNanoseconds > 0 ? seconds(load.thinkTimeNanoseconds) : nil,
                         connectRatePerSecond: load.connectRate, pingIntervalS: load.pingIntervalNanoseconds.map(seconds),
                         intervalS: seconds(load.intervalNanoseconds),
                         conversation: scenario.conversation.isEmpty ? nil : scenario.conversation.map(ConversationProgram.describe(step:)))
        let spec = scenario.capture
        capture = Capture(enabled: spec.enabled, required: spec.required, interface: spec.interface, snaplen: spec.effectiveSnaplen, snaplenBytes: spec.effectiveSnaplen,
                          payload: spec.payload, bufferSizeBytes: spec.bufferSize, maxFileSizeBytes: spec.maxFileSize)
    }
}

func seconds(_ nanoseconds: UInt64) -> Double { Double(nanoseconds) / 1e9 }
