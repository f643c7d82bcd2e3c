import CSockBenchLinux
import Glibc

/// An IPv4 or IPv6 socket address, written `127.0.0.1:8080` or `[::1]:8080`.
public struct SocketAddress: Sendable, Equatable, CustomStringConvertible {
    public enum Family: Sendable { case ipv4, ipv6 }

    /// The raw sockaddr, kept in a storage big enough for either family.
    public var storage: sockaddr_storage

    public var family: Family { Int32(storage.ss_family) == AF_INET6 ? .ipv6 : .ipv4 }
    public var domain: Int32 { Int32(storage.ss_family) }
    public var length: socklen_t {
        socklen_t(family == .ipv6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
    }

    public init(storage: sockaddr_storage) { self.storage = storage }

    /// Parses `HOST:PORT` with a numeric host; `[v6]:PORT` for IPv6, `localhost` for 127.0.0.1.
    public init(parsing text: String) throws(SocketAddressError) {
        var host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw .init(text: text, reason: "missing ']' after an IPv6 address") }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw .init(text: text, reason: "expected ':PORT' after ']'") }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw .init(text: text, reason: "expected HOST:PORT, e.g. 127.0.0.1:0 or [::1]:0") }
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

    public var port: UInt16 {
        get {
            withUnsafeBytes(of: storage) { raw in
                family == .ipv6
                    ? UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port)
                    : UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port)
            }
        }
        set {
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

    /// The host part alone, without brackets.
    public var host: String {
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

    /// True for 127.0.0.0/8 and ::1.
    public var isLoopback: Bool {
        withUnsafeBytes(of: storage) { raw in
            if family == .ipv6 {
                let bytes = withUnsafeBytes(of: raw.load(as: sockaddr_in6.self).sin6_addr) { Array($0) }
                return bytes.dropLast().allSatisfy { $0 == 0 } && bytes.last == 1
            }
            return UInt32(bigEndian: raw.load(as: sockaddr_in.self).sin_addr.s_addr) >> 24 == 127
        }
    }

    public var description: String { family == .ipv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

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
        return SocketAddress(storage: storage)
    }
}

/// A socket address that could not be parsed.
public struct SocketAddressError: Error, CustomStringConvertible, Sendable {
    public let text: String
    public let reason: String
    public var description: String { "invalid address '\(text)': \(reason)" }
}
