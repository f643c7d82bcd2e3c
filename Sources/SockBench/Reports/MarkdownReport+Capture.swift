import Foundation

extension MarkdownReport {
    /// Flows listed one by one in `report.md` (the JSON lists more).
    static let flowsShown = 10

    /// The "Capture" section of a run; `sockbench analyze` prints the same.
    public static func captureSection(_ record: CaptureRecord, heading: String = "### Capture") -> String {
        var out = [heading, ""]
        let details = record.details
        guard details.status == .captured, let analysis = record.analysis else {
            out.append("No packets were captured (\(details.status.rawValue)): \(details.reason ?? "no reason given").")
            return out.joined(separator: "\n")
        }
        out.append(captureSentence(details))
        if let coverage = coverageSentence(details) { out += ["", coverage] }
        if let reason = details.reason { out += ["", "> \(reason)"] }
        out += ["", "| | client → server | server → client | total |", "|---|---|---|---|"]
        let p = analysis.packets, b = analysis.bytes
        out.append("| packets | \(p.clientToServer) | \(p.serverToClient) | \(p.total) |")
        out.append("| bytes on the wire | \(b.clientToServer) | \(b.serverToClient) | \(b.total) |")
        if let tcp = analysis.tcp { out += tcpRows(tcp) }
        if let udp = analysis.udp {
            row(&out, "UDP datagrams", udp.datagrams) { "\($0)" }
            row(&out, "UDP payload bytes", udp.payloadBytes) { "\($0)" }
        }
        if analysis.undecodedPackets > 0 {
            out += ["", "\(analysis.undecodedPackets) frames were not TCP or UDP over IP, or too short to decode; they count in the totals only."]
        }
        if let tcp = analysis.tcp {
            out += ["", "| SYN | SYN-ACK | FIN | RST | retransmissions | out of order | zero window | keepalive probes |",
                    "|---|---|---|---|---|---|---|---|"]
            out.append("| \(tcp.syn) | \(tcp.synAck) | \(tcp.fin) | \(tcp.rst) | \(tcp.retransmissions) | \(tcp.outOfOrder) | "
                + "\(tcp.zeroWindow) | \(tcp.keepalive.probes) |")
            out += ["", latencyTable([
                ("handshake (SYN → ACK)", tcp.handshakeRttNs),
                ("SYN → SYN-ACK", tcp.synToSynAckNs),
                ("data → ACK, client data", tcp.dataToAckDelayNs.clientToServer),
                ("data → ACK, server data", tcp.dataToAckDelayNs.serverToClient),
                ("keepalive interval", tcp.keepalive.intervalNs),
                ("idle before first keepalive", tcp.keepalive.idleBeforeFirstProbeNs),
            ])]
        }
        out += ["", flowTable(analysis)]
        return out.joined(separator: "\n")
    }

    static func captureSentence(_ details: CaptureRecord.Details) -> String {
        var parts: [String] = []
        if let interface = details.interface { parts.append("Captured on `\(interface)`") } else { parts.append(details.file.map { "Read from `\($0)`" } ?? "Read from a file") }
        if let filter = details.filter { parts.append("with filter `\(filter)`") }
        var sentence = parts.joined(separator: " ")
        if let snaplen = details.snaplen {
            sentence += details.payloadStored == true ? " (payload stored, snaplen \(snaplen))" : " (headers only, snaplen \(snaplen))"
        }
        if let file = details.file, details.interface != nil { sentence += "; packets in `\(file)`" }
        if details.fileTruncated == true { sentence += " (truncated at capture.max_file_size: \(details.packetsWritten ?? 0) packets stored)" }
        if let dropped = details.kernelDropped { sentence += "; \(plural(dropped, "packet")) dropped by the kernel" }
        return sentence + "."
    }

    /// What the capture covered (mode, windows, share of the measured window) and the observer
    /// effect the run measured.
    static func coverageSentence(_ details: CaptureRecord.Details) -> String? {
        guard let mode = details.mode else { return nil }
        var text: String
        if mode == CaptureSpec.Mode.full.rawValue {
            text = "Every packet was captured (`capture.mode: full`)."
        } else {
            let windows = details.windows ?? []
            let captured = details.capturedSeconds
            let warmup = details.warmupCaptured == true ? "the warm-up whole, then " : ""
            text = "Captured \(warmup)\(plural(UInt64(windows.count), "window")) of the measured window "
                + "(\(Format.seconds(captured)) in all; `capture.mode: windows`, `--capture full` for every packet); "
                + "the figures below are the measured window's packets in those windows."
        }
        guard let effect = details.observerEffect else { return text }
        if let ratio = effect.ratio, let inside = effect.capturedPerSecond, let outside = effect.uncapturedPerSecond {
            let unit = effect.unit == "bytes" ? " bytes/s" : " answers/s"
            func rate(_ value: Double) -> String { Format.rate(value).replacingOccurrences(of: "/s", with: unit) }
            text += " **Observer effect measured in this run:** \(rate(inside)) while capturing against "
                + "\(rate(outside)) while not (ratio \(String(format: "%.3f", ratio)))"
            if ratio >= 1 {
                text += ": capturing did not measurably slow the load."
            } else if let cost = effect.runCostPercent {
                text += String(format: ": about %.1f%% slower while capturing, which cost the run's figures about %.1f%%.", (1 - ratio) * 100, cost)
            }
        } else if let note = effect.note {
            text += " Observer effect: \(note)."
        }
        return text
    }

    static func tcpRows(_ tcp: TCPFigures) -> [String] {
        var out: [String] = []
        row(&out, "data segments", tcp.dataSegments) { "\($0)" }
        row(&out, "pure ACKs", tcp.pureAcks) { "\($0)" }
        row(&out, "payload bytes", tcp.payloadBytes) { "\($0)" }
        row(&out, "payload per segment p50 / p99 / max", tcp.payloadSizeBytes) { s in
            s.count == 0 ? "–" : "\(s.p50) / \(s.p99) / \(s.max) B"
        }
        if let perMessage = tcp.segmentsPerMessage, let sizes = tcp.messageSizeBytes {
            out.append("| segments per message (\(sizes.clientToServer) B / \(sizes.serverToClient) B) | "
                + "\(String(format: "%.3f", perMessage.clientToServer)) | \(String(format: "%.3f", perMessage.serverToClient)) | |")
        }
        return out
    }

    static func row<T>(_ out: inout [String], _ name: String, _ values: Directional<T>, _ text: (T) -> String) {
        out.append("| \(name) | \(text(values.clientToServer)) | \(text(values.serverToClient)) | |")
    }

    static func flowTable(_ analysis: CaptureAnalysis) -> String {
        let shown = analysis.flows.prefix(flowsShown)
        var out = ["\(plural(analysis.flowCount, "flow"))" + (analysis.flowCount > shown.count ? "; the first \(shown.count):" : ":"), "",
                   "| flow | client | server | packets → / ← | handshake | retrans. | keepalives | FIN / RST |",
                   "|---|---|---|---|---|---|---|---|"]
        for flow in shown {
            out.append("| \(flow.transport) | \(flow.client) | \(flow.server) | \(flow.packets.clientToServer) / \(flow.packets.serverToClient) | "
                + "\(flow.handshakeRttNs.map { Format.latency($0) } ?? "–") | \(flow.retransmissions) | \(flow.keepaliveProbes) | "
                + "\(flow.fin) / \(flow.rst) |")
        }
        return out.joined(separator: "\n")
    }
}
