/// What a worker reads of its TCP connections' TCP_INFO: the open connections' state as the
/// measured window opens (the warm-up's part), a sample of the first connected slots per
/// interval, and each connection whole as it closes. Per slot it keeps `tcpi_total_retrans` as
/// last read, so an interval counts only what was retransmitted since, and what a connect still
/// under way as the window opened had resent (the warm-up's SYNs, taken off the window's count
/// once it connects; one that never does is never counted). Storage is allocated once; a read
/// is one `getsockopt`. A disabled sampler (UDP, unix sockets: no TCP_INFO) does nothing.
struct TCPInfoSampler: ~Copyable {
    private let retransmissionsRead: UnsafeMutablePointer<UInt64>
    private let warmupRetransmissions: UnsafeMutablePointer<UInt64>
    private let count: Int
    private let enabled: Bool
    /// True once the window opened (and the open connections' warm-up TCP_INFO was read); from
    /// the start when disabled, so nothing waits for the window's opening to read it.
    private(set) var windowOpened: Bool

    init(count: Int, enabled: Bool = true) {
        self.count = count
        self.enabled = enabled
        windowOpened = !enabled
        retransmissionsRead = .allocate(capacity: max(1, count))
        retransmissionsRead.initialize(repeating: 0, count: max(1, count))
        warmupRetransmissions = .allocate(capacity: max(1, count))
        warmupRetransmissions.initialize(repeating: 0, count: max(1, count))
    }

    deinit {
        retransmissionsRead.deallocate()
        warmupRetransmissions.deallocate()
    }

    /// The window opened. `socket(index)`: the slot's descriptor and whether it is connected (nil: closed).
    mutating func openWindow(into result: inout WorkerResult, _ socket: (Int) -> (fd: Int32, connected: Bool)?) {
        guard !windowOpened else { return }
        windowOpened = true
        for index in 0..<count {
            guard let (fd, connected) = socket(index), let info = TCPInfo.read(fd) else { continue }
            retransmissionsRead[index] = info.totalRetransmissions
            if connected {
                result.tcpInfoAtWindowStart.add(info)
            } else {
                warmupRetransmissions[index] = info.totalRetransmissions
            }
        }
    }

    /// The first connected slots (at most `IntervalTCPSamples.limit`, in index order, so the same
    /// long-lived connections are followed from interval to interval) into the interval being
    /// sealed. `connectedFD(index)`: the slot's descriptor when it is connected, else nil.
    func sample(into slot: UnsafeMutablePointer<IntervalRecorder.Slot>, _ connectedFD: (Int) -> Int32?) {
        guard enabled else { return }
        var index = 0
        while index < count, !slot.pointee.tcpInfo.isFull {
            if let fd = connectedFD(index), let info = TCPInfo.read(fd) {
                let before = retransmissionsRead[index]
                retransmissionsRead[index] = info.totalRetransmissions
                slot.pointee.tcpInfo.add(info, retransmitted: info.totalRetransmissions >= before ? info.totalRetransmissions - before : 0)
            }
            index += 1
        }
    }

    /// Slot `index` opens a new connection: nothing is read of it yet.
    func opening(_ index: Int) {
        guard enabled else { return }
        retransmissionsRead[index] = 0
        warmupRetransmissions[index] = 0
    }

    /// Slot `index` connected: what it resent in the warm-up comes off (its close adds its whole TCP_INFO).
    func connected(_ index: Int, into result: inout WorkerResult) {
        guard enabled else { return }
        if warmupRetransmissions[index] > 0 { result.tcpInfoAtWindowStart.addWarmupRetransmissions(warmupRetransmissions[index]) }
    }

    /// A connected socket closes: its whole TCP_INFO is the window's, or the warm-up's when the
    /// window has not opened yet.
    func closing(_ fd: Int32, into result: inout WorkerResult) {
        guard enabled, let info = TCPInfo.read(fd) else { return }
        if windowOpened { result.tcpInfo.add(info) } else { result.tcpInfoClosedInWarmup.add(info) }
    }
}
