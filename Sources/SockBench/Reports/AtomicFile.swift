import CSockBenchLinux
import Foundation
import Glibc

/// Writes a file so readers see the old content or the whole new one, never half:
/// a temporary file in the same folder, fsync, then rename over the target.
public enum AtomicFile {
    public struct WriteError: Error, CustomStringConvertible, Sendable {
        public let path: String
        public let reason: String
        public var description: String { "cannot write \(path): \(reason)" }
    }

    public static func write(_ data: Data, to path: String, mode: mode_t = 0o644) throws(WriteError) {
        let temporary = path + ".tmp-\(getpid())"
        // A second Ctrl-C exits at once; the handler removes this file on the way out.
        let tracked = CSockBenchLinux_track_temp(temporary)
        defer { CSockBenchLinux_untrack_temp(tracked) }
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw WriteError(path: path, reason: String(cString: strerror(errno))) }
        var offset = 0
        let failure: Int32? = data.withUnsafeBytes { raw -> Int32? in
            while offset < raw.count {
                let written = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += written
            }
            return fsync(fd) == 0 ? nil : errno
        }
        close(fd)
        if let failure {
            unlink(temporary)
            throw WriteError(path: path, reason: String(cString: strerror(failure)))
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw WriteError(path: path, reason: String(cString: strerror(code)))
        }
    }

    /// Free space below which a run refuses to start: reports of a long matrix take a few MB.
    public static let minimumFreeBytes: UInt64 = 16 << 20

    /// Creates `directory` (and parents) and checks that files can be written in it and that its
    /// file system has room, so a bad `--out` or a full disk fails before any load is sent.
    public static func prepareDirectory(_ directory: String, needing needed: UInt64 = minimumFreeBytes) throws(WriteError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw WriteError(path: directory, reason: "cannot create the folder (\(error.localizedDescription))")
        }
        var stats = statvfs()
        if statvfs(directory, &stats) == 0 {
            let free = UInt64(stats.f_bavail) * UInt64(stats.f_frsize)
            guard free >= needed else {
                throw WriteError(path: directory, reason: "its file system has \(Format.bytes(Double(free))) free; the reports need at least \(Format.bytes(Double(needed)))")
            }
        }
        // Write and sync real bytes: on a full disk creating a file works and writing it does not.
        let probe = directory + "/.sockbench-write-check-\(getpid())"
        let tracked = CSockBenchLinux_track_temp(probe)
        defer {
            unlink(probe)
            CSockBenchLinux_untrack_temp(tracked)
        }
        let fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw WriteError(path: directory, reason: "the folder is not writable: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let block = [UInt8](repeating: 0, count: 64 << 10)
        let written = block.withUnsafeBytes { Glibc.write(fd, $0.baseAddress!, $0.count) }
        let reason: String? = if written < 0 || (written == block.count && fsync(fd) != 0) {
            String(cString: strerror(errno))
        } else if written != block.count {
            "only \(written) of \(block.count) bytes could be written"
        } else {
            nil
        }
        if let reason { throw WriteError(path: directory, reason: "the folder cannot hold the reports: \(reason)") }
    }
}
