import CSockBenchLinux
import Glibc

/// An IPv4, IPv6 or unix socket address, written `127.0.0.1:8080`, `[::1]:8080`, `unix:/path`
/// (a unix stream socket) or `unixgram:/path` (a unix datagram socket).
public struct SocketAddress: Sendable, Equatable, CustomStringConvertible {
    public enum Family: Sendable { case ipv4, ipv6, unix }

    /// The raw sockaddr, kept in a storage big enough for any family (sockaddr_un fits).
    public var storage: sockaddr_storage
    /// A unix address spelled `unixgram:`: the socket is a datagram socket. The path alone does
    /// not say which, and the spelling has to survive a round trip through text (`serve --bind`).
    public private(set) var isUnixDatagram = false

    public var family: Family {
        switch Int32(storage.ss_family) {
        case AF_INET6: .ipv6
        case AF_UNIX: .unix
        default: .ipv4
        }
    }
    public var domain: Int32 { Int32(storage.ss_family) }
    public var isUnix: Bool { family == .unix }
    public var length: socklen_t {
        switch family {
        case .ipv6: socklen_t(MemoryLayout<sockaddr_in6>.size)
        case .ipv4: socklen_t(MemoryLayout<sockaddr_in>.size)
        case .unix: socklen_t(Self.sunPathOffset + path.utf8.count + 1)
        }
    }

    public init(storage: sockaddr_storage, unixDatagram: Bool = false) {
        self.storage = storage
        isUnixDatagram = Int32(storage.ss_family) == AF_UNIX && unixDatagram
    }

    /// The longest path sun_path holds with its terminating NUL (107 bytes on Linux).
    public static let maximumUnixPath = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1
    static let sunPathOffset = MemoryLayout<sa_family_t>.size

    /// A unix socket address for `path`: a stream socket, or a datagram socket when `datagram`.
    public init(unixPath path: String, datagram: Bool = false) throws(SocketAddressError) {
        let text = (datagram ? "unixgram:" : "unix:") + path
        guard !path.isEmpty else { throw .init(text: text, reason: "expected a path after '\(datagram ? "unixgram:" : "unix:")', e.g. unix:/tmp/echo.sock") }
        guard !path.utf8.contains(0) else { throw .init(text: text, reason: "a unix socket path cannot hold a NUL byte") }
        guard !path.contains(where: { $0.isNewline }) else { throw .init(text: text, reason: "a unix socket path cannot hold a line break") }
        let bytes = Array(path.utf8)
        guard bytes.count <= Self.maximumUnixPath else {
            throw .init(text: text, reason: "a unix socket path is at most \(Self.maximumUnixPath) bytes (sun_path), this one has \(bytes.count); "
                        + "use a shorter path, e.g. in /tmp")
        }
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { raw in
            raw.storeBytes(of: sa_family_t(AF_UNIX), toByteOffset: 0, as: sa_family_t.self)
            raw.baseAddress!.advanced(by: Self.sunPathOffset).copyMemory(from: bytes, byteCount: bytes.count)
        }
        self.storage = storage
        isUnixDatagram = datagram
    }

    /// The filesystem path of a unix address ("" for IP addresses).
    public var path: String {
        guard family == .unix else { return "" }
        return withUnsafeBytes(of: storage) { raw in
            let bytes = raw[Self.sunPathOffset..<(Self.sunPathOffset + Self.maximumUnixPath + 1)]
            return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// "unix stream socket" or "unix datagram socket", for messages.
    public var unixKind: String { isUnixDatagram ? "unix datagram socket" : "unix stream socket" }

    /// Parses `HOST:PORT` with a numeric host; `[v6]:PORT` for IPv6, `localhost` for 127.0.0.1;
    /// `unix:/path` and `unixgram:/path` (also as URLs, `unix:///path`) for unix sockets.
    public init(parsing text: String) throws(SocketAddressError) {
        for (scheme, datagram) in [("unix:", false), ("unixgram:", true)] where text.hasPrefix(scheme) {
            var path = text.dropFirst(scheme.count)
            if path.hasPrefix("//") {
                path = path.dropFirst(2)
                guard path.hasPrefix("/") else {
                    throw .init(text: text, reason: "a \(scheme)// URL names no host: write \(scheme)///tmp/s.sock or \(scheme)/tmp/s.sock")
                }
            }
            do {
                self = try SocketAddress(unixPath: String(path), datagram: datagram)
            } catch {
                throw .init(text: text, reason: error.reason)
            }
            return
        }
        var host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw .init(text: text, reason: "missing ']' after an IPv6 address") }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw .init(text: text, reason: "expected ':PORT' after ']'") }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw .init(text: text, reason: "expected HOST:PORT, e.g. 127.0.0.1:0 or [::1]:0, or unix:/path")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") { throw .init(text: text, reason: "an IPv6 address needs brackets, e.g. [::1]:0") }
        }
        guard let port = UInt16(portText) else { throw .init(text: text, reason: "port must be a number from 0 to 65535") }
        if host == "localhost" { host = "127.0.0.1" }
        var storage = sockaddr_storage()
        let ok: Bool = withUnsafeMutableBytes(of: &storage) { raw in
            let hostString = String(host)
            if hostString.contains(":") {
                let sin6 = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self)
                sin6.pointee.sin6_family = sa_family_t(AF_INET6)
                sin6.pointee.sin6_port = port.bigEndian
                return inet_pton(AF_INET6, hostString, &sin6.pointee.sin6_addr) == 1
            }
            let sin = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self)
            sin.pointee.sin_family = sa_family_t(AF_INET)
            sin.pointee.sin_port = port.bigEndian
            return inet_pton(AF_INET, hostString, &sin.pointee.sin_addr) == 1
        }
        guard ok else { throw .init(text: text, reason: "'\(host)' is not a numeric IPv4 or IPv6 address") }
        self.storage = storage
    }

    /// The port (0 for a unix address, which has none; setting it there does nothing).
    public var port: UInt16 {
        get {
            guard family != .unix else { return 0 }
            return withUnsafeBytes(of: storage) { raw in
                family == .ipv6
                    ? UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port)
                    : UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port)
            }
        }
        set {
            guard family != .unix else { return }
            let isV6 = family == .ipv6
            withUnsafeMutableBytes(of: &storage) { raw in
                if isV6 {
                    raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self).pointee.sin6_port = newValue.bigEndian
                } else {
                    raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self).pointee.sin_port = newValue.bigEndian
                }
            }
        }
    }

    /// The host part alone, without brackets (the path, for a unix address).
    public var host: String {
        guard family != .unix else { return path }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        withUnsafeBytes(of: storage) { raw in
            if family == .ipv6 {
                var addr = raw.load(as: sockaddr_in6.self).sin6_addr
                _ = inet_ntop(AF_INET6, &addr, &buffer, socklen_t(buffer.count))
            } else {
                var addr = raw.load(as: sockaddr_in.self).sin_addr
                _ = inet_ntop(AF_INET, &addr, &buffer, socklen_t(buffer.count))
            }
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// True for 127.0.0.0/8 and ::1 (false for unix addresses, which are local but not loopback).
    public var isLoopback: Bool {
        guard family != .unix else { return false }
        return withUnsafeBytes(of: storage) { raw in
            if family == .ipv6 {
                let bytes = withUnsafeBytes(of: raw.load(as: sockaddr_in6.self).sin6_addr) { Array($0) }
                return bytes.dropLast().allSatisfy { $0 == 0 } && bytes.last == 1
            }
            return UInt32(bigEndian: raw.load(as: sockaddr_in.self).sin_addr.s_addr) >> 24 == 127
        }
    }

    public var description: String {
        switch family {
        case .ipv6: "[\(host)]:\(port)"
        case .ipv4: "\(host):\(port)"
        case .unix: (isUnixDatagram ? "unixgram:" : "unix:") + path
        }
    }

    public static func == (lhs: SocketAddress, rhs: SocketAddress) -> Bool { lhs.description == rhs.description }

    /// Calls `body` with the address as a `sockaddr` pointer and its length, for bind/connect.
    func withSockaddr<R, E: Error>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws(E) -> R) throws(E) -> R {
        var copy = storage
        let len = length
        return try withUnsafePointer(to: &copy) { pointer throws(E) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { addr throws(E) in try body(addr, len) }
        }
    }

    /// The local address a socket is bound to (reads back the port the kernel chose for `:0`).
    static func local(of fd: Int32) throws(SocketError) -> SocketAddress {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try withUnsafeMutablePointer(to: &storage) { pointer throws(SocketError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { addr throws(SocketError) in
                try syscall("getsockname") { getsockname(fd, addr, &len) }
            }
        }
        guard Int32(storage.ss_family) == AF_UNIX else { return SocketAddress(storage: storage) }
        var type: Int32 = 0
        var typeLength = socklen_t(MemoryLayout<Int32>.size)
        _ = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &typeLength)
        return SocketAddress(storage: storage, unixDatagram: type == Int32(SOCK_DGRAM.rawValue))
    }
}

/// A socket address that could not be parsed.
public struct SocketAddressError: Error, CustomStringConvertible, Sendable {
    public let text: String
    public let reason: String
    public var description: String { "invalid address '\(text)': \(reason)" }
}
