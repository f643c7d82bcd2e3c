import CSockBenchLinux
import Glibc

/// The socket file of a reference server bound to `unix:/path` or `unixgram:/path`.
///
/// Before binding, whatever is at the path is looked at with lstat (a symlink is never followed):
/// nothing is fine; a socket file that nothing is bound to (connect says ECONNREFUSED: a server
/// that died without removing it) is removed; anything else (a regular file, a directory, a
/// symlink, a device, a FIFO, a socket a server is using) is refused and left as it was. After
/// the server stops, the file it created is removed, and only that file (same device and inode).
struct UnixSocketFile: Sendable {
    let address: SocketAddress
    private let device: UInt64
    private let inode: UInt64

    /// Makes the path free for `bind`, or throws why it is not.
    static func prepare(_ address: SocketAddress) throws(SocketError) {
        let path = address.path
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return }
            throw SocketError(call: "bind", errno: errno, detail: "\(address): cannot look at the path")
        }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw SocketError(call: "bind", errno: EADDRINUSE,
                              detail: "\(address): \(describe(mode: info.st_mode)) is at this path; sockbench only ever replaces a stale socket file: "
                                  + "remove it or choose another path")
        }
        let probe = probeError(address)
        switch probe {
        case ECONNREFUSED:
            // Removed only if it is still the socket file looked at above.
            var now = stat()
            guard lstat(path, &now) == 0 else { return }
            guard now.st_dev == info.st_dev, now.st_ino == info.st_ino, now.st_mode & S_IFMT == S_IFSOCK else {
                throw SocketError(call: "bind", errno: EADDRINUSE, detail: "\(address): the path changed while sockbench looked at it")
            }
            if unlink(path) != 0, errno != ENOENT {
                throw SocketError(call: "unlink", errno: errno, detail: "\(address): cannot remove the stale socket file")
            }
        case ENOENT:
            return
        case 0, EAGAIN:
            throw SocketError(call: "bind", errno: EADDRINUSE, detail: "\(address): another server is bound to this socket")
        case EPROTOTYPE:
            let other = address.isUnixDatagram ? "unix stream socket" : "unix datagram socket"
            throw SocketError(call: "bind", errno: EADDRINUSE, detail: "\(address): a server is using this path as a \(other)")
        default:
            throw SocketError(call: "connect", errno: probe, detail: "\(address): cannot tell whether a server still uses the socket file there")
        }
    }

    /// The errno of a connect to `address` by a socket of its type (0: it connected: someone is bound there).
    private static func probeError(_ address: SocketAddress) -> Int32 {
        let type = (address.isUnixDatagram ? Int32(SOCK_DGRAM.rawValue) : Int32(SOCK_STREAM.rawValue))
            | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = socket(AF_UNIX, type, 0)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        var code: Int32 = 0
        repeat {
            code = address.withSockaddr { addr, len in connect(fd, addr, len) } == 0 ? 0 : errno
        } while code == EINTR
        return code
    }

    static func describe(mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFREG: "a regular file"
        case S_IFDIR: "a directory"
        case S_IFLNK: "a symbolic link (not followed)"
        case S_IFCHR, S_IFBLK: "a device"
        case S_IFIFO: "a FIFO"
        default: "a file that is not a socket"
        }
    }

    /// Records the socket file `bind` just created, so `remove` takes that file and no other.
    init?(boundTo address: SocketAddress) {
        var info = stat()
        guard address.isUnix, lstat(address.path, &info) == 0, info.st_mode & S_IFMT == S_IFSOCK else { return nil }
        self.address = address
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }

    /// Removes the socket file if it is still the one this server created.
    func remove() {
        var info = stat()
        guard lstat(address.path, &info) == 0, UInt64(info.st_dev) == device, UInt64(info.st_ino) == inode else { return }
        unlink(address.path)
    }
}
