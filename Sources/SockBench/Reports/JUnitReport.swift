import Foundation

/// `--junit FILE`: a gate's checks as JUnit XML, valid against the two schemas CI systems read it
/// with, Jenkins xunit's junit-10.xsd and the Apache Ant JUnit schema (`Tests/Fixtures/junit`).
/// Ant's is the stricter and sets the shape: `testsuites` carries no attributes (the totals are on
/// each `testsuite`), a `testsuite` holds `properties` first and `system-out`, `system-err` last
/// and has `id`, `package`, `time`, `timestamp` (no zone) and `hostname`; a `testcase` has a
/// `time` and at most one of `failure`, `error`, `skipped`, so the checks' messages, passed ones
/// included, are listed in their suite's `system-out`.
///
/// The first suite, `outcome`, holds one testcase for the run itself: passed when it measured,
/// an `error` when it failed, degraded or was interrupted, so a run that exchanged nothing is a
/// red test even without thresholds. Then one suite per kind of check (thresholds, baseline) and
/// variant.
public enum JUnitReport {
    /// `command` (run, check, merge) starts every class name and testcase name, so the files of a
    /// run and of a check published together (`junit-*.xml`) hold distinct tests, not one test twice.
    public static func render(command: String, report: Report, cases: [CheckCase]) -> String {
        let variants = RunResult.byVariant(report.runs).map(\.name)
        var groups: [(suite: String, variant: String, cases: [CheckCase])] = [("outcome", variants.joined(separator: ", "), [outcomeCase(report)])]
        for check in cases {
            if let index = groups.firstIndex(where: { $0.suite == check.suite && $0.variant == check.variant }) {
                groups[index].cases.append(check)
            } else {
                groups.append((check.suite, check.variant, [check]))
            }
        }
        let timestamp = Self.timestamp(report.generatedAt)
        let hostname = report.environment.host.isEmpty ? "localhost" : report.environment.host
        var names = Set<String>()
        var lines = ["<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "<testsuites>"]
        for (id, group) in groups.enumerated() {
            let outcome = group.suite == "outcome"
            let classname = identifier("sockbench.\(command).\(group.suite)" + (outcome || group.variant == "default" ? "" : ".\(group.variant)"))
            let measured = report.runs.filter { outcome || $0.variant == group.variant }.reduce(0) { $0 + $1.durationS }
            let count = { (wanted: CheckCase.Outcome) in group.cases.filter { $0.outcome == wanted }.count }
            let errors = outcome && group.cases[0].outcome == .failed ? 1 : 0
            lines.append("  <testsuite name=\"\(escape(classname))\" package=\"sockbench.\(escape(command))\" id=\"\(id)\" "
                + "tests=\"\(group.cases.count)\" failures=\"\(outcome ? 0 : count(.failed))\" errors=\"\(errors)\" skipped=\"\(count(.skipped))\" "
                + "time=\"\(seconds(measured))\" timestamp=\"\(timestamp)\" hostname=\"\(escape(hostname))\">")
            lines.append("    <properties>")
            for (name, value) in [("scenario", report.scenario.name), ("variant", group.variant), ("sockbench.version", report.tool.version),
                                  ("command", command), ("status", report.status)] {
                lines.append("      <property name=\"\(name)\" value=\"\(escape(value))\"/>")
            }
            lines.append("    </properties>")
            var output: [String] = []
            for check in group.cases {
                let name = unique(identifier("\(command): \(check.name)"), in: &names)
                let message = escape(check.message)
                output.append(escape("\(name): \(check.outcome.rawValue): \(check.message)"))
                let body = switch check.outcome {
                case .passed: ""
                case .failed where outcome: "<error message=\"\(message)\" type=\"\(escape(report.status))\">\(message)</error>"
                case .failed: "<failure message=\"\(message)\" type=\"\(escape(check.suite))\">\(message)</failure>"
                case .skipped: "<skipped message=\"\(message)\"/>"
                }
                let open = "    <testcase classname=\"\(escape(classname))\" name=\"\(escape(name))\" time=\"0\""
                lines.append(body.isEmpty ? open + "/>" : open + ">" + body + "</testcase>")
            }
            lines.append("    <system-out>\(output.joined(separator: "\n"))</system-out>")
            lines.append("    <system-err/>")
            lines.append("  </testsuite>")
        }
        lines.append("</testsuites>")
        return lines.joined(separator: "\n") + "\n"
    }

    /// The run itself as a check: measured (passed), or failed with the report's reason.
    static func outcomeCase(_ report: Report) -> CheckCase {
        let failed = report.status == "interrupted" || report.failure != nil
        let message = failed ? "\(report.status): \(report.failure ?? "stopped by a signal")"
            : "measured \(report.runs.count) run\(report.runs.count == 1 ? "" : "s")"
        return CheckCase(suite: "outcome", name: "\(report.scenario.name) measured", outcome: failed ? .failed : .passed, message: message)
    }

    /// `2026-12-03T14:05:09`: UTC without a zone, as Ant's schema wants it (report.json has the zone).
    static func timestamp(_ generatedAt: String) -> String {
        let date = ISO8601DateFormatter().date(from: generatedAt) ?? Date()
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d", parts.year ?? 1970, parts.month ?? 1, parts.day ?? 1,
                      parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0)
    }

    /// Seconds with three decimals, never negative or not a number (both schemas want a plain decimal).
    static func seconds(_ value: Double) -> String {
        String(format: "%.3f", value.isFinite && value > 0 ? value : 0)
    }

    /// A name as a parser reads it back from an attribute (line breaks, tabs and other control
    /// characters become spaces, runs of spaces one, as the schemas' `xs:token` collapses them),
    /// so that names told apart here are still apart once parsed.
    static func identifier(_ text: String) -> String {
        let spaced = String(String.UnicodeScalarView(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : $0 }))
        return spaced.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }

    /// `name`, or `name (2)`, `name (3)`… when a check of the same name is already in the file.
    static func unique(_ name: String, in names: inout Set<String>) -> String {
        var candidate = name
        var suffix = 2
        while names.contains(candidate) {
            candidate = "\(name) (\(suffix))"
            suffix += 1
        }
        names.insert(candidate)
        return candidate
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
            default: out.unicodeScalars.append(scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF ? " " : scalar)
            }
        }
        return out
    }
}
