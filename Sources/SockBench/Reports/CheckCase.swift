/// One pass/fail line of a CI gate: a threshold on one variant, or one metric against the baseline.
/// JUnit writes one testcase per check; the Markdown summary one table row.
public struct CheckCase: Sendable, Equatable {
    public enum Outcome: String, Sendable {
        case passed
        case failed
        /// Not decided (too few samples for a verdict); JUnit marks it skipped with the reason.
        case skipped
    }

    /// `thresholds` or `baseline`.
    public var suite: String
    public var name: String
    public var outcome: Outcome
    /// Measured against allowed, in words.
    public var message: String

    public init(suite: String, name: String, outcome: Outcome, message: String) {
        self.suite = suite
        self.name = name
        self.outcome = outcome
        self.message = message
    }

    /// A report's threshold results as checks (one per threshold and variant).
    public static func thresholds(_ report: Report) -> [CheckCase] {
        let several = Set(report.runs.map(\.variant)).count > 1
        return (report.thresholds ?? []).map { result in
            CheckCase(suite: "thresholds", name: result.expression + (several ? " [\(result.variant)]" : ""),
                      outcome: result.passed ? .passed : .failed, message: result.message)
        }
    }
}

/// `--junit FILE`: the checks as JUnit XML, which CI systems show as test results.
public enum JUnitReport {
    public static func render(name: String, cases: [CheckCase]) -> String {
        var lines = ["<?xml version=\"1.0\" encoding=\"UTF-8\"?>"]
        let failures = cases.filter { $0.outcome == .failed }.count
        let skipped = cases.filter { $0.outcome == .skipped }.count
        lines.append("<testsuites name=\"\(escape(name))\" tests=\"\(cases.count)\" failures=\"\(failures)\" skipped=\"\(skipped)\">")
        var suites: [String] = []
        for check in cases where !suites.contains(check.suite) { suites.append(check.suite) }
        for suite in suites {
            let members = cases.filter { $0.suite == suite }
            lines.append("  <testsuite name=\"sockbench.\(escape(suite))\" tests=\"\(members.count)\" "
                + "failures=\"\(members.filter { $0.outcome == .failed }.count)\" skipped=\"\(members.filter { $0.outcome == .skipped }.count)\">")
            for check in members {
                let message = escape(check.message)
                lines.append("    <testcase classname=\"sockbench.\(escape(suite))\" name=\"\(escape(check.name))\">")
                let body = switch check.outcome {
                case .passed: "      <system-out>\(message)</system-out>"
                case .failed: "      <failure message=\"\(message)\" type=\"\(escape(suite))\">\(message)</failure>"
                case .skipped: "      <skipped message=\"\(message)\"/>"
                }
                lines += [body, "    </testcase>"]
            }
            lines.append("  </testsuite>")
        }
        lines.append("</testsuites>")
        return lines.joined(separator: "\n") + "\n"
    }

    /// XML text and attribute escaping; control characters XML 1.0 cannot hold become spaces.
    static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n", "\t": out.unicodeScalars.append(scalar)
            default: out.unicodeScalars.append(scalar.value < 0x20 ? " " : scalar)
            }
        }
        return out
    }
}
