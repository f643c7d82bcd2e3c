/// Retransmissions and RTT as the three witnesses saw them: the capture (both directions of the
/// captured flows, on the wire), TCP_INFO (the client's sockets, read as each closed) and the
/// kernel's counters (every socket of the network namespace), with whether they agree in words.
///
/// Pure: figures in, verdicts out, so every rule is tested without a socket. report.md renders it.
public struct EvidenceCrossCheck: Sendable, Equatable {
    public enum Agreement: Sendable, Equatable {
        /// The witnesses give the same figure (RTT: within a factor of `rttRatio`).
        case agree
        /// Different figures that each witness's scope explains; the words say how.
        case consistent(String)
        /// Figures their scopes cannot both produce; the words give the likely reason.
        case differ(String)

        /// `agree`, `consistent: …` or `differ: …`.
        public var text: String {
            switch self {
            case .agree: "agree"
            case .consistent(let why): "consistent: " + why
            case .differ(let why): "differ: " + why
            }
        }
    }

    /// Retransmitted segments per witness (nil: that witness has no figure for this run).
    public struct Retransmissions: Sendable, Equatable {
        public var capture: UInt64?
        /// Packets the capture's buffer lost (`ps_drop`): a reason the wire may show less.
        public var captureDropped: UInt64?
        public var tcpInfo: UInt64?
        /// `TcpRetransSegs` over the measured window.
        public var kernel: UInt64?
        /// Seconds of the measured window the capture covered, and the window's length, when it
        /// covered only part (`capture.mode: windows`); nil when it saw the whole window.
        public var captureCovered: (seconds: Double, of: Double)?

        public init(capture: UInt64? = nil, captureDropped: UInt64? = nil, tcpInfo: UInt64? = nil, kernel: UInt64? = nil,
                    captureCovered: (seconds: Double, of: Double)? = nil) {
            self.capture = capture
            self.captureDropped = captureDropped
            self.tcpInfo = tcpInfo
            self.kernel = kernel
            self.captureCovered = captureCovered
        }

        public static func == (a: Self, b: Self) -> Bool {
            a.capture == b.capture && a.captureDropped == b.captureDropped && a.tcpInfo == b.tcpInfo && a.kernel == b.kernel
                && a.captureCovered?.seconds == b.captureCovered?.seconds && a.captureCovered?.of == b.captureCovered?.of
        }
    }

    /// Median RTT per witness, in nanoseconds (nil: no figure).
    public struct RoundTrip: Sendable, Equatable {
        /// The client's smoothed RTT (`tcpi_rtt`), median over connections, read as each closed.
        public var tcpInfo: UInt64?
        /// The median of the intervals' sampled RTT medians (`intervals[].tcp_info`): TCP_INFO during
        /// the measured window, as the capture saw it, rather than after the final drain.
        public var tcpInfoOverWindow: UInt64?
        /// The capture's median delay from a client data segment to the server's ACK of it:
        /// what the client's RTT samples measure, timed on the wire.
        public var dataToAck: UInt64?
        /// The capture's median handshake (SYN to the client's ACK of the SYN-ACK).
        public var handshake: UInt64?

        public init(tcpInfo: UInt64? = nil, tcpInfoOverWindow: UInt64? = nil, dataToAck: UInt64? = nil, handshake: UInt64? = nil) {
            self.tcpInfo = tcpInfo
            self.tcpInfoOverWindow = tcpInfoOverWindow
            self.dataToAck = dataToAck
            self.handshake = handshake
        }
    }

    public var retransmissions: Retransmissions
    public var roundTrip: RoundTrip

    public init(retransmissions: Retransmissions, roundTrip: RoundTrip) {
        self.retransmissions = retransmissions
        self.roundTrip = roundTrip
    }

    /// RTT medians this close agree: within a factor of 2, or 100 µs apart (a cross-CPU wake-up
    /// on this kind of machine costs tens of µs, which moves either witness by as much).
    public static let rttRatio = 2.0
    public static let rttSlackNanoseconds: UInt64 = 100_000

    /// The three retransmission counts against each other; nil with fewer than two of them.
    ///
    /// The scopes nest: the client's own retransmissions (TCP_INFO) are on the wire (capture), and
    /// everything on the wire was sent by a socket of the namespace (kernel) when both ends run
    /// here. So `tcpInfo ≤ capture ≤ kernel` is consistent, and a figure that breaks that order differs.
    /// A capture of windows of the measured window saw only part of it, so only `capture ≤ kernel` holds.
    public var retransmissionAgreement: Agreement? {
        let r = retransmissions
        let present = [r.capture, r.tcpInfo, r.kernel].compactMap { $0 }
        guard present.count >= 2 else { return nil }
        if Set(present).count == 1 { return .agree }
        if let covered = r.captureCovered, let c = r.capture {
            if let k = r.kernel, c > k { return .differ(Self.captureAboveKernel(c, k)) }
            return .consistent("the capture saw \(Format.seconds(covered.seconds)) of the \(Format.seconds(covered.of)) window "
                + "(capture.mode: windows), TCP_INFO and the kernel all of it")
        }
        if let t = r.tcpInfo, let k = r.kernel, t > k {
            return .differ("TCP_INFO \(t), kernel \(k) — TCP_INFO is read as each connection closes, after the final drain, "
                + "so resends in the drain count there; the kernel's window ends with the measured window")
        }
        if let t = r.tcpInfo, let c = r.capture, t > c {
            let why = (r.captureDropped ?? 0) > 0
                ? "the capture's buffer dropped \(plural(r.captureDropped ?? 0, "packet"))"
                : "the capture calls a segment resent only when it saw the original, so resends of data first sent before the window, "
                    + "or after it, are not on its count"
            return .differ("TCP_INFO \(t), capture \(c) — \(why)")
        }
        if let c = r.capture, let k = r.kernel, c > k { return .differ(Self.captureAboveKernel(c, k)) }
        var parts: [String] = []
        if let t = r.tcpInfo, let c = r.capture, c > t {
            parts.append("the capture's \(c) include \(c - t) the server sent (TCP_INFO counts the client's own)")
        }
        if let k = r.kernel {
            let inner = r.capture ?? r.tcpInfo ?? k
            let scope = r.capture == nil ? "the client's sockets" : "the captured flows"
            if k > inner { parts.append("the kernel's \(k) include \(k - inner) from sockets other than \(scope) (the server's, or other traffic in the namespace)") }
        }
        return .consistent(parts.isEmpty ? "each figure within its witness's scope" : parts.joined(separator: "; "))
    }

    static func captureAboveKernel(_ c: UInt64, _ k: UInt64) -> String {
        "capture \(c), kernel \(k) — the wire shows more than the namespace's sockets resent: the capture's count is "
            + "inferred from sequence numbers (a reused port can make a new connection's bytes look resent), or the peer "
            + "is outside this namespace and its resends are not the local kernel's"
    }

    /// The capture's figure the client's RTT is compared with: data → ACK when it timed any, else the handshake.
    public var captureRoundTrip: (label: String, nanoseconds: UInt64)? {
        if let dataToAck = roundTrip.dataToAck { return ("data → ACK", dataToAck) }
        if let handshake = roundTrip.handshake { return ("handshake", handshake) }
        return nil
    }

    /// TCP_INFO's smoothed RTT (over the window when the intervals sampled it, else at close)
    /// against the capture's; nil unless both exist.
    public var roundTripAgreement: Agreement? {
        guard let kernel = roundTrip.tcpInfoOverWindow ?? roundTrip.tcpInfo, let (label, wire) = captureRoundTrip else { return nil }
        let low = min(kernel, wire), high = max(kernel, wire)
        if Double(high) <= Self.rttRatio * Double(low) { return .agree }
        if high - low <= Self.rttSlackNanoseconds {
            return .consistent("\(Format.latency(high - low)) apart, within the \(Format.latency(Self.rttSlackNanoseconds)) "
                + "a scheduling delay moves either figure by on a shared machine")
        }
        let figures = kernel > wire
            ? "TCP_INFO \(Format.latency(kernel)), capture \(label) \(Format.latency(wire))"
            : "capture \(label) \(Format.latency(wire)), TCP_INFO \(Format.latency(kernel))"
        let why = kernel > wire
            ? "srtt is smoothed over each connection's life, so slow stretches (queueing behind unacknowledged "
                + "data, a stall, the warm-up) stay in it; the capture's median is over every segment it saw"
            : "the capture's median is over every segment, so delayed ACKs (about 40 ms) weigh as much as they are frequent; "
                + "srtt is one smoothed value per connection"
        return .differ("\(figures) — \(why)")
    }
}

extension EvidenceCrossCheck {
    /// The witnesses of one run; nil for a run without TCP_INFO (UDP, conversations).
    public init?(_ run: RunResult) {
        guard let info = run.tcpInfo else { return nil }
        let tcp = run.capture?.analysis?.tcp
        let dataToAck = tcp?.dataToAckDelayNs.clientToServer
        self.init(
            retransmissions: Retransmissions(capture: tcp?.retransmissions, captureDropped: tcp == nil ? nil : run.capture?.details.kernelDropped,
                                             tcpInfo: info.totalRetrans,
                                             kernel: run.kernelCounters?.first { $0.name == "TcpRetransSegs" }?.delta,
                                             captureCovered: tcp == nil ? nil : Self.captureCoverage(run)),
            roundTrip: RoundTrip(tcpInfo: info.connections > 0 ? info.rttNs.p50 : nil,
                                 tcpInfoOverWindow: (run.intervals ?? []).compactMap { $0.tcpInfo?.rttP50Ns }.lowerMedian,
                                 dataToAck: dataToAck.flatMap { $0.count > 0 ? $0.p50 : nil },
                                 handshake: tcp.flatMap { $0.handshakeRttNs.count > 0 ? $0.handshakeRttNs.p50 : nil }))
    }

    /// How much of the measured window a capture in windows mode covered; nil for a full capture.
    static func captureCoverage(_ run: RunResult) -> (seconds: Double, of: Double)? {
        guard let details = run.capture?.details, details.mode == CaptureSpec.Mode.windows.rawValue else { return nil }
        let covered = details.capturedSeconds
        // Windows that add up to the whole measured window saw all of it.
        return covered < run.durationS * 0.999 ? (covered, run.durationS) : nil
    }
}
