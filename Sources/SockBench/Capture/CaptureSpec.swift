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
    public static let payloadSnaplen = 65_535
    public static let minimumBuffer = 4 << 20

    public init() {}

    /// Windows mode: when the measured window's capture windows open and close, in ns from its start.
    /// A measured window shorter than `windowEvery` gets one window in its middle, shortened in
    /// proportion, so every run keeps the same share captured (windowLength / windowEvery).
    public func windows(duration: UInt64) -> [(start: UInt64, end: UInt64)] {
        guard mode == .windows, duration > 0, windowEvery > 0 else { return [] }
        let every = min(windowEvery, duration)
        let length = max(1, UInt64((Double(windowLength) * Double(every) / Double(windowEvery)).rounded()))
        var result: [(start: UInt64, end: UInt64)] = []
        var start = (every - min(length, every)) / 2
        while start < duration {
            result.append((start, min(start + length, duration)))
            start += every
        }
        return result
    }

    /// The snaplen a capture uses: the scenario's, or the default for headers or payload.
    public var effectiveSnaplen: Int { snaplen ?? (payload ? Self.payloadSnaplen : Self.headerSnaplen) }

    /// The interface to capture on for a target.
    public func effectiveInterface(for target: SocketAddress) -> String {
        interface ?? (target.isLoopback ? "lo" : "any")
    }
}
