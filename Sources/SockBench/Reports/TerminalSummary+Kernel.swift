extension TerminalSummary {
    /// Symptom counters named on the terminal at most; report.md lists every counter that rose.
    static let kernelSymptomsShown = 4

    /// `  kernel       TcpExtListenOverflows +298, TcpExtListenDrops +298, … (namespace-wide)` when
    /// a counter whose rise is a symptom (a drop, a retransmission, a reset) rose; nil otherwise,
    /// so a clean run prints no line (volume counters such as segments never make one).
    static func kernelLine(_ counters: [KernelCounterDelta]?) -> String? {
        let symptoms = (counters ?? []).filter { $0.delta > 0 && KernelCounters.counter(named: $0.name)?.symptom == true }
        guard !symptoms.isEmpty else { return nil }
        let shown = symptoms.prefix(kernelSymptomsShown).map { "\($0.name) +\($0.delta)" }
        let more = symptoms.count > shown.count ? ", \(symptoms.count - shown.count) more" : ""
        return "  kernel       " + shown.joined(separator: ", ") + more + " (namespace-wide counters; report.md lists them)"
    }
}
