import Yams

/// The `conversation:` steps and the request-response keys that take the same forms
/// (`payload`, `payload_hex`, `expect…`).
extension ScenarioLoader {
    /// The keys that say what a step (or a request-response answer) must read; at most one per step.
    static let expectKeys = ScenarioKeys.names(ScenarioKeys.Expect.all)
    static let stepKeys = ScenarioKeys.names(ScenarioKeys.Step.all)
    /// The longest text a send or expect may hold.
    static let maximumStepText = 65_536

    /// `conversation:` is a list of steps: `- send: "hi\\n"`, `- expect_bytes: 512`, the word `close`,
    /// or a request with its answer, `- {name: get, send: "GET …", expect_regex: '…'}`.
    static func conversationSteps(_ node: Node, path: String) throws(ScenarioError) -> [ConversationStep] {
        guard case .sequence(let sequence) = node else {
            throw ScenarioError(file: path, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1, key: "conversation",
                                message: "expected a list of steps (\(stepKeys.joined(separator: ", "))), got \(ScenarioDocument.describe(node))")
        }
        var steps: [ConversationStep] = []
        var names: Set<String> = []
        for (index, item) in sequence.enumerated() {
            let stepPath = "conversation[\(index)]"
            if item.scalar?.string == "close" { steps.append(.closeStep); continue }
            let doc = try ScenarioDocument(file: path, path: stepPath, node: item)
            try doc.checkKeys(allowed: ScenarioKeys.Step.all)
            var step = ConversationStep()
            if let name = try doc.string(ScenarioKeys.Step.name) {
                guard !name.isEmpty, name.count <= 64, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) else {
                    throw doc.error("name", at: doc["name"], "expected 1 to 64 letters, digits, '_' or '-' (it names threshold fields: steps.NAME.p99)")
                }
                guard names.insert(name).inserted else { throw doc.error("name", at: doc["name"], "another step is already named '\(name)'") }
                step.name = name
            }
            if doc["send"] != nil { step.send = try template(doc, ScenarioKeys.Step.send) }
            step.expect = try expectation(doc)
            if doc["wait"] != nil { step.wait = try doc.duration(ScenarioKeys.Step.wait)! }
            if let close = try doc.boolean(ScenarioKeys.Step.close) {
                guard close else { throw doc.error("close", at: doc["close"], "write '- close' or 'close: true'") }
                step.close = true
            }
            if step.wait != nil || step.close {
                let own = step.wait != nil ? "wait" : "close"
                if let other = doc.entries.map(\.key).first(where: { $0 != own }) {
                    throw doc.error(other, at: doc[other], "a \(own) step stands alone; put \(other) in a step of its own")
                }
            }
            guard step.send != nil || step.expect != nil || step.wait != nil || step.close else {
                throw ScenarioError(file: path, line: item.mark?.line ?? 1, column: item.mark?.column ?? 1, key: stepPath,
                                    message: "a step needs send, an expect (\(expectKeys.joined(separator: ", "))), wait or close")
            }
            if step.name != nil, step.expect == nil {
                throw doc.error("name", at: doc["name"], "a named step is timed to its last expected byte: give it one of \(expectKeys.joined(separator: ", "))")
            }
            steps.append(step)
        }
        guard steps.contains(where: { $0.send != nil || $0.expect != nil }) else {
            throw ScenarioError(file: path, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1, key: "conversation",
                                message: "a conversation needs at least one send or expect step")
        }
        return steps
    }

    /// What a conversation's steps allow with reuse_connection, depth and rate, over TCP and UDP.
    static func checkConversationFits(_ doc: ScenarioDocument, load: LoadSpec, tcp: Bool, conversation: [ConversationStep]) throws(ScenarioError) {
        let closes = conversation.contains { $0.close || $0.expect == .close }
        if let end = conversation.firstIndex(where: { $0.close || $0.expect == .close }), end < conversation.count - 1 {
            throw doc.error("pattern", at: doc["pattern"], "conversation step \(end + 1) closes the connection (close or expect_close): no step can follow it, but \(conversation.count - 1 - end) do")
        }
        // An iteration that reads nothing back would repeat without waiting for the server.
        let reads = conversation.contains { step in
            switch step.expect {
            case .exact?, .bytes?, .until?, .regex?, .echo?: true
            case .close?, nil: false
            }
        }
        if !reads, load.reuseConnection || !tcp {
            throw doc.error(tcp ? "reuse_connection" : "pattern", at: doc[tcp ? "reuse_connection" : "pattern"],
                            "a conversation that repeats on its connection must read something back (expect, expect_bytes, expect_until or expect_regex); a send-only iteration would repeat without waiting for the server")
        }
        let pauses = conversation.contains { $0.wait != nil }
        if !tcp {
            if closes { throw doc.error("pattern", at: doc["pattern"], "a UDP conversation has no connection to close: drop close and expect_close steps") }
            if load.depth > 1 { throw doc.error("depth", at: doc["depth"], "a UDP conversation plays one iteration at a time (datagrams carry no order to match pipelined answers by)") }
            return
        }
        if !load.reuseConnection {
            for key in ["depth", "rate"] where doc[key] != nil {
                throw doc.error(key, at: doc[key], "\(key) needs load.reuse_connection: true (iterations on a kept-alive connection); without it each conversation opens its own connection")
            }
        } else if closes {
            throw doc.error("reuse_connection", at: doc["reuse_connection"], "a conversation that closes its connection (close, expect_close) cannot reuse it: drop reuse_connection")
        }
        // Each connection keeps the step times of its iterations in flight, and two more per
        // iteration (its actual and its scheduled start).
        let times = load.connections * load.depth * (conversation.count + 2)
        if times > 1 << 24 {
            throw doc.error("depth", at: doc["depth"] ?? doc["connections"], "\(load.connections) connections × depth \(load.depth) × (\(conversation.count) steps + 2 start times) keep \(times) times in flight; at most \(1 << 24): lower depth or connections")
        }
        if load.depth > 1, pauses {
            throw doc.error("depth", at: doc["depth"], "a pipelined conversation (depth > 1) sends ahead of its answers, so it cannot hold wait steps")
        }
    }

    /// A send's text with its placeholders (`${conn}`, `${seq}`, `${random:N}`).
    static func template(_ doc: ScenarioDocument, _ key: TextKey) throws(ScenarioError) -> SendTemplate {
        guard let text = try doc.string(key), !text.isEmpty, text.utf8.count <= maximumStepText else {
            throw doc.error(key.name, at: doc[key.name], "expected 1 to \(maximumStepText) bytes of text")
        }
        return try template(Array(text.utf8), doc, key.name)
    }

    /// The most bytes one send may render to (placeholders expanded): what a connection may
    /// have to hold unsent.
    static let maximumRendered = 1 << 20

    static func template(_ bytes: [UInt8], _ doc: ScenarioDocument, _ key: String) throws(ScenarioError) -> SendTemplate {
        switch SendTemplate.parse(bytes) {
        case .success(let template):
            guard template.maximumLength <= maximumRendered else {
                throw doc.error(key, at: doc[key], "renders to up to \(template.maximumLength) bytes with its placeholders; at most \(maximumRendered) (1 MiB) per send")
            }
            return template
        case .failure(let error): throw doc.error(key, at: doc[key], error.description)
        }
    }

    /// The one expect key of a step or of `load`, or nil when there is none.
    static func expectation(_ doc: ScenarioDocument) throws(ScenarioError) -> Expectation? {
        let present = expectKeys.filter { doc[$0] != nil }
        guard let key = present.first else { return nil }
        if present.count > 1 {
            throw doc.error(present[1], at: doc[present[1]], "one expect per step: \(present.joined(separator: " and ")) are both here; split them into two steps")
        }
        switch key {
        case ScenarioKeys.Expect.exact.name:
            guard let text = try doc.string(ScenarioKeys.Expect.exact), !text.isEmpty, text.utf8.count <= maximumStepText else {
                throw doc.error(key, at: doc[key], "expected 1 to \(maximumStepText) bytes of text")
            }
            return .exact(Array(text.utf8))
        case ScenarioKeys.Expect.bytes.name:
            return .bytes(try doc.size(ScenarioKeys.Expect.bytes)!)
        case ScenarioKeys.Expect.until.name:
            guard let text = try doc.string(ScenarioKeys.Expect.until), !text.isEmpty, text.utf8.count <= 256 else {
                throw doc.error(key, at: doc[key], "expected a delimiter of 1 to 256 bytes, such as \"\\r\\n\"")
            }
            return .until(Array(text.utf8))
        case ScenarioKeys.Expect.close.name:
            guard try doc.boolean(ScenarioKeys.Expect.close) == true else { throw doc.error(key, at: doc[key], "write 'expect_close: true' (the server must close next)") }
            return .close
        default:
            let text = try doc.string(ScenarioKeys.Expect.regex)!
            guard !text.isEmpty, text.utf8.count <= 4096 else { throw doc.error(key, at: doc[key], "expected a PCRE2 pattern of 1 to 4096 bytes") }
            let compiled: BoundedRegex
            do {
                compiled = try BoundedRegex(text)
            } catch {
                throw doc.error(key, at: doc[key], "not a valid regular expression (PCRE2 syntax): \(error)")
            }
            guard compiled.minimumLength > 0 else {
                throw doc.error(key, at: doc[key], "/\(text)/ can match without reading a byte (an empty match): an answer must consume at least one byte")
            }
            return .regex(text)
        }
    }

    /// `load.payload` / `load.payload_hex` and the answer's `load.expect…`, for request-response.
    static func requestPayload(_ doc: ScenarioDocument, into load: inout LoadSpec) throws(ScenarioError) {
        if doc["payload"] != nil, doc["payload_hex"] != nil {
            throw doc.error("payload_hex", at: doc["payload_hex"], "give payload (text) or payload_hex, not both")
        }
        if doc["payload"] != nil {
            load.payload = try template(doc, ScenarioKeys.Load.payload)
        } else if let hex = try doc.string(ScenarioKeys.Load.payloadHex) {
            let digits = hex.filter { !$0.isWhitespace }
            guard !digits.isEmpty, digits.count % 2 == 0, digits.count <= 2 * maximumStepText,
                  let bytes = Self.hexBytes(digits) else {
                throw doc.error("payload_hex", at: doc["payload_hex"], "expected an even number of hex digits (spaces allowed), 1 to \(maximumStepText) bytes, such as '2a 31 0d 0a'")
            }
            load.payload = SendTemplate(literal: bytes)
        }
        load.answer = try expectation(doc)
        if let payload = load.payload, payload.literal == nil, load.answer == nil {
            throw doc.error("payload", at: doc["payload"], "a payload with placeholders is not echoed the same each time: say what answers it with one of \(expectKeys.joined(separator: ", "))")
        }
        if load.answer != nil, load.payload == nil {
            let key = expectKeys.first { doc[$0] != nil }!
            throw doc.error(key, at: doc[key], "\(key) says what answers a payload of your own: give load.payload or load.payload_hex too")
        }
    }

    static func hexBytes(_ digits: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        var high: UInt8?
        for character in digits {
            guard let value = character.hexDigitValue else { return nil }
            if let first = high {
                bytes.append(first << 4 | UInt8(value))
                high = nil
            } else {
                high = UInt8(value)
            }
        }
        return bytes
    }
}
