/// One step of a scripted conversation: a send, an expectation, or both (a request and its
/// answer, which a `name` times as one request); or a pause; or the client's close.
public struct ConversationStep: Sendable, Equatable {
    /// A named step gets its own latency histogram (`runs[].steps[]`, `steps.NAME.p99`).
    public var name: String?
    public var send: SendTemplate?
    public var expect: Expectation?
    /// A pause of this long (a step of its own).
    public var wait: UInt64?
    /// The client closes here and the conversation ends (a step of its own).
    public var close = false

    public init(name: String? = nil, send: SendTemplate? = nil, expect: Expectation? = nil, wait: UInt64? = nil, close: Bool = false) {
        self.name = name
        self.send = send
        self.expect = expect
        self.wait = wait
        self.close = close
    }

    public static func send(_ bytes: [UInt8]) -> ConversationStep { ConversationStep(send: SendTemplate(literal: bytes)) }
    public static func expect(_ expectation: Expectation) -> ConversationStep { ConversationStep(expect: expectation) }
    public static func expect(_ bytes: [UInt8]) -> ConversationStep { ConversationStep(expect: .exact(bytes)) }
    public static func expectRegex(_ pattern: String) -> ConversationStep { ConversationStep(expect: .regex(pattern)) }
    public static func expectBytes(_ count: Int) -> ConversationStep { ConversationStep(expect: .bytes(count)) }
    public static func pause(_ nanoseconds: UInt64) -> ConversationStep { ConversationStep(wait: nanoseconds) }
    public static let closeStep = ConversationStep(close: true)
}

/// What a step reads before it is done. Matching sees the bytes the protocol frames, up to
/// `load.max_message_size` for the forms that must hold the bytes they look at (regex, until).
public enum Expectation: Sendable, Equatable {
    /// The next bytes are exactly these.
    case exact([UInt8])
    /// Any this many bytes.
    case bytes(Int)
    /// A PCRE2 pattern over the next bytes; with a named group `length`, that many further
    /// bytes (a body) belong to the step too. Anchored (`^`, `\A`): a mismatch is known at once;
    /// unanchored: bytes that cannot start a match are passed over until it matches.
    case regex(String)
    /// Everything up to and including the first occurrence of this delimiter.
    case until([UInt8])
    /// The server closes the connection next; any byte instead is a protocol error (TCP).
    case close
    /// Request-response's answer: this many bytes laid out as `Payload` does (the iteration's
    /// sequence number in the first 8, filler after), compared byte for byte when `verify`, else
    /// only counted. Built from `load` (no scenario key writes it): a mismatch is an `integrity` error.
    case echo(size: Int, verify: Bool)
}

/// The bytes a `send` step writes, with `${conn}`, `${seq}` and `${random:N}` filled in as each
/// message is rendered into the worker's buffer (no allocation per message).
public struct SendTemplate: Sendable, Equatable {
    public enum Piece: Sendable, Equatable {
        case bytes([UInt8])
        /// The connection's index in the run (0..<connections), in decimal.
        case connection
        /// The iteration of the conversation on this connection slot (0, 1, …), in decimal.
        case sequence
        /// This many random printable bytes (a seeded generator per connection, so runs repeat).
        case random(Int)
        /// Request-response's filler message of this many bytes, the iteration's sequence number
        /// (little endian) in its first 8 (`Payload`). Built from `load`, not written in a scenario.
        case payload(Int)
    }

    public var pieces: [Piece]

    public init(pieces: [Piece]) { self.pieces = pieces }
    public init(literal bytes: [UInt8]) { pieces = [.bytes(bytes)] }

    /// The longest rendering: decimal numbers take at most 20 digits.
    public var maximumLength: Int {
        pieces.reduce(0) { total, piece in
            switch piece {
            case .bytes(let bytes): total + bytes.count
            case .connection, .sequence: total + 20
            case .random(let count), .payload(let count): total + count
            }
        }
    }

    /// The bytes, when the template has no placeholder.
    public var literal: [UInt8]? {
        if pieces.count == 1, case .bytes(let bytes) = pieces[0] { return bytes }
        return pieces.isEmpty ? [] : nil
    }

    /// The template as written (placeholders as `${…}`), for reports and messages.
    public var text: String {
        pieces.map { piece in
            switch piece {
            case .bytes(let bytes): String(decoding: bytes, as: UTF8.self)
            case .connection: "${conn}"
            case .sequence: "${seq}"
            case .random(let count): "${random:\(count)}"
            case .payload(let count): "<\(count)-byte message with its sequence number>"
            }
        }.joined()
    }

    /// Parses `${conn}`, `${seq}` and `${random:N}` (1 ≤ N ≤ 65536); `$${` writes a literal `${`.
    /// Anything else after `${` is an error in words.
    public static func parse(_ bytes: [UInt8]) -> Result<SendTemplate, TemplateError> {
        var pieces: [Piece] = []
        var literal: [UInt8] = []
        var index = 0
        func flush() {
            if !literal.isEmpty { pieces.append(.bytes(literal)) }
            literal = []
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "$"), index + 2 < bytes.count, bytes[index + 1] == UInt8(ascii: "$"), bytes[index + 2] == UInt8(ascii: "{") {
                literal += Array("${".utf8)
                index += 3
                continue
            }
            guard byte == UInt8(ascii: "$"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "{") else {
                literal.append(byte)
                index += 1
                continue
            }
            guard let close = bytes[(index + 2)...].firstIndex(of: UInt8(ascii: "}")) else {
                return .failure(TemplateError("'${' without a closing '}'"))
            }
            let name = String(decoding: bytes[(index + 2)..<close], as: UTF8.self)
            flush()
            switch name {
            case "conn": pieces.append(.connection)
            case "seq": pieces.append(.sequence)
            default:
                guard name.hasPrefix("random:"), let count = Int(name.dropFirst("random:".count)), (1...65_536).contains(count) else {
                    return .failure(TemplateError("unknown placeholder '${\(name)}'; known: ${conn}, ${seq}, ${random:N} with N from 1 to 65536 ($${ writes ${)"))
                }
                pieces.append(.random(count))
            }
            index = close + 1
        }
        flush()
        return .success(SendTemplate(pieces: pieces))
    }
}

/// A `send` template that does not parse, in words.
public struct TemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
