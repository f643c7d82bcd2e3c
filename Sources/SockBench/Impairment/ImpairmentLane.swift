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

    /// Rate cap: `bytes` left at `now`. Up to `catchUpNanoseconds` of lateness is made up, so wake-up
    /// delays do not lower the average rate; longer idle time is not saved up.
    mutating func charge(_ bytes: Int, now: UInt64, bitsPerSecond: Double) {
        let start = max(nextSendAt, now > Self.catchUpNanoseconds ? now - Self.catchUpNanoseconds : 0)
        nextSendAt = start + UInt64(Double(bytes) * 8e9 / bitsPerSecond)
    }

    /// How late a capped lane may be and still send what it owes: tbf's burst, in time. 1 ms was too
    /// little on a loaded CI machine (a debug proxy ran a 100 Mbit/s cap at 92 Mbit/s, 98 here with
    /// both cores busy); 10 ms keeps the average through late wake-ups, at the cost of a burst of at most 10 ms at line
    /// rate after one.
    static let catchUpNanoseconds: UInt64 = 10_000_000
}
