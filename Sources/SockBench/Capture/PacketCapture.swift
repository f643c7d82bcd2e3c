import CPcap
import CSockBenchLinux
import Glibc

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
/// `breakLoop`, which another thread calls to end `run`.
final class PacketCapture: @unchecked Sendable {
    /// The DLT link type of the frames (`PacketDecoder` reads Ethernet, raw IP, SLL, SLL2, NULL).
    let linkType: Int32
    let isLive: Bool
    private let handle: OpaquePointer
    private var writer: Writer?

    private struct Writer {
        var dumper: OpaquePointer
        var file: UnsafeMutablePointer<FILE>
        var temporaryPath: String
        var path: String
        var maximumBytes: UInt64
        var bytesWritten: UInt64 = 24 // the file header
        var packetsWritten: UInt64 = 0
        var truncated = false
    }

    private init(handle: OpaquePointer, isLive: Bool) {
        self.handle = handle
        self.isLive = isLive
        linkType = pcap_datalink(handle)
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
        let capture = PacketCapture(handle: handle, isLive: true)
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
        let capture = PacketCapture(handle: handle, isLive: false)
        if let filter { try capture.apply(filter: filter) }
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
    /// (see `startFile`). A live capture runs until `breakLoop`, then drains what the kernel
    /// already queued, so no packet that arrived before the stop is lost; a file runs to its end.
    func run(_ handler: (CapturedFrame) -> Int) throws(CaptureError) {
        let failure: String? = withoutActuallyEscaping(handler) { handler in
            var context = LoopContext(capture: self, handler: handler)
            return withUnsafeMutablePointer(to: &context) { context -> String? in
                let user = UnsafeMutableRawPointer(context).assumingMemoryBound(to: UInt8.self)
                let status = pcap_loop(handle, -1, PacketCapture.callback, user)
                if status == PCAP_ERROR { return String(cString: pcap_geterr(handle)) }
                guard isLive else { return nil }
                var errorText = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
                pcap_setnonblock(handle, 1, &errorText)
                while pcap_dispatch(handle, -1, PacketCapture.callback, user) > 0 {}
                return nil
            }
        }
        if let failure { throw CaptureError(isLive ? .other : .unreadable, "capture failed: \(failure)") }
    }

    /// Ends `run` from another thread (libpcap wakes its poll for this).
    func breakLoop() { pcap_breakloop(handle) }

    /// Packets the kernel dropped because the buffer was full (`ps_drop`). `ps_recv` is not
    /// used: it counts each packet twice on `lo`; received packets are counted in the handler.
    var kernelDropped: UInt64 {
        var stats = pcap_stat()
        guard isLive, pcap_stats(handle, &stats) == 0 else { return 0 }
        return UInt64(stats.ps_drop)
    }

    private struct LoopContext {
        unowned let capture: PacketCapture
        let handler: (CapturedFrame) -> Int
    }

    private static let callback: pcap_handler = { user, header, bytes in
        guard let user, let header, let bytes else { return }
        let context = UnsafeMutableRawPointer(user).assumingMemoryBound(to: LoopContext.self)
        let captured = Int(CPcap_capturedLength(header))
        let frame = CapturedFrame(timestampNanoseconds: CPcap_timestampNanoseconds(header),
                                  originalLength: Int(CPcap_originalLength(header)),
                                  bytes: UnsafeRawBufferPointer(start: bytes, count: captured))
        let stored = context.pointee.handler(frame)
        context.pointee.capture.store(header, bytes, length: min(stored, captured))
    }

    // MARK: Writing

    /// Starts writing frames to `path` as a nanosecond pcap with mode 0600. The file is written
    /// under a temporary name and renamed by `finishFile`, so `path` is never half-written.
    /// Beyond `maximumBytes` frames are still analysed but no longer stored.
    func startFile(path: String, maximumBytes: UInt64) throws(CaptureError) {
        let temporaryPath = path + ".tmp-\(getpid())"
        let fd = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CaptureError(.file, "cannot write \(path): \(String(cString: strerror(errno)))") }
        fchmod(fd, 0o600) // an existing temporary file keeps its old mode otherwise
        guard let file = fdopen(fd, "wb") else {
            close(fd)
            unlink(temporaryPath)
            throw CaptureError(.file, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        guard let dumper = pcap_dump_fopen(handle, file) else {
            let detail = String(cString: pcap_geterr(handle))
            fclose(file)
            unlink(temporaryPath)
            throw CaptureError(.file, "cannot write \(path): \(detail)")
        }
        writer = Writer(dumper: dumper, file: file, temporaryPath: temporaryPath, path: path, maximumBytes: maximumBytes)
    }

    @inline(__always)
    private func store(_ header: UnsafePointer<pcap_pkthdr>, _ bytes: UnsafePointer<UInt8>, length: Int) {
        guard length >= 0, writer != nil, !writer!.truncated else { return }
        let recordBytes = UInt64(16 + length)
        if writer!.bytesWritten + recordBytes > writer!.maximumBytes {
            writer!.truncated = true
            return
        }
        var shortened = header.pointee
        shortened.caplen = UInt32(length)
        pcap_dump(UnsafeMutablePointer<UInt8>(writer!.dumper), &shortened, bytes)
        writer!.bytesWritten += recordBytes
        writer!.packetsWritten += 1
    }

    /// Flushes, syncs and renames the file into place; returns what it holds.
    func finishFile() throws(CaptureError) -> (packets: UInt64, bytes: UInt64, truncated: Bool) {
        guard let current = writer else { return (0, 0, false) }
        writer = nil
        let flushed = pcap_dump_flush(current.dumper) == 0 && fsync(fileno(current.file)) == 0
        let code = errno
        pcap_dump_close(current.dumper) // closes the FILE and its descriptor
        guard flushed else {
            unlink(current.temporaryPath)
            throw CaptureError(.file, "cannot write \(current.path): \(String(cString: strerror(code)))")
        }
        guard rename(current.temporaryPath, current.path) == 0 else {
            let code = errno
            unlink(current.temporaryPath)
            throw CaptureError(.file, "cannot write \(current.path): \(String(cString: strerror(code)))")
        }
        return (current.packetsWritten, current.bytesWritten, current.truncated)
    }

    /// Drops a file being written (the run failed before it could be finished).
    func discardFile() {
        guard let current = writer else { return }
        writer = nil
        pcap_dump_close(current.dumper)
        unlink(current.temporaryPath)
    }
}
