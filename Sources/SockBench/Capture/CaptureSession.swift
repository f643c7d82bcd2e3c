import Synchronization
import CSockBenchLinux
import Glibc

/// A run's live capture: opened before the first connection, read on its own thread, which only
/// copies packets into `capture.pcap`; the analysis reads the file after the run, so none of its
/// work competes with the load inside the measured window.
///
/// In windows mode (the default) the capture socket is attached for the whole warm-up, detached
/// when the measured window opens, and attached again for short windows inside it (a detached
/// socket costs the load nothing, an attached one costs every packet a filter run and a copy);
/// `gate` tells the load's workers which stretches were captured, so the run measures its own
/// observer effect. Full mode keeps one socket attached from first packet to last.
public final class CaptureSession: @unchecked Sendable {
    public struct Settings: Sendable {
        public var spec: CaptureSpec
        public var interface: String
        /// A BPF filter on the run's own ports.
        public var filter: String
        /// Where the pcap goes (the analysis reads it back after the run).
        public var filePath: String
        public var analysis: CaptureAnalyzer.Configuration
        /// The measured window's planned length, over which windows mode spreads its windows.
        public var measuredDuration: UInt64
        /// The warm-up's length (0: none, so no warm-up was captured).
        public var warmup: UInt64

        public init(spec: CaptureSpec, interface: String, filter: String, filePath: String, analysis: CaptureAnalyzer.Configuration,
                    measuredDuration: UInt64, warmup: UInt64 = 0) {
            self.warmup = warmup
            self.spec = spec
            self.interface = interface
            self.filter = filter
            self.filePath = filePath
            self.analysis = analysis
            self.measuredDuration = measuredDuration
        }
    }

    /// Open while a capture socket is attached; the load engine reads it (`LoadEngine.run(captureGate:)`).
    public let gate = CaptureGate()
    private let settings: Settings
    private let writer: PcapFileWriter
    private let linkType: Int32
    /// The handle the thread reads now, so `stop` can end its loop.
    private let current: Mutex<PacketCapture?>
    private let stopping = Atomic<Bool>(false)
    /// Wakes the thread while it waits for the next window.
    private let wakeUp: WakeUp
    /// When the measured window opens, on the load's clock (CLOCK_MONOTONIC ns) and as a packet
    /// timestamp (ns since the epoch). UInt64.max until the load says.
    private let windowStartMonotonic = Atomic<UInt64>(.max)
    private let windowStartRealtime = Atomic<UInt64>(.max)
    private var thread: JoinableThread?
    /// The file's limit is the folder's free space, not capture.max_file_size.
    private var limitedByFreeSpace = false
    // Written by the capture thread, read after it is joined.
    private var failure: CaptureError?
    private var kernelDropped: UInt64 = 0
    /// How long before its window a handle is opened (`read`).
    static let setupLead: UInt64 = 150_000_000

    /// When a capture socket was attached and detached (CLOCK_MONOTONIC ns).
    private var attached: [(start: UInt64, end: UInt64)] = []

    /// The filter for a run's traffic: its transport and the server's port.
    public static func filter(transport: Socket.Transport, port: UInt16) -> String {
        "\(transport == .tcp ? "tcp" : "udp") port \(port)"
    }

    /// Opens the capture and the file and starts the thread. From the moment this returns, every
    /// matching packet is queued in the kernel buffer and will be read.
    public static func start(_ settings: Settings) throws(CaptureError) -> CaptureSession {
        let capture = try open(settings)
        let limit = fileLimit(settings)
        let writer = try PcapFileWriter.create(path: settings.filePath, snaplen: settings.spec.effectiveSnaplen,
                                               linkType: capture.linkType, maximumBytes: limit.bytes)
        let wakeUp: WakeUp
        do {
            wakeUp = try WakeUp()
        } catch {
            writer.discard()
            throw CaptureError(.other, "cannot create the capture's wake-up descriptor: \(error)")
        }
        let session = CaptureSession(settings: settings, capture: capture, writer: writer, wakeUp: wakeUp)
        session.limitedByFreeSpace = limit.byFreeSpace
        do {
            session.thread = try JoinableThread(name: "capture") { session.read(first: capture) }
        } catch {
            writer.discard()
            throw CaptureError(.other, "cannot start the capture thread: \(error)")
        }
        return session
    }

    /// The file's limit: `capture.max_file_size`, or less when the folder has less room than that
    /// plus the room the reports need (`AtomicFile.minimumFreeBytes`; then `byFreeSpace`): a large
    /// capture never costs the run its report.
    static func fileLimit(_ settings: Settings) -> (bytes: UInt64, byFreeSpace: Bool) {
        let configured = UInt64(settings.spec.maxFileSize)
        let directory = String(settings.filePath[..<(settings.filePath.lastIndex(of: "/") ?? settings.filePath.startIndex)])
        guard let free = AtomicFile.freeBytes(directory.isEmpty ? "." : directory) else { return (configured, false) }
        let reserve = AtomicFile.minimumFreeBytes
        let room = free > reserve ? free - reserve : 0
        return room < configured ? (room, true) : (configured, false)
    }

    private static func open(_ settings: Settings) throws(CaptureError) -> PacketCapture {
        try PacketCapture.live(interface: settings.interface, snaplen: settings.spec.effectiveSnaplen,
                               bufferBytes: max(settings.spec.bufferSize, CaptureSpec.minimumBuffer), filter: settings.filter)
    }

    private init(settings: Settings, capture: PacketCapture, writer: PcapFileWriter, wakeUp: consuming WakeUp) {
        self.settings = settings
        self.writer = writer
        self.wakeUp = wakeUp
        linkType = capture.linkType
        current = Mutex(nil)
        _ = attach(capture)
    }

    // MARK: The capture thread

    private func read(first: PacketCapture) {
        var capture = first
        do {
            if settings.spec.mode == .full {
                try copy(capture)
                detach(capture)
                return
            }
            // The warm-up whole (its cost is outside every figure), then the windows.
            try copy(capture) { self.windowStartMonotonic.load(ordering: .relaxed) }
            try closeWindow(capture)
            let start = windowStartMonotonic.load(ordering: .relaxed)
            guard start != .max else { return }
            // The windows; the last runs on past the measured window's end until the run's last
            // packet (outside every figure, like the warm-up), so every FIN and RST is on file.
            let windows = settings.spec.windows(duration: settings.measuredDuration)
            let spans = windows.enumerated().map { index, window in
                (window.start, index == windows.count - 1 ? UInt64.max - start : window.end)
            }
            for (open, close) in spans {
                // A handle takes milliseconds to set up, tens on a busy machine (the last window of a
                // 1 s run was once attached after the run's end, and no close was on file): it is
                // opened ahead of its window, taking nothing, and armed as the window opens.
                guard sleep(until: start + open - min(start + open, Self.setupLead)) else { return }
                let prepared = try Self.open(settings)
                _ = prepared.acceptNothing()
                guard sleep(until: start + open) else {
                    prepared.close()
                    return
                }
                try prepared.arm(filter: settings.filter)
                capture = prepared
                guard attach(capture) else { return }
                try copy(capture) { start + close }
                try closeWindow(capture)
                if stopping.load(ordering: .acquiring) { return }
            }
        } catch {
            failure = error
            if current.withLock({ $0 }) != nil { detach(capture) }
        }
    }

    /// Copies frames from `capture` into the file (headers only unless payload is stored) until
    /// `stop` or the deadline.
    private func copy(_ capture: PacketCapture, until deadline: () -> UInt64 = { .max }) throws(CaptureError) {
        let linkType = linkType, storesPayload = settings.spec.payload
        try capture.run(writer: writer, until: deadline) { frame in
            CaptureAnalyzer.storedLength(frame.bytes, originalLength: frame.originalLength, linkType: linkType, storesPayload: storesPayload)
        }
    }

    /// Ends a window without losing its last packets: the kernel stops queueing new ones, the ring
    /// hands over its partly filled block within the block timeout, the reader takes it, and only
    /// then is the handle closed. The window (and the gate) end when the kernel stops queueing.
    private func closeWindow(_ capture: PacketCapture) throws(CaptureError) {
        guard !stopping.load(ordering: .acquiring), capture.acceptNothing() else {
            detach(capture)
            return
        }
        gate.set(open: false)
        markDetached()
        let drained = MonotonicClock.now() + 3 * UInt64(PacketCapture.blockTimeoutMilliseconds) * 1_000_000
        try copy(capture) { drained }
        detach(capture)
    }

    private func markDetached() {
        if let last = attached.indices.last, attached[last].end == 0 { attached[last].end = MonotonicClock.now() }
    }

    /// Makes `capture` the handle `stop` ends and notes when it was attached; false (nothing
    /// attached) when `stop` came first.
    private func attach(_ capture: PacketCapture) -> Bool {
        let attachedNow = current.withLock { handle -> Bool in
            guard !stopping.load(ordering: .acquiring) else { return false }
            handle = capture
            return true
        }
        guard attachedNow else { return false }
        gate.set(open: true)
        attached.append((MonotonicClock.now(), 0))
        return true
    }

    /// Closes the handle (the kernel stops copying packets for it) and notes when.
    private func detach(_ capture: PacketCapture) {
        kernelDropped += capture.kernelDropped
        current.withLock { $0 = nil }
        capture.close()
        gate.set(open: false)
        markDetached()
    }

    /// Waits for `time` on the monotonic clock; false when `stop` came first.
    private func sleep(until time: UInt64) -> Bool {
        var descriptor = pollfd(fd: wakeUp.fd, events: Int16(POLLIN), revents: 0)
        while !stopping.load(ordering: .acquiring) {
            let now = MonotonicClock.now()
            if now >= time { return true }
            _ = poll(&descriptor, 1, Int32(clamping: (time - now) / 1_000_000 + 1))
        }
        return false
    }

    // MARK: Control

    /// Splits the capture's figures at `monotonic` (CLOCK_MONOTONIC ns, the load's clock): packets
    /// stamped earlier count as warm-up (`CaptureRecord.warmupAnalysis`), later ones as the window;
    /// in windows mode the warm-up's capture ends there.
    public func setWindowStart(monotonic: UInt64) {
        let realtimeNow = MonotonicClock.wallClock()
        let monotonicNow = MonotonicClock.now()
        let start = monotonic >= monotonicNow ? realtimeNow + (monotonic - monotonicNow) : realtimeNow - min(realtimeNow, monotonicNow - monotonic)
        windowStartRealtime.store(start, ordering: .relaxed)
        windowStartMonotonic.store(monotonic, ordering: .relaxed)
    }

    /// Waits until no packet has arrived for `quiet` while a socket is attached (the last FIN and
    /// ACK of the run reach the kernel a little after the sockets close, and a ring block reaches
    /// the reader within its timeout; bounded by `limit`), stops the thread, finishes the file and
    /// analyses it. `split` and `measured` come from the load, for the observer effect.
    public func stop(split: CaptureSplit? = nil, measured: UInt64 = 0, countsBytes: Bool = false,
                     quiet: UInt64 = 30_000_000, limit: UInt64 = 500_000_000) -> CaptureRecord {
        let deadline = MonotonicClock.now() + limit
        var seen = current.withLock { $0?.packetsReadSoFar }
        while seen != nil, MonotonicClock.now() < deadline {
            var pause = timespec(tv_sec: 0, tv_nsec: Int(quiet))
            nanosleep(&pause, nil)
            let now = current.withLock { $0?.packetsReadSoFar }
            if now == seen { break }
            seen = now
        }
        current.withLock { handle in
            stopping.store(true, ordering: .releasing)
            handle?.stop()
        }
        wakeUp.signal()
        thread?.join()
        thread = nil
        return record(split: split, measured: measured, countsBytes: countsBytes)
    }

    private func record(split: CaptureSplit?, measured: UInt64, countsBytes: Bool) -> CaptureRecord {
        var details = CaptureRecord.Details(status: .captured, interface: settings.interface, filter: settings.filter,
                                            snaplen: settings.spec.effectiveSnaplen, payloadStored: settings.spec.payload,
                                            kernelDropped: kernelDropped)
        details.mode = settings.spec.mode.rawValue
        let start = windowStartMonotonic.load(ordering: .relaxed)
        if start != .max {
            let inWindow = attached.compactMap { span -> (start: UInt64, end: UInt64)? in
                let end = span.end == 0 ? MonotonicClock.now() : span.end
                guard end > start, measured == 0 || span.start < start + measured else { return nil }
                // The last window runs on into the close: only its part inside the measured window is listed.
                let inside = measured == 0 ? end - start : min(end - start, measured)
                return (span.start > start ? span.start - start : 0, inside)
            }
            details.windows = inWindow.map { .init(startS: Double($0.start) / 1e9, endS: Double($0.end) / 1e9) }
            details.warmupCaptured = settings.warmup > 0 && (attached.first.map { $0.start <= start } ?? false)
            if let split, measured > 0 {
                details.observerEffect = ObserverEffect.measure(split: split, windows: inWindow, measured: measured, bytes: countsBytes)
            }
        }
        var reasons: [String] = []
        if let failure { reasons.append(failure.message) }
        var analysed = false
        do {
            try writer.finish()
            details.file = String(settings.filePath.split(separator: "/").last ?? Substring(settings.filePath))
            details.packetsWritten = writer.packetsWritten
            details.fileTruncated = writer.packetsNotStored > 0
            if writer.packetsNotStored > 0 {
                details.packetsNotStored = writer.packetsNotStored
                if limitedByFreeSpace, writer.failure == nil {
                    reasons.append("\(details.file ?? "the capture") stopped at \(Format.bytes(Double(writer.bytesWritten))), before capture.max_file_size, "
                        + "to leave \(Format.bytes(Double(AtomicFile.minimumFreeBytes))) free for the reports; \(writer.packetsNotStored) packets were not stored")
                }
            }
            if let failure = writer.failure {
                reasons.append("writing \(details.file ?? "the capture") failed after \(writer.packetsWritten) packets "
                    + "(\(String(cString: strerror(failure)))); the file and the analysis hold those")
            }
            if writer.writesInPlace {
                reasons.append("\(details.file ?? "the capture") is a device or FIFO, written through: it cannot be read back, so the packets were not analysed")
            } else {
                analysed = true
            }
        } catch {
            reasons.append(error.message)
        }
        var record = CaptureRecord(details: details)
        if analysed {
            let windowStart = windowStartRealtime.load(ordering: .relaxed)
            do {
                let result = try CaptureAnalyzer.analyze(file: settings.filePath, configuration: settings.analysis,
                                                         windowStart: windowStart == .max ? nil : windowStart)
                record.analysis = result.window
                record.warmupAnalysis = result.warmup
            } catch {
                reasons.append("the capture file could not be analysed: \(error.message)")
            }
        }
        if !reasons.isEmpty { record.details.reason = reasons.joined(separator: "; ") }
        return record
    }
}
