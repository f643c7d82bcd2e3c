import Foundation

/// Renders `report.html`: one self-contained page (inline CSS and SVG, no network, no fonts, no
/// script libraries) with the charts a reader wants beside the tables: the latency percentile
/// spectrum, throughput and p99 over time, the variants with their spread, and the packet evidence.
public enum HTMLReport {
    public static func render(_ report: Report) -> String {
        var body: [String] = []
        body.append("<h1>sockbench report: \(e(report.scenario.name))</h1>")
        if !report.scenario.description.isEmpty { body.append("<p class=\"description\">\(e(report.scenario.description))</p>") }
        let verdict = GateVerdict(report: report)
        body.append("<p class=\"verdict \(verdict.exitCode == 0 ? "pass" : "fail")\">\(e(verdict.line))</p>")
        let source = report.scenario.source == ScenarioLoader.commandLineSource ? "the command line" : "<code>\(e(report.scenario.source))</code>"
        body.append("<p class=\"meta\">Generated \(e(report.generatedAt)) by sockbench \(e(report.tool.version)) from \(source) "
            + "on \(e(report.environment.host)) (\(e(report.environment.kernel)), \(plural(report.environment.cpus, "CPU"))).</p>")
        if let command = report.scenario.command { body.append("<p class=\"meta\">Rerun: <code>\(e(command))</code></p>") }
        if let failure = report.failure { body.append("<p class=\"fail\">\(e(MarkdownReport.endingHeading(report))): \(e(failure))</p>") }
        if let results = report.thresholds, !results.isEmpty { body.append(thresholdTable(results)) }
        if let comparison = report.comparison { body.append(comparisonTables(comparison)) }
        body.append("<h2>Latency</h2>")
        body.append(spectrumChart(report.runs))
        if report.runs.contains(where: { !($0.steps ?? []).isEmpty }) {
            body.append("<h2>Steps</h2>")
            body.append(stepSpectrumChart(report.runs))
            body.append(stepTables(report.runs))
        }
        body.append("<h2>Over time</h2>")
        body.append(intervalChart(report.runs, id: "throughput-over-time", title: "Throughput per interval", label: "messages per second",
                                  kind: .count, value: { $0.messagesPerSecond }, format: { Format.grouped($0) }))
        body.append(intervalChart(report.runs, id: "p99-over-time", title: "p99 latency per interval", label: "p99 latency",
                                  kind: .latency, value: { $0.latencyNs.count > 0 ? Double($0.latencyNs.p99) : nil }, format: { Format.latency($0) }))
        if report.runs.contains(where: { $0.intervals?.contains { $0.tcpInfo != nil } ?? false }) {
            body.append(intervalChart(report.runs, id: "tcp-rtt-over-time", title: "TCP_INFO RTT per interval (median of sampled connections)",
                                      label: "smoothed RTT", kind: .latency, value: { $0.tcpInfo.map { Double($0.rttP50Ns) } }, format: { Format.latency($0) }))
            body.append(intervalChart(report.runs, id: "tcp-cwnd-over-time", title: "TCP_INFO congestion window per interval (median of sampled connections)",
                                      label: "snd_cwnd (segments)", kind: .count, value: { $0.tcpInfo.map { Double($0.sndCwndP50Segments) } },
                                      format: { Format.grouped($0) }))
        }
        if let trends = resourceTrendSection(report.runs) { body.append(trends) }
        body.append(eventSections(report.runs))
        body.append(impairmentSections(report.runs))
        body.append("<h2>Variants</h2>")
        body.append(spreadCharts(report.runs, metrics: ["throughput.messages_per_second", "latency.p99"], prefix: "variants"))
        body.append("<h2>Packet evidence</h2>")
        let captured = report.runs.contains { $0.capture?.analysis != nil }
        if captured {
            body.append(spreadCharts(report.runs, metrics: ["capture.segments_per_message.client_to_server",
                                                           "capture.segments_per_message.server_to_client",
                                                           "capture.handshake_rtt.p50", "capture.retransmissions"], prefix: "capture"))
        } else {
            let reason = report.runs.first?.capture?.details.reason ?? "the report has no capture"
            body.append("<p class=\"note\">No packet evidence: \(e(reason)).</p>")
        }
        body.append(runTable(report.runs))
        return page(title: "sockbench \(report.scenario.name)", body: body.joined(separator: "\n"))
    }

    static func page(title: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(e(title))</title>
        <style>
        body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
        h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: .2em; }
        table { border-collapse: collapse; margin: 1em 0; font-size: .92em; }
        th, td { border: 1px solid #ccc; padding: .3em .6em; text-align: right; } th:first-child, td:first-child { text-align: left; }
        th { background: #f4f4f4; }
        .verdict { font-weight: bold; padding: .5em .8em; border-radius: 4px; }
        .pass { background: #e6f4ea; color: #1e6b34; } .fail { background: #fde8e8; color: #9b1c1c; }
        .better { color: #1e6b34; font-weight: bold; } .worse { color: #9b1c1c; font-weight: bold; }
        .meta, .note { color: #555; }
        svg.chart { width: 100%; max-width: 760px; height: auto; display: block; margin: 1em 0; background: #fff; }
        svg .grid { stroke: #e5e5e5; } svg .plot { stroke: #999; }
        svg text { font-size: 12px; fill: #333; } svg .chart-title { font-size: 14px; font-weight: bold; } svg .caption { fill: #555; }
        </style>
        </head>
        <body>
        \(body)
        <script>
        // Records each chart's laid-out size (data-rendered="WxH"): what the headless-browser test reads.
        document.querySelectorAll("svg.chart").forEach(function (chart) {
          var box = chart.getBoundingClientRect();
          chart.setAttribute("data-rendered", Math.round(box.width) + "x" + Math.round(box.height));
        });
        // Records every chart text that reaches past its chart's edges (data-text-overflow on <body>).
        (function () {
          var texts = 0, over = [];
          document.querySelectorAll("svg.chart").forEach(function (chart) {
            var box = chart.getBoundingClientRect();
            chart.querySelectorAll("text").forEach(function (text) {
              var r = text.getBoundingClientRect();
              texts += 1;
              if (r.width > 0 && (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5)) {
                over.push(chart.id + ": " + text.textContent.slice(0, 60));
              }
            });
          });
          document.body.setAttribute("data-text-count", String(texts));
          document.body.setAttribute("data-text-overflow", over.join(" | "));
        })();
        </script>
        </body>
        </html>

        """
    }

    /// Latency against percentile on a log axis (HdrHistogram's percentile distribution plot),
    /// one line per variant from its repetitions' histograms merged, uncorrected figures dashed.
    static func spectrumChart(_ runs: [RunResult]) -> String {
        var series: [SVGChart.Series] = []
        for (index, (name, variantRuns)) in RunResult.byVariant(runs).enumerated() {
            if var line = percentileSeries(name, variantRuns.map(\.latencyNs)) { line.colour = index; series.append(line) }
            if var line = percentileSeries(name + " (uncorrected)", variantRuns.map(\.latencyUncorrectedNs), dashed: true) {
                line.colour = index
                series.append(line)
            }
        }
        guard !series.isEmpty else { return "<p class=\"note\">No latency was recorded.</p>" }
        let repeated = runs.contains { ($0.repetition ?? 1) > 1 }
        let openLoop = runs.contains { $0.latencyUncorrectedNs != nil }
        var caption = openLoop
            ? "Open loop: latency from each request's intended send time (solid), and from its actual send (dashed, what a closed-loop tool would show)."
            : "Closed loop: latency from each request's send to the last byte of its answer."
        if repeated { caption += " Each line merges its variant's repetitions (their histograms added)." }
        return spectrum(id: "latency-spectrum", title: "Latency by percentile", series: series, caption: caption)
    }

    /// The same spectrum per named conversation step: one line per step (and variant, when there
    /// are several), its repetitions' histograms merged; uncorrected figures are left to the tables.
    static func stepSpectrumChart(_ runs: [RunResult]) -> String {
        let variants = RunResult.byVariant(runs)
        var series: [SVGChart.Series] = []
        for (variant, variantRuns) in variants {
            for step in RunResult.stepNames(variantRuns) {
                let label = variants.count > 1 ? "\(variant): \(step)" : step
                if let line = percentileSeries(label, variantRuns.map { $0.step(named: step)?.latencyNs }) { series.append(line) }
            }
        }
        guard !series.isEmpty else { return "<p class=\"note\">No named step was answered.</p>" }
        return spectrum(id: "step-latency-spectrum", title: "Step latency by percentile", series: series)
    }

    /// The deepest percentile the spectrum shows, in nines (99.999%).
    static let spectrumNines = 5.0

    /// One spectrum line from the histograms of `summaries` merged; nil when none holds a sample.
    static func percentileSeries(_ name: String, _ summaries: [LatencySummary?], dashed: Bool = false) -> SVGChart.Series? {
        var merged = LatencyHistogram()
        for summary in summaries {
            guard let summary, summary.count > 0, let histogram = try? HistogramCodec.decode(summary.histogram) else { continue }
            merged.merge(histogram)
        }
        guard merged.count > 0 else { return nil }
        // Eight points per decade of 1/(1-p), up to 99.999%.
        let points = stride(from: 0.0, through: spectrumNines, by: 0.125).map { nines -> (x: Double, y: Double) in
            let percentile = 100 * (1 - pow(10, -nines))
            return (nines, Double(merged.percentile(percentile)))
        }
        return SVGChart.Series(name: name, points: points, dashed: dashed)
    }

    static func spectrum(id: String, title: String, series: [SVGChart.Series], caption: String? = nil) -> String {
        let x = SVGChart.Axis(label: "percentile (log scale of 1/(1-p))",
                              ticks: [(0, "0%"), (1, "90%"), (2, "99%"), (3, "99.9%"), (4, "99.99%"), (5, "99.999%")], range: 0...spectrumNines)
        let (y, note) = SVGChart.latencyAxis(label: "latency", values: series.flatMap(\.points).map(\.y)) { Format.latency($0) }
        let text = [caption, note.map { $0.prefix(1).uppercased() + $0.dropFirst() + "." }].compactMap(\.self).joined(separator: " ")
        return SVGChart.lines(id: id, title: title, x: x, y: y, series: series, caption: text.isEmpty ? nil : text)
    }

    /// report.md's Steps table for each run with named steps, headed by the run when there are several.
    static func stepTables(_ runs: [RunResult]) -> String {
        var out: [String] = []
        for run in runs {
            guard let steps = run.steps, !steps.isEmpty else { continue }
            if runs.count > 1 {
                out.append("<h3>\(e(run.variant))\(run.repetition.map { " (repetition \($0))" } ?? "")</h3>")
            }
            let openLoop = steps.contains { $0.latencyUncorrectedNs != nil }
            var table = "<table class=\"steps\"><tr><th>step</th><th>count</th><th>rate/s</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th>"
                + (openLoop ? "<th>p99 uncorrected</th>" : "") + "</tr>\n"
            for step in steps {
                let l = step.latencyNs
                let rate = run.durationS > 0 ? Format.rate(Double(step.count) / run.durationS) : "n/a"
                let figures = l.count == 0 ? Array(repeating: "", count: 5)
                    : [l.p50, l.p90, l.p99, l.p999, l.max].map { Format.latency($0) }
                table += "<tr><td>\(e(step.name))</td><td>\(step.count)</td><td>\(rate)</td>" + figures.map { "<td>\($0)</td>" }.joined()
                if openLoop { table += "<td>\(step.latencyUncorrectedNs.flatMap { $0.count == 0 ? nil : Format.latency($0.p99) } ?? "")</td>" }
                table += "</tr>\n"
            }
            out.append(table + "</table>")
        }
        return out.joined(separator: "\n")
    }

    enum FigureKind { case count, latency }

    /// An interval figure over the measured window: every repetition of every variant, each
    /// variant in its colour (later repetitions fainter, one legend line per variant).
    static func intervalChart(_ runs: [RunResult], id: String, title: String, label: String, kind: FigureKind,
                              value: (IntervalRecord) -> Double?, format: @escaping (Double) -> String) -> String {
        var series: [SVGChart.Series] = []
        var repeated = false
        for (index, (name, variantRuns)) in RunResult.byVariant(runs).enumerated() {
            var drawn = 0
            for run in variantRuns {
                // Intervals without the figure (no connection sampled) are left out of the line, not drawn as zero.
                guard let intervals = run.intervals?.filter({ value($0) != nil }), !intervals.isEmpty else { continue }
                let points = [(intervals[0].startS, value(intervals[0])!)] + intervals.map { ($0.endS, value($0)!) }
                let legend = variantRuns.count > 1 ? "\(name) (\(plural(variantRuns.count, "repetition")), one line each)" : name
                series.append(SVGChart.Series(name: drawn == 0 ? legend : "\(name), repetition \(run.repetition ?? drawn + 1)", points: points,
                                              colour: index, inLegend: drawn == 0, faded: drawn > 0))
                drawn += 1
            }
            repeated = repeated || drawn > 1
        }
        guard !series.isEmpty else { return "<p class=\"note\">No interval series in this report.</p>" }
        let end = series.flatMap(\.points).map(\.x).max() ?? 1
        let x = SVGChart.linearAxis(label: "seconds into the measured window", maximum: end, formatForStep: secondsLabel(step:))
        let values = series.flatMap(\.points).map(\.y)
        var notes: [String] = []
        if repeated { notes.append("Every repetition is drawn, in its variant's colour; repetitions after the first are fainter.") }
        let y: SVGChart.Axis
        switch kind {
        case .count:
            y = SVGChart.linearAxis(label: label, maximum: values.max() ?? 1, integer: true, format: format)
        case .latency:
            let (axis, note) = SVGChart.latencyAxis(label: label, values: values, format: format)
            y = axis
            if let note { notes.append(note.prefix(1).uppercased() + note.dropFirst() + ".") }
        }
        return SVGChart.lines(id: id, title: title, x: x, y: y, series: series, caption: notes.isEmpty ? nil : notes.joined(separator: " "))
    }

    /// Seconds with as many decimals as `step` needs, so 0.25 reads 0.25 s and not 0.2 s.
    static func secondsLabel(step: Double) -> (Double) -> String {
        let decimals = (0...6).first { abs((step * pow(10, Double($0))).rounded() - step * pow(10, Double($0))) < 1e-6 } ?? 6
        return { String(format: "%.\(decimals)f s", $0) }
    }

    /// One spread chart per metric: each variant's median and range over its repetitions.
    static func spreadCharts(_ runs: [RunResult], metrics: [String], prefix: String) -> String {
        var out: [String] = []
        for name in metrics {
            guard let metric = ReportMetric.named(name) else { continue }
            let rows = RunResult.byVariant(runs).compactMap { variant, variantRuns -> (label: String, summary: SampleSummary)? in
                SampleSummary(variantRuns.compactMap(metric.value)).map { (variant, $0) }
            }
            guard !rows.isEmpty else { continue }
            let id = "\(prefix)-" + name.replacingOccurrences(of: ".", with: "-").replacingOccurrences(of: "_", with: "-")
            let integer = metric.unit == .count || metric.unit == .perSecond
            // The metric's help covers both loops; a closed-loop report says only what applies to it.
            let openLoop = runs.contains { $0.latencyUncorrectedNs != nil }
            let label = openLoop ? metric.summary : metric.summary.replacingOccurrences(of: " (from the intended send in open loop)", with: " (closed loop: from each send)")
            out.append(SVGChart.spread(id: id, title: "\(metric.name): median and range per variant", axisLabel: label,
                                       rows: rows, integer: integer, format: metric.format))
        }
        return out.isEmpty ? "<p class=\"note\">No figures to compare.</p>" : out.joined(separator: "\n")
    }

    /// A run's name in a heading: its variant and repetition when the report has several runs.
    static func runName(_ run: RunResult, among runs: [RunResult]) -> String {
        guard runs.count > 1 else { return "" }
        return run.variant + (run.repetition.map { " (repetition \($0))" } ?? "")
    }

    /// The events of each run that had any: a timeline (one row per kind) and the table report.md has.
    static func eventSections(_ runs: [RunResult]) -> String {
        let eventful = runs.filter { !($0.events ?? []).isEmpty }
        guard !eventful.isEmpty else { return "" }
        var out = ["<h2>Events</h2>", "<p class=\"note\">Seconds from the start of the measured window (negative: in the warm-up).</p>"]
        for (number, run) in eventful.enumerated() {
            let events = run.events ?? []
            let name = runName(run, among: runs)
            if !name.isEmpty { out.append("<h3>\(e(name))</h3>") }
            let kinds = RunEvent.Kind.allCases.filter { kind in events.contains { $0.kind == kind } }
            let rows = kinds.map { kind in
                (label: kind.rawValue, points: events.filter { $0.kind == kind }.map { (at: $0.atS, text: String(format: "%.3f s: ", $0.atS) + $0.message) })
            }
            let start = min(0, events.map(\.atS).min() ?? 0), end = max(run.durationS, events.map(\.atS).max() ?? 0)
            let axis = SVGChart.linearAxis(label: "seconds into the measured window", minimum: start, maximum: end, formatForStep: secondsLabel(step:))
            out.append(SVGChart.timeline(id: "events-\(number + 1)", title: "Events" + (name.isEmpty ? "" : ": \(name)"), x: axis, rows: rows))
            var table = "<table class=\"events\"><tr><th>at</th><th>what</th><th>detail</th></tr>\n"
            for event in events {
                let what = event.category.map { "\(event.kind.rawValue) (\($0))" } ?? event.kind.rawValue
                table += "<tr><td>\(String(format: "%.3f s", event.atS))</td><td>\(e(what))</td><td style=\"text-align:left\">\(e(event.message))</td></tr>\n"
            }
            out.append(table + "</table>")
        }
        return out.joined(separator: "\n")
    }

    /// What the impairment proxy was told and what it injected, beside what each run measured.
    static func impairmentSections(_ runs: [RunResult]) -> String {
        let impaired = runs.filter { $0.impairment != nil }
        guard let first = impaired.first?.impairment else { return "" }
        var out = ["<h2>Impairment</h2>", "<p>Through the proxy at <code>\(e(first.proxy))</code>: \(e(MarkdownReport.impairmentSettings(first))).</p>"]
        for run in impaired {
            let name = runName(run, among: runs)
            if !name.isEmpty { out.append("<h3>\(e(name))</h3>") }
            guard let impairment = run.impairment, let rows = MarkdownReport.impairmentRows(impairment, run: run) else {
                out.append("<p class=\"note\">The proxy did not report what it injected.</p>")
                continue
            }
            out.append("<table><tr><th>injected</th><th>count</th><th>measured by the clients</th></tr>\n"
                + rows.map { "<tr>" + $0.map { "<td>\(e($0))</td>" }.joined() + "</tr>" }.joined(separator: "\n") + "</table>")
        }
        return out.joined(separator: "\n")
    }

    /// Memory and descriptors over each run long enough to judge (8 intervals or more).
    static func resourceTrendSection(_ runs: [RunResult]) -> String? {
        let judged = runs.filter { $0.resourceTrend != nil }
        guard !judged.isEmpty else { return nil }
        var out = "<h3>Resource trend</h3>\n<p class=\"note\">Median of the first quarter of the intervals against the last quarter; flat means memory grew "
            + "by less than \(Format.percent(ResourceTrend.flatGrowthPercent)) and descriptors did not grow.</p>\n"
            + "<table><tr><th>run</th><th>intervals</th><th>resident memory</th><th>growth</th><th>open descriptors</th><th>verdict</th></tr>\n"
        for run in judged {
            let trend = run.resourceTrend!
            let name = runName(run, among: runs)
            out += "<tr><td>\(e(name.isEmpty ? run.variant : name))</td><td>\(trend.intervals)</td>"
                + "<td>\(Format.bytes(Double(trend.residentFirstQuarterBytes))) → \(Format.bytes(Double(trend.residentLastQuarterBytes)))</td>"
                + "<td>\(trend.residentGrowthPercent >= 0 ? "+" : "")\(Format.percent(trend.residentGrowthPercent))</td>"
                + "<td>\(trend.descriptorsFirstQuarter) → \(trend.descriptorsLastQuarter)</td>"
                + "<td class=\"\(trend.flat ? "pass" : "fail")\">\(trend.flat ? "flat" : "growing")</td></tr>\n"
        }
        return out + "</table>"
    }

    static func thresholdTable(_ results: [ThresholdResult]) -> String {
        var out = "<h2>Thresholds</h2>\n<table><tr><th>threshold</th><th>variant</th><th>measured</th><th>result</th></tr>\n"
        for result in results {
            out += "<tr><td><code>\(e(result.expression))</code></td><td>\(e(result.variant))</td><td>\(e(result.message))</td>"
                + "<td class=\"\(result.passed ? "pass" : "fail")\">\(result.passed ? "pass" : "FAIL")</td></tr>\n"
        }
        return out + "</table>"
    }

    static func comparisonTables(_ comparison: Comparison) -> String {
        var out = "<h2>Comparison</h2>\n<p>Compared: <code>\(e(comparison.compared))</code>. Median [min–max] over the repetitions; change against the "
            + "group's first variant; verdict by \(e(comparison.method)) at p &lt; \(comparison.alpha).</p>\n"
        for note in comparison.notes { out += "<p class=\"note\">\(e(note))</p>\n" }
        for group in comparison.groups {
            if !group.name.isEmpty { out += "<h3>\(e(group.name))</h3>\n" }
            if let ranking = group.ranking, let by = group.rankedBy {
                out += "<p>Ranking by <code>\(e(by))</code>: " + ranking.enumerated().map { "\($0 + 1). \(e($1))" }.joined(separator: " · ")
                    + ". \(e(MarkdownReport.bestSentence(group)))</p>\n"
            }
            let variants = group.metrics.first?.cells.map(\.variant) ?? []
            out += "<table><tr><th>metric</th>" + variants.enumerated().map { "<th>\(e($1))\($0 == 0 ? " (baseline)" : "")</th>" }.joined() + "</tr>\n"
            for row in group.metrics {
                guard let metric = ReportMetric.named(row.metric) else { continue }
                out += "<tr><td>\(e(row.metric))</td>"
                for variant in variants {
                    guard let cell = row.cells.first(where: { $0.variant == variant }) else { out += "<td>n/a</td>"; continue }
                    let text = MarkdownReport.cellText(cell, metric: metric)
                    let style = cell.verdict == .better ? " class=\"better\"" : cell.verdict == .worse ? " class=\"worse\"" : ""
                    out += "<td\(style)>\(e(text))</td>"
                }
                out += "</tr>\n"
            }
            out += "</table>\n"
        }
        return out
    }

    static func runTable(_ runs: [RunResult]) -> String {
        var out = "<h2>Runs</h2>\n<table><tr><th>variant</th><th>repetition</th><th>messages/s</th><th>p50</th><th>p99</th><th>errors</th>"
            + "<th>segments/message →</th></tr>\n"
        for run in runs {
            let segments = run.capture?.analysis?.tcp?.segmentsPerMessage.map { String(format: "%.2f", $0.clientToServer) } ?? "n/a"
            out += "<tr><td>\(e(run.variant))</td><td>\(run.repetition.map(String.init) ?? "1")</td><td>\(Format.rate(run.throughput.messagesPerSecond))</td>"
                + "<td>\(Format.latency(run.latencyNs.p50))</td><td>\(Format.latency(run.latencyNs.p99))</td><td>\(run.errors.total)</td><td>\(segments)</td></tr>\n"
        }
        return out + "</table>\n<p class=\"note\">Every figure, per run, is in report.json and report.md beside this file.</p>"
    }

    static func e(_ text: String) -> String { SVGChart.escape(text) }
}
