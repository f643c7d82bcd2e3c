import Foundation

extension MarkdownReport {
    /// Variants side by side, one table per group: median [min–max], change against the baseline and the verdict.
    public static func comparisonSection(_ comparison: Comparison, heading: String = "## Comparison") -> String {
        var out = [heading, ""]
        let samples = comparison.groups.first?.metrics.first?.cells.first?.summary.n ?? 0
        out.append("Compared: `\(comparison.compared)`. Each cell is the median over \(plural(samples, "sample")) with the range "
            + "[min–max]; the change is against the group's first variant (the baseline). Verdict: \(comparison.method), "
            + "a difference is called at p < \(comparison.alpha); otherwise *no significant difference*.")
        for note in comparison.notes { out += ["", "> \(note)"] }
        for group in comparison.groups {
            if !group.name.isEmpty { out += ["", "### \(cell(group.name))"] }
            if let ranking = group.ranking, let metric = group.rankedBy.flatMap(ReportMetric.named) {
                let row = group.metrics.first { $0.metric == metric.name }
                let ranked = ranking.enumerated().map { index, variant in
                    let median = row?.cells.first { $0.variant == variant }.map { metric.format($0.summary.median) } ?? ""
                    return "\(index + 1). \(cell(variant)) (\(median))"
                }
                out += ["", "Ranking by \(metric.name): " + ranked.joined(separator: " · ") + ". " + bestSentence(group)]
            }
            let variants = group.metrics.first?.cells.map(\.variant) ?? []
            out += ["", "| metric | " + variants.enumerated().map { $0 == 0 ? "\(cell($1)) (baseline)" : cell($1) }.joined(separator: " | ") + " |",
                    "|---|" + String(repeating: "---|", count: variants.count)]
            for row in group.metrics {
                guard let metric = ReportMetric.named(row.metric) else { continue }
                let cells = variants.map { variant in
                    row.cells.first { $0.variant == variant }.map { cellText($0, metric: metric, emphasis: { "**\($0)**" }) } ?? "n/a"
                }
                out.append("| \(row.metric) | " + cells.joined(separator: " | ") + " |")
            }
        }
        return out.joined(separator: "\n")
    }

    /// Text safe in one Markdown table cell or heading: `|` escaped, line breaks and other control
    /// characters (a terminal's ESC too) as spaces, so a variant's name cannot add a column or a row.
    static func cell(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar == "|" { out += "\\|" } else if scalar.value < 0x20 || scalar.value == 0x7F { out += " " } else { out.unicodeScalars.append(scalar) }
        }
        return out
    }

    /// Whether the ranking's first is significantly better than every other variant, in words.
    static func bestSentence(_ group: Comparison.Group) -> String {
        group.best.map { "Best: \(cell($0)), significantly better than every other variant." }
            ?? "No variant is significantly better than the others; the order of the medians may be noise."
    }

    /// `223,705/s [216,462/s–229,632/s] +122.4% better p=0.00794`; `detailed: false` leaves out the range and p.
    static func cellText(_ cell: Comparison.Cell, metric: ReportMetric, detailed: Bool = true,
                         emphasis: (String) -> String = { $0 }) -> String {
        let s = cell.summary
        var text = metric.format(s.median) + (detailed && s.n > 1 ? " [\(metric.format(s.min))–\(metric.format(s.max))]" : "")
        guard cell.verdict != .baseline else { return text }
        if let delta = cell.deltaPercent { text += String(format: " %+.1f%%", delta) }
        switch cell.verdict {
        case .better, .worse, .higher, .lower: text += " " + emphasis(cell.verdict.rawValue)
        case .noSignificantDifference: text += " ≈"
        case .inconclusive: text += " (n too small)"
        case .baseline: break
        }
        if detailed, let p = cell.pValue { text += String(format: " p=%.3g", p) }
        return text
    }

    /// The thresholds, one row per threshold and variant.
    public static func thresholdSection(_ results: [ThresholdResult]) -> String {
        let failed = results.filter { !$0.passed }.count
        var out = ["## Thresholds", "", failed == 0 ? (results.count == 1 ? "The threshold was met." : "All \(results.count) met.") : "**\(failed) of \(results.count) failed.**", "",
                   "| threshold | variant | measured | result |", "|---|---|---|---|"]
        for result in results {
            out.append("| `\(cell(result.expression))` | \(cell(result.variant)) | \(cell(result.message)) | \(result.passed ? "pass" : "**FAIL**") |")
        }
        return out.joined(separator: "\n")
    }

    /// `sockbench check`'s results, one row per variant and metric.
    public static func baselineSection(_ check: BaselineCheck) -> String {
        var out = ["## Baseline \(check.baselineName)", "",
                   "A metric fails when it moved the worse way beyond its tolerance and the move is significant (\(RankSumTest.methodName), p < \(Comparison.alpha)).",
                   "", "| metric | variant | result |", "|---|---|---|"]
        for result in check.results {
            let mark = result.outcome == .regressed ? "**\(cell(result.message))**" : cell(result.message)
            out.append("| \(result.metric) | \(cell(result.variant)) | \(mark) |")
        }
        return out.joined(separator: "\n")
    }
}
