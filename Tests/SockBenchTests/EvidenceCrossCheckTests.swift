import Testing
@testable import SockBench

/// The cross-check of the capture, TCP_INFO and the kernel's counters, and TCP_INFO sampled per
/// interval: pure figures in, verdicts and series out.
@Suite("TCP_INFO, capture and kernel counters side by side")
struct EvidenceCrossCheckTests {
    typealias Check = EvidenceCrossCheck

    static func retransmissions(capture: UInt64? = nil, dropped: UInt64? = nil, tcpInfo: UInt64? = nil, kernel: UInt64? = nil) -> Check.Agreement? {
        Check(retransmissions: .init(capture: capture, captureDropped: dropped, tcpInfo: tcpInfo, kernel: kernel), roundTrip: .init())
            .retransmissionAgreement
    }

    @Test("retransmissions: equal figures agree; nested scopes are consistent and say what the difference is")
    func retransmissionsAgree() throws {
        #expect(Self.retransmissions(capture: 0, tcpInfo: 0, kernel: 0) == .agree)
        #expect(Self.retransmissions(capture: 12, tcpInfo: 12) == .agree)
        #expect(Self.retransmissions(tcpInfo: 3, kernel: 3) == .agree)
        #expect(Self.retransmissions(capture: 3) == nil, "one witness compares with nothing")
        #expect(Self.retransmissions() == nil)
        // The server's own retransmissions are on the wire but not in the client's TCP_INFO.
        let server = try #require(Self.retransmissions(capture: 12, tcpInfo: 4, kernel: 12))
        #expect(server == .consistent("the capture's 12 include 8 the server sent (TCP_INFO counts the client's own)"))
        #expect(server.text.hasPrefix("consistent: "))
        // Other sockets of the namespace count in the kernel's figure.
        #expect(Self.retransmissions(capture: 2, tcpInfo: 2, kernel: 9)
            == .consistent("the kernel's 9 include 7 from sockets other than the captured flows (the server's, or other traffic in the namespace)"))
        #expect(Self.retransmissions(tcpInfo: 2, kernel: 5)?.text.contains("other than the client's sockets") == true)
    }

    @Test("retransmissions: an order the scopes cannot give differs, with the likely reason")
    func retransmissionsDiffer() throws {
        // The capture's inferred count above what every socket of the namespace resent (issue 14's port reuse).
        let inferred = try #require(Self.retransmissions(capture: 12, tcpInfo: 0, kernel: 0))
        #expect(inferred.text.hasPrefix("differ: capture 12, kernel 0 — ") && inferred.text.contains("reused port"))
        let dropped = try #require(Self.retransmissions(capture: 1, dropped: 40, tcpInfo: 5))
        #expect(dropped.text == "differ: TCP_INFO 5, capture 1 — the capture's buffer dropped 40 packets")
        let unseen = try #require(Self.retransmissions(capture: 0, dropped: 0, tcpInfo: 5, kernel: 5))
        #expect(unseen.text.hasPrefix("differ: TCP_INFO 5, capture 0 — the capture calls a segment resent only when it saw the original"))
        let drain = try #require(Self.retransmissions(tcpInfo: 6, kernel: 2))
        #expect(drain.text.hasPrefix("differ: TCP_INFO 6, kernel 2 — TCP_INFO is read as each connection closes"))
    }

    @Test("retransmissions with a capture of windows: fewer on the wire is consistent and says how much was seen; more than the kernel still differs")
    func captureWindows() throws {
        func check(capture: UInt64, tcpInfo: UInt64, kernel: UInt64?) -> Check.Agreement? {
            Check(retransmissions: .init(capture: capture, tcpInfo: tcpInfo, kernel: kernel, captureCovered: (0.3, 3)), roundTrip: .init())
                .retransmissionAgreement
        }
        #expect(check(capture: 1, tcpInfo: 9, kernel: 9)
            == .consistent("the capture saw 0.300 s of the 3.000 s window (capture.mode: windows), TCP_INFO and the kernel all of it"))
        #expect(check(capture: 4, tcpInfo: 4, kernel: 4) == .agree)
        #expect(check(capture: 5, tcpInfo: 0, kernel: 2)?.text.hasPrefix("differ: capture 5, kernel 2") == true)
        var run = SyntheticRuns.run(messagesPerSecond: 1_000, latencyNs: 1_000)
        run.durationS = 3
        var details = CaptureRecord.Details(status: .captured)
        details.mode = CaptureSpec.Mode.windows.rawValue
        details.windows = [.init(startS: 1.35, endS: 1.5), .init(startS: 2.85, endS: 3)]
        run.capture = CaptureRecord(details: details, analysis: nil)
        let covered = try #require(Check.captureCoverage(run))
        #expect(abs(covered.seconds - 0.3) < 1e-9 && covered.of == 3)
        details.mode = CaptureSpec.Mode.full.rawValue
        run.capture = CaptureRecord(details: details, analysis: nil)
        #expect(Check.captureCoverage(run) == nil)
    }

    static func rtt(tcpInfo: UInt64?, dataToAck: UInt64? = nil, handshake: UInt64? = nil) -> Check.Agreement? {
        Check(retransmissions: .init(), roundTrip: .init(tcpInfo: tcpInfo, dataToAck: dataToAck, handshake: handshake)).roundTripAgreement
    }

    @Test("RTT: within a factor of 2 agree; within 100 µs is consistent (scheduling noise); beyond both differ, saying which is higher")
    func roundTrip() throws {
        #expect(Self.rtt(tcpInfo: 50_000, dataToAck: 40_000) == .agree)
        #expect(Self.rtt(tcpInfo: 1_000_000, dataToAck: 600_000, handshake: 10) == .agree, "data → ACK is preferred to the handshake")
        #expect(Self.rtt(tcpInfo: 30_000, handshake: 45_000) == .agree, "the handshake when no data was timed")
        #expect(Self.rtt(tcpInfo: nil, dataToAck: 1) == nil && Self.rtt(tcpInfo: 5) == nil)
        let noise = try #require(Self.rtt(tcpInfo: 83_000, dataToAck: 16_500))
        #expect(noise == .consistent("66.5µs apart, within the 100.0µs a scheduling delay moves either figure by on a shared machine"))
        let kernelHigher = try #require(Self.rtt(tcpInfo: 5_000_000, dataToAck: 40_000))
        #expect(kernelHigher.text.hasPrefix("differ: TCP_INFO 5.00ms, capture data → ACK 40.0µs — srtt is smoothed"))
        let wireHigher = try #require(Self.rtt(tcpInfo: 60_000, handshake: 40_000_000))
        #expect(wireHigher.text.hasPrefix("differ: capture handshake 40.00ms, TCP_INFO 60.0µs — "))
        #expect(Self.rtt(tcpInfo: 0, dataToAck: 0) == .agree, "two zeros are equal, not a division by zero")
        // TCP_INFO sampled during the window is compared when there is one, not the value read after the drain.
        let window = Check(retransmissions: .init(), roundTrip: .init(tcpInfo: 5_000_000, tcpInfoOverWindow: 30_000, dataToAck: 40_000))
        #expect(window.roundTripAgreement == .agree)
        #expect([UInt64]().lowerMedian == nil && [UInt64]([9, 1, 5, 7]).lowerMedian == 5)
        #expect(Self.rtt(tcpInfo: .max, dataToAck: 0) != nil)
    }

    @Test("a run's witnesses: TCP_INFO's window retransmissions, TcpRetransSegs, the capture's client data → ACK")
    func fromRun() throws {
        var run = SyntheticRuns.run(messagesPerSecond: 1_000, latencyNs: 1_000)
        #expect(Check(run) == nil, "no TCP_INFO: nothing to cross-check")
        var rtt = LatencyHistogram()
        rtt.record(50_000)
        var accumulator = TCPInfoAccumulator()
        accumulator.add(TCPInfo(rttNanoseconds: 50_000, rttVarianceNanoseconds: 5_000, retransmits: 0, totalRetransmissions: 3,
                                sendCongestionWindow: 10, lost: 0, reordering: 3))
        run.tcpInfo = accumulator.summary
        run.kernelCounters = [KernelCounterDelta(name: "TcpOutRsts", delta: 1), KernelCounterDelta(name: "TcpRetransSegs", delta: 3)]
        let check = try #require(Check(run))
        #expect(check.retransmissions == .init(capture: nil, captureDropped: nil, tcpInfo: 3, kernel: 3))
        #expect(check.roundTrip == .init(tcpInfo: 50_000, dataToAck: nil, handshake: nil) && check.roundTripAgreement == nil)
        var sampled = IntervalRecord(startS: 0, endS: 1, messagesSent: 1, messagesReceived: 1, messagesPerSecond: 1, bitsPerSecondSent: 0,
                                     bitsPerSecondReceived: 0, latencyNs: IntervalLatency(LatencyHistogram()), latencyUncorrectedNs: nil, errors: 0,
                                     errorsByCategory: nil, connectionsEstablished: 0, connectionsOpen: 1, residentBytes: 0, openDescriptors: 0)
        sampled.tcpInfo = IntervalTCPInfo(sampledConnections: 1, rttP50Ns: 20_000, rttMaxNs: 20_000, rttvarP50Ns: 1, sndCwndP50Segments: 10,
                                          sndCwndMinSegments: 10, totalRetrans: 0, retransmits: 0, lost: 0)
        var withIntervals = run
        withIntervals.intervals = [sampled, sampled, sampled]
        #expect(try #require(Check(withIntervals)).roundTrip.tcpInfoOverWindow == 20_000)
        let section = try #require(MarkdownReport.crossCheckSection(check))
        #expect(section.contains("| retransmitted segments | – | 3 (client sends) | 3 (TcpRetransSegs) | agree |"))
        #expect(!section.contains("RTT p50"), "no capture: no RTT row")
        #expect(MarkdownReport.render(run).contains("### Cross-check: capture, TCP_INFO and kernel counters"))
        run.kernelCounters = nil
        #expect(MarkdownReport.crossCheckSection(try #require(Check(run))) == nil, "TCP_INFO alone: no row")
    }

    // MARK: TCP_INFO per interval

    static func info(rtt: UInt64, cwnd: UInt64, lost: UInt64 = 0, retransmits: UInt64 = 0) -> TCPInfo {
        TCPInfo(rttNanoseconds: rtt, rttVarianceNanoseconds: rtt / 4, retransmits: retransmits, totalRetransmissions: 0,
                sendCongestionWindow: cwnd, lost: lost, reordering: 3)
    }

    @Test("an interval's TCP_INFO: lower medians of what was read, sums of retransmitted and lost; nothing read, no figure")
    func intervalFigures() throws {
        #expect(IntervalTCPInfo(samples: [], retransmissions: 5) == nil)
        let samples = [Self.info(rtt: 30_000, cwnd: 10, lost: 1), Self.info(rtt: 10_000, cwnd: 40), Self.info(rtt: 90_000, cwnd: 20, retransmits: 2),
                       Self.info(rtt: 20_000, cwnd: 5, lost: 2)]
        let figures = try #require(IntervalTCPInfo(samples: samples, retransmissions: 7))
        #expect(figures == IntervalTCPInfo(sampledConnections: 4, rttP50Ns: 20_000, rttMaxNs: 90_000, rttvarP50Ns: 5_000, sndCwndP50Segments: 10,
                                           sndCwndMinSegments: 5, totalRetrans: 7, retransmits: 2, lost: 3))
        #expect(IntervalTCPInfo(samples: [Self.info(rtt: 7, cwnd: 1)], retransmissions: 0)?.rttP50Ns == 7)
    }

    @Test("a worker's sample holds at most 16 connections and keeps its storage across intervals")
    func sampleLimit() {
        var sample = IntervalTCPSamples()
        for index in 0..<40 { sample.add(Self.info(rtt: UInt64(index), cwnd: 10), retransmitted: 1) }
        #expect(sample.connections.count == IntervalTCPSamples.limit && sample.retransmissions == 16 && sample.isFull)
        let capacity = sample.connections.capacity
        sample.reset()
        #expect(sample.connections.isEmpty && sample.retransmissions == 0 && sample.connections.capacity == capacity)
    }

    @Test("report.md's interval table and intervals.csv carry the series; a row without a sample stays empty")
    func renderedSeries() throws {
        var run = SyntheticRuns.run(messagesPerSecond: 1_000, latencyNs: 1_000)
        let figures = IntervalTCPInfo(sampledConnections: 2, rttP50Ns: 45_000, rttMaxNs: 50_000, rttvarP50Ns: 9_000, sndCwndP50Segments: 10,
                                      sndCwndMinSegments: 10, totalRetrans: 1, retransmits: 0, lost: 0)
        var first = IntervalRecord(startS: 0, endS: 1, messagesSent: 1, messagesReceived: 1, messagesPerSecond: 1, bitsPerSecondSent: 0,
                                   bitsPerSecondReceived: 0, latencyNs: IntervalLatency(LatencyHistogram()), latencyUncorrectedNs: nil, errors: 0,
                                   errorsByCategory: nil, connectionsEstablished: 0, connectionsOpen: 2, residentBytes: 0, openDescriptors: 0)
        var second = first
        (second.startS, second.endS) = (1, 2)
        first.tcpInfo = figures
        run.intervals = [first, second]
        let table = MarkdownReport.intervalSection(run.intervals!)
        #expect(table.contains("| rtt p50 | snd_cwnd p50 | retrans. |") && table.contains("| 45.0µs | 10 | 1 |"))
        #expect(table.hasSuffix("| 0 | 2 | | | |"), "\(table)")
        let csv = IntervalCSV.render(SyntheticRuns.report([run])).split(separator: "\n", omittingEmptySubsequences: false)
        let header = csv[0].split(separator: ",", omittingEmptySubsequences: false)
        for row in csv[1...2] { #expect(row.split(separator: ",", omittingEmptySubsequences: false).count == header.count) }
        #expect(csv[1].hasSuffix(",2,45000,9000,10,1,0") && csv[2].hasSuffix(",,,,,,"))
        let html = HTMLReport.render(SyntheticRuns.report([run]))
        #expect(html.contains("id=\"tcp-rtt-over-time\"") && html.contains("id=\"tcp-cwnd-over-time\""))
        run.intervals = [second]
        #expect(!HTMLReport.render(SyntheticRuns.report([run])).contains("tcp-rtt-over-time"), "no sample, no chart")
    }
}
