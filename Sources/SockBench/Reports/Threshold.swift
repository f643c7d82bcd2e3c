import Foundation

/// A pass/fail condition on a report figure, k6-style: `latency.p99 < 2ms`, `errors.total == 0`,
/// `throughput.messages_per_second > 10k`. The field must name a `ReportMetric`, so a typo is an
/// error when the scenario loads rather than a threshold that silently never fails.
public struct Threshold: Codable, Sendable, Equatable {
    public enum Comparison: String, Codable, Sendable, CaseIterable {
        case lessOrEqual = "<="
        case greaterOrEqual = ">="
        case equal = "=="
        case notEqual = "!="
        case less = "<"
        case greater = ">"

        func holds(_ measured: Double, _ limit: Double) -> Bool {
            switch self {
            case .less: measured < limit
            case .lessOrEqual: measured <= limit
            case .greater: measured > limit
            case .greaterOrEqual: measured >= limit
            case .equal: measured == limit
            case .notEqual: measured != limit
            }
        }
    }

    /// As written in the scenario.
    public var expression: String
    /// The metric's full name (an alias such as `p99` is resolved).
    public var metric: String
    public var comparison: Comparison
    /// In the metric's base unit (nanoseconds, per second, bytes per second, ...).
    public var value: Double

    /// The largest limit a threshold may set, in the metric's base unit (nanoseconds, bytes, per
    /// second, a count): beyond any figure a run can measure, and inside what every formatter prints exactly.
    public static let maximumValue = 1e18

    public static let syntaxHelp = "FIELD OP VALUE, e.g. 'latency.p99 < 2ms' or 'errors.total == 0' (OP: <, <=, >, >=, ==, !=)"

    /// Parses one expression; the error is a phrase the loader places at the expression's line.
    public static func parse(_ text: String) -> Result<Threshold, ThresholdError> {
        let trimmed = text.trimmingWhitespace()
        guard let (field, comparison, valueText) = split(trimmed) else {
            return .failure(ThresholdError("expected \(syntaxHelp), got '\(trimmed)'"))
        }
        guard let metric = ReportMetric.named(field) else {
            return .failure(ThresholdError(ReportMetric.unknownFieldMessage(field) + " (docs/ci.md lists the fields)"))
        }
        guard let value = parseValue(valueText, unit: metric.unit), value.isFinite, abs(value) <= maximumValue else {
            return .failure(ThresholdError("'\(valueText)' is not a value for \(metric.name): expected \(valueHelp(metric.unit)), "
                + "at most 1e18 in the metric's base unit"))
        }
        return .success(Threshold(expression: trimmed, metric: metric.name, comparison: comparison, value: value))
    }

    public func holds(_ measured: Double) -> Bool { comparison.holds(measured, value) }

    /// The limit in words, in the metric's unit: `< 2.00ms`.
    public var allowedText: String {
        "\(comparison.rawValue) \(ReportMetric.named(metric)?.format(value) ?? String(value))"
    }

    static func split(_ text: String) -> (String, Comparison, String)? {
        for comparison in Comparison.allCases {
            guard let range = text.range(of: comparison.rawValue) else { continue }
            let field = text[..<range.lowerBound].trimmingWhitespace()
            let value = text[range.upperBound...].trimmingWhitespace()
            guard !field.isEmpty, !value.isEmpty, !field.contains(where: { " <>=!".contains($0) }),
                  !value.contains(where: { "<>=!".contains($0) }) else { return nil }
            return (field, comparison, value)
        }
        return nil
    }

    static func valueHelp(_ unit: ReportMetric.Unit) -> String {
        switch unit {
        case .nanoseconds: Quantity.durationHelp
        case .perSecond, .count, .ratio: "a number such as 10000, 10k or 1.5M"
        case .bytesPerSecond: "a byte rate such as 100Mbit/s, 1Gbit/s or 50MB/s"
        case .percent: "a percentage such as 1% or 0.5"
        case .bytes: Quantity.sizeHelp
        }
    }

    static func parseValue(_ text: String, unit: ReportMetric.Unit) -> Double? {
        switch unit {
        case .nanoseconds:
            guard case .success(let ns) = Quantity.nanoseconds(text) else { return nil }
            return Double(ns)
        case .perSecond:
            return number(text.hasSuffix("/s") ? String(text.dropLast(2)) : text)
        case .count, .ratio:
            return number(text)
        case .percent:
            return Double(text.hasSuffix("%") ? String(text.dropLast()).trimmingWhitespace() : text)
        case .bytes:
            guard case .success(let bytes) = Quantity.bytes(text) else { return nil }
            return Double(bytes)
        case .bytesPerSecond:
            guard text.hasSuffix("/s") else { return number(text) }
            let amount = String(text.dropLast(2)).trimmingWhitespace()
            for (suffix, bits) in [("Gbit", 1e9), ("Mbit", 1e6), ("kbit", 1e3), ("bit", 1.0)] where amount.hasSuffix(suffix) {
                return number(String(amount.dropLast(suffix.count))).map { $0 * bits / 8 }
            }
            guard case .success(let bytes) = Quantity.bytes(amount) else { return nil }
            return Double(bytes)
        }
    }

    /// `10000`, `10k`, `1.5M`, `2G`.
    static func number(_ text: String) -> Double? {
        var digits = text.trimmingWhitespace()
        var multiplier = 1.0
        if let last = digits.last, let scale = ["k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9][last] {
            multiplier = scale
            digits.removeLast()
        }
        guard let value = Double(digits), value.isFinite else { return nil }
        return value * multiplier
    }
}

/// A threshold expression that does not parse, in words.
public struct ThresholdError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}
