/// Every key a scenario may hold, section by section, in the order `--help`, errors and the schema
/// list them. The loader checks keys against these lists and reads each value through its entry;
/// `ScenarioSchema` writes the JSON Schema from them.
enum ScenarioKeys {
    static let ms: UInt64 = 1_000_000

    enum Top {
        static let name = TextKey("name", minLength: 1, visible: true, "A short name for the scenario: report titles, JUnit suites and baselines use it.")
        static let description = TextKey("description", "What the scenario measures, in a sentence.")
        static let repetitions = IntegerKey("repeat", 1...100, "Runs per variant, interleaved across variants (A B A B …); comparisons and thresholds use the median.")
        static let all: [any ScenarioKey] = [
            name, description,
            ShapedKey("server", "The server under test: a reference server sockbench starts, or kind: external.", schema: ["$ref": "#/$defs/server"]),
            ShapedKey("client", "Socket options set on every client socket, by their kernel names.", schema: ["$ref": "#/$defs/client"]),
            ShapedKey("load", "How the clients drive the server.", schema: ["$ref": "#/$defs/load"]),
            ShapedKey("capture", "Packet capture with libpcap while the load runs.", schema: ["$ref": "#/$defs/capture"]),
            ShapedKey("conversation", "pattern: conversation: the steps each connection plays, in order.", schema: ["$ref": "#/$defs/conversation"]),
            ShapedKey("matrix", "Section.key: [values]; one variant per combination, the first key compared.", schema: ["$ref": "#/$defs/matrix"]),
            repetitions,
            ShapedKey("thresholds", "Pass/fail expressions such as 'latency.p99 < 2ms', checked on each variant's median.",
                      schema: ["type": "array", "items": ["type": "string", "pattern": #"^\s*\S+\s*(<=|>=|==|!=|<|>)\s*\S"#]]),
            ShapedKey("impair", "What the impairment proxy between clients and server does to the traffic.", schema: ["$ref": "#/$defs/impair"]),
        ]
    }

    enum Server {
        static let kind = ChoiceKey("kind", ServerKind.self, "tcp-echo, tcp-sink, tcp-source, tcp-rr, udp-echo and udp-sink are reference servers sockbench starts; external is yours.")
        static let bind = AddressKey("bind", "Where a reference server listens (default 127.0.0.1:0, a free port).")
        static let address = AddressKey("address", "kind: external: the server's HOST:PORT, unix:/path or unixgram:/path.")
        static let transport = ChoiceKey("protocol", Socket.Transport.self, "kind: external over IP: tcp (default) or udp.")
        static let threads = IntegerKey("threads", ServerConfiguration.threadsRange, "Reference server threads (count).")
        static let responseSize = SizeKey("response_size", ServerConfiguration.messageSizeRange, "tcp-rr (or external): bytes in each answer (default: message_size).")
        static let greeting = TextKey("greeting", minLength: 1, maxLength: ServerConfiguration.maximumGreeting, "tcp-echo: text the server sends first on each connection (bytes, up to 4096).")
        static let maxConnections = IntegerKey("max_connections", ServerConfiguration.maxConnectionsRange, "Reference server: connections it holds at once (count).")
        static let maxBuffered = SizeKey("max_buffered", ServerConfiguration.maxBufferedRange, "Reference server: bytes it buffers for slow readers before it closes them.")
        static let all: [any ScenarioKey] = [kind, bind, address, transport, threads, responseSize, greeting, maxConnections, maxBuffered]
    }

    enum Load {
        static let connections = IntegerKey("connections", 1...100_000, "Client connections (UDP: sockets), opened at the start (count).")
        static let duration = DurationKey("duration", minimum: ms, "The measured window (default 10s).")
        static let warmup = DurationKey("warmup", "Load before the measured window, excluded from every figure (default 1s).")
        static let threads = IntegerKey("threads", 1...64, "Client threads the connections are shared over (count; at most connections).")
        static let pattern = ChoiceKey("pattern", LoadSpec.Pattern.self, "How each connection drives the server (default: what the server kind implies).")
        static let messageSize = SizeKey("message_size", 1...(16 << 20), "Bytes per request or write (UDP: 16 to 65507 per datagram).")
        static let depth = IntegerKey("depth", 1...1024, "Requests in flight per connection (count).")
        static let direction = ChoiceKey("direction", LoadSpec.Direction.self, "pattern: stream: which way the bytes go.")
        static let batchWrites = BooleanKey("batch_writes", "TCP request-response at depth > 1: write the pipelined requests together.")
        static let connectTimeout = DurationKey("connect_timeout", minimum: ms, "How long a connect may take before it counts as a timeout (default 3s).")
        static let requestTimeout = DurationKey("request_timeout", minimum: ms, "How long an answer may take before it counts as a timeout (default 5s).")
        static let udpLossTimeout = DurationKey("udp_loss_timeout", minimum: ms, "UDP: how long a datagram's answer may take before it counts as lost (default 200ms).")
        static let idleTimeout = DurationKey("idle_timeout", minimum: ms, "TCP: a connection with nothing to read for this long counts as stalled (default 10s).")
        static let reconnect = BooleanKey("reconnect", "TCP: open a connection again after an error or a close (default true).")
        static let reconnectDelay = DurationKey("reconnect_delay", minimum: ms, "TCP: the pause before reconnecting (default 100ms).")
        static let errorBudget = ShapedKey("error_budget", "Errors a run may see and still pass: a count (10) or a percentage of attempts (1%).",
                                           schema: ["anyOf": [["type": "integer", "minimum": 0], ["type": "string", "pattern": .string(#"^\s*\+?\d+\s*$|^\s*("# + Quantity.numberPattern + #")\s*%\s*$"#)]]])
        static let rate = RateKey("rate", "Open loop: requests per second in total, or per connection (500/s per connection).")
        static let thinkTime = DurationKey("think_time", "Closed loop: the pause between an answer and the next request.")
        static let connectRate = RateKey("connect_rate", "TCP: connections opened per second in total while ramping up.")
        static let pingInterval = DurationKey("ping_interval", minimum: ms, "pattern: idle: each connection sends one message this often.")
        static let interval = DurationKey("interval", minimum: 100 * ms, "The length of each interval in the report's over-time figures (default 1s).")
        static let reuseConnection = BooleanKey("reuse_connection", "pattern: conversation: play the conversation again on the same connection.")
        static let maxMessageSize = SizeKey("max_message_size", 256...(16 << 20), "Bytes a regex or delimiter expectation may read before it fails (default 64KiB).")
        static let payload = TextKey("payload", minLength: 1, maxLength: ScenarioLoader.maximumStepText, "Request-response: the request's text, with {seq} and {conn} placeholders (bytes, up to 64KiB).")
        static let payloadHex = ShapedKey("payload_hex", "Request-response: the request as hex digits (spaces allowed).",
                                          schema: (["type": "string", "pattern": #"^\s*([0-9A-Fa-f]\s*[0-9A-Fa-f]\s*)+$"#] as JSONValue).orScalar)
        static let all: [any ScenarioKey] = [
            connections, duration, warmup, threads, pattern, messageSize, depth, direction, batchWrites, connectTimeout,
            requestTimeout, udpLossTimeout, idleTimeout, reconnect, reconnectDelay, errorBudget, rate, thinkTime, connectRate,
            pingInterval, interval, reuseConnection, maxMessageSize, payload, payloadHex,
        ] + Expect.all
    }

    /// What a step (or a request-response answer) must read; at most one per step.
    enum Expect {
        static let exact = TextKey("expect", minLength: 1, maxLength: ScenarioLoader.maximumStepText, "The exact text the answer must be, with placeholders.")
        static let bytes = SizeKey("expect_bytes", 1...(16 << 20), "The answer is this many bytes, whatever they hold.")
        static let until = TextKey("expect_until", minLength: 1, maxLength: 256, "Read until this delimiter (bytes, up to 256), such as \"\\r\\n\".")
        static let regex = TextKey("expect_regex", minLength: 1, maxLength: 4096, "Read until this PCRE2 pattern matches (up to 4096 bytes; max_message_size bounds the read).")
        static let close = BooleanKey("expect_close", trueOnly: true, "The server must close the connection next (true).")
        static let all: [any ScenarioKey] = [exact, bytes, regex, until, close]
    }

    enum Step {
        static let name = ShapedKey("name", "Names the step, timed to its last expected byte: thresholds read steps.NAME.p99.",
                                    schema: (["type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"] as JSONValue).orScalar)
        static let send = TextKey("send", minLength: 1, maxLength: ScenarioLoader.maximumStepText, "Text to send, with {seq}, {conn} and {random:N} placeholders (bytes, up to 64KiB).")
        static let wait = DurationKey("wait", "A pause before the next step.")
        static let close = BooleanKey("close", trueOnly: true, "Close the connection (true); the word `- close` does the same.")
        static let all: [any ScenarioKey] = [name, send, wait, close] + Expect.all
    }

    enum Capture {
        static let enabled = BooleanKey("enabled", "Capture the run's packets (default true; needs CAP_NET_RAW, else the run says why there is none).")
        static let required = BooleanKey("required", "Fail the run when it cannot capture (default false).")
        static let interface = ShapedKey("interface", "The interface to capture on (default: lo for loopback targets).",
                                         schema: (["type": "string", "pattern": #"^[A-Za-z0-9_.:@-]{1,15}$"#] as JSONValue).orScalar)
        static let snaplen = SizeKey("snaplen", 64...262_144, "Bytes kept of each packet (default: headers only, or 262144 with payload: true).")
        static let payload = BooleanKey("payload", "Keep whole packets, payload included (default false: headers only).")
        static let bufferSize = SizeKey("buffer_size", CaptureSpec.minimumBuffer...(1 << 30), "The kernel's capture ring, in bytes.")
        static let maxFileSize = SizeKey("max_file_size", (1 << 20)...(1 << 40), "The largest capture file, in bytes; capture stops there and says so.")
        static let mode = ChoiceKey("mode", CaptureSpec.Mode.self, "windows: the warm-up and short windows of the measured window; full: every packet.")
        static let window = DurationKey("window", minimum: 50 * ms, "mode: windows: the length of each capture window.")
        static let every = DurationKey("every", minimum: 100 * ms, "mode: windows: how often a window opens (at most 1h).")
        static let all: [any ScenarioKey] = [enabled, required, interface, snaplen, payload, bufferSize, maxFileSize, mode, window, every]
    }

    /// `impair:` keys, read by `ImpairmentSpec(settings:)` (the proxy's flags take the same words).
    enum Impair {
        static let percentOrEvery: JSONValue = ["type": "string", "pattern": .string(#"^\s*(("# + Quantity.numberPattern + #")\s*%|(every |1/)\s*\+?0*[1-9]\d*)\s*$"#)]
        static let all: [any ScenarioKey] = [
            DurationKey("delay", "One-way delay added in each impaired direction (at most 1h)."),
            DurationKey("jitter", "Uniform ± around the delay (at most the delay)."),
            ShapedKey("rate", "A bit-rate cap in each impaired direction: 100mbit, 1gbit, 500kbit (tc's units, /s optional).",
                      schema: ["type": "string", "pattern": .string(#"^\s*("# + Quantity.numberPattern + #")\s*[kKmMgG]?("# + anyCase("bit") + "|" + anyCase("bps") + #")(/[sS])?\s*$"#)]),
            ShapedKey("loss", "UDP: datagrams dropped, at random (1%) or every Nth (every 10).", schema: percentOrEvery),
            ShapedKey("duplicate", "UDP: datagrams sent twice, at random (1%) or every Nth (every 10).", schema: percentOrEvery),
            ShapedKey("reorder", "UDP: datagrams held back behind the next, at random (1%) or every Nth (every 10).", schema: percentOrEvery),
            SizeKey("slice", 1...(1 << 20), "TCP: forward in writes of at most this many bytes."),
            SizeKey("reset_after", 1...999_999_999_999_999, "TCP: reset each connection once this many bytes went through it."),
            SizeKey("stall_after", 1...999_999_999_999_999, "TCP: stop forwarding on each connection once this many bytes went through it."),
            DurationKey("stall_for", "TCP: how long a stalled connection stays stalled (default 1s; needs stall_after)."),
            ChoiceKey("direction", ImpairmentSpec.Direction.self, "Which way the impairments act (default both)."),
            ShapedKey("seed", "The seed of every random choice, so a run injects the same faults every time (default 1).",
                      schema: ["anyOf": [["type": "integer", "minimum": 0, "exclusiveMaximum": .number(0x1p64)], ["type": "string", "pattern": #"^\d+$"#]]]),
        ]
    }

    static func names(_ keys: [any ScenarioKey]) -> [String] { keys.map(\.name) }
}
