import Foundation

/// report.md sections for the load models: schedule (open loop), conversation mismatches,
/// memory, and the interval series.
extension MarkdownReport {
    /// What one latency sample is, by pattern.
    static func latencyName(_ run: RunResult) -> String {
        switch run.pattern {
        case .connect: "connect + request + answer"
        case .conversation: "whole conversation"
        case .idle: "ping round trip"
        default: run.latencyUncorrectedNs == nil ? "round trip" : "round trip from intended send"
        }
    }

    static func scheduleSection(_ schedule: RunResult.ScheduleRecord) -> String {
        var out = ["### Schedule (open loop)", "",
                   "| requested | achieved | scheduled | sent | never sent | late (> 1 ms) | send lag p50 | send lag p99 | send lag max |",
                   "|---|---|---|---|---|---|---|---|---|"]
        let lag = schedule.sendLagNs
        out.append("| \(Format.rate(schedule.requestedPerSecond)) | \(Format.rate(schedule.achievedPerSecond)) | \(schedule.scheduled) | "
            + "\(schedule.sent) | \(schedule.unsent) | \(schedule.lateSends) | \(Format.latency(lag.p50)) | \(Format.latency(lag.p99)) | \(Format.latency(lag.max)) |")
        out.append("")
        out.append(schedule.behindSchedule
            ? "**The run fell behind its schedule**: latencies count from each request's intended send time, so the delay is in them (coordinated-omission correction); the uncorrected row shows what a closed-loop tool would report."
            : "The run kept its schedule. Latencies count from each request's intended send time (coordinated-omission correction); the uncorrected row times each answer from its actual send.")
        return out.joined(separator: "\n")
    }

    /// One row per named conversation step: its answers, their rate over the measured window, and
    /// its latency percentiles (open loop adds the uncorrected p99, as the intervals do).
    static func stepSection(_ steps: [StepRecord], durationS: Double) -> String {
        let openLoop = steps.contains { $0.latencyUncorrectedNs != nil }
        var out = ["### Steps", "", "Each named conversation step, timed from its send (or the end of the step before it) to its last expected byte.", "",
                   "| step | count | rate/s | p50 | p90 | p99 | p99.9 | max |" + (openLoop ? " p99 uncorrected |" : ""),
                   "|---|---|---|---|---|---|---|---|" + (openLoop ? "---|" : "")]
        for step in steps {
            let name = step.name.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
            let rate = durationS > 0 ? Format.rate(Double(step.count) / durationS) : "n/a"
            var row = "| \(name) | \(step.count) | \(rate) |"
            let l = step.latencyNs
            row += l.count == 0 ? " | | | | |"
                : " \(Format.latency(l.p50)) | \(Format.latency(l.p90)) | \(Format.latency(l.p99)) | \(Format.latency(l.p999)) | \(Format.latency(l.max)) |"
            if openLoop { row += " \(step.latencyUncorrectedNs.flatMap { $0.count == 0 ? nil : Format.latency($0.p99) } ?? "") |" }
            out.append(row)
        }
        return out.joined(separator: "\n")
    }

    static func mismatchSection(_ mismatches: [String], count: UInt64) -> String {
        var out = ["### Protocol mismatches", "", "\(count) failed expectation\(count == 1 ? "" : "s"); the first \(mismatches.count):", ""]
        out += mismatches.map { "- \($0)" }
        return out.joined(separator: "\n")
    }

    static func memorySection(_ memory: RunResult.MemoryRecord, connections: Int) -> String {
        var out = ["### Memory", "", "| process | peak resident | per connection |", "|---|---|---|"]
        out.append("| client (sockbench run) | \(Format.bytes(Double(memory.clientPeakResidentBytes))) | "
            + "\(Format.bytes(memory.clientBytesPerConnection)) (growth over \(Format.bytes(Double(memory.clientResidentBeforeBytes))) before connecting, / \(connections)) |")
        if let server = memory.serverPeakResidentBytes, let each = memory.serverBytesPerConnection {
            out.append("| reference server | \(Format.bytes(Double(server))) | \(Format.bytes(each)) (whole peak / \(connections)) |")
        }
        return out.joined(separator: "\n")
    }

    static func intervalSection(_ intervals: [IntervalRecord]) -> String {
        let openLoop = intervals.contains { $0.latencyUncorrectedNs != nil }
        var header = "| interval | messages/s | sent | received | p50 | p99 | max |"
        var rule = "|---|---|---|---|---|---|---|"
        if openLoop { header += " p99 uncorrected |"; rule += "---|" }
        header += " errors | open connections |"
        rule += "---|---|"
        // TCP_INFO sampled as each interval ended: RTT and congestion window over time.
        let sampled = intervals.contains { $0.tcpInfo != nil }
        if sampled { header += " rtt p50 | snd_cwnd p50 | retrans. |"; rule += "---|---|---|" }
        var out = ["### Intervals", "", "Also in intervals.csv.", "", header, rule]
        for interval in intervals {
            let l = interval.latencyNs
            var row = "| \(String(format: "%.1f–%.1f s", interval.startS, interval.endS)) | \(Format.rate(interval.messagesPerSecond)) | "
                + "\(Format.bitRate(bytesPerSecond: interval.bitsPerSecondSent / 8)) | \(Format.bitRate(bytesPerSecond: interval.bitsPerSecondReceived / 8)) | "
                + "\(Format.latency(l.p50)) | \(Format.latency(l.p99)) | \(Format.latency(l.max)) |"
            if openLoop { row += " \(interval.latencyUncorrectedNs.map { Format.latency($0.p99) } ?? "") |" }
            row += " \(interval.errors) | \(interval.connectionsOpen) |"
            if sampled {
                row += interval.tcpInfo.map { " \(Format.latency($0.rttP50Ns)) | \($0.sndCwndP50Segments) | \($0.totalRetrans) |" } ?? " | | |"
            }
            out.append(row)
        }
        return out.joined(separator: "\n")
    }
}
