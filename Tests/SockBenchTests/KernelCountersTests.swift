import Foundation
import Testing
@testable import SockBench

/// The kernel's counters: parsing /proc/net/snmp, netstat and snmp6 (whatever they hold), the
/// window's deltas, the `kernel.*` threshold fields, and how report.md shows them.
@Suite("Kernel counters")
struct KernelCountersTests {
    static let snmp = """
    Ip: Forwarding DefaultTTL InReceives
    Ip: 1 64 12345
    Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors
    Tcp: 1 200 120000 -1 13 2 0 1 0 4040 2405 17 0 5 0
    Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
    Udp: 900 3 41 880 37 0 4 0 0
    UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
    UdpLite: 0 0 99 0 99 0 0 0 0
    """

    static let netstat = """
    TcpExt: SyncookiesSent ListenOverflows ListenDrops TCPTimeouts TCPSynRetrans AFutureCounter
    TcpExt: 0 7 9 2 4 123
    IpExt: InNoRoutes InOctets
    IpExt: 0 215087290
    """

    static let snmp6 = """
    Ip6InReceives                   \t4
    Udp6InDatagrams                 \t10
    Udp6InErrors                    \t6
    Udp6RcvbufErrors                \t5
    """

    @Test("header and value lines pair up by prefix; the nstat name is prefix + column; -1 and unknown columns are left out or kept apart")
    func parsesTables() {
        let counters = KernelCounters.parse(snmp: Self.snmp, netstat: Self.netstat, snmp6: Self.snmp6)
        #expect(counters["TcpRetransSegs"] == 17 && counters["TcpActiveOpens"] == 13 && counters["TcpOutRsts"] == 5)
        #expect(counters["TcpMaxConn"] == nil, "MaxConn is -1: not a counter")
        #expect(counters["UdpRcvbufErrors"] == 37 && counters["UdpLiteRcvbufErrors"] == 99, "UdpLite is its own MIB")
        #expect(counters["TcpExtListenOverflows"] == 7 && counters["TcpExtListenDrops"] == 9 && counters["TcpExtTCPSynRetrans"] == 4)
        #expect(counters["IpExtInOctets"] == 215_087_290 && counters["IpInReceives"] == 12_345)
        #expect(counters["Udp6InErrors"] == 6 && counters["Udp6RcvbufErrors"] == 5)
        // A column this version does not know is read, but reported nowhere.
        #expect(counters["TcpExtAFutureCounter"] == 123)
        let reported = counters.deltas(since: KernelCounters.parse(snmp: ""))
        #expect(reported.isEmpty, "nothing to subtract from: no deltas")
        #expect(!counters.deltas(since: counters).contains { $0.name == "TcpExtAFutureCounter" })
        // Without netstat or snmp6 (an old kernel, IPv6 off) the snmp counters are still there.
        #expect(KernelCounters.parse(snmp: Self.snmp)["TcpRetransSegs"] == 17)
    }

    @Test("malformed text never traps: a pair out of step is left out whole, the rest is read")
    func malformed() {
        let skewed = KernelCounters.parse(snmp: "Tcp: ActiveOpens PassiveOpens\nTcp: 1\nUdp: InErrors\nUdp: 3\n")
        #expect(skewed["TcpActiveOpens"] == nil && skewed["TcpPassiveOpens"] == nil)
        #expect(skewed["UdpInErrors"] == 3)
        for text in ["", "\n\n", "Tcp:", "Tcp:\nTcp:", ": 1 2\n: 3 4", "Tcp: A B\n", "Tcp: 1 2\nTcp: 3 4\nTcp: 5 6",
                     "no colon here\n1 2 3", "Tcp: A B\nUdp: 1 2\nTcp: 3 4", "Tcp: A\nTcp: 99999999999999999999999",
                     "Tcp: A\tB\nTcp: 1\t2", String(repeating: "TcpExt: X ", count: 10_000), "\u{0}\u{1}:\u{2}\n\u{0}:\u{3}"] {
            let counters = KernelCounters.parse(snmp: text, netstat: text, snmp6: text)
            _ = counters.deltas(since: KernelCounters.parse(snmp: Self.snmp, netstat: text))
        }
        #expect(KernelCounters.parse(snmp: "Tcp: A\tB\nTcp: 1\t2")["TcpB"] == 2, "tabs separate columns too")
        #expect(KernelCounters.parse(snmp: "Tcp: A\nTcp: 99999999999999999999999")["TcpA"] == nil, "beyond UInt64: left out")
        // Random damage to real files: any bytes in, no trap.
        var generator = SeededGenerator(state: 0x6E57A7)
        let original = Array((Self.snmp + "\n" + Self.netstat).utf8)
        for _ in 0..<300 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...20, using: &generator) {
                let index = Int.random(in: 0..<bytes.count, using: &generator)
                bytes[index] = [UInt8(ascii: ":"), UInt8(ascii: "\n"), UInt8(ascii: " "), UInt8(ascii: "-"), 0xFF,
                                UInt8.random(in: 0...255, using: &generator)].randomElement(using: &generator)!
            }
            let text = String(decoding: bytes, as: UTF8.self)
            _ = KernelCounters.parse(snmp: text, netstat: text, snmp6: text).deltas(since: KernelCounters.parse(snmp: Self.snmp))
        }
    }

    @Test("this machine's files read, with the counters the issue names")
    func readsThisHost() throws {
        let counters = try #require(KernelCounters.read(), "/proc/net/snmp is readable")
        for name in ["TcpRetransSegs", "TcpActiveOpens", "TcpExtListenOverflows", "TcpExtListenDrops", "TcpExtTCPSynRetrans", "UdpRcvbufErrors"] {
            #expect(counters[name] != nil, "\(name) read from /proc/net")
        }
        // Every reported name is spelled as this kernel spells it (a typo would never be read).
        let missing = KernelCounters.reported.map(\.name).filter { counters[$0] == nil }
        #expect(missing.isEmpty, "not in this kernel's files: \(missing)")
        #expect(Set(KernelCounters.reported.map(\.name)).count == KernelCounters.reported.count, "no name listed twice")
    }

    @Test("deltas: in reported order, a counter that went down rises by 0, one missing from either reading is left out")
    func deltas() {
        let before = KernelCounters(values: ["TcpRetransSegs": 10, "TcpExtListenOverflows": 5, "UdpInErrors": 7, "TcpOutRsts": .max])
        let after = KernelCounters(values: ["TcpRetransSegs": 4, "TcpExtListenOverflows": 42, "TcpOutRsts": .max, "TcpActiveOpens": 9])
        let deltas = after.deltas(since: before)
        #expect(deltas == [KernelCounterDelta(name: "TcpExtListenOverflows", delta: 37), KernelCounterDelta(name: "TcpRetransSegs", delta: 0),
                           KernelCounterDelta(name: "TcpOutRsts", delta: 0)])
        let wrapped = KernelCounters(values: ["TcpRetransSegs": 0]).deltas(since: KernelCounters(values: ["TcpRetransSegs": .max]))
        #expect(wrapped == [KernelCounterDelta(name: "TcpRetransSegs", delta: 0)])
        let full = KernelCounters(values: ["TcpRetransSegs": .max]).deltas(since: KernelCounters(values: ["TcpRetransSegs": 0]))
        #expect(full == [KernelCounterDelta(name: "TcpRetransSegs", delta: .max)])
    }

    @Test("JSON keeps the nstat names as written: names are values, out of reach of any key-encoding strategy")
    func jsonNames() throws {
        var run = SyntheticRuns.run(messagesPerSecond: 1_000, latencyNs: 1_000)
        run.kernelCounters = [KernelCounterDelta(name: "TcpExtListenOverflows", delta: 3)]
        let data = try JSONEncoder.snakeCase.encode(run)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let counters = try #require(object["kernel_counters"] as? [[String: Any]])
        #expect(counters.count == 1 && counters[0]["name"] as? String == "TcpExtListenOverflows" && counters[0]["delta"] as? Int == 3)
        let decoded = try JSONDecoder.snakeCase.decode(RunResult.self, from: data)
        #expect(decoded.kernelCounters == run.kernelCounters)
    }

    // MARK: Thresholds

    static func run(_ counters: [String: UInt64]?) -> RunResult {
        var run = SyntheticRuns.run(messagesPerSecond: 1_000, latencyNs: 1_000)
        run.kernelCounters = counters.map { values in
            KernelCounters.reported.compactMap { counter in values[counter.name].map { KernelCounterDelta(name: counter.name, delta: $0) } }
        }
        return run
    }

    @Test("kernel.NAME is a threshold field for every reported counter, valued by its rise over the window")
    func thresholdFields() throws {
        let threshold = try Threshold.parse("kernel.TcpExtListenOverflows == 0").get()
        #expect(threshold.metric == "kernel.TcpExtListenOverflows" && threshold.comparison == .equal && threshold.value == 0)
        for counter in KernelCounters.reported {
            let metric = try #require(ReportMetric.named("kernel." + counter.name))
            #expect(metric.unit == .count && metric.better == (counter.symptom ? .lower : .neutral))
            #expect(metric.value(in: Self.run([counter.name: 12])) == 12)
        }
        #expect(ReportMetric.named("kernel.TcpExtListenOverflows")?.better == .lower)
        #expect(ReportMetric.named("kernel.TcpOutSegs")?.better == .neutral)
        let overflowed = Self.run(["TcpExtListenOverflows": 37, "TcpRetransSegs": 0])
        let results = ThresholdResult.evaluate(
            try ["kernel.TcpExtListenOverflows == 0", "kernel.TcpRetransSegs == 0", "kernel.TcpExtListenOverflows > 10k"].map { try Threshold.parse($0).get() },
            runs: [overflowed])
        #expect(results.map(\.passed) == [false, true, false])
        #expect(results[0].message == "measured 37, allowed == 0")
        // A run without the counters (an old report, /proc unreadable): fails and says so, never passes.
        let none = ThresholdResult.evaluate([threshold], runs: [Self.run(nil)])
        #expect(none.count == 1 && !none[0].passed && none[0].measured == nil && none[0].message.contains("no value"))
        // Also a compare/check field.
        #expect(try Tolerance.parse("kernel.TcpRetransSegs=+10%").get().order == ["kernel.TcpRetransSegs"])
    }

    @Test("an unknown kernel counter is refused with a suggestion; case matters, as in nstat")
    func unknownCounter() {
        func message(_ text: String) -> String {
            guard case .failure(let error) = Threshold.parse(text) else { return "parsed" }
            return error.message
        }
        #expect(message("kernel.TcpExtListenOverflow == 0")
            .hasPrefix("'kernel.TcpExtListenOverflow' is not a kernel counter sockbench reports; did you mean 'kernel.TcpExtListenOverflows'?"))
        #expect(message("kernel.tcpextlistenoverflows == 0").contains("did you mean 'kernel.TcpExtListenOverflows'?"))
        #expect(message("kernel.Nonsense == 0").contains("kernel.NAME takes an nstat name such as kernel.TcpRetransSegs"))
        #expect(message("kernel. == 0").contains("is not a kernel counter"))
        #expect(message("kernel.TcpExtListenOverflows == lots").contains("is not a value for kernel.TcpExtListenOverflows"))
        if case .success = Tolerance.parse("kernel.Nope=+5%") { Issue.record("a tolerance on an unknown counter parsed") }
    }

    @Test("the loader refuses an unknown kernel.X at its line, naming file, line and key")
    func loaderRefusal() {
        let text = """
        name: t
        server: {kind: tcp-echo}
        load: {duration: 1s}
        thresholds:
          - kernel.TcpExtListenOverflows == 0
          - kernel.TcpExtListenOverflow == 0
        """
        do {
            _ = try ScenarioLoader.load(text: text, path: "t.yaml")
            Issue.record("loaded")
        } catch {
            #expect(error.line == 6 && error.key == "thresholds[1]")
            #expect(error.description.hasPrefix("t.yaml:6:5: thresholds[1]: 'kernel.TcpExtListenOverflow' is not a kernel counter sockbench reports; "
                + "did you mean 'kernel.TcpExtListenOverflows'?"), "\(error.description)")
            #expect(!error.description.contains("\n"), "one line")
        }
        #expect((try? ScenarioLoader.load(text: text.replacingOccurrences(of: "ListenOverflow ==", with: "ListenDrops =="), path: "t.yaml")) != nil)
    }

    // MARK: report.md

    @Test("report.md lists only the counters that rose, with what they count and that they are the namespace's")
    func markdownSection() {
        let counters = [KernelCounterDelta(name: "TcpActiveOpens", delta: 0), KernelCounterDelta(name: "TcpExtListenOverflows", delta: 37),
                        KernelCounterDelta(name: "TcpExtListenDrops", delta: 37)]
        let section = MarkdownReport.kernelCounterSection(counters)
        #expect(section.contains("| TcpExtListenOverflows | 37 | SYNs or handshake ACKs a listener refused because its accept queue was full (backlog) |"))
        #expect(section.contains("| TcpExtListenDrops | 37 |") && !section.contains("TcpActiveOpens"))
        #expect(section.contains("every socket of the network namespace") && section.contains("all 3 are in report.json"))
        let quiet = MarkdownReport.kernelCounterSection([KernelCounterDelta(name: "TcpActiveOpens", delta: 0)])
        #expect(quiet.contains("None of the 1 counters read rose.") && !quiet.contains("| counter |"))
        var run = Self.run(["TcpExtListenOverflows": 5])
        run.tcpInfo = nil
        #expect(MarkdownReport.render(run).contains("### Kernel counters"))
        #expect(!MarkdownReport.render(Self.run(nil)).contains("### Kernel counters"))
        var warmup = WarmupRecord(durationS: 1, errors: ErrorCounts())
        warmup.kernelCounters = counters
        #expect(MarkdownReport.warmupSection(warmup).contains("- kernel counters: TcpExtListenOverflows +37, TcpExtListenDrops +37 (namespace-wide)"))
        #expect(MarkdownReport.risenCounters([KernelCounterDelta(name: "TcpActiveOpens", delta: 0)]) == "none rose")
    }

    @Test("the terminal names the symptoms that rose, volume never; a clean run prints no kernel line")
    func terminalLine() {
        #expect(TerminalSummary.kernelLine(nil) == nil)
        #expect(TerminalSummary.kernelLine([KernelCounterDelta(name: "TcpOutSegs", delta: 900), KernelCounterDelta(name: "TcpRetransSegs", delta: 0)]) == nil)
        let names = ["TcpExtListenOverflows", "TcpExtListenDrops", "TcpRetransSegs", "TcpExtTCPSynRetrans", "TcpExtTCPTimeouts", "TcpOutRsts"]
        let line = TerminalSummary.kernelLine([KernelCounterDelta(name: "TcpInSegs", delta: 5)] + names.map { KernelCounterDelta(name: $0, delta: 3) })
        #expect(line == "  kernel       TcpExtListenOverflows +3, TcpExtListenDrops +3, TcpRetransSegs +3, TcpExtTCPSynRetrans +3, 2 more "
            + "(namespace-wide counters; report.md lists them)")
    }

    @Test("docs/report.md lists every reported counter; docs/ci.md names the kernel.NAME field")
    func documented() throws {
        let report = try String(contentsOfFile: TestSupport.packageRoot + "/docs/report.md", encoding: .utf8)
        let missing = KernelCounters.reported.filter { !report.contains("| `\($0.name)` |") }.map(\.name)
        #expect(missing.isEmpty, "not in docs/report.md: \(missing)")
        let ci = try String(contentsOfFile: TestSupport.packageRoot + "/docs/ci.md", encoding: .utf8)
        #expect(ci.contains("`kernel.NAME`"))
    }
}
