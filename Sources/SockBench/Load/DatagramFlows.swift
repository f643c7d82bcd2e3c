import CSockBenchLinux
import Glibc

/// What the connection engine keeps for UDP's filler loads (request-response against an echo,
/// and streams into a sink): each datagram carries its sequence number and send timestamp, so
/// answers are matched by sequence number in any order, and loss, duplicates, reordering, RTT
/// and RFC 3550 jitter come from the datagrams themselves. Allocated once, in the engine's
/// `init`, only for these loads; the logic is `ConnectionEngine+Datagrams`.
struct DatagramFlows {
    struct Flow {
        var sendSequence: UInt64 = 0
        /// Oldest datagram still waiting for its echo (or sendSequence when none).
        var oldestOutstanding: UInt64 = 0
        var highestReceived: UInt64 = 0
        var anyReceived = false
        var jitter: Double = 0
        var previousTransit: Int64 = 0
        /// The socket's SO_RXQ_OVFL drop counter: as last read, and as last read before the window.
        var rxqDrops: UInt64 = 0
        var rxqDropsBeforeWindow: UInt64 = 0
    }

    /// `damaged`: answered, but by a datagram that was not one clean echo.
    enum Slot: UInt8 { case empty, outstanding, answered, givenUp, damaged }

    /// Request-response (answers awaited) rather than a stream into a sink.
    let echoes: Bool
    let count: Int
    let flows: UnsafeMutablePointer<Flow>
    /// Per flow, `ringSize` slots of send time and state, indexed by sequence % ringSize;
    /// larger than the depth so late echoes and duplicates are still recognised.
    let ringSize: Int
    let sendTimes: UnsafeMutablePointer<UInt64>
    let slots: UnsafeMutablePointer<Slot>
    let datagram: UnsafeMutableRawPointer
    let template: UnsafeMutableRawPointer
    let receiveBuffer: UnsafeMutableRawPointer
    static let receiveCapacity = 65_536
    /// One recvmsg header, reused for every datagram: `receiveBuffer` and the control data that
    /// carries the socket's receive-queue drop counter (SO_RXQ_OVFL).
    let receiveMessage: UnsafeMutablePointer<msghdr>
    let receiveVector: UnsafeMutablePointer<iovec>
    let receiveControl: UnsafeMutableRawPointer
    static let controlSize = Int(CSockBenchLinux_RXQ_OVFL_SPACE)
    /// Streams: `batchSize` datagrams back to back, each with its own header, sent with one sendmmsg.
    static let batchSize = 32
    let batch: UnsafeMutableRawPointer
    let batchIO: UnsafeMutablePointer<iovec>
    let batchMessages: UnsafeMutablePointer<CSockBenchLinux_mmsghdr>

    init(plan: LoadPlan, count: Int) {
        echoes = plan.pattern == .requestResponse
        self.count = count
        flows = .allocate(capacity: count)
        flows.initialize(repeating: Flow(), count: count)
        var ring = 1024
        while ring < plan.depth * 4 { ring <<= 1 }
        ringSize = ring
        sendTimes = .allocate(capacity: count * ring)
        sendTimes.initialize(repeating: 0, count: count * ring)
        slots = .allocate(capacity: count * ring)
        slots.initialize(repeating: .empty, count: count * ring)
        let size = plan.messageSize
        datagram = Payload.makeTemplate(size: size)
        template = Payload.makeTemplate(size: size)
        receiveBuffer = .allocate(byteCount: Self.receiveCapacity, alignment: 16)
        receiveVector = .allocate(capacity: 1)
        receiveVector.initialize(to: iovec(iov_base: receiveBuffer, iov_len: Self.receiveCapacity))
        receiveControl = .allocate(byteCount: Self.controlSize, alignment: 16)
        receiveMessage = .allocate(capacity: 1)
        var header = msghdr()
        header.msg_iov = receiveVector
        header.msg_iovlen = 1
        header.msg_control = receiveControl
        receiveMessage.initialize(to: header)
        batch = .allocate(byteCount: Self.batchSize * size, alignment: 16)
        batchIO = .allocate(capacity: Self.batchSize)
        batchMessages = .allocate(capacity: Self.batchSize)
        for k in 0..<Self.batchSize {
            Payload.fill(batch + k * size, size: size)
            batchIO[k] = iovec(iov_base: batch + k * size, iov_len: size)
            var message = CSockBenchLinux_mmsghdr()
            message.msg_hdr.msg_iov = batchIO + k
            message.msg_hdr.msg_iovlen = 1
            batchMessages[k] = message
        }
    }

    func deallocate() {
        flows.deinitialize(count: count)
        flows.deallocate()
        sendTimes.deallocate()
        slots.deallocate()
        datagram.deallocate()
        template.deallocate()
        receiveBuffer.deallocate()
        receiveVector.deallocate()
        receiveControl.deallocate()
        receiveMessage.deallocate()
        batch.deallocate()
        batchIO.deallocate()
        batchMessages.deallocate()
    }

    /// Where sequence `sequence` of flow `index` keeps its send time and state.
    @inline(__always)
    func slot(_ index: Int, _ sequence: UInt64) -> Int { index * ringSize + Int(sequence & UInt64(ringSize - 1)) }

    /// True when the `bytes` (0...8) little-endian bytes at `pointer` are the low bytes of `value`.
    @inline(__always)
    static func matches(_ value: UInt64, _ pointer: UnsafeRawPointer, bytes: Int) -> Bool {
        for byte in 0..<max(0, bytes) where pointer.load(fromByteOffset: byte, as: UInt8.self) != UInt8(truncatingIfNeeded: value >> UInt64(byte * 8)) {
            return false
        }
        return true
    }

    static func damageDescription(length: Int, size: Int, recovered: Int) -> String {
        let what = if length > size, length % size == 0 {
            "a datagram of \(length) bytes joins \(length / size) answers of \(size) bytes (a peer that relays datagrams through a stream merges them)"
        } else if length < size {
            "a datagram of \(length) bytes is shorter than the \(size) bytes sent (truncated)"
        } else {
            "a datagram of \(length) bytes differs from the \(size) bytes sent"
        }
        return what + "; \(recovered) sequence number\(recovered == 1 ? "" : "s") recovered from it, counted damaged rather than lost"
    }
}
