import Foundation
import Glibc

extension AtomicFile {
    /// Free space below which a run refuses to start: reports of a long matrix take a few MB.
    public static let minimumFreeBytes: UInt64 = 16 << 20

    /// Creates a new folder at `base`, or at `base-2`, `base-3`, … when that exists. mkdir's EEXIST
    /// decides, so two runs started in the same second, even in two processes, never share a
    /// folder. Parents (`reports/<name>`) are created as needed. Returns the folder made.
    public static func createUniqueDirectory(base: String, mode: mode_t = 0o755) throws(WriteError) -> String {
        let parent = (base as NSString).deletingLastPathComponent
        if !parent.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            } catch {
                throw WriteError(path: base, reason: "cannot create the folder (\(error.localizedDescription))")
            }
        }
        for attempt in 1...1000 {
            let candidate = attempt == 1 ? base : "\(base)-\(attempt)"
            if mkdir(candidate, mode) == 0 { return candidate }
            guard errno == EEXIST else { throw WriteError(path: candidate, reason: "cannot create the folder (\(describe(errno)))") }
        }
        throw WriteError(path: base, reason: "1000 folders of that name exist already")
    }

    /// Bytes an unprivileged writer may still put on `directory`'s file system; nil when unknown.
    public static func freeBytes(_ directory: String) -> UInt64? {
        var stats = statvfs()
        guard statvfs(directory, &stats) == 0 else { return nil }
        return UInt64(stats.f_bavail).multipliedReportingOverflow(by: UInt64(stats.f_frsize)).partialValue
    }

    /// Creates `directory` (and parents) if missing and checks that files can be written in it and
    /// that its file system has room, so a bad `--out` or a full disk fails before any load is sent.
    public static func prepareDirectory(_ directory: String, needing needed: UInt64 = minimumFreeBytes) throws(WriteError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw WriteError(path: directory, reason: "cannot create the folder (\(error.localizedDescription))")
        }
        if let free = freeBytes(directory) {
            guard free >= needed else {
                throw WriteError(path: directory, reason: "its file system has \(Format.bytes(Double(free))) free; the reports need at least \(Format.bytes(Double(needed)))")
            }
        }
        // Write and sync real bytes: on a full disk creating a file works and writing it does not.
        // The probe is a temporary file like any other (random name, O_EXCL|O_NOFOLLOW), removed after.
        let probe: Pending
        do {
            probe = try createTemporary(for: directory + "/.sockbench-write-check", mode: 0o600)
        } catch {
            throw WriteError(path: directory, reason: "the folder is not writable: \(error.reason)")
        }
        defer {
            discard(probe)
            close(probe.descriptor)
        }
        let block = [UInt8](repeating: 0, count: 64 << 10)
        let written = block.withUnsafeBytes { Glibc.write(probe.descriptor, $0.baseAddress!, $0.count) }
        let reason: String? = if written < 0 || (written == block.count && fsync(probe.descriptor) != 0) {
            describe(errno)
        } else if written != block.count {
            "only \(written) of \(block.count) bytes could be written"
        } else {
            nil
        }
        if let reason { throw WriteError(path: directory, reason: "the folder cannot hold the reports: \(reason)") }
    }
}
