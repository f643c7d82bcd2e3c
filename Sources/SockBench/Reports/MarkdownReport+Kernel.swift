extension MarkdownReport {
    /// What the kernel said about the run: TCP_INFO of the client sockets, the cross-check of
    /// retransmissions and RTT against the capture and the counters, and the counters that rose.
    static func kernelSections(_ run: RunResult) -> [String] {
        var out: [String] = []
        if let info = run.tcpInfo {
            out += ["", tcpInfoSection(info, overTime: run.intervals?.contains { $0.tcpInfo != nil } ?? false)]
        }
        if let check = EvidenceCrossCheck(run), let table = crossCheckSection(check) { out += ["", table] }
        if let counters = run.kernelCounters { out += ["", kernelCounterSection(counters)] }
        return out
    }

    /// The kernel's TCP_INFO of the client sockets, read as each closed.
    static func tcpInfoSection(_ info: TCPInfoSummary, overTime: Bool) -> String {
        var out = ["### TCP_INFO (client sockets, read at close)", "",
                   "| connections | rtt p50 / max | rttvar mean | snd_cwnd p50 (segments) | retransmits | total_retrans | lost | reordering max |",
                   "|---|---|---|---|---|---|---|---|"]
        out.append("| \(info.connections) | \(Format.latency(info.rttNs.p50)) / \(Format.latency(info.rttNs.max)) | "
            + "\(Format.latency(info.rttvarNs.mean)) | \(info.sndCwndSegments.p50) | \(info.retransmits) | \(info.totalRetrans) | "
            + "\(info.lost) | \(info.reorderingMax) |")
        if overTime {
            out += ["", "RTT and congestion window over time (TCP_INFO of up to 16 open connections per client thread, read as each "
                + "interval ended) are in the Intervals table."]
        }
        return out.joined(separator: "\n")
    }

    /// Retransmissions and RTT from each witness side by side, with their agreement; nil when no
    /// figure has two witnesses.
    static func crossCheckSection(_ check: EvidenceCrossCheck) -> String? {
        var rows: [String] = []
        let r = check.retransmissions
        if let agreement = check.retransmissionAgreement {
            let scope = r.captureCovered == nil ? "both directions" : "both directions, capture windows only"
            rows.append("| retransmitted segments | \(r.capture.map { "\($0) (\(scope))" } ?? "–") | "
                + "\(r.tcpInfo.map { "\($0) (client sends)" } ?? "–") | \(r.kernel.map { "\($0) (TcpRetransSegs)" } ?? "–") | \(agreement.text) |")
        }
        if let agreement = check.roundTripAgreement {
            let rtt = check.roundTrip
            let wire = [rtt.dataToAck.map { "data → ACK \(Format.latency($0))" }, rtt.handshake.map { "handshake \(Format.latency($0))" }]
                .compactMap { $0 }.joined(separator: "; ")
            let kernel = [rtt.tcpInfoOverWindow.map { "srtt \(Format.latency($0)) (interval samples)" },
                          rtt.tcpInfo.map { "srtt \(Format.latency($0)) (at close)" }].compactMap { $0 }.joined(separator: "; ")
            rows.append("| RTT p50 | \(wire) | \(kernel) | – | \(agreement.text) |")
        }
        guard !rows.isEmpty else { return nil }
        return (["### Cross-check: capture, TCP_INFO and kernel counters", "",
                 "| figure | capture | TCP_INFO | kernel counters (namespace) | agreement |", "|---|---|---|---|---|"] + rows)
            .joined(separator: "\n")
    }

    /// The counters that rose over the measured window; a sentence when none did.
    static func kernelCounterSection(_ counters: [KernelCounterDelta]) -> String {
        var out = ["### Kernel counters", ""]
        let risen = counters.filter { $0.delta > 0 }
        let scope = "Rise over the measured window of the kernel's TCP and UDP counters (nstat names, from /proc/net/snmp, "
            + "/proc/net/netstat and /proc/net/snmp6). They count every socket of the network namespace: the server's, and any "
            + "other traffic in it while the window was open."
        guard !risen.isEmpty else {
            out.append(scope + " None of the \(counters.count) counters read rose.")
            return out.joined(separator: "\n")
        }
        out += [scope + " Only those that rose are listed (all \(counters.count) are in report.json).", "",
                "| counter | rise | counts |", "|---|---|---|"]
        for counter in risen {
            out.append("| \(counter.name) | \(counter.delta) | \(KernelCounters.counter(named: counter.name)?.meaning ?? "") |")
        }
        return out.joined(separator: "\n")
    }

    /// `TcpExtListenOverflows +46, TcpExtListenDrops +46 (namespace-wide)`, or that none rose.
    static func risenCounters(_ counters: [KernelCounterDelta]) -> String {
        let risen = counters.filter { $0.delta > 0 }
        guard !risen.isEmpty else { return "none rose" }
        return risen.map { "\($0.name) +\($0.delta)" }.joined(separator: ", ") + " (namespace-wide)"
    }
}
