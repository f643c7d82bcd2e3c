extension SocketOption {
    /// Why this option cannot be asked for on the unix socket `address`, or nil when it applies
    /// there (only SO_SNDBUF and SO_RCVBUF do). Measured on Linux by setsockopt on AF_UNIX stream and
    /// datagram sockets: every TCP_* option, IP_TOS and SO_REUSEPORT fail with EOPNOTSUPP; SO_KEEPALIVE,
    /// SO_REUSEADDR and SO_LINGER are taken and then have no effect, which a report would pass off
    /// as a setting that was tried. Either way the answer is a refusal before the run, with the reason.
    public func unixRefusal(for address: SocketAddress) -> String? {
        guard address.isUnix else { return nil }
        let socket = "\(address) is a \(address.unixKind)"
        switch self {
        case .so_sndbuf, .so_rcvbuf:
            return nil
        case .tcp_congestion, .tcp_keepcnt, .tcp_keepidle, .tcp_keepintvl, .tcp_maxseg, .tcp_nodelay, .tcp_quickack:
            return "\(constantName) applies to TCP; \(socket) (the kernel refuses it: EOPNOTSUPP)"
        case .ip_tos:
            return "\(constantName) marks IP packets; \(socket), which sends none (the kernel refuses it: EOPNOTSUPP)"
        case .so_reuseport:
            return "\(constantName) shares a TCP or UDP port between sockets; \(socket), which has no port (the kernel refuses it: EOPNOTSUPP)"
        case .so_keepalive:
            return "\(constantName) sends TCP keepalive probes; \(socket), which has none (the kernel takes the flag and ignores it)"
        case .so_reuseaddr:
            return "\(constantName) lets an IP address and port be bound again; \(socket), whose path stays taken until its file is removed "
                + "(the kernel takes the flag and ignores it)"
        case .so_linger:
            return "\(constantName) makes close wait for unsent TCP data; \(socket), whose close never lingers (the kernel takes it and ignores it)"
        }
    }
}
