import Foundation
import Testing
@testable import SockBench

/// The chart geometry report.html is drawn with: ticks at round values labelled with their own
/// value, integer axes without fractions, log axes when an outlier would flatten the rest, and
/// labels that fit their room.
@Suite("SVG chart axes and labels")
struct SVGChartTests {
    @Test("linear ticks are round, evenly spaced, cover the maximum, and each label is its value")
    func linearTicks() {
        for maximum in [0.3, 1, 1.9, 2.5, 7, 10, 99, 100, 101, 2_500, 99_999, 100_000, 123_456, 2e6, 5.9e7] {
            let axis = SVGChart.linearAxis(label: "x", maximum: maximum, format: { String(format: "%.6g", $0) })
            let values = axis.ticks.map(\.value)
            #expect(values.first == 0 && values.last! >= maximum, "\(maximum): \(values)")
            #expect((3...9).contains(values.count), "\(maximum): \(values.count) ticks")
            let step = values[1] - values[0]
            for (a, b) in zip(values, values.dropFirst()) { #expect(abs((b - a) - step) < step * 1e-9, "\(maximum): uneven \(values)") }
            let mantissa = step / pow(10, floor(log10(step)))
            #expect([1, 2, 2.5, 5].contains { abs($0 - mantissa) < 1e-9 }, "\(maximum): step \(step)")
            #expect(Set(axis.ticks.map(\.text)).count == axis.ticks.count, "\(maximum): repeated labels \(axis.ticks.map(\.text))")
        }
    }

    @Test("an integer axis of counts up to 1 reads 0 1, not 0 0 1 1 1; seconds at 0.25 s read 0.25 s")
    func integerAndSecondsLabels() {
        let counts = SVGChart.linearAxis(label: "retransmissions", maximum: 1, integer: true, format: { Format.grouped($0) })
        #expect(counts.ticks.map(\.text) == ["0", "1"])
        let three = SVGChart.linearAxis(label: "retransmissions", maximum: 3, integer: true, format: { Format.grouped($0) })
        #expect(three.ticks.map(\.text) == ["0", "1", "2", "3"])
        let step = SVGChart.niceStep(1.0 / 4, integer: false)
        let seconds = SVGChart.linearAxis(label: "s", maximum: 1, format: HTMLReport.secondsLabel(step: step))
        #expect(seconds.ticks.map(\.text) == ["0.00 s", "0.25 s", "0.50 s", "0.75 s", "1.00 s"])
        // A spread chart of retransmissions counted 0 and 1 shows only whole ticks.
        let chart = SVGChart.spread(id: "r", title: "retransmissions", axisLabel: "count", rows: [("a", SampleSummary([0, 1])!)],
                                    integer: true, format: { Format.grouped($0) })
        let ticks = chart.components(separatedBy: "class=\"tick\"").dropFirst().map { $0.split(separator: ">")[1].prefix { $0 != "<" } }
        #expect(ticks == ["0", "1"])
    }

    @Test("a latency axis turns logarithmic, and says why, only when the slowest value would flatten the rest")
    func latencyAxisScale() {
        let flat = SVGChart.latencyAxis(label: "latency", values: [100_000, 110_000, 120_000, 300_000], format: { Format.latency($0) })
        #expect(flat.axis.scale == .linear && flat.note == nil)
        let outlier = SVGChart.latencyAxis(label: "latency", values: [100_000, 110_000, 120_000, 59_000_000], format: { Format.latency($0) })
        #expect(outlier.axis.scale == .log && outlier.axis.label.contains("log scale"))
        #expect(outlier.note?.contains("59.00ms") == true && outlier.note?.contains("× the median") == true)
        #expect(outlier.axis.range.lowerBound <= 100_000 && outlier.axis.range.upperBound >= 59_000_000)
        // Ticks at powers of ten (with 2 and 5 between when the range is short), each at its own value.
        for tick in outlier.axis.ticks {
            let mantissa = tick.value / pow(10, floor(log10(tick.value)))
            #expect([1, 2, 5].contains { abs($0 - mantissa) < 1e-9 }, "\(tick)")
            #expect(tick.text == Format.latency(tick.value))
        }
        #expect(outlier.axis.position(outlier.axis.range.lowerBound) == 0 && abs(outlier.axis.position(outlier.axis.range.upperBound) - 1) < 1e-12)
    }

    @Test("axes over extreme figures (±1e308, infinities, NaN, a single value) are bounded and finite")
    func extremeAxes() {
        let format: (Double) -> String = { Format.grouped($0) }
        for (low, high) in [(0.0, 1e308), (-1e308, 1e308), (0, .infinity), (-.infinity, 5), (0, .nan), (.nan, .nan), (3, 3), (0, 0), (0, 1e-300)] {
            let axis = SVGChart.linearAxis(label: "x", minimum: low, maximum: high, integer: false, format: format)
            #expect(axis.ticks.count >= 2 && axis.ticks.count <= 13, "\(low)...\(high): \(axis.ticks.count) ticks")
            #expect(axis.ticks.allSatisfy { $0.value.isFinite } && axis.range.lowerBound.isFinite && axis.range.upperBound.isFinite)
            #expect(axis.position(high).isFinite || high.isNaN)
        }
        let log = SVGChart.logAxis(label: "x", minimum: 1, maximum: .greatestFiniteMagnitude, format: format)
        #expect(log.ticks.count < 400 && log.ticks.allSatisfy { $0.value.isFinite })
        let latency = SVGChart.latencyAxis(label: "x", values: [1, 2, 3, .greatestFiniteMagnitude, .nan, -1], format: { Format.latency($0) })
        #expect(latency.axis.scale == .log && latency.axis.ticks.allSatisfy { $0.value.isFinite })
        #expect(SVGChart.latencyAxis(label: "x", values: [], format: format).axis.ticks.count >= 2)
    }

    @Test("a text too long for its room is shortened with an ellipsis and keeps the whole text as its tooltip")
    func labelsFit() {
        let name = String(repeating: "tcp_nodelay=true, ", count: 10)
        let text = SVGChart.text(name, x: 10, y: 10, anchor: "start", room: 200, className: "legend")
        #expect(text.contains("…") && text.contains("<title>\(name)</title>"))
        #expect(SVGChart.textWidth(SVGChart.fit(name, room: 200)) <= 200)
        #expect(SVGChart.fit("short", room: 200) == "short")
        // The estimate errs wide: digits and capitals are counted at least as wide as a 12 px sans-serif draws them.
        #expect(SVGChart.textWidth("100,000/s") >= 50 && SVGChart.textWidth("99.999%") >= 42)
    }
}
