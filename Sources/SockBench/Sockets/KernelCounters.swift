import Foundation

/// The kernel's TCP and UDP counters (the MIBs `nstat` shows) of the network namespace this
/// process runs in, by their `nstat` names: `TcpRetransSegs`, `TcpExtListenOverflows`, `UdpRcvbufErrors`.
///
/// Read from /proc/net/snmp, /proc/net/netstat and /proc/net/snmp6 as the measured window opens
/// and as it closes; the difference is evidence that costs nothing (two file reads per run) and
/// needs no capture: a listener whose accept queue overflowed, SYNs retransmitted, receive
/// buffers that dropped datagrams. The counters are the whole namespace's, so any other traffic
/// in it while the window was open counts too.
public struct KernelCounters: Sendable, Equatable {
    /// Every counter read, by `nstat` name (the reported ones and any other the files hold).
    public private(set) var values: [String: UInt64]

    public init(values: [String: UInt64] = [:]) { self.values = values }

    public subscript(name: String) -> UInt64? { values[name] }

    /// The three files as text; nil where /proc/net/snmp cannot be read (the other two may be
    /// missing: netstat on an old kernel, snmp6 with IPv6 disabled).
    public static func read() -> KernelCounters? {
        guard let snmp = try? String(contentsOfFile: "/proc/net/snmp", encoding: .utf8) else { return nil }
        return parse(snmp: snmp, netstat: try? String(contentsOfFile: "/proc/net/netstat", encoding: .utf8),
                     snmp6: try? String(contentsOfFile: "/proc/net/snmp6", encoding: .utf8))
    }

    /// Parses the files' text. Never fails: a malformed pair of lines, a value that is not a
    /// non-negative integer (`Tcp: MaxConn` is -1) or a column this version does not know is left out.
    public static func parse(snmp: String, netstat: String? = nil, snmp6: String? = nil) -> KernelCounters {
        var values: [String: UInt64] = [:]
        parseTables(snmp, into: &values)
        if let netstat { parseTables(netstat, into: &values) }
        if let snmp6 { parsePairs(snmp6, into: &values) }
        return KernelCounters(values: values)
    }

    /// /proc/net/snmp and /proc/net/netstat: per MIB, a line of names and a line of values, both
    /// starting with the MIB's prefix (`TcpExt: SyncookiesSent …` then `TcpExt: 0 …`). The nstat
    /// name is the prefix and the column's name run together (`TcpExt` + `ListenOverflows`).
    static func parseTables(_ text: String, into values: inout [String: UInt64]) {
        var header: (prefix: Substring, names: [Substring])?
        for line in text.split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":") else {
                header = nil
                continue
            }
            let prefix = line[..<colon]
            let fields = line[line.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let names = header, names.prefix == prefix else {
                // A names line; the next line of the same prefix holds its values.
                header = (prefix, fields)
                continue
            }
            header = nil
            // Names and values out of step cannot be matched up: the pair is left out whole.
            guard names.names.count == fields.count, !prefix.isEmpty, !prefix.contains(" ") else { continue }
            for (name, field) in zip(names.names, fields) {
                guard let value = UInt64(field) else { continue }
                values[String(prefix) + String(name)] = value
            }
        }
    }

    /// /proc/net/snmp6: one `Name value` pair a line, the name already an nstat name (`Udp6InErrors`).
    static func parsePairs(_ text: String, into values: inout [String: UInt64]) {
        for line in text.split(whereSeparator: \.isNewline) {
            let pair = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard pair.count == 2, let value = UInt64(pair[1]) else { continue }
            values[String(pair[0])] = value
        }
    }

    /// What every reported counter rose by since `earlier`, in `reported` order; a counter either
    /// reading lacks is left out. A counter that went down (the namespace's counters reset, or a
    /// 32-bit counter wrapped) rose by 0: the difference saturates, it never traps.
    public func deltas(since earlier: KernelCounters) -> [KernelCounterDelta] {
        Self.reported.compactMap { counter in
            guard let now = values[counter.name], let before = earlier.values[counter.name] else { return nil }
            return KernelCounterDelta(name: counter.name, delta: now >= before ? now - before : 0)
        }
    }
}

/// One counter's rise over the measured window (`runs[].kernel_counters[]`): its nstat name is
/// kept as a value, not a JSON key, so the report's snake_case key encoding leaves it as `nstat` prints it.
public struct KernelCounterDelta: Codable, Sendable, Equatable {
    public var name: String
    public var delta: UInt64

    public init(name: String, delta: UInt64) {
        self.name = name
        self.delta = delta
    }
}
