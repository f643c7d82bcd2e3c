import Foundation
import Testing
@testable import SockBench

/// Issue 13.7, "no crash, no hang on any input", for numbers: every numeric key of a scenario and
/// every threshold gets extreme values (0, -1, 1e-300, 1e308, 2^63, 2^64, NaN, ±Infinity, 1e19,
/// 1e308k, 400 digits), with and without units. Each must be refused with one located line, or load
/// into a scenario whose derived numbers (plan, send schedule, interval clock, report, thresholds)
/// do not trap. A trap stops the test process: that is this suite failing.
@Suite("numbers: extreme values in every key, threshold and report figure")
struct NumberBoundsTests {
    static let numbers = ["0", "-1", "1e-300", "1e308", "9223372036854775808", "18446744073709551616", "NaN", "nan", ".nan", "Infinity",
                          "-Infinity", ".inf", "-.inf", "1e19", "1e308k", String(repeating: "9", count: 400), "0.0000001", "4294967296"]
    static let suffixes = ["", "k", "/s", "k/s", "/ms", "/m", "/s per connection", "ns", "ms", "s", "h", "KiB", "GiB", "B", "gbit", "kbit", "%"]
    /// Every number bare and with two units drawn by a fixed seed, and the values seen to crash:
    /// 64 values, the same on every run.
    static let values: [String] = {
        var generator = SeededGenerator(state: 0x5AF1_E5)
        return numbers.flatMap { number in [number] + (0..<2).map { _ in number + suffixes.randomElement(using: &generator)! } }
            + seen
    }()
    /// Values that crashed runs before their keys were range-checked.
    static let seen = ["100%", "1e-300/s", "0.0000001/s", "1e-300/s per connection", "1e308k", "1e20gbit", "1e19", "1e308/s", "1e6h", "1e17ns"]
    /// The impairment choices' forms too: `every N`, `1/N`.
    static let impairValues = values + numbers.flatMap { ["every \($0)", "1/\($0)"] }

    /// Scenarios each key is tried in: one per shape of load, so a key is read where it applies.
    struct Base {
        var name: String
        var server: [(String, String)]
        var load: [(String, String)]
        var conversation = false
    }

    static let bases: [Base] = [
        Base(name: "tcp closed loop", server: [("kind", "tcp-echo")], load: [("connections", "2"), ("threads", "2")]),
        Base(name: "tcp open loop", server: [("kind", "tcp-echo")], load: [("connections", "3"), ("threads", "2"), ("rate", "1000/s")]),
        Base(name: "udp open loop", server: [("kind", "udp-echo")], load: [("connections", "2"), ("rate", "1000/s")]),
        Base(name: "tcp-source stream", server: [("kind", "tcp-source")], load: [("direction", "download")]),
        Base(name: "idle pings", server: [("kind", "tcp-echo")], load: [("connections", "4"), ("pattern", "idle"), ("ping_interval", "1s")]),
        Base(name: "tcp-rr", server: [("kind", "tcp-rr"), ("response_size", "4KiB")], load: [("connections", "2"), ("connect_rate", "10/s")]),
        Base(name: "conversation", server: [("kind", "tcp-echo"), ("greeting", "hi\n")], load: [("connections", "1")], conversation: true),
    ]

    /// Quoted as a YAML double-quoted scalar, so any text stays one value.
    static func quoted(_ text: String) -> String { "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }

    /// `base` as a scenario file with `value` at `section.key` (replacing the base's own value).
    static func yaml(_ base: Base, section: String, key: String, value: String) -> String {
        func mapping(_ pairs: [(String, String)], _ name: String) -> [(String, String)] {
            guard section == name else { return pairs }
            return pairs.filter { $0.0 != key } + [(key, value)]
        }
        func flow(_ pairs: [(String, String)]) -> String { "{" + pairs.map { "\($0.0): \(quoted($0.1))" }.joined(separator: ", ") + "}" }
        var lines = ["name: numbers", "server: \(flow(mapping(base.server, "server")))",
                     "load: \(flow(mapping(base.load + [("duration", "1s"), ("warmup", "0")].filter { pair in !base.load.contains { $0.0 == pair.0 } }, "load")))"]
        for name in ["client", "capture", "impair"] where section == name { lines.append("\(name): \(flow([(key, value)]))") }
        if section == "" { lines.append("\(key): \(quoted(value))") }
        if base.conversation {
            lines.append("conversation:")
            let steps: [(String, String)] = [("expect", "hi\n"), ("send", "ping\n"), ("expect_regex", "^p[a-z]+\\n"), ("wait", "1ms")]
            for (step, text) in steps where !(section == "conversation" && step == key) { lines.append("  - \(step): \(quoted(text))") }
            if section == "conversation" { lines.append("  - \(key): \(quoted(value))") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Every key the loader reads, from its own tables, with the bases it is tried in.
    static var keys: [(section: String, key: String, bases: [Base])] {
        let tcpAndUDP = [bases[0], bases[2]]
        return [("", "repeat", [bases[0]])]
            + (ScenarioLoader.serverKeys + ScenarioLoader.optionKeys).map { ("server", $0, tcpAndUDP + [bases[5]]) }
            + ScenarioLoader.optionKeys.map { ("client", $0, tcpAndUDP) }
            + ScenarioLoader.loadKeys.map { ("load", $0, bases) }
            + ScenarioLoader.captureKeys.map { ("capture", $0, [bases[0]]) }
            + ImpairmentSpec.keys.map { ("impair", $0, tcpAndUDP) }
            + ScenarioLoader.stepKeys.map { ("conversation", $0, [bases[6]]) }
    }

    /// Loads `text`; on refusal checks the error is one `file:line:col: key: message` line.
    static func load(_ text: String) -> Scenario? {
        do {
            return try ScenarioLoader.load(text: text, path: "numbers.yaml")
        } catch {
            #expect(error.description.hasPrefix("numbers.yaml:\(error.line):\(error.column): "), "\(error.description)")
            #expect(error.line >= 1 && error.column >= 1 && error.key != nil && !error.message.isEmpty, "\(error.description)")
            #expect(!error.description.contains("\n"), "one line: \(error.description)")
            return nil
        }
    }

    @Test("every key from the loader's tables × 64 extreme values: a located error, or a scenario whose numbers do not trap")
    func everyKey() throws {
        let keys = Self.keys
        #expect(keys.count > 80, "the loader's tables list every key: \(keys.count)")
        var generator = SeededGenerator(state: 0x0E7_BE5)
        var loaded = 0, refused = 0
        var refusedKeys: Set<String> = []
        for (section, key, bases) in keys {
            for (index, base) in bases.enumerated() {
                // The first base gets every value; the others a seeded sample, to stay fast.
                let all = section == "impair" ? Self.impairValues : Self.values
                let values = index == 0 ? all : (0..<8).map { _ in all.randomElement(using: &generator)! }
                var reported = 0
                for value in values {
                    let text = Self.yaml(base, section: section, key: key, value: value)
                    if let scenario = Self.load(text) {
                        loaded += 1
                        // A report for the first that loads per key in each of the first two bases: rendering is the slow part.
                        try Self.exercise(scenario, reports: reported == 0 && index < 2)
                        reported += 1
                    } else {
                        refused += 1
                        refusedKeys.insert(section.isEmpty ? key : "\(section).\(key)")
                    }
                }
            }
        }
        #expect(loaded > 100 && refused > 5_000, "\(loaded) loaded, \(refused) refused")
        // Every key refuses something among these values (none takes 1e308 or NaN as it is), but
        // for the steps whose value is text to send or expect, where any of them is fine.
        let textKeys: Set = ["conversation.send", "conversation.expect", "conversation.expect_regex"]
        let all = Set(keys.map { $0.section.isEmpty ? $0.key : "\($0.section).\($0.key)" })
        #expect(all.subtracting(refusedKeys) == textKeys, "keys that took every value: \(all.subtracting(refusedKeys).sorted())")
    }

    /// The numbers a loaded scenario hands to the engine and the reports, driven as a run would.
    static func exercise(_ scenario: Scenario, reports: Bool) throws {
        let target = try SocketAddress(parsing: "127.0.0.1:9")
        for variant in scenario.runVariants {
            let scenario = variant.scenario
            var plan = LoadPlan(scenario: scenario, target: target)
            // LoadEngine's timeline, from a monotonic clock a year after boot.
            let now: UInt64 = 365 * 86_400 * 1_000_000_000
            plan.startTime = now
            plan.measureStart = now + scenario.load.warmupNanoseconds
            plan.endTime = plan.measureStart + scenario.load.durationNanoseconds
            let threads = max(1, min(scenario.load.threads, scenario.load.connections))
            for index in 0..<threads {
                let share = scenario.load.connections / threads + (index < scenario.load.connections % threads ? 1 : 0)
                if var schedule = SendSchedule(rate: plan.rate, share: share, of: plan.totalConnections, start: plan.startTime) {
                    for time in [now, now + 1, now + 1_000_000_000, plan.measureStart, plan.endTime, UInt64.max / 2, UInt64.max] {
                        let due = schedule.due(connection: share - 1, at: time)
                        _ = schedule.intended(connection: share - 1, sequence: due)
                        schedule.visitDue(at: time) { _ in }
                        #expect(schedule.nextDue >= now)
                    }
                }
                // The interval clock; its histograms take a while to set up, so with the reports only.
                if reports {
                    let recorder = IntervalRecorder(measureStart: plan.measureStart, length: plan.intervalLength)
                    for time in [plan.measureStart, plan.endTime, plan.endTime + plan.intervalLength] { recorder.roll(time, totals: IntervalTotals()) }
                }
            }
            _ = scenario.load.errorBudget?.allowed(attempts: .max)
            _ = scenario.impairment?.settings
            _ = [Quantity.formatDuration(scenario.load.durationNanoseconds), Quantity.formatDuration(scenario.load.thinkTimeNanoseconds),
                 scenario.load.rate.map { Quantity.formatRate($0.perSecond) }, scenario.load.connectRate.map(Quantity.formatRate)]
            guard reports else { continue }
            var report = Self.report(scenario, runs: Array(Self.extremeRuns(scenario).prefix(1)))
            report.comparison = nil
            _ = MarkdownReport.render(report)
            _ = TerminalSummary.render(report, directory: "reports/numbers")
            _ = CISummary.render(report: report)
        }
    }

    /// Runs of `scenario` whose figures are the largest and strangest a report file can hold.
    static func extremeRuns(_ scenario: Scenario) -> [RunResult] {
        [1e308, .infinity, .nan, 9.3e18, -1].enumerated().map { index, figure in
            var run = SyntheticRuns.run(repetition: index + 1, messagesPerSecond: 1000, latencyNs: 500_000)
            run.pattern = scenario.load.pattern
            run.transport = scenario.transport
            run.throughput = .init(messagesPerSecond: figure, bytesPerSecondSent: figure, bytesPerSecondReceived: figure)
            run.durationS = figure
            run.latencyNs.mean = figure
            run.latencyNs.p99 = .max
            run.latencyNs.max = .max
            run.errors.reset = .max
            run.errors.timeout = .max
            run.messages.sent = .max
            run.connections.established = .max
            run.cpu = .init(clientUserS: figure, clientSysS: figure)
            return run
        }
    }

    static func report(_ scenario: Scenario, runs: [RunResult]) -> Report {
        var report = Report(generatedAt: "2026-12-01T00:00:00Z", status: "ok", failure: nil, environment: .current(),
                            scenario: ScenarioRecord(scenario), runs: runs)
        report.thresholds = ThresholdResult.evaluate(scenario.thresholds, runs: runs)
        report.comparison = Comparison(compared: "numbers", entries: [.init(group: "", label: "a", runs: Array(runs.prefix(2))),
                                                                      .init(group: "", label: "b", runs: Array(runs.suffix(3)))])
        return report
    }

    @Test("a report whose every figure is 1e308, infinite, NaN, 9.3e18 or UInt64.max renders in Markdown, HTML, terminal and CI form")
    func extremeReport() {
        var scenario = Scenario(name: "t", server: ServerSpec(kind: .tcpEcho))
        scenario.thresholds = ["latency.p99 < 2ms", "errors.total == 0", "throughput > 10k"].compactMap { try? Threshold.parse($0).get() }
        let report = Self.report(scenario, runs: Self.extremeRuns(scenario))
        #expect(report.thresholds?.count == 3 && report.comparison != nil)
        let markdown = MarkdownReport.render(report)
        #expect(markdown.contains("1e+308") && markdown.contains("n/a"), "\(markdown.prefix(2000))")
        #expect(!HTMLReport.render(report).isEmpty)
        #expect(TerminalSummary.render(report, directory: "reports/t").contains("errors.total                                   a 1.84e+19"))
        #expect(!CISummary.render(report: report).isEmpty)
    }

    @Test("every report field as a threshold × the extreme values: parsed within ±1e18, or refused at its line; formatting never traps")
    func everyThreshold() throws {
        var generator = SeededGenerator(state: 0x7E5_0B0)
        var parsed = 0, refused = 0
        let runs = Self.extremeRuns(Scenario(name: "t", server: ServerSpec(kind: .tcpEcho)))
        for metric in ReportMetric.catalogue {
            var thresholds: [Threshold] = []
            for value in Self.values {
                let expression = "\(metric.name) < \(value)"
                switch Threshold.parse(expression) {
                case .success(let threshold):
                    parsed += 1
                    #expect(threshold.value.isFinite && abs(threshold.value) <= 1e18, "\(expression) gave \(threshold.value)")
                    _ = threshold.allowedText
                    thresholds.append(threshold)
                case .failure:
                    refused += 1
                    // A sample of the refusals goes through a scenario file: refused there too, at its line.
                    guard Int.random(in: 0..<20, using: &generator) == 0 else { continue }
                    let yaml = "name: t\nserver: {kind: tcp-echo}\nload: {connections: 1}\nthresholds:\n  - \(Self.quoted(expression))\n"
                    #expect(Self.load(yaml) == nil, "\(expression) is refused in a scenario too")
                }
            }
            let results = ThresholdResult.evaluate(thresholds, runs: runs)
            #expect(results.count == thresholds.count)
            for result in results { _ = result.message }
            var scenario = Scenario(name: "t", server: ServerSpec(kind: .tcpEcho))
            scenario.thresholds = thresholds
            _ = MarkdownReport.render(Self.report(scenario, runs: runs))
        }
        #expect(parsed > 100 && refused > 1_000, "\(parsed) parsed, \(refused) refused")
    }

    @Test("the numbers that crashed runs `validate` accepted are refused at their key")
    func seenCrashes() {
        let cases: [(yaml: String, key: String, says: String)] = [
            ("load: {connections: 1, rate: 1e-300/s}", "load.rate", "from 0.001/s to 1G/s"),
            ("load: {connections: 1, connect_rate: 0.0001/s}", "load.connect_rate", "from 0.001/s to 1G/s"),
            ("load: {connections: 100000, rate: 1M/s per connection}", "load.rate", "more than 1G/s in total"),
            ("load: {connections: 1}\nthresholds: ['errors.total < 1e19']", "thresholds[0]", "at most 1e18"),
            ("load: {connections: 1}\nthresholds: ['throughput > 1e308k']", "thresholds[0]", "at most 1e18"),
            ("load: {connections: 1}\nthresholds: ['udp.loss_percent < nan%']", "thresholds[0]", "at most 1e18"),
            ("load: {connections: 1}\nimpair: {rate: 1e20gbit}", "impair.rate", "8kbit to 1000gbit"),
            ("load: {connections: 1}\nimpair: {delay: 2h}", "impair.delay", "at most 3600s"),
            ("load: {connections: 1}\nimpair: {jitter: 1e6h}", "impair.jitter", "expected a duration"),
        ]
        for (body, key, says) in cases {
            do {
                _ = try ScenarioLoader.load(text: "name: c\nserver: {kind: tcp-echo}\n\(body)\n", path: "c.yaml")
                Issue.record("\(body) loaded")
            } catch {
                #expect(error.key == key, "\(error.description)")
                #expect(error.message.contains(says), "\(error.description)")
            }
        }
        // The smallest and largest rates still load.
        for rate in ["0.001/s", "0.06/m", "1000M/s", "1000/ms"] {
            #expect(Self.load("name: c\nserver: {kind: tcp-echo}\nload: {connections: 1, rate: \(rate)}\n") != nil, "\(rate)")
        }
    }

    @Test("a matrix of 7 keys × 600 values is refused with its size, computed without overflow")
    func matrixProduct() {
        let values = "[" + (1...600).map(String.init).joined(separator: ", ") + "]"
        let keys = ["client.so_sndbuf", "client.so_rcvbuf", "client.ip_tos", "load.message_size", "load.depth", "load.connections", "server.so_rcvbuf"]
        let yaml = "name: m\nserver: {kind: tcp-echo}\nload: {connections: 1}\nmatrix:\n" + keys.map { "  \($0): \(values)" }.joined(separator: "\n") + "\n"
        do {
            _ = try ScenarioLoader.load(text: yaml, path: "m.yaml")
            Issue.record("a 600^7 matrix loaded")
        } catch {
            #expect(error.description.hasPrefix("m.yaml:5:3: matrix: expands to 600 × 600 × 600 × 600 × 600 × 600 × 600 = 2.8e+19 variants; at most 64"), "\(error.description)")
        }
        // 600 × 600 fits an Int: the error gives the product.
        let two = "name: m\nserver: {kind: tcp-echo}\nload: {connections: 1}\nmatrix:\n  load.depth: \(values)\n  load.connections: \(values)\n"
        #expect(throws: ScenarioError.self) { try ScenarioLoader.load(text: two, path: "m.yaml") }
        do { _ = try ScenarioLoader.load(text: two, path: "m.yaml") } catch {
            #expect(error.message.contains("= 360000 variants"), "\(error.description)")
        }
    }

    @Test("conversions and formatters take any Double: NaN, infinities, 2^63, 2^64, 1e308")
    func conversions() {
        #expect(UInt64(saturating: .nan) == 0)
        #expect(UInt64(saturating: -1) == 0)
        #expect(UInt64(saturating: .infinity) == .max)
        #expect(UInt64(saturating: 18_446_744_073_709_551_616.0) == .max)
        #expect(UInt64(saturating: 9_223_372_036_854_775_808.0) == 1 << 63)
        #expect(UInt64(saturating: 1.9) == 1)
        #expect(Int(saturating: 1e308) == .max && Int(saturating: -.infinity) == .min && Int(saturating: .nan) == 0)
        #expect(UInt64.max.saturatingAdd(1) == .max && UInt64(2).saturatingAdd(3) == 5)
        var counts = ErrorCounts()
        counts.reset = .max
        counts.timeout = .max
        #expect(counts.total == .max)

        #expect(Format.grouped(1_234_567) == "1,234,567")
        #expect(Format.grouped(9.3e18) == "9.3e+18")
        #expect(Format.grouped(.nan) == "n/a" && Format.grouped(.infinity) == "n/a" && Format.grouped(-.infinity) == "n/a")
        #expect(Format.rate(1e308) == "1e+308/s")
        #expect(Format.latency(.infinity) == "n/a" && Format.latency(1e308) == "1e+299s")
        #expect(Format.latency(UInt64.max) == "18446744073.71s")
        #expect(Quantity.trim(1e20) == "1e+20" && Quantity.trim(2.5) == "2.5")
        for value in [0, -1, 1e-300, 1e308, -1e308, 9.3e18, 18_446_744_073_709_551_616.0, .nan, .infinity, -.infinity] {
            for metric in ReportMetric.catalogue { #expect(!metric.format(value).isEmpty) }
            #expect(!Format.bytes(value).isEmpty && !Format.bitRate(bytesPerSecond: value).isEmpty && !Format.seconds(value).isEmpty)
            #expect(!Format.percent(value).isEmpty && !ImpairmentSpec.formatBitRate(value).isEmpty && !Quantity.formatRate(value).isEmpty)
            #expect(!(SampleSummary([value, 1, value])?.median.description.isEmpty ?? true))
        }
        #expect(plural(UInt64.max, "connection") == "18446744073709551615 connections")
        // 100% of UInt64.max attempts is 2^64 as a Double, one past UInt64.max.
        #expect(ErrorBudget.percent(100).allowed(attempts: .max) == .max)
    }
}
