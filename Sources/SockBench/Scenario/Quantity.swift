/// Parsing of the human units scenario files use: durations (`500ms`, `10s`) and sizes (`64`, `16KiB`).
/// Each parser returns nil-free results or a short phrase saying what is allowed, which the loader
/// turns into a `file:line:column` error.
public enum Quantity {
    /// Nanoseconds per duration unit, longest suffix first so `ms` wins over `s`.
    static let durationUnits: [(suffix: String, nanoseconds: Double)] = [
        ("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9),
    ]

    /// Bytes per size unit. K/M/G are binary as in iperf3; kB/MB/GB are decimal.
    static let sizeUnits: [(suffix: String, bytes: Int)] = [
        ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30),
        ("kB", 1000), ("KB", 1000), ("MB", 1_000_000), ("GB", 1_000_000_000),
        ("K", 1 << 10), ("k", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("B", 1),
    ]

    public static let durationHelp = "a duration such as 500ms, 10s, 2m (units: ns, us, ms, s, m, h)"
    public static let sizeHelp = "a size in bytes such as 64, 16KiB, 1MiB (units: B, KiB, MiB, GiB, kB, MB, GB)"
    public static let rateHelp = "a rate such as 20000/s, 20k/s or 500/s per connection (per: s, ms, m)"

    /// The slowest rate: one event in 1000 s, so a tick (1e12 ns) and any schedule built on it
    /// stay far inside UInt64 nanoseconds.
    public static let minimumRate = 0.001
    /// The fastest rate, in total (per-connection rates times the connections, too).
    public static let maximumRate = 1e9

    /// Parses a rate (`20000/s`, `2.5k/s`, `10/ms`, `500/s per connection`) into events per second,
    /// and whether it is per connection rather than in total.
    public static func rate(_ text: String) -> Result<(perSecond: Double, perConnection: Bool), QuantityError> {
        var trimmed = text.trimmingWhitespace()
        var perConnection = false
        for suffix in [" per connection", "/connection"] where trimmed.hasSuffix(suffix) {
            perConnection = true
            trimmed = String(trimmed.dropLast(suffix.count)).trimmingWhitespace()
        }
        let parts = trimmed.split(separator: "/", omittingEmptySubsequences: false).map { $0.trimmingWhitespace() }
        let perUnit: [String: Double] = ["s": 1, "ms": 1e3, "m": 1.0 / 60]
        guard parts.count == 2, let unit = perUnit[parts[1]] else { return .failure(QuantityError(expected: rateHelp, got: text)) }
        var number = parts[0]
        var multiplier = 1.0
        if number.hasSuffix("k") || number.hasSuffix("K") { multiplier = 1e3; number.removeLast() }
        else if number.hasSuffix("M") { multiplier = 1e6; number.removeLast() }
        guard isDecimal(number) else { return .failure(QuantityError(expected: rateHelp, got: text)) }
        guard let value = Double(number), value.isFinite, (minimumRate...maximumRate).contains(value * multiplier * unit) else {
            return .failure(QuantityError(expected: rateHelp + ", from 0.001/s to 1G/s", got: text))
        }
        return .success((value * multiplier * unit, perConnection))
    }

    /// Formats events per second the way a scenario would write them (`20000/s`, `0.5/s`).
    public static func formatRate(_ perSecond: Double) -> String { trim(perSecond) + "/s" }

    /// Parses a duration into nanoseconds. A bare `0` is accepted; any other number needs a unit.
    public static func nanoseconds(_ text: String) -> Result<UInt64, QuantityError> {
        let trimmed = text.trimmingWhitespace()
        if trimmed == "0" { return .success(0) }
        for unit in durationUnits where trimmed.hasSuffix(unit.suffix) {
            let number = trimmed.dropLast(unit.suffix.count).trimmingWhitespace()
            // `m` must not swallow `ms`, `ns`, ...: the number part has to be a plain number.
            guard isDecimal(number), let value = Double(number), value >= 0, value.isFinite else { continue }
            let ns = value * unit.nanoseconds
            guard ns < 1e18 else { return .failure(QuantityError(expected: durationHelp, got: text)) }
            return .success(UInt64(ns.rounded()))
        }
        return .failure(QuantityError(expected: durationHelp, got: text))
    }

    /// Parses a size into bytes: a whole number, optionally with a unit.
    /// The words `boolean` reads as true and as false, in any case.
    static let trueWords = ["true", "yes", "on", "1"]
    static let falseWords = ["false", "no", "off", "0"]

    /// `true/yes/on/1` or `false/no/off/0`, any case.
    public static func boolean(_ text: String) -> Bool? {
        let word = text.trimmingWhitespace().lowercased()
        if trueWords.contains(word) { return true }
        if falseWords.contains(word) { return false }
        return nil
    }

    public static func bytes(_ text: String) -> Result<Int, QuantityError> {
        let trimmed = text.trimmingWhitespace()
        if let plain = Int(trimmed), plain >= 0 { return .success(plain) }
        for unit in sizeUnits where trimmed.hasSuffix(unit.suffix) {
            let number = trimmed.dropLast(unit.suffix.count).trimmingWhitespace()
            guard isDecimal(number), let value = Double(number), value >= 0, value.isFinite else { continue }
            let bytes = value * Double(unit.bytes)
            guard bytes == bytes.rounded(), bytes < 1e15 else { break }
            return .success(Int(bytes))
        }
        return .failure(QuantityError(expected: sizeHelp, got: text))
    }

    /// A decimal number as `numberPattern` has it: `Double` alone also reads hex (`0x10`), `inf` and `nan`.
    static func isDecimal(_ text: String) -> Bool {
        var rest = Substring(text)
        if rest.first == "+" { rest.removeFirst() }
        let mantissa = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        guard mantissa.filter({ $0 == "." }).count <= 1, mantissa.contains(where: \.isNumber) else { return false }
        rest = rest.dropFirst(mantissa.count)
        guard let e = rest.first else { return true }
        guard e == "e" || e == "E" else { return false }
        rest.removeFirst()
        if rest.first == "+" || rest.first == "-" { rest.removeFirst() }
        return !rest.isEmpty && rest.allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// What a `Double` in a quantity may look like (`2`, `2.5`, `.5`, `1e3`), as an ECMA-262 regex.
    static let numberPattern = #"\+?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?"#

    /// The strings `nanoseconds` reads, as a JSON Schema `pattern` (ECMA-262); the bare `0` is a number in YAML.
    public static var durationPattern: String {
        #"^\s*("# + numberPattern + #")\s*("# + durationUnits.map(\.suffix).joined(separator: "|") + #")\s*$|^\s*0\s*$"#
    }

    /// The strings `bytes` reads, as a JSON Schema `pattern`; a plain number of bytes is a YAML integer.
    public static var sizePattern: String {
        #"^\s*\+?\d+\s*$|^\s*("# + numberPattern + #")\s*("# + sizeUnits.map(\.suffix).joined(separator: "|") + #")\s*$"#
    }

    /// The strings `rate` reads, as a JSON Schema `pattern`.
    public static var ratePattern: String {
        #"^\s*("# + numberPattern + #")[kKM]?\s*/\s*(s|ms|m)\s*( per connection|/connection)?\s*$"#
    }

    /// Formats nanoseconds the way a scenario would write them (`1.5s`, `250ms`, `80us`).
    public static func formatDuration(_ ns: UInt64) -> String {
        let value = Double(ns)
        switch ns {
        case 0: return "0s"
        case ..<1_000: return "\(ns)ns"
        case ..<1_000_000: return trim(value / 1e3) + "us"
        case ..<1_000_000_000: return trim(value / 1e6) + "ms"
        default: return trim(value / 1e9) + "s"
        }
    }

    /// Formats a byte count with a binary unit when it divides evenly (`16KiB`), else plain bytes.
    public static func formatSize(_ bytes: Int) -> String {
        for (suffix, unit) in [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] where bytes >= unit && bytes % unit == 0 {
            return "\(bytes / unit)\(suffix)"
        }
        return "\(bytes)"
    }

    /// Two decimals at most, without trailing zeros; any Double, even one too large for an Int.
    static func trim(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        guard rounded.isFinite, abs(rounded) < 1e15 else { return "\(value)" }
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }
}

/// A quantity that did not parse: what was expected and what was written.
public struct QuantityError: Error, Sendable, Equatable {
    public let expected: String
    public let got: String
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        String(self.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
