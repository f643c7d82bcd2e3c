import Foundation

/// Inline SVG charts for report.html: drawn here from the report's numbers, so the page needs no
/// script library, font or network access. Every chart is an `<svg class="chart">` with a title.
/// No text may leave its chart: labels are placed and, when too long, shortened with an ellipsis
/// (the whole text stays in a `<title>`), by the widths `textWidth` estimates for the page's font.
enum SVGChart {
    /// Colours that stay apart for up to eight series, and in greyscale print.
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

    struct Series {
        var name: String
        var points: [(x: Double, y: Double)]
        var dashed = false
        /// Which palette colour; by default the series' own position.
        var colour: Int?
        /// Later repetitions of a variant share its colour and its one legend line.
        var inLegend = true
        var faded = false
    }

    struct Axis {
        enum Scale { case linear, log }
        var label: String
        /// Where ticks go and what they say (values in the data's units, also on a log axis).
        var ticks: [(value: Double, text: String)]
        var range: ClosedRange<Double>
        var scale = Scale.linear

        /// Where `value` falls from 0 (the range's start) to 1 (its end); values outside are clamped.
        func position(_ value: Double) -> Double {
            switch scale {
            case .linear:
                return (min(max(value, range.lowerBound), range.upperBound) - range.lowerBound) / span(range)
            case .log:
                let low = log10(range.lowerBound), high = log10(range.upperBound)
                let clamped = min(max(value, range.lowerBound), range.upperBound)
                return (log10(clamped) - low) / max(high - low, 1e-12)
            }
        }
    }

    static let width = 760.0, height = 320.0
    static let right = 24.0, top = 34.0, bottom = 52.0
    /// The narrowest left margin: room for the rotated axis label and short tick labels.
    static let minimumLeft = 78.0
    static let fontSize = 12.0, titleSize = 14.0

    /// A line chart: series over shared axes, legend under the plot.
    static func lines(id: String, title: String, x: Axis, y: Axis, series: [Series], caption: String? = nil) -> String {
        // The left margin grows with the longest y tick label, so "100,000/s" is never cut.
        let left = max(minimumLeft, 30 + (y.ticks.map { textWidth($0.text) }.max() ?? 0))
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        func px(_ value: Double) -> Double { left + x.position(value) * plotWidth }
        func py(_ value: Double) -> Double { top + plotHeight - y.position(value) * plotHeight }
        // The legend goes under the plot, one entry per line, so long variant names never overlap the lines.
        let legendEntries = series.enumerated().filter(\.element.inLegend)
        let captionLines = caption.map { wrap($0, width: width - 2 * 8) } ?? []
        let legendHeight = 18.0 * Double(legendEntries.count) + 6
        let totalHeight = height + legendHeight + 16 * Double(captionLines.count)
        var body = frame(id: id, title: title, x: x, y: y, left: left, px: px, py: py, totalHeight: totalHeight)
        for (index, line) in series.enumerated() where !line.points.isEmpty {
            let colour = palette[(line.colour ?? index) % palette.count]
            let points = line.points.map { String(format: "%.1f,%.1f", px($0.x), py($0.y)) }
            body += "<polyline class=\"series\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"\(line.dashed ? " stroke-dasharray=\"6 4\"" : "")"
                + (line.faded ? " stroke-opacity=\"0.5\"" : "")
                + " points=\"\(points.joined(separator: " "))\"><title>\(escape(line.name))</title></polyline>\n"
        }
        for (row, entry) in legendEntries.enumerated() {
            let colour = palette[(entry.element.colour ?? entry.offset) % palette.count]
            let yy = height + 4 + 18 * Double(row)
            body += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"", left, yy, left + 24, yy)
                + " stroke=\"\(colour)\" stroke-width=\"2\"\(entry.element.dashed ? " stroke-dasharray=\"6 4\"" : "")/>"
            body += text(entry.element.name, x: left + 30, y: yy + 4, anchor: "start", room: width - left - 30 - 4, className: "legend")
        }
        for (row, line) in captionLines.enumerated() {
            body += text(line, x: 8, y: height + legendHeight + 12 + 16 * Double(row), anchor: "start", room: width - 16, className: "caption")
        }
        return body + "</svg>\n"
    }

    /// One row per variant: the range as a bar, the median as a dot (a dot plot with spread).
    static func spread(id: String, title: String, axisLabel: String, rows: [(label: String, summary: SampleSummary)],
                       integer: Bool, format: @escaping (Double) -> String) -> String {
        let rowHeight = 30.0
        let labelWidth = 260.0
        let chartHeight = top + Double(rows.count) * rowHeight + bottom
        let low = min(0, rows.map(\.summary.min).min() ?? 0)
        let axis = linearAxis(label: axisLabel, minimum: low, maximum: rows.map(\.summary.max).max() ?? 1, integer: integer, format: format)
        let plotWidth = width - labelWidth - right
        func px(_ value: Double) -> Double { labelWidth + axis.position(value) * plotWidth }
        var body = opening(id: id, title: title, height: chartHeight)
        let axisY = top + Double(rows.count) * rowHeight
        for tick in axis.ticks {
            let x = px(tick.value)
            body += String(format: "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x, top, x, axisY)
            body += tickText(tick.text, x: x, y: axisY + 16)
        }
        body += text(axisLabel, x: labelWidth + plotWidth / 2, y: axisY + 40, anchor: "middle", room: plotWidth, className: "axis-label")
        for (index, row) in rows.enumerated() {
            let y = top + Double(index) * rowHeight + rowHeight / 2
            let colour = palette[index % palette.count]
            let s = row.summary
            body += text(row.label, x: labelWidth - 10, y: y + 4, anchor: "end", room: labelWidth - 14, className: "row-label")
            body += String(format: "<line class=\"range\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"", px(s.min), y, max(px(s.max), px(s.min) + 1), y)
                + " stroke=\"\(colour)\" stroke-width=\"8\" stroke-opacity=\"0.35\"/>"
            body += String(format: "<circle class=\"median\" cx=\"%.1f\" cy=\"%.1f\" r=\"6\"", px(s.median), y) + " fill=\"\(colour)\"><title>"
                + escape("\(row.label): median \(format(s.median)), range \(format(s.min))–\(format(s.max)), n=\(s.n)") + "</title></circle>\n"
        }
        return body + "</svg>\n"
    }

    /// Moments on a time axis, one row per kind: the events timeline.
    static func timeline(id: String, title: String, x: Axis, rows: [(label: String, points: [(at: Double, text: String)])]) -> String {
        let rowHeight = 26.0, labelWidth = 150.0
        let plotWidth = width - labelWidth - right
        let axisY = top + Double(rows.count) * rowHeight
        func px(_ value: Double) -> Double { labelWidth + x.position(value) * plotWidth }
        var body = opening(id: id, title: title, height: axisY + bottom)
        for tick in x.ticks {
            let xx = px(tick.value)
            body += String(format: "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", xx, top, xx, axisY)
            body += tickText(tick.text, x: xx, y: axisY + 16)
        }
        body += text(x.label, x: labelWidth + plotWidth / 2, y: axisY + 40, anchor: "middle", room: plotWidth, className: "axis-label")
        for (index, row) in rows.enumerated() {
            let y = top + Double(index) * rowHeight + rowHeight / 2
            let colour = palette[index % palette.count]
            body += text(row.label, x: labelWidth - 10, y: y + 4, anchor: "end", room: labelWidth - 14, className: "row-label")
            for point in row.points {
                body += String(format: "<circle class=\"event\" cx=\"%.1f\" cy=\"%.1f\" r=\"5\"", px(point.at), y)
                    + " fill=\"\(colour)\"><title>\(escape(point.text))</title></circle>\n"
            }
        }
        return body + "</svg>\n"
    }

    static func frame(id: String, title: String, x: Axis, y: Axis, left: Double, px: (Double) -> Double, py: (Double) -> Double,
                      totalHeight: Double) -> String {
        let plotBottom = height - bottom
        var out = opening(id: id, title: title, height: totalHeight)
        for tick in y.ticks {
            let yy = py(tick.value)
            out += String(format: "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", left, yy, width - right, yy)
            out += text(tick.text, x: left - 6, y: yy + 4, anchor: "end", room: left - 28, className: "tick")
        }
        for tick in x.ticks {
            let xx = px(tick.value)
            out += String(format: "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", xx, top, xx, plotBottom)
            out += tickText(tick.text, x: xx, y: plotBottom + 16)
        }
        out += String(format: "<rect class=\"plot\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\"/>\n",
                      left, top, width - left - right, plotBottom - top)
        out += text(x.label, x: (left + width - right) / 2, y: height - 12, anchor: "middle", room: width - left - right, className: "axis-label")
        let plotHeight = plotBottom - top
        out += "<text class=\"axis-label\" transform=\"translate(16 \(Int((top + plotBottom) / 2))) rotate(-90)\" text-anchor=\"middle\">"
            + escape(fit(y.label, room: plotHeight)) + (fit(y.label, room: plotHeight) == y.label ? "" : "<title>\(escape(y.label))</title>") + "</text>\n"
        return out
    }

    /// `<svg class="chart">` with its accessible title and the visible one.
    static func opening(id: String, title: String, height: Double) -> String {
        "<svg class=\"chart\" id=\"\(id)\" role=\"img\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" xmlns=\"http://www.w3.org/2000/svg\">\n"
            + "<title>\(escape(title))</title>\n"
            + text(title, x: width / 2, y: 20, anchor: "middle", room: width - 16, className: "chart-title", size: titleSize)
    }

    /// A tick label under the axis, centred on its tick unless that would cross the chart's edge.
    static func tickText(_ label: String, x: Double, y: Double) -> String {
        let half = textWidth(label) / 2
        if x + half > width - 2 { return text(label, x: width - 2, y: y, anchor: "end", room: width, className: "tick") }
        if x - half < 2 { return text(label, x: 2, y: y, anchor: "start", room: width, className: "tick") }
        return text(label, x: x, y: y, anchor: "middle", room: width, className: "tick")
    }

    /// A `<text>` shortened to `room` pixels; a shortened one keeps the whole text as its tooltip.
    static func text(_ value: String, x: Double, y: Double, anchor: String, room: Double, className: String, size: Double = fontSize) -> String {
        let shown = fit(value, room: room, size: size)
        return String(format: "<text class=\"%@\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"%@\">", className, x, y, anchor) + escape(shown)
            + (shown == value ? "" : "<title>\(escape(value))</title>") + "</text>\n"
    }

    /// `value`, or as much of it as fits in `room` pixels followed by an ellipsis.
    static func fit(_ value: String, room: Double, size: Double = fontSize) -> String {
        guard textWidth(value, size: size) > room else { return value }
        var shown = ""
        for character in value {
            guard textWidth(shown + String(character) + "…", size: size) <= room else { break }
            shown.append(character)
        }
        return shown + "…"
    }

    /// Lines of at most `width` pixels, broken at spaces.
    static func wrap(_ value: String, width: Double) -> [String] {
        var lines: [String] = [], line = ""
        for word in value.split(separator: " ") {
            let next = line.isEmpty ? String(word) : line + " " + word
            if textWidth(next) > width, !line.isEmpty { lines.append(line); line = String(word) } else { line = next }
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }

    /// A generous estimate of a text's width in the page's sans-serif font, in em from DejaVu Sans
    /// (the widest common fallback: `=` is 0.84 em, digits 0.64) rounded up, bold titles wider still:
    /// an estimate that fits is a text that fits.
    static func textWidth(_ value: String, size: Double = fontSize) -> Double {
        let em = value.reduce(0.0) { sum, character in
            switch character {
            case "i", "l", "j", "I", ".", ",", ":", ";", "'", "|", "!", " ": sum + 0.34
            case "t", "f", "r", "(", ")", "[", "]", "/", "-": sum + 0.44
            case "=", "+", "<", ">", "~", "±", "×", "→": sum + 0.86
            case "m", "w", "M", "W", "%", "@", "µ", "…": sum + 1.0
            // Cyrillic, CJK and symbols run wider than Latin letters (Ж 1.08 em, ‰ 1.34 em in DejaVu Sans).
            case _ where !character.isASCII: sum + 1.4
            case _ where character.isUppercase: sum + 0.8
            default: sum + 0.68
            }
        }
        return em * size * (size >= titleSize ? 1.12 : 1)
    }

    /// Ticks at round values (1, 2 or 5 times a power of ten, 2.5 where that does not need a
    /// fraction an integer axis cannot show) from `minimum` up past `maximum`, each labelled with
    /// its own value: an integer axis (counts) never shows 0.25 as "0".
    static func linearAxis(label: String, minimum: Double = 0, maximum: Double, integer: Bool = false, format: (Double) -> String) -> Axis {
        withoutActuallyEscaping(format) { format in
            linearAxis(label: label, minimum: minimum, maximum: maximum, integer: integer) { _ in format }
        }
    }

    /// The same, labelled by a format chosen for the step the axis settled on (`secondsLabel`).
    static func linearAxis(label: String, minimum: Double = 0, maximum: Double, integer: Bool = false,
                           formatForStep: (Double) -> (Double) -> String) -> Axis {
        let low = minimum.isFinite ? minimum : 0
        let high = maximum.isFinite && maximum > low ? maximum : low + (integer ? 1 : 1)
        let step = niceStep((high - low) / 4, integer: integer)
        let first = (low / step).rounded(.down) * step
        // A span past Double's range (±1e308 figures in an edited report) still gets a bounded axis.
        let steps = ((high - first) / step).rounded(.up)
        let count = steps.isFinite ? Int(min(steps, 12)) : 12
        let values = (0...max(count, 1)).map { first + Double($0) * step }
        let format = formatForStep(step)
        return Axis(label: label, ticks: values.map { ($0, format($0)) }, range: values.first!...values.last!)
    }

    /// 1, 2, 2.5 or 5 times a power of ten, at or above `rough`; at least 1 on an integer axis.
    static func niceStep(_ rough: Double, integer: Bool) -> Double {
        guard rough > 0, rough.isFinite else { return 1 }
        let power = pow(10, floor(log10(rough)))
        let steps: [Double] = integer && power < 10 ? [1, 2, 5, 10] : [1, 2, 2.5, 5, 10]
        let step = (steps.first { $0 * power >= rough * (1 - 1e-9) } ?? 10) * power
        return integer ? max(1, step.rounded()) : step
    }

    /// A log axis over `minimum...maximum` (both above 0): ticks at powers of ten, with 2 and 5
    /// between them when the range spans fewer than three decades.
    static func logAxis(label: String, minimum: Double, maximum: Double, format: (Double) -> String) -> Axis {
        let low = pow(10, floor(log10(min(max(minimum, 1e-9), 1e300))))
        let high = min(pow(10, ceil(log10(max(maximum, low * 10)))), 1e300)
        var values: [Double] = []
        var decade = low
        let fine = log10(high / low) < 3
        while decade <= high * (1 + 1e-9), values.count < 400 {
            values.append(decade)
            if fine, decade * 2 <= high { values += [decade * 2, decade * 5].filter { $0 < high * (1 - 1e-9) } }
            decade *= 10
        }
        return Axis(label: label, ticks: values.map { ($0, format($0)) }, range: low...high, scale: .log)
    }

    /// A latency axis: linear from 0, or logarithmic when the slowest value would flatten the rest
    /// (more than `flattening` times the median of the values), with the reason in the label.
    static func latencyAxis(label: String, values: [Double], format: (Double) -> String) -> (axis: Axis, note: String?) {
        let positive = values.filter { $0 > 0 && $0.isFinite }.sorted()
        let maximum = positive.last ?? 1
        let median = positive.isEmpty ? 0 : positive[positive.count / 2]
        guard median > 0, maximum > flattening * median else {
            // Latencies are whole nanoseconds: no tick between two of them.
            return (linearAxis(label: label, maximum: maximum, integer: true, format: format), nil)
        }
        let note = "log scale: the slowest value (\(format(maximum))) is \(Format.grouped((maximum / median).rounded()))× the median (\(format(median))), so a linear axis would flatten the rest"
        return (logAxis(label: label + " (log scale)", minimum: positive.first!, maximum: maximum, format: format), note)
    }

    /// How many times the median the slowest value may be before a latency axis turns logarithmic.
    static let flattening = 10.0

    static func span(_ range: ClosedRange<Double>) -> Double { max(range.upperBound - range.lowerBound, 1e-12) }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
