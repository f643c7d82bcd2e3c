/// What a scenario may ask of a unix socket (`unix:/path`, `unixgram:/path`), in one place: the
/// loader refuses each conflict at its own file:line:key, and `run --target`/`--bind`, which put a
/// unix address into a scenario written for IP, are refused with the same reasons before the run.
public enum UnixSocketRules {
    /// Why a unix `address` does not fit `transport` (a stream load on a datagram socket or the
    /// reverse), or nil; `user` names who wants the transport (`tcp-echo`, `protocol: udp`).
    public static func transportMismatch(_ address: SocketAddress, transport: Socket.Transport, user: String) -> String? {
        guard address.isUnix, address.isUnixDatagram != (transport == .udp) else { return nil }
        let needs = transport == .udp ? "a datagram socket" : "a stream socket"
        let other = (transport == .udp ? "unixgram:" : "unix:") + address.path
        return "\(address) is a \(address.unixKind), but \(user) needs \(needs): write \(other)"
    }

    /// Packet capture reads network interfaces; a unix socket's bytes never cross one.
    public static func captureReason(_ address: SocketAddress) -> String {
        "packet capture sees network interfaces, and \(address) is a \(address.unixKind), whose traffic never crosses one"
    }

    static func impairmentReason(_ address: SocketAddress) -> String {
        "the impairment proxy listens and forwards over IP (TCP or UDP); it cannot stand in front of \(address), a \(address.unixKind)"
    }

    static func patternReason(_ pattern: LoadSpec.Pattern, _ address: SocketAddress) -> String {
        "pattern: \(pattern.rawValue) needs a stream socket; \(address) is a \(address.unixKind), which has no connections (use unix:\(address.path))"
    }

    /// The first thing in `scenario` a unix server address cannot do, as `key: reason`, or nil
    /// (also nil when the address is not unix). For scenarios whose address came from the command
    /// line; the loader checks the same things as it reads each key.
    public static func conflict(in scenario: Scenario) -> String? {
        let server = scenario.server
        let address = server.target
        guard address.isUnix else { return nil }
        let user = server.kind == .external ? "the scenario's \(scenario.transport.rawValue) load" : server.kind.rawValue
        if let mismatch = transportMismatch(address, transport: scenario.transport, user: user) { return mismatch }
        for (side, options) in [("server", server.options), ("client", scenario.client.options)] {
            for (option, _) in options.sorted {
                if let refusal = option.unixRefusal(for: address) { return "\(side).\(option.rawValue): \(refusal)" }
            }
        }
        if scenario.capture.required { return "capture.required: \(captureReason(address)), so capture cannot be required" }
        if scenario.impairment != nil { return "impair: \(impairmentReason(address))" }
        return nil
    }
}

extension ServerSpec {
    /// The address clients load: the external server's, or where the reference server binds.
    public var target: SocketAddress { kind == .external ? address ?? bind : bind }
}
