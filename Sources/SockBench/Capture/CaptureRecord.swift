/// The capture part of a run in `report.json` (`runs[].capture`): how the packets were
/// captured, or why they were not, with the analysis figures at the same level
/// (`capture.packets`, `capture.tcp.retransmissions`, ...).
public struct CaptureRecord: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable, CaseIterable {
        /// Packets were captured and analysed.
        case captured
        /// The scenario or `--no-capture` turned capture off.
        case disabled
        /// Capture could not start (no privilege, no such interface); the run went on without it.
        case unavailable
    }

    public struct Details: Codable, Sendable, Equatable {
        public var status: Status
        /// Why capture is disabled or unavailable, in words.
        public var reason: String?
        /// The pcap file, relative to the report's folder.
        public var file: String?
        public var interface: String?
        public var filter: String?
        public var snaplen: Int?
        /// `snaplen` again, named with its unit (v1 keeps both).
        public var snaplenBytes: Int?
        /// False: the file holds headers only (payload bytes cut off after the TCP/UDP header).
        public var payloadStored: Bool?
        /// Frames stored in the file.
        public var packetsWritten: UInt64?
        /// The file reached `capture.max_file_size`: the analysis covers the packets it holds.
        public var fileTruncated: Bool?
        /// Frames captured after the file reached its maximum size, neither stored nor analysed.
        public var packetsNotStored: UInt64?
        /// Packets the kernel dropped because the capture buffer was full (`ps_drop`).
        public var kernelDropped: UInt64?
        /// `windows` (the warm-up whole and windows of the measured window) or `full` (every packet).
        public var mode: String?
        /// The stretches of the measured window a capture socket was attached, in seconds from its
        /// start (the first starts at 0 when the warm-up's capture ran on into the window, as in full mode).
        public var windows: [CaptureWindow]?
        /// The warm-up was captured whole (its figures are in `runs[].warmup.capture`).
        public var warmupCaptured: Bool?
        /// What capturing cost the load in this run, measured inside the run.
        public var observerEffect: ObserverEffect?

        /// Seconds of the measured window with a capture attached (the windows' lengths added up).
        public var capturedSeconds: Double { (windows ?? []).reduce(0) { $0 + max(0, $1.endS - $1.startS) } }

        public init(status: Status, reason: String? = nil, file: String? = nil, interface: String? = nil, filter: String? = nil,
                    snaplen: Int? = nil, payloadStored: Bool? = nil, packetsWritten: UInt64? = nil, fileTruncated: Bool? = nil,
                    kernelDropped: UInt64? = nil) {
            self.status = status
            self.reason = reason
            self.file = file
            self.interface = interface
            self.filter = filter
            self.snaplen = snaplen
            self.snaplenBytes = snaplen
            self.payloadStored = payloadStored
            self.packetsWritten = packetsWritten
            self.fileTruncated = fileTruncated
            self.kernelDropped = kernelDropped
        }
    }

    /// One stretch with a capture socket attached.
    public struct CaptureWindow: Codable, Sendable, Equatable {
        public var startS: Double
        public var endS: Double
    }

    public var details: Details
    /// The measured window's figures (the whole capture when no window split it).
    public var analysis: CaptureAnalysis?
    /// The figures before the window opened; the runner reports them in `runs[].warmup.capture`,
    /// so they are not encoded here.
    public var warmupAnalysis: CaptureAnalysis?

    public init(details: Details, analysis: CaptureAnalysis? = nil) {
        self.details = details
        self.analysis = analysis
    }

    public static func notCaptured(_ status: Status, reason: String) -> CaptureRecord {
        CaptureRecord(details: Details(status: status, reason: reason))
    }

    public var status: Status { details.status }

    /// Equal as encoded: the warm-up figures travel in `runs[].warmup`, not here.
    public static func == (lhs: CaptureRecord, rhs: CaptureRecord) -> Bool {
        lhs.details == rhs.details && lhs.analysis == rhs.analysis
    }

    public func encode(to encoder: any Encoder) throws {
        try details.encode(to: encoder)
        try analysis?.encode(to: encoder)
    }

    public init(from decoder: any Decoder) throws {
        details = try Details(from: decoder)
        // A captured run whose file could not be analysed has details and no figures.
        analysis = details.status == .captured ? try? CaptureAnalysis(from: decoder) : nil
    }
}
