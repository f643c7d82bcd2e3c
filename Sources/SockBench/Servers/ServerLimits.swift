import Synchronization

/// A reference server's caps, shared by all its event-loop threads: how many connections may be
/// open, and how many bytes may be parked for clients that do not read their answers. Hostile or
/// broken clients (slowloris, never-reading floods) hit these instead of the machine; each cap
/// says so once on stderr when it starts biting, and again after it has eased.
final class ServerLimits: Sendable {
    let maxConnections: Int
    let maxBufferedBytes: Int
    private let open = Atomic<Int>(0)
    private let buffered = Atomic<Int>(0)
    private let connectionCapHit = Atomic<Bool>(false)
    private let bufferCapHit = Atomic<Bool>(false)
    /// Connections closed at once because the connection cap was reached, and connections closed
    /// because parking their answers would pass the buffer cap.
    private let refused = Atomic<Int>(0)
    private let closedForBuffer = Atomic<Int>(0)

    var refusedConnections: Int { refused.load(ordering: .relaxed) }
    var connectionsClosedForBuffer: Int { closedForBuffer.load(ordering: .relaxed) }

    init(maxConnections: Int, maxBufferedBytes: Int) {
        self.maxConnections = maxConnections
        self.maxBufferedBytes = maxBufferedBytes
    }

    /// Counts a new connection in; false (and the connection must be closed) past the cap.
    func admitConnection() -> Bool {
        let now = open.add(1, ordering: .relaxed).newValue
        guard now > maxConnections else { return true }
        open.subtract(1, ordering: .relaxed)
        refused.add(1, ordering: .relaxed)
        if !connectionCapHit.exchange(true, ordering: .relaxed) {
            FileHandleOutput.standardError("sockbench serve: connection cap reached: \(maxConnections) open (--max-connections); new connections are closed at once until some end")
        }
        return false
    }

    func connectionClosed() {
        let now = open.subtract(1, ordering: .relaxed).newValue
        if now < maxConnections * 9 / 10 { connectionCapHit.store(false, ordering: .relaxed) }
    }

    /// Reserves `bytes` of parked output; false (and the connection must be closed) past the cap.
    func reserveBuffer(_ bytes: Int) -> Bool {
        let now = buffered.add(bytes, ordering: .relaxed).newValue
        guard now > maxBufferedBytes else { return true }
        buffered.subtract(bytes, ordering: .relaxed)
        closedForBuffer.add(1, ordering: .relaxed)
        if !bufferCapHit.exchange(true, ordering: .relaxed) {
            FileHandleOutput.standardError("sockbench serve: buffer cap reached: \(Quantity.formatSize(maxBufferedBytes)) parked for clients that do not read (--max-buffered); closing such connections")
        }
        return false
    }

    func releaseBuffer(_ bytes: Int) {
        let now = buffered.subtract(bytes, ordering: .relaxed).newValue
        if now < maxBufferedBytes * 9 / 10 { bufferCapHit.store(false, ordering: .relaxed) }
    }
}
