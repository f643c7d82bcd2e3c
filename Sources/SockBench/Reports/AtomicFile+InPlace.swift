import Glibc

extension AtomicFile {
    /// The descriptor to write `path` through, or nil when it is to be replaced by a rename (it is
    /// missing, a regular file, or a link to a regular file or to nothing). `appending` opens a
    /// regular file (through a link too) in place as well.
    static func openInPlace(_ path: String, appending: Bool,
                            readerWait: UInt64 = fifoReaderWaitNanoseconds) throws(WriteError) -> Int32? {
        var entry = stat()
        guard lstat(path, &entry) == 0 else {
            if errno == ENOENT { return nil }
            throw WriteError(path: path, reason: describe(errno))
        }
        let isLink = entry.st_mode & S_IFMT == S_IFLNK
        var target = entry
        if isLink, stat(path, &target) != 0 {
            // A link to nothing: replaced like any link to a non-device, never created through.
            guard appending else { return nil }
            throw WriteError(path: path, reason: "it is a symbolic link to nothing (\(describe(errno)))")
        }
        if isLink, let stream = standardStream(matching: target) {
            // /dev/stdout, /dev/fd/1, /proc/self/fd/2: the stream itself, at its own offset.
            let fd = fcntl(stream, F_DUPFD_CLOEXEC, 0)
            guard fd >= 0 else { throw WriteError(path: path, reason: describe(errno)) }
            return fd
        }
        switch target.st_mode & S_IFMT {
        case S_IFREG where !appending: return nil
        case S_IFDIR: throw WriteError(path: path, reason: "it is a folder")
        default: break
        }
        return try openExisting(path, appending: appending, isFIFO: target.st_mode & S_IFMT == S_IFIFO, readerWait: readerWait)
    }

    /// Opens what is at `path` without O_CREAT or O_TRUNC. O_NONBLOCK keeps the open of a FIFO
    /// from blocking forever when nobody reads it (ENXIO, retried until `readerWait` has passed);
    /// it is cleared at once, so writes block as usual.
    private static func openExisting(_ path: String, appending: Bool, isFIFO: Bool, readerWait: UInt64) throws(WriteError) -> Int32 {
        let deadline = MonotonicClock.now() + readerWait
        while true {
            let fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC | (appending ? O_APPEND : 0))
            if fd >= 0 {
                let flags = fcntl(fd, F_GETFL)
                if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
                return fd
            }
            let code = errno
            if code == EINTR { continue }
            guard code == ENXIO, isFIFO else { throw WriteError(path: path, reason: describe(code)) }
            guard MonotonicClock.now() < deadline else {
                throw WriteError(path: path, reason: "it is a FIFO that nobody read within \(readerWait / 1_000_000_000) s")
            }
            usleep(20_000)
        }
    }

    /// Standard output or error when `file` is the very file it writes to.
    private static func standardStream(matching file: stat) -> Int32? {
        for stream in [STDOUT_FILENO, STDERR_FILENO] {
            var open = stat()
            if fstat(stream, &open) == 0, open.st_dev == file.st_dev, open.st_ino == file.st_ino { return stream }
        }
        return nil
    }

    static func openForAppending(_ path: String) throws(WriteError) -> Int32 {
        for _ in 0..<3 {
            if let fd = try openInPlace(path, appending: true) { return fd }
            let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
            if fd >= 0 { return fd }
            guard errno == EEXIST || errno == EINTR else { throw WriteError(path: path, reason: describe(errno)) }
            // Made meanwhile: open what is there now.
        }
        throw WriteError(path: path, reason: "it kept appearing and disappearing while being opened")
    }
}
