import CSockBenchLinux
import Glibc

/// Where sockbench may send load and where its reference servers may listen. A CI typo in a
/// target must not load someone else's host, and a reference server must not be reachable from
/// the network unless the user says so.
public enum TargetPolicy {
    /// Why sockbench must not load `target`, or nil: loopback and this machine's own addresses are
    /// fine; anything else needs `--allow-remote`.
    public static func refusal(target: SocketAddress, allowRemote: Bool) -> String? {
        guard !allowRemote, !isLocal(target) else { return nil }
        return "\(target) is neither loopback nor an address of this machine; sockbench loads other hosts only with --allow-remote "
            + "(make sure you may load it: a load test is indistinguishable from an attack)"
    }

    /// Why a reference server must not listen on `bind`, or nil: loopback is fine; any other
    /// address (0.0.0.0 included) needs `--bind` on the command line, not just the scenario.
    public static func refusal(bind: SocketAddress, confirmed: Bool) -> String? {
        // A unix socket is reachable through this machine's filesystem alone.
        guard !confirmed, !bind.isLoopback, !bind.isUnix else { return nil }
        return "server.bind \(bind) would make the reference server reachable beyond this machine; "
            + "reference servers listen on loopback unless --bind \(bind) says otherwise"
    }

    /// Loopback, the unspecified address (which connect(2) takes as this host), an address of a local
    /// interface, or a unix socket (a path on this machine).
    public static func isLocal(_ address: SocketAddress) -> Bool {
        if address.isUnix || address.isLoopback || address.host == "0.0.0.0" || address.host == "::" { return true }
        return localHosts().contains(address.host)
    }

    /// The addresses of this machine's interfaces, as text.
    static func localHosts() -> Set<String> {
        var first: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&first) == 0 else { return [] }
        defer { freeifaddrs(first) }
        var hosts: Set<String> = []
        var entry = first
        while let current = entry {
            defer { entry = current.pointee.ifa_next }
            guard let address = current.pointee.ifa_addr else { continue }
            let family = Int32(address.pointee.sa_family)
            guard family == AF_INET || family == AF_INET6 else { continue }
            var storage = sockaddr_storage()
            withUnsafeMutableBytes(of: &storage) { target in
                let size = family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size
                target.copyMemory(from: UnsafeRawBufferPointer(start: address, count: size))
            }
            hosts.insert(SocketAddress(storage: storage).host)
        }
        return hosts
    }
}
