/// The scenario's `capture:` section: whether and how a run records its own packets.
public struct CaptureSpec: Sendable, Equatable {
    /// Capture is on unless a scenario turns it off.
    public var enabled = true
    /// Fail the run (exit 3) when capture cannot start, instead of going on without it.
    public var required = false
    /// Where to capture; nil means `lo` for a loopback target and `any` otherwise.
    public var interface: String?
    /// Bytes the kernel captures per packet. The default keeps every header of Ethernet + IPv6 + TCP
    /// with options (14 + 40 + 60) and a VLAN tag or SLL2 header.
    public var snaplen: Int?
    /// Keep payload bytes in the file (up to the snaplen); by default only headers are stored.
    public var payload = false
    /// Kernel capture buffer; 16 MiB holds about a tenth of a second at the packet rates this machine reaches.
    public var bufferSize = 16 << 20
    /// The file stops growing here; the analysis covers the packets the file holds.
    public var maxFileSize = 1 << 30
    /// What a run captures: the warm-up and short windows of the measured window (the default,
    /// which keeps the observer effect small), or every packet from first to last.
    public var mode = Mode.windows
    /// No scenario or option chose the mode: an idle load (keepalive studies, a few packets a
    /// second) is then captured in full, where windows would miss its probes and cost nothing.
    public var modeIsDefault = true
    /// Windows mode: a window of `windowLength` every `windowEvery` of the measured window.
    public var windowLength: UInt64 = 200_000_000
    public var windowEvery: UInt64 = 2_000_000_000

    public enum Mode: String, Sendable, Equatable, CaseIterable {
        /// The whole warm-up, then capture windows in the measured window (`capture.window` every `capture.every`).
        case windows
        /// Every packet of every connection, from before the first connection to after the last.
        case full
    }

    public static let headerSnaplen = 128
    /// Windows mode: the last window opens at least this long before the measured window ends.
    public static let closeLead: UInt64 = 50_000_000
    public static let payloadSnaplen = 65_535
    public static let minimumBuffer = 4 << 20

    public init() {}

    /// Windows mode: when the measured window's capture windows open and close, in ns from its start.
    /// The window is cut into cycles of about `windowEvery` (at least one), and each cycle ends with
    /// a capture window of the same share (windowLength / windowEvery), so every run keeps that share
    /// captured; the last window ends with the measured window, and the capture runs on from there
    /// until the run's last packet, so every connection's close is on file.
    public func windows(duration: UInt64) -> [(start: UInt64, end: UInt64)] {
        guard mode == .windows, duration > 0, windowEvery > 0 else { return [] }
        let cycles = max(1, UInt64((Double(duration) / Double(windowEvery)).rounded()))
        let cycle = Double(duration) / Double(cycles)
        let length = min(cycle, max(1, Double(windowLength) * cycle / Double(windowEvery)))
        return (1...cycles).map { index in
            let end = index == cycles ? duration : UInt64((cycle * Double(index)).rounded())
            var start = end - min(end, UInt64(length.rounded()))
            // The last window is attached at least `closeLead` before the end, so the handle is open
            // (a ring takes milliseconds to set up) when the connections close.
            if index == cycles { start = min(start, duration - min(duration, Self.closeLead)) }
            return (start, end)
        }
    }

    /// The snaplen a capture uses: the scenario's, or the default for headers or payload.
    public var effectiveSnaplen: Int { snaplen ?? (payload ? Self.payloadSnaplen : Self.headerSnaplen) }

    /// The interface to capture on for a target.
    public func effectiveInterface(for target: SocketAddress) -> String {
        interface ?? (target.isLoopback ? "lo" : "any")
    }
}
