import CSockBenchLinux
import Glibc

/// A socket option by its kernel name, as `man 7 socket`, `man 7 tcp` and `man 7 ip` spell it.
/// Scenario keys and report keys use exactly these names.
public enum SocketOption: String, CaseIterable, Sendable, Codable, Comparable {
    case so_keepalive, so_linger, so_rcvbuf, so_reuseaddr, so_reuseport, so_sndbuf
    case tcp_congestion, tcp_keepcnt, tcp_keepidle, tcp_keepintvl, tcp_maxseg, tcp_nodelay, tcp_quickack
    case ip_tos

    /// What a value of this option looks like.
    public enum Kind: Sendable, Equatable {
        case bool
        /// A whole number in a range, in the kernel's unit (seconds, bytes, a count).
        case integer(ClosedRange<Int>, unit: String)
        case size
        /// `false` (off) or a number of seconds to linger on close.
        case linger
        case text
    }

    public var kind: Kind {
        switch self {
        case .so_keepalive, .so_reuseaddr, .so_reuseport, .tcp_nodelay, .tcp_quickack: .bool
        case .so_sndbuf, .so_rcvbuf: .size
        case .so_linger: .linger
        case .tcp_congestion: .text
        case .tcp_keepidle, .tcp_keepintvl: .integer(1...32767, unit: "seconds")
        case .tcp_keepcnt: .integer(1...127, unit: "probes")
        case .tcp_maxseg: .integer(88...32767, unit: "bytes")
        case .ip_tos: .integer(0...255, unit: "")
        }
    }

    /// Options at the TCP level only make sense on TCP sockets.
    public var isTCPOnly: Bool { rawValue.hasPrefix("tcp_") }

    /// What the loader says a value must be.
    public var allowedValues: String {
        switch kind {
        case .bool: "true or false"
        case .size: Quantity.sizeHelp
        case .linger: "false (off) or a whole number of seconds, e.g. 0 for an abortive close"
        case .text: "a congestion control name listed in /proc/sys/net/ipv4/tcp_available_congestion_control"
        case .integer(let range, let unit):
            "a whole number from \(range.lowerBound) to \(range.upperBound)\(unit.isEmpty ? "" : " (\(unit))")"
        }
    }

    /// Parses a scenario or command-line value for this option; nil when it does not fit `allowedValues`.
    public func parseValue(_ text: String) -> SocketOptionValue? {
        let lowered = text.trimmingWhitespace().lowercased()
        switch kind {
        case .bool:
            return Quantity.boolean(lowered).map { .bool($0) }
        case .size:
            guard case .success(let bytes) = Quantity.bytes(text), bytes <= Int(Int32.max) else { return nil }
            return .integer(bytes)
        case .linger:
            if ["false", "no", "off"].contains(lowered) { return .off }
            if let seconds = Int(lowered), (0...65535).contains(seconds) { return .integer(seconds) }
            if case .success(let ns) = Quantity.nanoseconds(text), ns % 1_000_000_000 == 0, ns / 1_000_000_000 <= 65535 {
                return .integer(Int(ns / 1_000_000_000))
            }
            return nil
        case .text:
            let name = text.trimmingWhitespace()
            guard !name.isEmpty, name.count < 16, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { return nil }
            return .text(name)
        case .integer(let range, _):
            var value = Int(lowered)
            if value == nil, lowered.hasPrefix("0x"), lowered.count > 2, lowered.dropFirst(2).allSatisfy(\.isHexDigit) {
                value = Int(lowered.dropFirst(2), radix: 16)
            }
            if value == nil, acceptsDuration,
               case .success(let ns) = Quantity.nanoseconds(text), ns % 1_000_000_000 == 0 {
                value = Int(ns / 1_000_000_000)
            }
            guard let value, range.contains(value) else { return nil }
            return .integer(value)
        }
    }

    /// Level and name for setsockopt/getsockopt; `ip_tos` becomes IPV6_TCLASS on IPv6 sockets.
    func levelAndName(ipv6: Bool) -> (level: Int32, name: Int32) {
        switch self {
        case .so_keepalive: (SOL_SOCKET, SO_KEEPALIVE)
        case .so_linger: (SOL_SOCKET, SO_LINGER)
        case .so_rcvbuf: (SOL_SOCKET, SO_RCVBUF)
        case .so_reuseaddr: (SOL_SOCKET, SO_REUSEADDR)
        case .so_reuseport: (SOL_SOCKET, SO_REUSEPORT)
        case .so_sndbuf: (SOL_SOCKET, SO_SNDBUF)
        case .tcp_congestion: (Int32(IPPROTO_TCP), TCP_CONGESTION)
        case .tcp_keepcnt: (Int32(IPPROTO_TCP), TCP_KEEPCNT)
        case .tcp_keepidle: (Int32(IPPROTO_TCP), TCP_KEEPIDLE)
        case .tcp_keepintvl: (Int32(IPPROTO_TCP), TCP_KEEPINTVL)
        case .tcp_maxseg: (Int32(IPPROTO_TCP), TCP_MAXSEG)
        case .tcp_nodelay: (Int32(IPPROTO_TCP), TCP_NODELAY)
        case .tcp_quickack: (Int32(IPPROTO_TCP), TCP_QUICKACK)
        case .ip_tos: ipv6 ? (Int32(IPPROTO_IPV6), IPV6_TCLASS) : (Int32(IPPROTO_IP), IP_TOS)
        }
    }

    /// The kernel constant's name, for error messages (`setsockopt(SO_SNDBUF)`).
    var constantName: String { rawValue.uppercased() }

    public static func < (lhs: SocketOption, rhs: SocketOption) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Sets this option on `fd`.
    func set(_ value: SocketOptionValue, on fd: Int32, ipv6: Bool) throws(SocketError) {
        let (level, name) = levelAndName(ipv6: ipv6)
        let call = "setsockopt(\(constantName)=\(value))"
        if self == .so_linger {
            var linger = Glibc.linger(l_onoff: value == .off ? 0 : 1, l_linger: Int32(value.integerValue ?? 0))
            try syscall(call) { setsockopt(fd, level, name, &linger, socklen_t(MemoryLayout<Glibc.linger>.size)) }
        } else if case .text(let text) = value {
            var bytes = Array(text.utf8)
            try syscall(call) { setsockopt(fd, level, name, &bytes, socklen_t(bytes.count)) }
        } else {
            var number = Int32(value.integerValue ?? 0)
            try syscall(call) { setsockopt(fd, level, name, &number, socklen_t(MemoryLayout<Int32>.size)) }
        }
    }

    /// Reads this option back from `fd` as the kernel holds it now.
    func get(from fd: Int32, ipv6: Bool) throws(SocketError) -> SocketOptionValue {
        let (level, name) = levelAndName(ipv6: ipv6)
        let call = "getsockopt(\(constantName))"
        switch kind {
        case .text:
            var bytes = [UInt8](repeating: 0, count: 32)
            var length = socklen_t(bytes.count)
            try syscall(call) { getsockopt(fd, level, name, &bytes, &length) }
            return .text(String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self))
        case .linger:
            var linger = Glibc.linger()
            var length = socklen_t(MemoryLayout<Glibc.linger>.size)
            try syscall(call) { getsockopt(fd, level, name, &linger, &length) }
            return linger.l_onoff == 0 ? .off : .integer(Int(linger.l_linger))
        case .bool, .integer, .size:
            var number: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            try syscall(call) { getsockopt(fd, level, name, &number, &length) }
            return kind == .bool ? .bool(number != 0) : .integer(Int(number))
        }
    }
}

/// A socket option's value: JSON-encoded as a bool, a number, a string, or `false` for "off".
public enum SocketOptionValue: Sendable, Equatable, Codable, CustomStringConvertible {
    case bool(Bool)
    case integer(Int)
    case text(String)
    /// so_linger disabled.
    case off

    var integerValue: Int? {
        switch self {
        case .bool(let flag): flag ? 1 : 0
        case .integer(let number): number
        case .off: 0
        case .text: nil
        }
    }

    public var description: String {
        switch self {
        case .bool(let flag): String(flag)
        case .integer(let number): String(number)
        case .text(let text): text
        case .off: "off"
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let flag = try? container.decode(Bool.self) {
            self = .bool(flag)
        } else if let number = try? container.decode(Int.self) {
            self = .integer(number)
        } else {
            let text = try container.decode(String.self)
            self = text == "off" ? .off : .text(text)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .bool(let flag): try container.encode(flag)
        case .integer(let number): try container.encode(number)
        case .text(let text): try container.encode(text)
        case .off: try container.encode("off")
        }
    }
}
