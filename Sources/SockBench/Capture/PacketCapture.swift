import CPcap
import CSockBenchLinux
import Glibc
import Synchronization

/// One frame as libpcap hands it over; `bytes` is valid only during the handler call.
struct CapturedFrame {
    var timestampNanoseconds: UInt64
    /// Length on the wire (`pcap_pkthdr.len`), which the snaplen does not shorten.
    var originalLength: Int
    /// The captured bytes, at most the snaplen.
    var bytes: UnsafeRawBufferPointer
}

/// The only code that talks to libpcap: a live capture on an interface or a pcap/pcapng file,
/// a BPF filter, and a loop that hands every frame to a handler (and to a `PcapFileWriter`).
///
/// A live capture is opened as the facts about this machine require: `pcap_create` without
/// immediate mode, so the kernel fills TPACKET_V3 ring blocks and wakes the reader once per block
/// (immediate mode forces TPACKET_V2 and a wake-up per packet: half the load's round trips on
/// loopback), a short block timeout so a partly filled block reaches the reader soon, nanosecond
/// timestamps, and a kernel buffer of several MiB. Not thread-safe, except `stop`, which another
/// thread calls to end `run`.
final class PacketCapture: @unchecked Sendable {
    /// The DLT link type of the frames (`PacketDecoder` reads Ethernet, raw IP, SLL, SLL2, NULL).
    let linkType: Int32
    let isLive: Bool
    private let handle: OpaquePointer
    private let stopping = Atomic<Bool>(false)
    /// Wakes a reading thread asleep in `poll` when `stop` is called.
    private let wakeUp: WakeUp
    /// How long the kernel holds a partly filled ring block before handing it over.
    static let blockTimeoutMilliseconds: Int32 = 10
    /// Packets read so far, published after each batch for `CaptureSession` to see the wire go quiet.
    private let packetsRead = Atomic<UInt64>(0)
    var packetsReadSoFar: UInt64 { packetsRead.load(ordering: .relaxed) }

    private init(handle: OpaquePointer, isLive: Bool) throws(CaptureError) {
        self.handle = handle
        self.isLive = isLive
        linkType = pcap_datalink(handle)
        do {
            wakeUp = try WakeUp()
        } catch {
            pcap_close(handle)
            throw CaptureError(.other, "cannot create the capture's wake-up descriptor: \(error)")
        }
    }

    private var closed = false

    deinit {
        close()
    }

    /// Closes the handle now: the kernel stops handing the capture packets (a handle merely
    /// left unread would go on costing every packet a filter run until its ring is full, and then still).
    func close() {
        guard !closed else { return }
        closed = true
        pcap_close(handle)
    }

    // MARK: Opening

    /// Opens and activates a live capture. Packets matching `filter` queue in the kernel buffer
    /// from the moment this returns, before `run` is called.
    static func live(interface: String, snaplen: Int, bufferBytes: Int, filter: String) throws(CaptureError) -> PacketCapture {
        var errorText = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let handle = pcap_create(interface, &errorText) else {
            throw CaptureError(.other, "cannot open a capture on \(interface): \(Self.text(errorText))")
        }
        pcap_set_snaplen(handle, Int32(snaplen))
        pcap_set_promisc(handle, 0)
        pcap_set_buffer_size(handle, Int32(bufferBytes))
        pcap_set_timeout(handle, blockTimeoutMilliseconds)
        if pcap_set_tstamp_precision(handle, Int32(PCAP_TSTAMP_PRECISION_NANO)) != 0 {
            pcap_close(handle)
            throw CaptureError(.other, "libpcap on \(interface) cannot give nanosecond timestamps")
        }
        let status = pcap_activate(handle)
        if status < 0 {
            let detail = String(cString: pcap_geterr(handle))
            pcap_close(handle)
            switch status {
            case PCAP_ERROR_PERM_DENIED:
                throw CaptureError(.permissionDenied, "no permission to capture on \(interface) (\(detail)); \(CaptureError.privilegeHint)")
            case PCAP_ERROR_NO_SUCH_DEVICE:
                throw CaptureError(.noSuchInterface, "no interface named \(interface) to capture on (\(detail)); set capture.interface")
            default:
                throw CaptureError(.other, "cannot start capturing on \(interface): \(detail)")
            }
        }
        let capture = try PacketCapture(handle: handle, isLive: true)
        // On loopback every packet is seen twice, sent and received, and libpcap throws the sent copy
        // away only after the kernel has cloned it and copied it into the ring: refuse it in the kernel.
        // (A BPF `inbound` would do the same, but libpcap's userland re-check of packets queued before
        // the filter was set cannot evaluate it and rejects them: the run's first SYN was lost.)
        if interface == "lo" { _ = CPcap_ignoreOutgoing(handle) }
        try capture.apply(filter: filter)
        return capture
    }

    /// Opens a pcap or pcapng file (for example one written by tcpdump) for reading,
    /// with timestamps scaled to nanoseconds whatever the file holds.
    static func file(path: String, filter: String?) throws(CaptureError) -> PacketCapture {
        var errorText = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let handle = pcap_open_offline_with_tstamp_precision(path, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errorText) else {
            throw CaptureError(.unreadable, "cannot read \(path) as a capture: \(Self.text(errorText))")
        }
        let capture = try PacketCapture(handle: handle, isLive: false)
        if let filter {
            do {
                try capture.apply(filter: filter)
            } catch {
                // The filter is sockbench's own: what fails is the file's link type (a damaged or exotic header).
                throw CaptureError(.unreadable, "cannot read \(path): its link type \(capture.linkType) cannot be filtered (\(error.message))")
            }
        }
        return capture
    }

    /// Takes `filter`'s packets again after `acceptNothing`, dropping whatever the kernel queued
    /// before that (a handle opened ahead of its window, which took packets for a moment).
    func arm(filter: String) throws(CaptureError) {
        var errorText = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        if pcap_setnonblock(handle, 1, &errorText) == 0 {
            while pcap_dispatch(handle, -1, { _, _, _ in }, nil) > 0 {}
        }
        try apply(filter: filter)
    }

    private func apply(filter: String) throws(CaptureError) {
        var program = bpf_program()
        guard pcap_compile(handle, &program, filter, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            throw CaptureError(.badFilter, "bad capture filter '\(filter)': \(String(cString: pcap_geterr(handle)))")
        }
        defer { pcap_freecode(&program) }
        guard pcap_setfilter(handle, &program) == 0 else {
            throw CaptureError(.badFilter, "cannot apply capture filter '\(filter)': \(String(cString: pcap_geterr(handle)))")
        }
    }

    /// libpcap's error buffer as text.
    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: Reading

    /// Hands every frame to `handler`, which returns how many of its bytes `writer` should store
    /// (negative: none). A live capture runs until `stop` or until the monotonic clock reaches
    /// `deadline()` (read again after every batch), then takes what the kernel has handed over;
    /// a file runs to its end.
    func run(writer: PcapFileWriter? = nil, until deadline: () -> UInt64 = { .max },
             _ handler: (CapturedFrame) -> Int) throws(CaptureError) {
        let failure: String? = withoutActuallyEscaping(handler) { handler in
            var context = LoopContext(handler: handler, writer: writer)
            return withUnsafeMutablePointer(to: &context) { context -> String? in
                let user = UnsafeMutableRawPointer(context).assumingMemoryBound(to: UInt8.self)
                if isLive { return readLive(user, context, deadline: deadline) }
                return pcap_loop(handle, -1, PacketCapture.callback, user) == PCAP_ERROR ? String(cString: pcap_geterr(handle)) : nil
            }
        }
        if let failure { throw CaptureError(isLive ? .other : .unreadable, "capture failed: \(failure)") }
    }

    private func readLive(_ user: UnsafeMutablePointer<UInt8>, _ context: UnsafeMutablePointer<LoopContext>,
                          deadline: () -> UInt64) -> String? {
        var errorText = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard pcap_setnonblock(handle, 1, &errorText) == 0 else { return Self.text(errorText) }
        let selectable = pcap_get_selectable_fd(handle)
        var descriptors = [pollfd(fd: selectable, events: Int16(POLLIN), revents: 0),
                           pollfd(fd: wakeUp.fd, events: Int16(POLLIN), revents: 0)]
        while !stopping.load(ordering: .acquiring) {
            let now = MonotonicClock.now()
            let end = deadline()
            if now >= end { break }
            let count = pcap_dispatch(handle, -1, PacketCapture.callback, user)
            if count == PCAP_ERROR { return String(cString: pcap_geterr(handle)) }
            packetsRead.store(context.pointee.packets, ordering: .relaxed)
            if count == 0 {
                // Asleep until the kernel hands over a block, stop is called, or the deadline.
                let wait = min(100, Int32(clamping: (end - now) / 1_000_000 + 1))
                _ = poll(&descriptors, 2, wait)
            }
        }
        while pcap_dispatch(handle, -1, PacketCapture.callback, user) > 0 {}
        packetsRead.store(context.pointee.packets, ordering: .relaxed)
        return nil
    }

    /// Stops the kernel from queueing further packets for this capture, keeping those it already
    /// queued: a window closes with this, and the reader takes the rest within a block timeout.
    func acceptNothing() -> Bool {
        !closed && CPcap_acceptNothing(handle) == 0
    }

    /// Ends `run` from another thread: it takes what the kernel has handed over and returns.
    func stop() {
        stopping.store(true, ordering: .releasing)
        wakeUp.signal()
    }

    /// Packets the kernel dropped because the buffer was full (`ps_drop`). `ps_recv` is not
    /// used: it counts each packet twice on `lo`; received packets are counted in the handler.
    var kernelDropped: UInt64 {
        var stats = pcap_stat()
        guard isLive, !closed, pcap_stats(handle, &stats) == 0 else { return 0 }
        return UInt64(stats.ps_drop)
    }

    /// What the C callback reaches through libpcap's user pointer.
    private struct LoopContext {
        let handler: (CapturedFrame) -> Int
        let writer: PcapFileWriter?
        var packets: UInt64 = 0
    }

    private static let callback: pcap_handler = { user, header, bytes in
        guard let user, let header, let bytes else { return }
        let context = UnsafeMutableRawPointer(user).assumingMemoryBound(to: LoopContext.self)
        context.pointee.packets &+= 1
        let captured = Int(CPcap_capturedLength(header))
        let frame = CapturedFrame(timestampNanoseconds: CPcap_timestampNanoseconds(header),
                                  originalLength: Int(CPcap_originalLength(header)),
                                  bytes: UnsafeRawBufferPointer(start: bytes, count: captured))
        let stored = context.pointee.handler(frame)
        if let writer = context.pointee.writer, stored >= 0 {
            writer.append(timestamp: frame.timestampNanoseconds, originalLength: frame.originalLength,
                          bytes: bytes, length: min(stored, captured))
        }
    }
}
