import Glibc

/// The socket options a scenario asks for on one side (client or server), keyed by kernel name.
public struct SocketOptionSet: Sendable, Equatable, Codable {
    public var values: [SocketOption: SocketOptionValue]

    public init(_ values: [SocketOption: SocketOptionValue] = [:]) { self.values = values }

    public var isEmpty: Bool { values.isEmpty }

    /// The options in a stable order (alphabetical by kernel name), for applying and reporting.
    public var sorted: [(option: SocketOption, value: SocketOptionValue)] {
        values.keys.sorted().map { ($0, values[$0]!) }
    }

    public subscript(option: SocketOption) -> SocketOptionValue? {
        get { values[option] }
        set { values[option] = newValue }
    }

    /// When in a socket's life an option is applied.
    public enum Moment: Sendable {
        /// A client socket before `connect` (buffer sizes and MSS must be set before the handshake).
        case beforeConnect
        /// A listening or UDP socket before `bind`.
        case beforeBind
        /// A socket returned by `accept`: reuse options and MSS no longer apply there.
        case accepted
    }

    /// Applies every option that belongs at `moment`; the first failure names the option and errno.
    /// Allocates nothing (it runs for every connection a connect-per-request load opens).
    public func apply(to fd: Int32, ipv6: Bool, at moment: Moment) throws(SocketError) {
        guard !values.isEmpty else { return }
        for option in Self.order {
            guard let value = values[option] else { continue }
            if moment == .accepted, option == .so_reuseaddr || option == .so_reuseport || option == .tcp_maxseg { continue }
            try option.set(value, on: fd, ipv6: ipv6)
        }
    }

    /// Every option in the order `sorted` uses, built once.
    private static let order = SocketOption.allCases.sorted()

    /// Reads back every option that applies to this kind of socket: the effective values. On a unix
    /// socket only the buffer sizes apply (the others would read back as settings that do nothing).
    public static func effective(of fd: Int32, ipv6: Bool, tcp: Bool) -> SocketOptionSet {
        var result = SocketOptionSet()
        let unix = Socket.socketDomain(fd) == AF_UNIX
        for option in SocketOption.allCases where unix ? option == .so_sndbuf || option == .so_rcvbuf : tcp || !option.isTCPOnly {
            if let value = try? option.get(from: fd, ipv6: ipv6) { result[option] = value }
        }
        return result
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: DynamicKey.self)
        for (option, value) in sorted { try container.encode(value, forKey: DynamicKey(option.rawValue)) }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: DynamicKey.self)
        var values: [SocketOption: SocketOptionValue] = [:]
        for key in container.allKeys {
            // A decoder converting from snake_case hands option names over as camelCase: undo that.
            let name = key.stringValue.reduce(into: "") { $0 += $1.isUppercase ? "_" + $1.lowercased() : String($1) }
            guard let option = SocketOption(rawValue: name) else { continue }
            values[option] = try container.decode(SocketOptionValue.self, forKey: key)
        }
        self.values = values
    }
}

/// A coding key made from any string, for maps whose keys are data (option names, categories).
struct DynamicKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
