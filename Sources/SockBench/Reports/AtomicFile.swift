import CSockBenchLinux
import Foundation
import Glibc

/// Every file sockbench writes goes through here, so none can harm what is already on disk.
///
/// - A missing path or a regular file is written under a temporary name in the same folder,
///   created with `O_CREAT|O_EXCL|O_NOFOLLOW` and a random name (so nothing planted at a name
///   can be followed or clobbered), synced, then renamed over the target: readers see the old
///   content or the whole new one, never half.
/// - A path that exists and is not a regular file (a character device such as /dev/null or
///   /dev/full, a FIFO, /dev/stdout) is written in place, opened without `O_CREAT` or
///   `O_TRUNC`; it is never renamed over or replaced. A write error there (ENOSPC from
///   /dev/full, EPIPE from a FIFO whose reader left) is a `WriteError`, not a signal.
/// - A final path that is a symbolic link to a regular file, or to nothing, is itself replaced
///   by the rename: the link goes, what it pointed at is untouched (a link planted in a shared
///   folder cannot redirect a report). A link to a device or FIFO, or to this process's
///   standard output or error (/dev/stdout with the output redirected to a file), is written
///   through instead, since replacing it would break /dev.
public enum AtomicFile {
    public struct WriteError: Error, CustomStringConvertible, Sendable {
        public let path: String
        public let reason: String
        public var description: String { "cannot write \(path): \(reason)" }
    }

    /// A file being written: a temporary one that `commit` renames over `path`, or `path` itself
    /// opened in place (`temporaryPath` nil). The caller closes `descriptor` after `commit` or `discard`.
    public struct Pending: Sendable {
        public let path: String
        public let descriptor: Int32
        public let temporaryPath: String?
        /// The slot that lets a second Ctrl-C remove the temporary file (-1: none).
        let tracked: Int32
    }

    /// How many random temporary names are tried before giving up (each collision is EEXIST).
    static let temporaryAttempts = 16
    /// How long a FIFO without a reader is waited for before the write fails (`mkfifo f; cat f &` races the run).
    static let fifoReaderWaitNanoseconds: UInt64 = 10_000_000_000

    public static func write(_ data: Data, to path: String, mode: mode_t = 0o644) throws(WriteError) {
        let pending = try begin(path, mode: mode)
        defer { close(pending.descriptor) }
        if let code = writeAll(data, to: pending.descriptor) {
            discard(pending)
            throw WriteError(path: path, reason: describe(code))
        }
        try commit(pending)
    }

    /// Adds `data` at the end of `path` (GitHub's $GITHUB_STEP_SUMMARY, which several steps add to).
    /// Appending is in place by nature, so a link to a regular file is followed, as the shell's `>>`
    /// does; a missing file is created with `O_EXCL|O_NOFOLLOW`.
    public static func append(_ data: Data, to path: String) throws(WriteError) {
        let fd = try openForAppending(path)
        defer { close(fd) }
        if let code = writeAll(data, to: fd) { throw WriteError(path: path, reason: describe(code)) }
    }

    /// Opens `path` for writing: in place when it is not a regular file, else a new temporary file.
    public static func begin(_ path: String, mode: mode_t = 0o644) throws(WriteError) -> Pending {
        if let fd = try openInPlace(path, appending: false) {
            return Pending(path: path, descriptor: fd, temporaryPath: nil, tracked: -1)
        }
        return try createTemporary(for: path, mode: mode)
    }

    /// Syncs the temporary file and renames it over `path`; nothing to do for a file written in place.
    public static func commit(_ pending: Pending) throws(WriteError) {
        guard let temporary = pending.temporaryPath else { return }
        defer { CSockBenchLinux_untrack_temp(pending.tracked) }
        guard fsync(pending.descriptor) == 0, rename(temporary, pending.path) == 0 else {
            let code = errno
            unlink(temporary)
            throw WriteError(path: pending.path, reason: describe(code))
        }
    }

    /// Removes the temporary file of a write that failed; a file written in place is left as it is.
    public static func discard(_ pending: Pending) {
        guard let temporary = pending.temporaryPath else { return }
        unlink(temporary)
        CSockBenchLinux_untrack_temp(pending.tracked)
    }

    /// A new file next to `path`, named `path.tmp-<16 random hex digits>`. The name comes from the
    /// system's random source (getrandom), not the pid, and `O_EXCL|O_NOFOLLOW` refuses anything
    /// already there, a symbolic link included; a taken name is retried with another.
    static func createTemporary(for path: String, mode: mode_t, name: () -> String = randomHex) throws(WriteError) -> Pending {
        var attempts = 0
        while attempts < temporaryAttempts {
            let temporary = path + ".tmp-" + name()
            let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
            if fd >= 0 {
                // Tracked once it is ours: a second Ctrl-C must not remove a file someone else made.
                return Pending(path: path, descriptor: fd, temporaryPath: temporary, tracked: CSockBenchLinux_track_temp(temporary))
            }
            if errno == EINTR { continue }
            guard errno == EEXIST else { throw WriteError(path: path, reason: describe(errno)) }
            attempts += 1
        }
        throw WriteError(path: path, reason: "\(temporaryAttempts) random temporary names next to it were all taken")
    }

    static func randomHex() -> String {
        let hex = String(UInt64.random(in: .min ... .max), radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Writes all of `data`; the errno of the call that failed, or nil.
    static func writeAll(_ data: Data, to fd: Int32) -> Int32? {
        // A FIFO or pipe whose reader left raises SIGPIPE, which would end the process: blocked
        // on this thread while writing, so the write fails with EPIPE and that is reported instead.
        var pipeSignal = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        var previous = sigset_t()
        pthread_sigmask(SIG_BLOCK, &pipeSignal, &previous)
        defer {
            if sigismember(&previous, SIGPIPE) == 0 {
                var now = timespec(tv_sec: 0, tv_nsec: 0)
                while sigtimedwait(&pipeSignal, nil, &now) == SIGPIPE {} // the one this write raised
            }
            pthread_sigmask(SIG_SETMASK, &previous, nil)
        }
        return data.withUnsafeBytes { raw -> Int32? in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                if written == 0 { return EIO }
                offset += written
            }
            return nil
        }
    }

    static func describe(_ code: Int32) -> String { String(cString: strerror(code)) }
}
