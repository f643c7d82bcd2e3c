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
/// a BPF filter, a loop that hands every frame to a handler, and a nanosecond pcap writer.
///
/// A live capture is opened as the facts about this machine require: `pcap_create` with
/// immediate mode (without it packets arrive about a second late and are lost at stop),
/// nanosecond timestamps and a kernel buffer of several MiB. Not thread-safe, except
/// `stop`, which another thread calls to end `run`.
///
/// The kernel puts every packet in the ring at once (immediate mode), but the reading thread
/// does not wake for each one: under load it takes what has accumulated every millisecond,
/// since a wake-up per packet costs the load more CPU on a 2-vCPU machine than the reading.
final class PacketCapture: @unchecked Sendable {
    /// The DLT link type of the frames (`PacketDecoder` reads Ethernet, raw IP, SLL, SLL2, NULL).
    let linkType: Int32
    let isLive: Bool
    private let handle: OpaquePointer
    private var writer: UnsafeMutablePointer<Writer>?
    private let stopping = Atomic<Bool>(false)
    /// Wakes a reading thread asleep in `poll` when `stop` is called.
    private let wakeUp: WakeUp
    /// Batches smaller than this are followed by a pause, so packets accumulate between reads.
    static let batchThreshold: Int32 = 256
    /// The pause: the ring holds 16 MiB (about 60,000 headers-only frames), so a 10 ms pause
    /// leaves it mostly empty at the 300,000 packets/s this machine reaches on loopback.
    static let pauseNanoseconds = 10_000_000

    /// Records go into a buffer written out a MiB at a time: `pcap_dump`'s per-packet `fwrite`
    /// cost the reading thread a fifth of its time. Lives behind a pointer so the per-packet
    /// path mutates it without the dynamic exclusivity checks of class properties.
    private struct Writer {
        var dumper: OpaquePointer
        /// The file being written: a temporary one renamed into place, or a device written in place.
        var file: AtomicFile.Pending
        var fd: Int32 { file.descriptor }
        var path: String { file.path }
        var maximumBytes: UInt64
        var buffer: UnsafeMutableRawPointer
        var buffered = 0
        var bytesWritten: UInt64 = 24 // the file header
        var packetsWritten: UInt64 = 0
        var truncated = false
        /// The errno of a failed write; nothing more is written after one.
        var failure: Int32?

        /// Appends one record (the 16-byte pcap header with the stored length, then the bytes).
        @inline(__always)
        mutating func append(timestamp: UInt64, originalLength: Int, bytes: UnsafePointer<UInt8>, length: Int) {
            guard !truncated, failure == nil else { return }
            let recordBytes = 16 + length
            if bytesWritten + UInt64(recordBytes) > maximumBytes {
                truncated = true
                return
            }
            if buffered + recordBytes > PacketCapture.writeBufferBytes { flush() }
            let record = buffer + buffered
            // Host byte order, as the file header's magic number says; seconds and nanoseconds.
            record.storeBytes(of: UInt32(truncatingIfNeeded: timestamp / 1_000_000_000), as: UInt32.self)
            record.storeBytes(of: UInt32(truncatingIfNeeded: timestamp % 1_000_000_000), toByteOffset: 4, as: UInt32.self)
            record.storeBytes(of: UInt32(length), toByteOffset: 8, as: UInt32.self)
            record.storeBytes(of: UInt32(truncatingIfNeeded: originalLength), toByteOffset: 12, as: UInt32.self)
            (record + 16).copyMemory(from: bytes, byteCount: length)
            buffered += recordBytes
            bytesWritten += UInt64(recordBytes)
            packetsWritten += 1
        }

        mutating func flush() {
            var offset = 0
            while offset < buffered, failure == nil {
                let written = Glibc.write(fd, buffer + offset, buffered - offset)
                if written < 0 {
                    if errno != EINTR { failure = errno }
                } else {
                    offset += written
                }
            }
            buffered = 0
        }
    }

    static let writeBufferBytes = 1 << 20
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

    deinit {
        discardFile()
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
        pcap_set_immediate_mode(handle, 1)
        pcap_set_buffer_size(handle, Int32(bufferBytes))
        pcap_set_timeout(handle, 100)
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

    /// Hands every frame to `handler`, which returns how many of its bytes to store in the file
    /// (see `startFile`). A live capture runs until `stop`, then drains what the kernel already
    /// queued, so no packet that arrived before the stop is lost; a file runs to its end.
    func run(_ handler: (CapturedFrame) -> Int) throws(CaptureError) {
        let failure: String? = withoutActuallyEscaping(handler) { handler in
            var context = LoopContext(handler: handler, writer: writer)
            return withUnsafeMutablePointer(to: &context) { context -> String? in
                let user = UnsafeMutableRawPointer(context).assumingMemoryBound(to: UInt8.self)
                if isLive { return readLive(user, context) }
                return pcap_loop(handle, -1, PacketCapture.callback, user) == PCAP_ERROR ? String(cString: pcap_geterr(handle)) : nil
            }
        }
        if let failure { throw CaptureError(isLive ? .other : .unreadable, "capture failed: \(failure)") }
    }

    private func readLive(_ user: UnsafeMutablePointer<UInt8>, _ context: UnsafeMutablePointer<LoopContext>) -> String? {
        var errorText = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard pcap_setnonblock(handle, 1, &errorText) == 0 else { return Self.text(errorText) }
        let selectable = pcap_get_selectable_fd(handle)
        var descriptors = [pollfd(fd: selectable, events: Int16(POLLIN), revents: 0),
                           pollfd(fd: wakeUp.fd, events: Int16(POLLIN), revents: 0)]
        while !stopping.load(ordering: .acquiring) {
            let count = pcap_dispatch(handle, -1, PacketCapture.callback, user)
            if count == PCAP_ERROR { return String(cString: pcap_geterr(handle)) }
            packetsRead.store(context.pointee.packets, ordering: .relaxed)
            if count == 0 {
                _ = poll(&descriptors, 2, 100) // asleep until a packet arrives or stop is called
            } else if count < Self.batchThreshold {
                var pause = timespec(tv_sec: 0, tv_nsec: Self.pauseNanoseconds)
                nanosleep(&pause, nil)
            }
        }
        while pcap_dispatch(handle, -1, PacketCapture.callback, user) > 0 {}
        packetsRead.store(context.pointee.packets, ordering: .relaxed)
        return nil
    }

    /// Ends `run` from another thread: it drains what the kernel holds and returns.
    func stop() {
        stopping.store(true, ordering: .releasing)
        pcap_breakloop(handle)
        wakeUp.signal()
    }

    /// Packets the kernel dropped because the buffer was full (`ps_drop`). `ps_recv` is not
    /// used: it counts each packet twice on `lo`; received packets are counted in the handler.
    var kernelDropped: UInt64 {
        var stats = pcap_stat()
        guard isLive, pcap_stats(handle, &stats) == 0 else { return 0 }
        return UInt64(stats.ps_drop)
    }

    /// What the C callback reaches through libpcap's user pointer.
    private struct LoopContext {
        let handler: (CapturedFrame) -> Int
        let writer: UnsafeMutablePointer<Writer>?
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
            writer.pointee.append(timestamp: frame.timestampNanoseconds, originalLength: frame.originalLength,
                                  bytes: bytes, length: min(stored, captured))
        }
    }

    // MARK: Writing

    /// Starts writing frames to `path` as a nanosecond pcap with mode 0600. The file is written
    /// under a random temporary name (`AtomicFile.begin`) and renamed by `finishFile`, so `path` is
    /// never half-written; a device or FIFO at `path` is written in place instead.
    /// Beyond `maximumBytes` frames are still analysed but no longer stored. Call before `run`.
    func startFile(path: String, maximumBytes: UInt64) throws(CaptureError) {
        let pending: AtomicFile.Pending
        do {
            pending = try AtomicFile.begin(path, mode: 0o600)
        } catch {
            throw CaptureError(.file, "\(error)")
        }
        guard let file = fdopen(pending.descriptor, "wb") else {
            let code = errno
            AtomicFile.discard(pending)
            close(pending.descriptor)
            throw CaptureError(.file, "cannot write \(path): \(String(cString: strerror(code)))")
        }
        // libpcap writes the file header (magic for nanoseconds, snaplen, link type); records follow from our buffer.
        guard let dumper = pcap_dump_fopen(handle, file), pcap_dump_flush(dumper) == 0 else {
            let detail = String(cString: pcap_geterr(handle))
            fclose(file)
            AtomicFile.discard(pending)
            throw CaptureError(.file, "cannot write \(path): \(detail)")
        }
        let state = UnsafeMutablePointer<Writer>.allocate(capacity: 1)
        state.initialize(to: Writer(dumper: dumper, file: pending, maximumBytes: maximumBytes,
                                    buffer: .allocate(byteCount: Self.writeBufferBytes, alignment: 16)))
        writer = state
    }

    /// Writes what is buffered, syncs and renames the file into place; returns what it holds.
    func finishFile() throws(CaptureError) -> (packets: UInt64, bytes: UInt64, truncated: Bool) {
        guard let state = writer else { return (0, 0, false) }
        state.pointee.flush()
        let current = state.pointee
        defer { release(state) }
        if let failure = current.failure {
            AtomicFile.discard(current.file)
            throw CaptureError(.file, "cannot write \(current.path): \(String(cString: strerror(failure)))")
        }
        do {
            try AtomicFile.commit(current.file)
        } catch {
            throw CaptureError(.file, "\(error)")
        }
        return (current.packetsWritten, current.bytesWritten, current.truncated)
    }

    /// Drops a file being written (the run failed before it could be finished).
    func discardFile() {
        guard let state = writer else { return }
        AtomicFile.discard(state.pointee.file)
        release(state)
    }

    private func release(_ state: UnsafeMutablePointer<Writer>) {
        writer = nil
        pcap_dump_close(state.pointee.dumper) // closes the FILE and its descriptor
        state.pointee.buffer.deallocate()
        state.deinitialize(count: 1)
        state.deallocate()
    }
}
