/// A conversation compiled for one worker thread: its steps with regexes compiled (PCRE2's match
/// data is per thread), which steps are timed, and how to render a send template into a buffer
/// without allocating.
struct ConversationProgram {
    struct Step {
        var send: SendTemplate?
        var expect: CompiledExpectation?
        var wait: UInt64?
        var close: Bool
        /// Index into the worker's `steps` results, for a named step.
        var result: Int?
    }

    /// A step as plain values, for the engine's hot path.
    struct Shape {
        var sends = false
        /// The send is request-response's filler message of this many bytes (0: a template).
        var filler = 0
        var expects = false
        /// The expectation is request-response's answer of this many bytes (0: another form).
        var echo = 0
        var verify = false
        var wait: UInt64?
        var close = false
        var result = -1
    }

    let steps: [Step]
    let shapes: [Shape]
    /// The scenario's steps, for messages.
    let source: [ConversationStep]
    /// The first step with a send: in open loop it is timed from the iteration's scheduled start.
    let firstSend: Int?
    /// The longest rendering of all of one iteration's sends.
    let iterationBytes: Int
    let names: [String]

    init(_ source: [ConversationStep]) throws(BoundedRegexError) {
        var steps: [Step] = []
        var names: [String] = []
        for step in source {
            var result: Int?
            if let name = step.name {
                result = names.count
                names.append(name)
            }
            steps.append(Step(send: step.send, expect: try step.expect.map { expectation throws(BoundedRegexError) in try CompiledExpectation(expectation) },
                              wait: step.wait, close: step.close, result: result))
        }
        self.steps = steps
        shapes = steps.map { step in
            var shape = Shape(sends: step.send != nil, expects: step.expect != nil, wait: step.wait, close: step.close, result: step.result ?? -1)
            if let pieces = step.send?.pieces, pieces.count == 1, case .payload(let size) = pieces[0] { shape.filler = size }
            if case .echo(let size, let verify)? = step.expect {
                shape.echo = size
                shape.verify = verify
            }
            return shape
        }
        self.source = source
        self.names = names
        firstSend = steps.firstIndex { $0.send != nil }
        iterationBytes = source.reduce(0) { $0 + ($1.send?.maximumLength ?? 0) }
    }

    /// The step in words, for error messages: `step 2 (get: send "GET / …" and expect_regex /…/)`.
    func describe(_ index: Int) -> String {
        let step = source[index]
        return "step \(index + 1) (\(step.name.map { "\($0): " } ?? "")\(Self.parts(of: step, sendLimit: 32).joined(separator: " and ")))"
    }

    /// What a step does, one part per key: `send "…"`, `expect_until "\r\n"`, `wait 10ms`, `close`.
    private static func parts(of step: ConversationStep, sendLimit: Int) -> [String] {
        var parts: [String] = []
        if let send = step.send { parts.append("send \(ByteText.quote(Array(send.text.utf8), limit: sendLimit))") }
        if let expect = step.expect { parts.append(describe(expect)) }
        if let wait = step.wait { parts.append("wait \(Quantity.formatDuration(wait))") }
        if step.close { parts.append("close") }
        return parts
    }

    static func describe(_ expectation: Expectation) -> String {
        switch expectation {
        case .exact(let bytes): "expect \(ByteText.quote(bytes, limit: 32))"
        case .bytes(let count): "expect_bytes \(count)"
        case .regex(let pattern): "expect_regex /\(pattern)/"
        case .until(let delimiter): "expect_until \(ByteText.quote(delimiter))"
        case .close: "expect_close"
        case .echo(let size, _): "expect the \(size)-byte answer"
        }
    }

    /// One step as the report's scenario record writes it.
    static func describe(step: ConversationStep) -> String {
        ((step.name.map { ["name \($0)"] } ?? []) + parts(of: step, sendLimit: 48)).joined(separator: ", ")
    }
}

/// Writes send templates into a buffer: literal bytes, decimal numbers, seeded random letters.
enum TemplateRenderer {
    static let alphabet: [UInt8] = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)

    /// Renders at `into` (room for `template.maximumLength` bytes); returns the bytes written.
    @inline(__always)
    static func render(_ template: SendTemplate, into buffer: UnsafeMutableRawPointer, connection: Int, sequence: UInt64,
                       random: inout SplitMix64) -> Int {
        var length = 0
        for piece in template.pieces {
            switch piece {
            case .bytes(let bytes):
                bytes.withUnsafeBytes { (buffer + length).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                length += bytes.count
            case .connection:
                length += decimal(UInt64(connection), into: buffer + length)
            case .sequence:
                length += decimal(sequence, into: buffer + length)
            case .random(let count):
                let out = (buffer + length).assumingMemoryBound(to: UInt8.self)
                alphabet.withUnsafeBufferPointer { letters in
                    var bits: UInt64 = 0
                    var left = 0
                    for offset in 0..<count {
                        if left == 0 {
                            bits = random.next()
                            left = 10
                        }
                        // 6 bits per letter, folded onto 62 letters (the bias is irrelevant to a key).
                        out[offset] = letters[Int(bits & 63) % letters.count]
                        bits >>= 6
                        left -= 1
                    }
                }
                length += count
            case .payload(let size):
                // The engine prefills its send buffer for a program of only this piece and writes
                // the sequence number alone (`ConnectionEngine.fillerPrefilled`); this is the rest.
                Payload.fill(buffer + length, size: size)
                Payload.writeSequence(sequence, into: buffer + length, size: size)
                length += size
            }
        }
        return length
    }

    /// `value` in decimal at `buffer`; the digits written.
    @inline(__always)
    static func decimal(_ value: UInt64, into buffer: UnsafeMutableRawPointer) -> Int {
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        let out = buffer.assumingMemoryBound(to: UInt8.self)
        var remaining = value
        for position in stride(from: digits - 1, through: 0, by: -1) {
            out[position] = UInt8(ascii: "0") + UInt8(remaining % 10)
            remaining /= 10
        }
        return digits
    }
}
