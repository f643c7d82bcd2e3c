import Glibc

/// Writes a nanosecond pcap file: the 24-byte file header, then one record per frame, through a
/// buffer written out a MiB at a time (`pcap_dump`'s per-packet `fwrite` cost the reading thread a
/// fifth of its time). One writer outlives the capture handles it is fed from, so the capture
/// windows of a run go into one file.
///
/// The file is written under a random temporary name (`AtomicFile.begin`, mode 0600) and renamed
/// by `finish`, so the path is never half-written; a device or FIFO at the path is written in place.
/// Only the capture thread calls `append`; `finish` and `discard` come after it has stopped.
final class PcapFileWriter: @unchecked Sendable {
    let path: String
    /// The path is a device or FIFO (or a link to one), written through rather than renamed into
    /// place: the file cannot be read back (a FIFO's reader took the bytes; reopening one blocks).
    let writesInPlace: Bool
    private var file: AtomicFile.Pending?
    private let maximumBytes: UInt64
    private let buffer: UnsafeMutableRawPointer
    private var buffered = 0
    private(set) var bytesWritten: UInt64 = 24
    private(set) var packetsWritten: UInt64 = 0
    /// Frames offered after the file reached its maximum size.
    private(set) var packetsNotStored: UInt64 = 0
    /// The errno of a failed write; nothing more is written after one.
    private(set) var failure: Int32?

    static let bufferBytes = 1 << 20
    /// pcap's magic number for nanosecond timestamps, written in host byte order as readers expect.
    static let nanosecondMagic: UInt32 = 0xA1B2_3C4D

    private init(path: String, file: AtomicFile.Pending, maximumBytes: UInt64) {
        self.path = path
        self.file = file
        writesInPlace = file.temporaryPath == nil
        self.maximumBytes = maximumBytes
        buffer = .allocate(byteCount: Self.bufferBytes, alignment: 16)
    }

    deinit {
        discard()
        buffer.deallocate()
    }

    /// Creates the file and writes its header. `linkType` is libpcap's DLT value (as `pcap_datalink` gives it).
    static func create(path: String, snaplen: Int, linkType: Int32, maximumBytes: UInt64) throws(CaptureError) -> PcapFileWriter {
        let pending: AtomicFile.Pending
        do {
            pending = try AtomicFile.begin(path, mode: 0o600)
        } catch {
            throw CaptureError(.file, "\(error)")
        }
        let writer = PcapFileWriter(path: path, file: pending, maximumBytes: max(maximumBytes, 24))
        let header = writer.buffer
        header.storeBytes(of: nanosecondMagic, as: UInt32.self)
        header.storeBytes(of: UInt16(2), toByteOffset: 4, as: UInt16.self)
        header.storeBytes(of: UInt16(4), toByteOffset: 6, as: UInt16.self)
        header.storeBytes(of: UInt32(0), toByteOffset: 8, as: UInt32.self) // thiszone
        header.storeBytes(of: UInt32(0), toByteOffset: 12, as: UInt32.self) // sigfigs
        header.storeBytes(of: UInt32(clamping: snaplen), toByteOffset: 16, as: UInt32.self)
        header.storeBytes(of: UInt32(bitPattern: fileLinkType(linkType)), toByteOffset: 20, as: UInt32.self)
        writer.buffered = 24
        writer.flush()
        if let failure = writer.failure {
            writer.discard()
            throw CaptureError(.file, "cannot write \(path): \(String(cString: strerror(failure)))")
        }
        return writer
    }

    /// The LINKTYPE_ value a file stores for a DLT_ value: equal except where a platform's DLT
    /// numbers differ (DLT_RAW is 12 on Linux, LINKTYPE_RAW 101), as libpcap's `dlt_to_linktype` maps them.
    static func fileLinkType(_ dlt: Int32) -> Int32 {
        dlt == PacketDecoder.LinkType.raw ? PacketDecoder.LinkType.rawFile : dlt
    }

    /// Appends one record (the 16-byte header with the stored length, then the bytes).
    @inline(__always)
    func append(timestamp: UInt64, originalLength: Int, bytes: UnsafeRawPointer, length: Int) {
        guard failure == nil else {
            packetsNotStored += 1
            return
        }
        let recordBytes = 16 + length
        if bytesWritten + UInt64(recordBytes) > maximumBytes {
            packetsNotStored += 1
            return
        }
        if buffered + recordBytes > Self.bufferBytes { flush() }
        let record = buffer + buffered
        record.storeBytes(of: UInt32(truncatingIfNeeded: timestamp / 1_000_000_000), as: UInt32.self)
        record.storeBytes(of: UInt32(truncatingIfNeeded: timestamp % 1_000_000_000), toByteOffset: 4, as: UInt32.self)
        record.storeBytes(of: UInt32(length), toByteOffset: 8, as: UInt32.self)
        record.storeBytes(of: UInt32(truncatingIfNeeded: originalLength), toByteOffset: 12, as: UInt32.self)
        (record + 16).copyMemory(from: bytes, byteCount: length)
        buffered += recordBytes
        bytesWritten += UInt64(recordBytes)
        packetsWritten += 1
    }

    /// Bytes on disk that end with a whole record: what a failed write leaves readable.
    private var durableBytes: UInt64 = 0
    /// Records in `durableBytes`.
    private var durablePackets: UInt64 = 0

    private func flush() {
        guard let descriptor = file?.descriptor else { return }
        var offset = 0
        while offset < buffered, failure == nil {
            let written = Glibc.write(descriptor, buffer + offset, buffered - offset)
            if written < 0 {
                if errno != EINTR { failure = errno }
            } else {
                offset += written
            }
        }
        if failure == nil {
            durableBytes = bytesWritten
            durablePackets = packetsWritten
        } else if !writesInPlace {
            // The disk filled (or failed) mid-buffer: cut the file back to its last whole record,
            // so what was stored stays a readable pcap, as a file cut at max_file_size does.
            _ = ftruncate(descriptor, off_t(durableBytes))
            bytesWritten = durableBytes
            packetsWritten = durablePackets
        }
        buffered = 0
    }

    /// Writes what is buffered, syncs and renames the file into place. A file whose writing failed
    /// part-way (the disk filled) is kept up to its last whole record (`failure` says why); one that
    /// holds no record, or is written in place, is thrown.
    func finish() throws(CaptureError) {
        guard let pending = file else { return }
        flush()
        file = nil
        defer { close(pending.descriptor) }
        if let failure, writesInPlace || packetsWritten == 0 {
            AtomicFile.discard(pending)
            throw CaptureError(.file, "cannot write \(path): \(String(cString: strerror(failure)))")
        }
        do {
            try AtomicFile.commit(pending)
        } catch {
            throw CaptureError(.file, "\(error)")
        }
    }

    /// Drops a file being written (the run failed before it could be finished).
    func discard() {
        guard let pending = file else { return }
        file = nil
        AtomicFile.discard(pending)
        close(pending.descriptor)
    }
}
