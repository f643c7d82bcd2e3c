import Foundation

/// Inline SVG charts for report.html: drawn here from the report's numbers, so the page needs no
/// script library, font or network access. Every chart is an `<svg class="chart">` with a title.
enum SVGChart {
    /// Colours that stay apart for up to eight series, and in greyscale print.
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

    struct Series {
        var name: String
        var points: [(x: Double, y: Double)]
        var dashed = false
    }

    struct Axis {
        var label: String
        /// Where ticks go and what they say (values in the chart's coordinates).
        var ticks: [(value: Double, text: String)]
        var range: ClosedRange<Double>
    }

    static let width = 760.0, height = 320.0
    static let left = 78.0, right = 20.0, top = 34.0, bottom = 52.0

    /// A line chart: series over shared axes, legend above the plot.
    static func lines(id: String, title: String, x: Axis, y: Axis, series: [Series]) -> String {
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        func px(_ value: Double) -> Double { left + (value - x.range.lowerBound) / span(x.range) * plotWidth }
        func py(_ value: Double) -> Double { top + plotHeight - (value - y.range.lowerBound) / span(y.range) * plotHeight }
        // The legend goes under the plot, one series per line, so long variant names never overlap the lines.
        let legendHeight = 18.0 * Double(series.count) + 6
        var body = frame(id: id, title: title, x: x, y: y, px: px, py: py, totalHeight: height + legendHeight)
        for (index, line) in series.enumerated() where !line.points.isEmpty {
            let colour = palette[index % palette.count]
            let points = line.points.map { String(format: "%.1f,%.1f", px($0.x), py(min(max($0.y, y.range.lowerBound), y.range.upperBound))) }
            body += "<polyline class=\"series\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"\(line.dashed ? " stroke-dasharray=\"6 4\"" : "")"
                + " points=\"\(points.joined(separator: " "))\"><title>\(escape(line.name))</title></polyline>\n"
        }
        body += legend(series.map(\.name), dashed: series.map(\.dashed))
        return body + "</svg>\n"
    }

    /// One row per variant: the range as a bar, the median as a dot (a dot plot with spread).
    static func spread(id: String, title: String, axisLabel: String, rows: [(label: String, summary: SampleSummary)],
                       format: (Double) -> String) -> String {
        let rowHeight = 30.0
        let labelWidth = 260.0
        let chartHeight = top + Double(rows.count) * rowHeight + bottom
        let low = min(0, rows.map(\.summary.min).min() ?? 0)
        let high = niceCeiling(rows.map(\.summary.max).max() ?? 1)
        let plotWidth = width - labelWidth - right
        func px(_ value: Double) -> Double { labelWidth + (value - low) / max(high - low, 1e-12) * plotWidth }
        var body = opening(id: id, title: title, height: chartHeight)
        let axisY = top + Double(rows.count) * rowHeight
        for tick in 0...4 {
            let value = low + (high - low) * Double(tick) / 4
            let x = px(value)
            body += String(format: "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x, top, x, axisY)
            body += String(format: "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", x, axisY + 16) + escape(format(value)) + "</text>\n"
        }
        body += "<text class=\"axis-label\" x=\"\(Int(labelWidth + plotWidth / 2))\" y=\"\(Int(axisY + 40))\" text-anchor=\"middle\">\(escape(axisLabel))</text>\n"
        for (index, row) in rows.enumerated() {
            let y = top + Double(index) * rowHeight + rowHeight / 2
            let colour = palette[index % palette.count]
            let s = row.summary
            body += String(format: "<text class=\"row-label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", labelWidth - 10, y + 4) + escape(row.label) + "</text>\n"
            body += String(format: "<line class=\"range\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"", px(s.min), y, max(px(s.max), px(s.min) + 1), y)
                + " stroke=\"\(colour)\" stroke-width=\"8\" stroke-opacity=\"0.35\"/>"
            body += String(format: "<circle class=\"median\" cx=\"%.1f\" cy=\"%.1f\" r=\"6\"", px(s.median), y) + " fill=\"\(colour)\"><title>"
                + escape("\(row.label): median \(format(s.median)), range \(format(s.min))–\(format(s.max)), n=\(s.n)") + "</title></circle>\n"
        }
        return body + "</svg>\n"
    }

    static func frame(id: String, title: String, x: Axis, y: Axis, px: (Double) -> Double, py: (Double) -> Double,
                      totalHeight: Double) -> String {
        let plotBottom = height - bottom
        var out = opening(id: id, title: title, height: totalHeight)
        for tick in y.ticks {
            let yy = py(tick.value)
            out += String(format: "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", left, yy, width - right, yy)
            out += String(format: "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", left - 6, yy + 4) + escape(tick.text) + "</text>\n"
        }
        for tick in x.ticks {
            let xx = px(tick.value)
            out += String(format: "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", xx, top, xx, plotBottom)
            out += String(format: "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", xx, plotBottom + 16) + escape(tick.text) + "</text>\n"
        }
        out += String(format: "<rect class=\"plot\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\"/>\n",
                      left, top, width - left - right, plotBottom - top)
        out += "<text class=\"axis-label\" x=\"\(Int((left + width - right) / 2))\" y=\"\(Int(height - 12))\" text-anchor=\"middle\">\(escape(x.label))</text>\n"
        out += "<text class=\"axis-label\" transform=\"translate(16 \(Int((top + plotBottom) / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(y.label))</text>\n"
        return out
    }

    /// `<svg class="chart">` with its accessible title and the visible one.
    static func opening(id: String, title: String, height: Double) -> String {
        "<svg class=\"chart\" id=\"\(id)\" role=\"img\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" xmlns=\"http://www.w3.org/2000/svg\">\n"
            + "<title>\(escape(title))</title>\n"
            + "<text class=\"chart-title\" x=\"\(Int(width / 2))\" y=\"20\" text-anchor=\"middle\">\(escape(title))</text>\n"
    }

    static func legend(_ names: [String], dashed: [Bool]) -> String {
        var out = ""
        for (index, name) in names.enumerated() {
            let colour = palette[index % palette.count]
            let y = height + 4 + 18 * Double(index)
            out += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"", left, y, left + 24, y)
                + " stroke=\"\(colour)\" stroke-width=\"2\"\(dashed[index] ? " stroke-dasharray=\"6 4\"" : "")/>"
            out += String(format: "<text class=\"legend\" x=\"%.1f\" y=\"%.1f\">", left + 30, y + 4) + escape(name) + "</text>\n"
        }
        return out
    }

    /// Evenly spaced ticks from 0 to a round ceiling above `maximum`.
    static func linearAxis(label: String, maximum: Double, format: (Double) -> String) -> Axis {
        let high = niceCeiling(maximum)
        return Axis(label: label, ticks: (0...4).map { (high * Double($0) / 4, format(high * Double($0) / 4)) }, range: 0...high)
    }

    /// 1, 2 or 5 times a power of ten, at or above `value`.
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 0, value.isFinite else { return 1 }
        let power = pow(10, floor(log10(value)))
        for step in [1.0, 2, 2.5, 5, 10] where step * power >= value { return step * power }
        return 10 * power
    }

    static func span(_ range: ClosedRange<Double>) -> Double { max(range.upperBound - range.lowerBound, 1e-12) }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
