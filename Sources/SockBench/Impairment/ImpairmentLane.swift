import CSockBenchLinux
import Glibc

/// Bytes (a TCP chunk or one UDP datagram) waiting in the proxy for their release time.
struct HeldChunk {
    var bytes: [UInt8]
    var offset = 0
    var release: UInt64

    var remaining: Int { bytes.count - offset }
}

/// One direction of one proxied connection or flow: a FIFO of chunks, each released at its time
/// (arrival + delay ± jitter), then let out no faster than the rate cap allows.
struct ImpairmentLane {
    private var chunks: [HeldChunk] = []
    private var head = 0
    private(set) var queuedBytes = 0
    /// TCP keeps order: no chunk is released before the one ahead of it.
    private var lastRelease: UInt64 = 0
    /// Rate cap: the earliest moment the next byte may leave.
    private(set) var nextSendAt: UInt64 = 0
    /// Reordering: a datagram held back to leave after the next one.
    var heldBack: HeldChunk?
    /// The source closed its side (TCP); the destination is shut down once the queue is empty.
    var sourceEnded = false
    var destinationShutDown = false

    var isEmpty: Bool { head == chunks.count }
    var count: Int { chunks.count - head }
    var first: HeldChunk? { isEmpty ? nil : chunks[head] }

    /// Queues `bytes` arriving at `now` for release after `delay` (never before earlier chunks when `ordered`).
    mutating func append(_ bytes: [UInt8], now: UInt64, delay: UInt64, ordered: Bool) {
        var release = now + delay
        if ordered { release = max(release, lastRelease) }
        lastRelease = max(lastRelease, release)
        chunks.append(HeldChunk(bytes: bytes, release: release))
        queuedBytes += bytes.count
    }

    mutating func append(_ chunk: HeldChunk) {
        chunks.append(chunk)
        queuedBytes += chunk.remaining
    }

    /// Marks `sent` bytes of the first chunk as gone; drops it when it is done.
    mutating func consume(_ sent: Int) {
        chunks[head].offset += sent
        queuedBytes -= sent
        if chunks[head].remaining == 0 {
            chunks[head].bytes = []
            head += 1
            if head > 256, head * 2 > chunks.count {
                chunks.removeFirst(head)
                head = 0
            }
        }
    }

    /// Drops the first chunk whole (a datagram that could not be sent).
    mutating func dropFirst() { consume(chunks[head].remaining) }

    /// Rate cap: `bytes` left at `now`. Up to 1 ms of lateness is made up, so wake-up delays do not
    /// lower the average rate; longer idle time is not saved up (no burst beyond 1 ms).
    mutating func charge(_ bytes: Int, now: UInt64, bitsPerSecond: Double) {
        let start = max(nextSendAt, now > 1_000_000 ? now - 1_000_000 : 0)
        nextSendAt = start + UInt64(Double(bytes) * 8e9 / bitsPerSecond)
    }

}

/// SplitMix64: small, seeded, the same sequence everywhere, so an impaired run injects the same faults each time.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

/// What the proxy injected, as `sockbench proxy` prints it at the end and the report records it.
public struct InjectedStatistics: Codable, Sendable, Equatable {
    public var connections: UInt64 = 0
    /// Datagrams (UDP) or bytes (TCP) forwarded, per direction.
    public var datagramsToServer: UInt64 = 0
    public var datagramsToClient: UInt64 = 0
    public var bytesToServer: UInt64 = 0
    public var bytesToClient: UInt64 = 0
    /// UDP: datagrams dropped, sent twice, and sent after the one behind them, on purpose.
    public var dropped: UInt64 = 0
    public var duplicated: UInt64 = 0
    public var reordered: UInt64 = 0
    /// Datagrams dropped because the rate-capped queue was full (not injected loss: congestion).
    public var queueDrops: UInt64 = 0
    /// TCP: connections reset after `reset_after` bytes, and stalls begun after `stall_after`.
    public var resets: UInt64 = 0
    public var stalls: UInt64 = 0
    /// TCP writes made smaller than the data at hand (`slice`).
    public var slicedWrites: UInt64 = 0

    public init() {}
}

extension ImpairmentSpec.Choice {
    /// True when the `count`-th item (1-based) is chosen.
    func picks(_ count: UInt64, random: inout SplitMix64) -> Bool {
        switch self {
        case .percent(let percent): random.unit() * 100 < percent
        case .every(let every): count % UInt64(every) == 0
        }
    }
}
