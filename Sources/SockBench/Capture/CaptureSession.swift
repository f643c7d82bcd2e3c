import Synchronization
import CSockBenchLinux
import Glibc

/// A run's live capture: opened before the first connection, read on its own thread, which
/// writes `capture.pcap` and streams every packet through the analysis, and stopped after the
/// last packet of the run has been taken from the kernel.
public final class CaptureSession: @unchecked Sendable {
    public struct Settings: Sendable {
        public var spec: CaptureSpec
        public var interface: String
        /// A BPF filter on the run's own ports.
        public var filter: String
        /// Where the pcap goes; nil analyses without writing a file.
        public var filePath: String?
        public var analysis: CaptureAnalyzer.Configuration

        public init(spec: CaptureSpec, interface: String, filter: String, filePath: String?, analysis: CaptureAnalyzer.Configuration) {
            self.spec = spec
            self.interface = interface
            self.filter = filter
            self.filePath = filePath
            self.analysis = analysis
        }
    }

    private let settings: Settings
    private let capture: PacketCapture
    /// Owned by the capture thread until `stop` has joined it.
    private let analyzer: UnsafeMutablePointer<CaptureAnalyzer>
    private var thread: JoinableThread?
    private var failure: CaptureError?
    /// When the measured window opens, as a packet timestamp (ns since the epoch); packets from
    /// then on are the window's, those before it the warm-up's. UInt64.max until the load says.
    private let windowStart = Atomic<UInt64>(.max)

    /// The filter for a run's traffic: its transport and the server's port.
    public static func filter(transport: Socket.Transport, port: UInt16) -> String {
        "\(transport == .tcp ? "tcp" : "udp") port \(port)"
    }

    /// Opens the capture and starts its thread. From the moment this returns, every matching
    /// packet is queued in the kernel buffer and will be read.
    public static func start(_ settings: Settings) throws(CaptureError) -> CaptureSession {
        let capture = try PacketCapture.live(interface: settings.interface, snaplen: settings.spec.effectiveSnaplen,
                                             bufferBytes: max(settings.spec.bufferSize, CaptureSpec.minimumBuffer),
                                             filter: settings.filter)
        if let path = settings.filePath {
            try capture.startFile(path: path, maximumBytes: UInt64(settings.spec.maxFileSize))
        }
        let session = CaptureSession(settings: settings, capture: capture)
        do {
            session.thread = try JoinableThread(name: "capture") { session.read() }
        } catch {
            capture.discardFile()
            throw CaptureError(.other, "cannot start the capture thread: \(error)")
        }
        return session
    }

    private init(settings: Settings, capture: PacketCapture) {
        self.settings = settings
        self.capture = capture
        analyzer = .allocate(capacity: 1)
        analyzer.initialize(to: CaptureAnalyzer(configuration: settings.analysis, linkType: capture.linkType,
                                                storesPayload: settings.spec.payload))
    }

    deinit {
        analyzer.deinitialize(count: 1)
        analyzer.deallocate()
    }

    private func read() {
        let analyzer = analyzer
        do {
            try capture.run { frame in
                if frame.timestampNanoseconds >= self.windowStart.load(ordering: .relaxed) { analyzer.pointee.openWindow() }
                return analyzer.pointee.consume(frame)
            }
        } catch {
            failure = error
        }
    }

    /// Splits the capture's figures at `monotonic` (CLOCK_MONOTONIC ns, the load's clock): packets
    /// stamped earlier count as warm-up (`CaptureRecord.warmupAnalysis`), later ones as the window.
    public func setWindowStart(monotonic: UInt64) {
        let realtimeNow = MonotonicClock.wallClock()
        let monotonicNow = MonotonicClock.now()
        let start = monotonic >= monotonicNow ? realtimeNow + (monotonic - monotonicNow) : realtimeNow - min(realtimeNow, monotonicNow - monotonic)
        windowStart.store(start, ordering: .relaxed)
    }

    /// Waits until no packet has arrived for `quiet` (the last FIN and ACK of the run reach the
    /// kernel a little after the sockets close; bounded by `limit`), ends the capture loop,
    /// which drains what the kernel holds, and returns the record for the report.
    public func stop(quiet: UInt64 = 20_000_000, limit: UInt64 = 500_000_000) -> CaptureRecord {
        let deadline = MonotonicClock.now() + limit
        var seen = capture.packetsReadSoFar
        while MonotonicClock.now() < deadline {
            var pause = timespec(tv_sec: 0, tv_nsec: Int(quiet))
            nanosleep(&pause, nil)
            let now = capture.packetsReadSoFar
            if now == seen { break }
            seen = now
        }
        capture.stop()
        thread?.join()
        thread = nil
        var details = CaptureRecord.Details(status: .captured, interface: settings.interface, filter: settings.filter,
                                            snaplen: settings.spec.effectiveSnaplen, payloadStored: settings.spec.payload,
                                            kernelDropped: capture.kernelDropped)
        if let path = settings.filePath {
            do {
                let written = try capture.finishFile()
                details.file = String(path.split(separator: "/").last ?? Substring(path))
                details.packetsWritten = written.packets
                details.fileTruncated = written.truncated
            } catch {
                details.reason = error.message
            }
        }
        if let failure { details.reason = [details.reason, failure.message].compactMap { $0 }.joined(separator: "; ") }
        // A window that opened with no packet after it still splits: everything seen was warm-up.
        if windowStart.load(ordering: .relaxed) <= MonotonicClock.wallClock() {
            analyzer.pointee.openWindow()
        }
        var record = CaptureRecord(details: details, analysis: analyzer.pointee.finish())
        record.warmupAnalysis = analyzer.pointee.warmup
        return record
    }
}
