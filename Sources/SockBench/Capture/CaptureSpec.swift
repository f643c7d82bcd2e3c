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
    /// The file stops growing here (the analysis still covers every packet).
    public var maxFileSize = 1 << 30

    public static let headerSnaplen = 128
    public static let payloadSnaplen = 65_535
    public static let minimumBuffer = 4 << 20

    public init() {}

    /// The snaplen a capture uses: the scenario's, or the default for headers or payload.
    public var effectiveSnaplen: Int { snaplen ?? (payload ? Self.payloadSnaplen : Self.headerSnaplen) }

    /// The interface to capture on for a target.
    public func effectiveInterface(for target: SocketAddress) -> String {
        interface ?? (target.isLoopback ? "lo" : "any")
    }
}
