import Foundation

/// What the impairment proxy does to traffic (`impair:` in a scenario, the flags of `sockbench proxy`).
/// netem is missing from this kernel, and toxiproxy speaks TCP only, so sockbench carries its own.
/// Delay, jitter and the rate cap apply to TCP and UDP; loss, duplication and reordering to UDP
/// datagrams; slicing, resets and stalls to TCP connections. Random choices come from `seed`, so a
/// run injects the same faults every time.
public struct ImpairmentSpec: Sendable, Equatable {
    /// Which way the impairments act: both ways, client to server only, or server to client only.
    public enum Direction: String, Sendable, Codable, CaseIterable {
        case both
        case toServer = "to-server"
        case toClient = "to-client"
    }

    /// Loss, duplication or reordering: a share of datagrams drawn at random, or every Nth one.
    public enum Choice: Sendable, Equatable {
        case percent(Double)
        case every(Int)
    }

    /// One-way delay added to every chunk or datagram, in each impaired direction.
    public var delayNanoseconds: UInt64 = 0
    /// Uniform ± around the delay; TCP keeps byte order, so its chunks never overtake each other.
    public var jitterNanoseconds: UInt64 = 0
    /// Payload bits per second in each impaired direction (tc's `rate`, counted on application bytes).
    public var rateBitsPerSecond: Double?
    public var loss: Choice?
    public var duplicate: Choice?
    public var reorder: Choice?
    /// TCP: forward in writes of at most this many bytes (with TCP_NODELAY, so they leave as small segments).
    public var sliceBytes: Int?
    /// TCP: reset each connection once this many bytes went through it (both ways together).
    public var resetAfterBytes: UInt64?
    /// TCP: stop forwarding on each connection for `stallNanoseconds` once this many bytes went through.
    public var stallAfterBytes: UInt64?
    public var stallNanoseconds: UInt64 = 1_000_000_000
    public var direction = Direction.both
    public var seed: UInt64 = 1

    public init() {}

    /// Every key, in the order `--help`, docs and errors list them.
    public static let keys = ScenarioKeys.names(ScenarioKeys.Impair.all)

    /// Builds a spec from `key: text` pairs (the scenario's scalars or the proxy's flags); the error
    /// names the key and what it expected.
    public init(settings: [(key: String, text: String)]) throws(ImpairmentError) {
        for (key, text) in settings {
            switch key {
            case "delay": delayNanoseconds = try Self.duration(key, text, atMost: Self.maximumDelay)
            case "jitter": jitterNanoseconds = try Self.duration(key, text, atMost: Self.maximumDelay)
            case "rate": rateBitsPerSecond = try Self.bitRate(key, text)
            case "loss": loss = try Self.choice(key, text)
            case "duplicate": duplicate = try Self.choice(key, text)
            case "reorder": reorder = try Self.choice(key, text)
            case "slice":
                let bytes = try Self.size(key, text)
                guard bytes <= 1 << 20 else { throw ImpairmentError(key: key, "expected at most 1MiB, got '\(text)'") }
                sliceBytes = bytes
            case "reset_after": resetAfterBytes = UInt64(try Self.size(key, text))
            case "stall_after": stallAfterBytes = UInt64(try Self.size(key, text))
            case "stall_for": stallNanoseconds = try Self.duration(key, text, atMost: Self.maximumDelay)
            case "direction":
                guard let value = Direction(rawValue: text) else {
                    throw ImpairmentError(key: key, "expected one of \(Direction.allCases.map(\.rawValue).joined(separator: ", ")), got '\(text)'")
                }
                direction = value
            case "seed":
                guard let value = UInt64(text) else { throw ImpairmentError(key: key, "expected a whole number, got '\(text)'") }
                seed = value
            default:
                var message = "unknown impairment"
                if let suggestion = KeySuggestion.closest(to: key, in: Self.keys) { message += "; did you mean '\(suggestion)'?" }
                throw ImpairmentError(key: key, message + " Allowed: \(Self.keys.joined(separator: ", "))")
            }
        }
        if jitterNanoseconds > 0, jitterNanoseconds > delayNanoseconds {
            throw ImpairmentError(key: "jitter", "jitter (±) cannot exceed the delay it varies")
        }
        if stallAfterBytes == nil, settings.contains(where: { $0.key == "stall_for" }) {
            throw ImpairmentError(key: "stall_for", "stall_for needs stall_after (the bytes after which a connection stalls)")
        }
    }

    /// The spec as `key: text` pairs again: the proxy's arguments and the report's record.
    public var settings: [(key: String, text: String)] {
        var out: [(String, String)] = []
        if delayNanoseconds > 0 { out.append(("delay", Quantity.formatDuration(delayNanoseconds))) }
        if jitterNanoseconds > 0 { out.append(("jitter", Quantity.formatDuration(jitterNanoseconds))) }
        if let rateBitsPerSecond { out.append(("rate", Self.formatBitRate(rateBitsPerSecond))) }
        for (key, choice) in [("loss", loss), ("duplicate", duplicate), ("reorder", reorder)] {
            if let choice { out.append((key, choice.text)) }
        }
        if let sliceBytes { out.append(("slice", "\(sliceBytes)")) }
        if let resetAfterBytes { out.append(("reset_after", "\(resetAfterBytes)")) }
        if let stallAfterBytes {
            out.append(("stall_after", "\(stallAfterBytes)"))
            out.append(("stall_for", Quantity.formatDuration(stallNanoseconds)))
        }
        out.append(("direction", direction.rawValue))
        out.append(("seed", "\(seed)"))
        return out
    }

    /// True when the impairments act on traffic to the server (or to the client).
    func acts(toServer: Bool) -> Bool { direction == .both || (direction == .toServer) == toServer }

    // MARK: Parsing

    /// The longest delay, jitter or stall: an hour holds any connection far past its timeouts.
    public static let maximumDelay: UInt64 = 3_600_000_000_000
    /// The rate cap's range in bits per second: 8 kbit/s (a byte per millisecond) to 1 Tbit/s.
    public static let bitRateRange = 8e3...1e12

    static func duration(_ key: String, _ text: String, atMost maximum: UInt64) throws(ImpairmentError) -> UInt64 {
        guard case .success(let ns) = Quantity.nanoseconds(text) else { throw ImpairmentError(key: key, "expected \(Quantity.durationHelp), got '\(text)'") }
        guard ns <= maximum else { throw ImpairmentError(key: key, "expected at most \(Quantity.formatDuration(maximum)), got '\(text)'") }
        return ns
    }

    static func size(_ key: String, _ text: String) throws(ImpairmentError) -> Int {
        guard case .success(let bytes) = Quantity.bytes(text), bytes >= 1 else { throw ImpairmentError(key: key, "expected \(Quantity.sizeHelp), got '\(text)'") }
        return bytes
    }

    static let bitRateHelp = "a bit rate such as 100mbit, 1gbit, 500kbit (tc's units: bit, kbit, mbit, gbit; /s optional)"

    /// `100mbit`, `1.5gbit`, `100Mbit/s`: decimal multiples, as tc reads them.
    static func bitRate(_ key: String, _ text: String) throws(ImpairmentError) -> Double {
        var body = text.trimmingWhitespace().lowercased()
        if body.hasSuffix("/s") { body.removeLast(2) }
        if body.hasSuffix("bps") { body.removeLast(3); body += "bit" }
        let units: [(String, Double)] = [("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3), ("bit", 1)]
        for (unit, scale) in units where body.hasSuffix(unit) {
            let number = body.dropLast(unit.count).trimmingWhitespace()
            if Quantity.isDecimal(number), let value = Double(number), value.isFinite, value > 0 {
                let bits = value * scale
                guard bitRateRange.contains(bits) else { throw ImpairmentError(key: key, "expected 8kbit to 1000gbit, got '\(text)'") }
                return bits
            }
        }
        throw ImpairmentError(key: key, "expected \(bitRateHelp), got '\(text)'")
    }

    static func formatBitRate(_ bits: Double) -> String {
        for (unit, scale) in [("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3)] where bits >= scale {
            return Quantity.trim(bits / scale) + unit
        }
        return Quantity.trim(bits) + "bit"
    }

    /// `10%` (at random) or `every 10` / `1/10` (every tenth).
    static func choice(_ key: String, _ text: String) throws(ImpairmentError) -> Choice {
        let body = text.trimmingWhitespace()
        if body.hasSuffix("%"), Quantity.isDecimal(body.dropLast().trimmingWhitespace()),
           let value = Double(body.dropLast().trimmingWhitespace()), value.isFinite, (0...100).contains(value) {
            return .percent(value)
        }
        for prefix in ["every ", "1/"] where body.hasPrefix(prefix) {
            if let every = Int(body.dropFirst(prefix.count).trimmingWhitespace()), every >= 1 { return .every(every) }
        }
        throw ImpairmentError(key: key, "expected a percentage such as 10% (at random, seeded) or 'every 10' (every tenth datagram), got '\(text)'")
    }
}

extension ImpairmentSpec.Choice {
    /// True when the `count`-th item (1-based) is chosen.
    func picks(_ count: UInt64, random: inout SplitMix64) -> Bool {
        switch self {
        case .percent(let percent): random.unit() * 100 < percent
        case .every(let every): count % UInt64(every) == 0
        }
    }

    var text: String {
        switch self {
        case .percent(let value): Quantity.trim(value) + "%"
        case .every(let every): "every \(every)"
        }
    }
}

/// A bad impairment setting: the key and what was wrong with its value.
public struct ImpairmentError: Error, CustomStringConvertible, Sendable {
    public let key: String
    public let message: String

    init(key: String, _ message: String) {
        self.key = key
        self.message = message
    }

    public var description: String { "\(key): \(message)" }
}
