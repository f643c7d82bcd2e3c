import Foundation

/// `load.error_budget`: how many errors a run may see before it counts as degraded (exit 3):
/// a count (`error_budget: 10`) or a share of everything attempted (`error_budget: 1%`).
public enum ErrorBudget: Sendable, Equatable, CustomStringConvertible {
    case count(UInt64)
    /// Percent of attempts: messages sent plus connection attempts.
    case percent(Double)

    /// The budget of a scenario that sets none: 1% of attempts, as k6 users gate `http_req_failed`.
    /// Errors beyond it make the run `degraded` (exit 3), so a run where every conversation failed
    /// its expect can never pass by default; a scenario that injects faults on purpose sets its own
    /// (`error_budget: 100%` to only report them).
    public static let `default` = ErrorBudget.percent(1)

    /// Reads `10` or `0.5%`; nil when the text is neither.
    public init?(parsing text: String) {
        let trimmed = text.trimmingWhitespace()
        if trimmed.hasSuffix("%") {
            guard Quantity.isDecimal(trimmed.dropLast().trimmingWhitespace()), let value = Double(trimmed.dropLast().trimmingWhitespace()), value.isFinite, (0...100).contains(value) else { return nil }
            self = .percent(value)
        } else {
            guard let value = UInt64(trimmed) else { return nil }
            self = .count(value)
        }
    }

    /// The most errors allowed for `attempts` attempts.
    public func allowed(attempts: UInt64) -> UInt64 {
        switch self {
        case .count(let count): count
        case .percent(let percent): UInt64(saturating: (Double(attempts) * percent / 100).rounded(.down))
        }
    }

    /// As a scenario writes it (`10`, `0.5%`): what `init(parsing:)` reads back.
    public var scenarioText: String {
        switch self {
        case .count(let count): "\(count)"
        case .percent(let percent): String(format: "%.17g%%", percent)
        }
    }

    public var description: String {
        switch self {
        case .count(let count): "\(count) errors"
        case .percent(let percent): String(format: "%g%% of attempts", percent)
        }
    }
}
