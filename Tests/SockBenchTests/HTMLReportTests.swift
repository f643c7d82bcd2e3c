import Foundation
import Testing
@testable import SockBench

/// report.html in a real browser: headless Chromium loads the file (no network), lays it out,
/// and the test reads back every chart's rendered size; a screenshot is kept as an artifact.
@Suite("report.html in headless Chromium", .serialized)
struct HTMLReportTests {
    static let browser = ["chromium", "chromium-browser", "google-chrome"].lazy.compactMap(TestSupport.tool).first
    /// Where the screenshot is kept for a person (or CI) to look at.
    static let artifacts = TestSupport.packageRoot + "/.build/test-artifacts"

    @Test("a matrix run's report.html renders every chart with a real size", .enabled(if: browser != nil, "needs chromium (scripts/setup.sh --test installs it)"))
    func rendersChartsInChromium() throws {
        let work = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let scenario = work + "/html.yaml"
        try """
        name: html
        server: {kind: tcp-echo}
        load: {connections: 2, depth: 4, batch_writes: false, duration: 600ms, warmup: 100ms, interval: 200ms, rate: 4000/s}
        matrix:
          client.tcp_nodelay: [true, false]
        repeat: 2
        thresholds: ["errors.total == 0"]
        """.write(toFile: scenario, atomically: true, encoding: .utf8)
        let out = work + "/out"
        let run = try TestSupport.sockbench(["run", scenario, "--out", out, "--quiet"], timeout: 120)
        #expect(run.status == 0, "\(run.stderr)")
        let page = out + "/report.html"
        let html = try String(contentsOfFile: page, encoding: .utf8)
        // Self-contained: nothing fetched from anywhere.
        for outside in ["https://", "src=", "@import", "url("] {
            #expect(!html.contains(outside), "report.html refers to something outside itself: \(outside)")
        }
        #expect(!html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("http://"))

        let browser = try #require(Self.browser)
        let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1280,4000", "--virtual-time-budget=3000"]
        let dom = try TestSupport.program(browser, flags + ["--dump-dom", "file://" + page], timeout: 90)
        #expect(dom.status == 0, "\(dom.stderr.suffix(400))")
        var expected = ["latency-spectrum", "throughput-over-time", "p99-over-time", "variants-throughput-messages-per-second", "variants-latency-p99"]
        if TestSupport.canCapture { expected += ["capture-capture-segments-per-message-client-to-server", "capture-capture-handshake-rtt-p50"] }
        for id in expected {
            let size = try #require(Self.renderedSize(of: id, in: dom.stdout), "chart \(id) missing or not laid out")
            #expect(size.width >= 300 && size.height >= 100, "chart \(id) rendered at \(size.width)x\(size.height)")
        }
        // Corrected and uncorrected lines for each variant in the spectrum (open loop).
        #expect(dom.stdout.components(separatedBy: "(uncorrected)</title></polyline>").count == 3)

        try FileManager.default.createDirectory(atPath: Self.artifacts, withIntermediateDirectories: true)
        let png = Self.artifacts + "/report-html.png"
        try? FileManager.default.removeItem(atPath: png)
        let shot = try TestSupport.program(browser, flags + ["--screenshot=" + png, "file://" + page], timeout: 90)
        #expect(shot.status == 0, "\(shot.stderr.suffix(400))")
        let data = try Data(contentsOf: URL(fileURLWithPath: png))
        #expect(data.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]), "not a PNG")
        #expect(data.count > 50_000, "screenshot of \(data.count) bytes looks blank")
    }

    /// A report built to break a page: variant names longer than any label's room, rates near
    /// 100,000/s, a 59 ms outlier among 100 µs answers, three repetitions, events (one in the
    /// warm-up), an impairment and a resource trend.
    static func hardReport() -> Report {
        var runs: [RunResult] = []
        let names = ["tcp_nodelay=true, message_size=65536, so_sndbuf=4194304, client.tcp_keepidle=30",
                     "payload=" + String(repeating: "щ", count: 40) + "‰"]
        for repetition in 1...3 {
            for (index, name) in names.enumerated() {
                var run = SyntheticRuns.run(variant: name, repetition: repetition, messagesPerSecond: 99_500 + Double(index * 700), latencyNs: 100_000)
                var histogram = LatencyHistogram()
                histogram.record(100_000 + UInt64(index) * 20_000, count: 100_000)
                if repetition == 2 { histogram.record(59_000_000, count: 1) }
                run.latencyNs = histogram.summary
                run.durationS = 2.5
                run.intervals = (0..<10).map { step in
                    var interval = LatencyHistogram()
                    interval.record(repetition == 2 && step == 4 ? 59_000_000 : 100_000 + UInt64(step) * 1_000, count: 10)
                    return IntervalRecord(startS: Double(step) * 0.25, endS: Double(step + 1) * 0.25, messagesSent: 25_000, messagesReceived: 25_000,
                                          messagesPerSecond: 99_000 + Double(step * 150), bitsPerSecondSent: 5e7, bitsPerSecondReceived: 5e7,
                                          latencyNs: IntervalLatency(interval), errors: 0, connectionsEstablished: 2, connectionsOpen: 2,
                                          residentBytes: 40_000_000 + UInt64(step) * 1_000_000, openDescriptors: 12)
                }
                run.resourceTrend = ResourceTrend(run.intervals!)
                run.events = [RunEvent(atS: -0.2, kind: .error, category: "reset", message: "connection reset by peer during the warm-up, a long message that goes on"),
                              RunEvent(atS: 1.25, kind: .error, category: "timeout", message: "no answer within 5s"),
                              RunEvent(atS: 2.4, kind: .serverExited, message: "the reference server exited with status 1")]
                var injected = InjectedStatistics()
                injected.resets = 3
                injected.bytesToServer = 1_000_000
                run.impairment = ImpairmentRecord(proxy: "127.0.0.1:40000", spec: {
                    var spec = ImpairmentSpec()
                    spec.delayNanoseconds = 2_000_000
                    spec.resetAfterBytes = 100_000
                    return spec
                }(), injected: injected)
                runs.append(run)
            }
        }
        return SyntheticRuns.report(runs, name: "a report whose every label is too long for its place, on purpose")
    }

    /// Renders `page` at `width` px in headless Chromium: the DOM after the page's layout script ran.
    static func render(_ page: String, width: Int) throws -> String {
        let browser = try #require(Self.browser)
        let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=\(width),4000", "--virtual-time-budget=3000"]
        let dom = try TestSupport.program(browser, flags + ["--dump-dom", "file://" + page], timeout: 90)
        #expect(dom.status == 0, "\(dom.stderr.suffix(400))")
        return dom.stdout
    }

    /// The body's `data-NAME` attribute as the page's layout script set it.
    static func bodyAttribute(_ name: String, in dom: String) -> String? {
        guard let start = dom.range(of: "<body"), let end = dom[start.upperBound...].firstIndex(of: ">") else { return nil }
        let tag = dom[start.upperBound..<end]
        guard let attribute = tag.range(of: "data-\(name)=\"") else { return nil }
        return String(tag[attribute.upperBound...].prefix { $0 != "\"" })
    }

    @Test("no chart text leaves its chart at 800 or 1600 px, on a real run and on a report built to overflow; a control page shows the check fails",
          .enabled(if: browser != nil, "needs chromium (scripts/setup.sh --test installs it)"))
    func noTextOverflows() throws {
        let work = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let out = work + "/real"
        let run = try TestSupport.sockbench(["run", "scenarios/impaired-echo.yaml", "--duration", "600ms", "--out", out, "--quiet"], timeout: 120)
        #expect(run.status == 0 || run.status == 3, "\(run.stderr)")
        let hard = work + "/hard.html"
        let html = HTMLReport.render(Self.hardReport())
        try html.write(toFile: hard, atomically: true, encoding: .utf8)
        // What the hard report must show: every repetition, a log axis with its reason, the new sections.
        #expect(html.contains("Every repetition is drawn"))
        #expect(html.contains("(log scale)") && html.contains("Log scale:") && html.contains("× the median"))
        for section in ["<h2>Events</h2>", "<h2>Impairment</h2>", "<h3>Resource trend</h3>", "id=\"events-1\""] {
            #expect(html.contains(section), "\(section)")
        }
        #expect(html.contains("Closed loop: latency from each request's send"))
        #expect(!html.contains("Open loop"))
        #expect(!html.contains("in open loop"), "a closed-loop report's labels speak of open loop")

        try FileManager.default.createDirectory(atPath: Self.artifacts, withIntermediateDirectories: true)
        for (name, page) in [("real", out + "/report.html"), ("hard", hard)] {
            for width in [800, 1600] {
                let dom = try Self.render(page, width: width)
                let count = Int(Self.bodyAttribute("text-count", in: dom) ?? "") ?? 0
                #expect(count > 40, "\(name) at \(width) px: \(count) chart texts measured")
                let overflow = Self.bodyAttribute("text-overflow", in: dom)
                #expect(overflow == "", "\(name) at \(width) px: text past its chart: \(overflow ?? "no record")")
                let png = Self.artifacts + "/report-\(name)-\(width).png"
                try? FileManager.default.removeItem(atPath: png)
                let browser = try #require(Self.browser)
                let shot = try TestSupport.program(browser, ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                                             "--window-size=\(width),3000", "--screenshot=" + png, "file://" + page], timeout: 90)
                #expect(shot.status == 0 && FileManager.default.fileExists(atPath: png), "screenshot \(png)")
            }
        }

        // The control: a chart whose label is placed past its right edge must be reported.
        let control = work + "/control.html"
        let chart = SVGChart.opening(id: "control", title: "control", height: 100)
            + "<text class=\"tick\" x=\"740\" y=\"60\">this label runs past the edge</text></svg>"
        try HTMLReport.page(title: "control", body: chart).write(toFile: control, atomically: true, encoding: .utf8)
        let dom = try Self.render(control, width: 800)
        #expect(Self.bodyAttribute("text-overflow", in: dom)?.contains("control: this label runs past the edge") == true)
    }

    /// `data-rendered="WxH"` of the chart with this id, as the page's layout script recorded it.
    static func renderedSize(of id: String, in dom: String) -> (width: Int, height: Int)? {
        guard let tag = dom.range(of: "id=\"\(id)\"") else { return nil }
        let end = dom[tag.upperBound...].firstIndex(of: ">") ?? dom.endIndex
        let attributes = String(dom[dom[..<tag.lowerBound].lastIndex(of: "<")!..<end])
        guard let start = attributes.range(of: "data-rendered=\"") else { return nil }
        let value = attributes[start.upperBound...].prefix { $0 != "\"" }.split(separator: "x").compactMap { Int($0) }
        return value.count == 2 ? (value[0], value[1]) : nil
    }
}
