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
