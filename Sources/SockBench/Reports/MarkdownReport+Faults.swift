import Foundation

/// The run's timeline of faults and what the impairment proxy injected, next to what was measured.
extension MarkdownReport {
    static func eventSection(_ events: [RunEvent]) -> String {
        var out = ["### Events", "", "| at | what | detail |", "|---|---|---|"]
        for event in events {
            let what = event.category.map { "\(event.kind.rawValue) (\($0))" } ?? event.kind.rawValue
            out.append("| \(String(format: "%.3f s", event.atS)) | \(what) | \(event.message.replacingOccurrences(of: "|", with: "\\|")) |")
        }
        return out.joined(separator: "\n")
    }

    /// What the warm-up saw, which no other figure of the run includes.
    static func warmupSection(_ warmup: WarmupRecord) -> String {
        var out = ["### Warm-up", "", "The \(Format.seconds(warmup.durationS)) warm-up is outside every figure above; what it saw:", ""]
        out.append("- errors: \(warmup.errors.total == 0 ? "none" : "\(warmup.errors.total) (\(warmup.errors.summary))")")
        if let tcp = warmup.capture?.tcp {
            out.append("- capture: \(plural(Int(clamping: warmup.capture?.packets.total ?? 0), "packet")), \(tcp.retransmissions) retransmitted, \(tcp.rst) RST")
        } else if let capture = warmup.capture {
            out.append("- capture: \(plural(Int(clamping: capture.packets.total), "packet"))")
        }
        if let info = warmup.tcpInfo {
            out.append("- TCP_INFO as the window opened: \(info.totalRetrans) segments retransmitted over \(plural(Int(clamping: info.connections), "connection"))")
        }
        if let counters = warmup.kernelCounters { out.append("- kernel counters: " + risenCounters(counters)) }
        for event in warmup.events ?? [] {
            out.append("- \(String(format: "%.3f s", event.atS)): \(event.message)")
        }
        return out.joined(separator: "\n")
    }

    /// Where the lost datagrams went, as far as anyone counted: dropped on purpose by the impairment
    /// proxy, or dropped by a full receive buffer (client, server, anywhere on the host); and the
    /// answers that came back damaged, which are integrity errors and not counted lost.
    static func udpDropSentence(_ udp: RunResult.UDPRecord, injected: InjectedStatistics?) -> String {
        var parts: [String] = []
        if let injected {
            let arrived = injected.datagramsToServer + injected.dropped
            let share = arrived == 0 ? 0 : 100 * Double(injected.dropped) / Double(arrived)
            parts.append("the impairment proxy dropped \(String(format: "%.2f%%", share)) of datagrams to the server on purpose "
                + "(\(injected.dropped) over the whole run, warm-up included) and \(injected.queueDrops) in its full queue")
        }
        var buffers: [String] = []
        if let client = udp.clientRxqOverflows { buffers.append("\(client) at the clients") }
        if let server = udp.serverRxqOverflows { buffers.append("\(server) at the server") }
        if let host = udp.hostRcvbufErrors {
            buffers.append("\(host) host-wide (UDP RcvbufErrors of every socket on this host across the run; \(udp.hostInErrors ?? host) input errors in all)")
        }
        if !buffers.isEmpty { parts.append("full receive buffers dropped " + buffers.joined(separator: ", ")) }
        let loss = udp.lossPercent.map { String(format: "%.3f%%", $0) } ?? "n/a"
        let lost = udp.lost.map { "Loss \(loss) (\($0) of \(udp.sent) datagrams in the window)" } ?? "Loss unknown"
        var sentence = parts.isEmpty ? lost + "; nothing counted where datagrams were dropped." : lost + ": " + parts.joined(separator: "; ") + "."
        if let damaged = udp.damaged, damaged > 0 {
            sentence += " \(damaged) answers arrived damaged (merged, truncated or garbled): integrity errors, not counted lost."
        }
        return sentence
    }

    static func impairmentSection(_ impairment: ImpairmentRecord, run: RunResult) -> String {
        var out = ["### Impairment", "", "Through the proxy at \(impairment.proxy): " + impairmentSettings(impairment) + ".", ""]
        guard let rows = impairmentRows(impairment, run: run) else {
            out.append("The proxy did not report what it injected.")
            return out.joined(separator: "\n")
        }
        out += ["| injected | count | measured by the clients |", "|---|---|---|"]
        out += rows.map { "| " + $0.joined(separator: " | ") + " |" }
        return out.joined(separator: "\n")
    }

    /// The `impair:` settings in words, in `ImpairmentSpec.keys` order (`delay 5ms, seed 1`).
    static func impairmentSettings(_ impairment: ImpairmentRecord) -> String {
        ImpairmentSpec.keys.compactMap { key in impairment.settings[key].map { "\(key) \($0)" } }.joined(separator: ", ")
    }

    /// What the proxy injected beside what the clients measured, as rows of (injected, count, measured);
    /// nil when the proxy did not report. report.md and report.html both show these rows.
    static func impairmentRows(_ impairment: ImpairmentRecord, run: RunResult) -> [[String]]? {
        guard let injected = impairment.injected else { return nil }
        var rows: [[String]] = []
        if run.transport == .udp {
            let arrived = injected.datagramsToServer + injected.dropped
            let share = arrived == 0 ? 0 : 100 * Double(injected.dropped) / Double(arrived)
            let measured = run.udp?.lossPercent.map { String(format: "loss %.2f%%", $0) } ?? "n/a"
            rows.append(["dropped", "\(injected.dropped) (\(String(format: "%.2f%%", share)) of datagrams to the server)", measured])
            rows.append(["duplicated", "\(injected.duplicated)", run.udp.map { "\($0.duplicated) duplicates" } ?? "n/a"])
            rows.append(["reordered", "\(injected.reordered)", run.udp.map { "\($0.reordered) out of order" } ?? "n/a"])
            rows.append(["dropped by a full queue", "\(injected.queueDrops)", ""])
        } else {
            rows.append(["resets", "\(injected.resets)", "\(run.errors.reset) reset errors"])
            rows.append(["stalls", "\(injected.stalls)", "\(run.errors.timeout) timeouts"])
            rows.append(["sliced writes", "\(injected.slicedWrites)", run.capture?.analysis?.tcp?.segmentsPerMessage.map { String(format: "%.2f / %.2f segments per message", $0.clientToServer, $0.serverToClient) } ?? ""])
        }
        let seconds = max(run.durationS, 1e-9)
        rows.append(["bytes to server / to client", "\(injected.bytesToServer) / \(injected.bytesToClient)",
                     "\(Format.bitRate(bytesPerSecond: run.throughput.bytesPerSecondSent)) sent, \(Format.bitRate(bytesPerSecond: run.throughput.bytesPerSecondReceived)) received over \(String(format: "%.2f s", seconds))"])
        return rows
    }
}
