extension KernelCounters {
    /// One counter the report carries: its nstat name, whether a rise means trouble (a drop, a
    /// retransmission, an abort) rather than volume, and what it counts in words.
    public struct Counter: Sendable, Equatable {
        public let name: String
        /// True when a rise is a symptom (thresholds call lower better); false for volume
        /// (segments, opens, datagrams), which is only higher or lower.
        public let symptom: Bool
        public let meaning: String

        init(_ name: String, _ symptom: Bool, _ meaning: String) {
            self.name = name
            self.symptom = symptom
            self.meaning = meaning
        }
    }

    /// The counters that explain socket behaviour, in the order reports list them: connection
    /// setup and the listener's queues, retransmission and loss, resets and aborts, receive-side
    /// drops and windows, then UDP. Each is also the threshold field `kernel.NAME`.
    public static let reported: [Counter] = [
        // Connections and the listener.
        Counter("TcpActiveOpens", false, "connections opened by connect()"),
        Counter("TcpPassiveOpens", false, "connections a listener answered (SYN received)"),
        Counter("TcpAttemptFails", true, "connection attempts that failed (SYN-SENT or SYN-RECV back to CLOSED)"),
        Counter("TcpExtListenOverflows", true, "SYNs or handshake ACKs a listener refused because its accept queue was full (backlog)"),
        Counter("TcpExtListenDrops", true, "SYNs or handshake ACKs a listener dropped, overflows included"),
        Counter("TcpExtTCPReqQFullDrop", true, "SYNs dropped because the SYN queue was full and syncookies were off"),
        Counter("TcpExtTCPReqQFullDoCookies", true, "SYNs answered with a syncookie because the SYN queue was full"),
        Counter("TcpExtSyncookiesSent", true, "syncookies sent"),
        Counter("TcpExtSyncookiesFailed", true, "handshake ACKs with an invalid syncookie"),
        Counter("TcpExtEmbryonicRsts", true, "resets received for connections still in SYN-RECV"),
        Counter("TcpExtTW", false, "connections that entered TIME-WAIT"),
        Counter("TcpExtTCPTimeWaitOverflow", true, "TIME-WAIT sockets not created (tcp_max_tw_buckets)"),
        // Segments, retransmission and loss.
        Counter("TcpInSegs", false, "segments received"),
        Counter("TcpOutSegs", false, "segments sent"),
        Counter("TcpRetransSegs", true, "segments retransmitted"),
        Counter("TcpInErrs", true, "segments received in error (bad checksum, for example)"),
        Counter("TcpExtTCPSynRetrans", true, "SYNs and SYN-ACKs retransmitted"),
        Counter("TcpExtTCPTimeouts", true, "retransmission timeouts (RTO fired)"),
        Counter("TcpExtTCPSpuriousRTOs", true, "retransmission timeouts later found unnecessary (F-RTO)"),
        Counter("TcpExtTCPLossProbes", true, "tail loss probes sent"),
        Counter("TcpExtTCPFastRetrans", true, "fast retransmissions (after duplicate ACKs or SACK)"),
        Counter("TcpExtTCPSlowStartRetrans", true, "retransmissions in slow start after a loss"),
        Counter("TcpExtTCPLostRetransmit", true, "retransmissions lost again"),
        Counter("TcpExtTCPRetransFail", true, "retransmissions the stack could not send"),
        Counter("TcpExtTCPDSACKRecv", true, "duplicate SACKs received: a retransmission the peer already had"),
        // Resets and aborts.
        Counter("TcpEstabResets", true, "established connections reset"),
        Counter("TcpOutRsts", true, "resets sent"),
        Counter("TcpExtTCPAbortOnData", true, "resets sent for data arriving after close, or for a close with SO_LINGER 0"),
        Counter("TcpExtTCPAbortOnClose", true, "resets sent because a socket was closed with unread data"),
        Counter("TcpExtTCPAbortOnMemory", true, "connections aborted for lack of memory (tcp_mem, orphans)"),
        Counter("TcpExtTCPAbortOnTimeout", true, "connections aborted after too many retransmission timeouts"),
        Counter("TcpExtTCPAbortOnLinger", true, "connections aborted in FIN-WAIT-2 (TCP_LINGER2 below 0)"),
        Counter("TcpExtTCPAbortFailed", true, "resets the stack could not send"),
        // The receive side: queues, memory and windows.
        Counter("TcpExtTCPBacklogDrop", true, "segments dropped because the socket's backlog was full while a thread owned it"),
        Counter("TcpExtTCPRcvQDrop", true, "segments dropped because the receive queue could not grow (memory)"),
        Counter("TcpExtTCPZeroWindowDrop", true, "segments dropped because the receive window was zero"),
        Counter("TcpExtTCPOFOQueue", false, "segments queued out of order"),
        Counter("TcpExtTCPOFODrop", true, "out-of-order segments dropped for lack of memory"),
        Counter("TcpExtPruneCalled", true, "receive queues pruned under memory pressure"),
        Counter("TcpExtRcvPruned", true, "segments dropped after pruning failed to free memory"),
        Counter("TcpExtTCPMemoryPressures", true, "times TCP entered memory pressure (tcp_mem)"),
        Counter("TcpExtTCPWantZeroWindowAdv", false, "times the receiver wanted to advertise a zero window"),
        Counter("TcpExtTCPToZeroWindowAdv", true, "zero windows advertised (a receiver that fell behind)"),
        Counter("TcpExtTCPFromZeroWindowAdv", false, "windows reopened after a zero window"),
        Counter("TcpExtDelayedACKs", false, "delayed ACKs sent"),
        Counter("TcpExtTCPAutoCorking", false, "small writes held back to be sent together (autocorking)"),
        Counter("TcpExtTCPKeepAlive", false, "keepalive probes sent"),
        // UDP, IPv4 and IPv6.
        Counter("UdpInDatagrams", false, "UDP datagrams delivered to sockets (IPv4)"),
        Counter("UdpOutDatagrams", false, "UDP datagrams sent (IPv4)"),
        Counter("UdpNoPorts", true, "UDP datagrams to a port nothing listened on (IPv4)"),
        Counter("UdpInErrors", true, "UDP datagrams not delivered for an input error, full buffers included (IPv4)"),
        Counter("UdpRcvbufErrors", true, "UDP datagrams dropped because a socket's receive buffer was full (IPv4)"),
        Counter("UdpSndbufErrors", true, "UDP sends that failed because the send buffer was full (IPv4)"),
        Counter("UdpInCsumErrors", true, "UDP datagrams with a bad checksum (IPv4)"),
        Counter("UdpMemErrors", true, "UDP datagrams dropped for lack of memory (IPv4)"),
        Counter("Udp6InDatagrams", false, "UDP datagrams delivered to sockets (IPv6)"),
        Counter("Udp6OutDatagrams", false, "UDP datagrams sent (IPv6)"),
        Counter("Udp6NoPorts", true, "UDP datagrams to a port nothing listened on (IPv6)"),
        Counter("Udp6InErrors", true, "UDP datagrams not delivered for an input error, full buffers included (IPv6)"),
        Counter("Udp6RcvbufErrors", true, "UDP datagrams dropped because a socket's receive buffer was full (IPv6)"),
        Counter("Udp6SndbufErrors", true, "UDP sends that failed because the send buffer was full (IPv6)"),
        Counter("Udp6MemErrors", true, "UDP datagrams dropped for lack of memory (IPv6)"),
    ]

    /// A reported counter by its exact nstat name.
    public static func counter(named name: String) -> Counter? { reported.first { $0.name == name } }
}
