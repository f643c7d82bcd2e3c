extension ReportMetric {
    static let kernelPrefix = "kernel."

    /// `kernel.TcpExtListenOverflows` and the rest: one field per counter in
    /// `KernelCounters.reported`, named as `nstat` names it (case matters), valued by its rise over
    /// the measured window. Nil when the run has no kernel counters or this kernel lacks the counter.
    static let kernelMetrics: [ReportMetric] = KernelCounters.reported.map { counter in
        ReportMetric(kernelPrefix + counter.name, .count, counter.symptom ? .lower : .neutral, counter.meaning) { run in
            run.kernelCounters?.first { $0.name == counter.name }.map { Double($0.delta) }
        }
    }

    /// `'kernel.TcpExtListenOverflow' is not a kernel counter sockbench reports; did you mean 'kernel.TcpExtListenOverflows'?`
    static func unknownKernelCounterMessage(_ name: String) -> String {
        var message = "'\(name)' is not a kernel counter sockbench reports"
        if let suggestion = KeySuggestion.closest(to: name, in: kernelMetrics.map(\.name)) {
            message += "; did you mean '\(suggestion)'?"
        } else {
            message += " (kernel.NAME takes an nstat name such as kernel.TcpRetransSegs or kernel.TcpExtListenOverflows)"
        }
        return message
    }
}
