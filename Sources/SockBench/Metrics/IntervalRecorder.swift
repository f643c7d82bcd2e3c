import CSockBenchLinux
import Glibc
import Synchronization

/// One worker's share of the interval series, handed to the collecting thread without a lock.
///
/// The worker records into the slot of the current interval. When the clock crosses an interval
/// boundary it seals that slot (a release store of its index) and moves to the other slot, which
/// the collector must have read by then (an acquire load of `consumed`); if it has not, the worker
/// keeps recording into the current slot and seals it later, so a late collector merges two
/// intervals into one rather than losing or tearing data. Rolling happens once per loop
/// iteration, never per message.
final class IntervalRecorder: @unchecked Sendable {
    struct Slot {
        var latency = LatencyHistogram()
        /// Open loop: latency from the actual send rather than the intended one.
        var uncorrected = LatencyHistogram()
        /// The worker's running totals when the slot was sealed.
        var totals = IntervalTotals()
        /// TCP_INFO of a sample of the worker's connections, read as the slot was sealed (TCP workers).
        var tcpInfo = IntervalTCPSamples()
    }

    let measureStart: UInt64
    let length: UInt64
    /// The last sealed interval as `index << 1 | slot number` (-1: none yet), and the highest index
    /// the collector has read.
    private let sealed = Atomic<Int>(-1)
    private let consumed = Atomic<Int>(-1)
    /// The worker's current slot; only the worker touches it until it is sealed.
    private(set) var slot: UnsafeMutablePointer<Slot>
    /// Index of the interval being recorded, and when it ends.
    private(set) var current = 0
    private(set) var nextBoundary: UInt64
    private var slotNumber = 0
    private var lastSealed = -1
    /// The worker thread's CPU time when the measured window opened, and what it used inside it.
    private var cpuAtWindowStart: UInt64?
    private(set) var windowCPUNanoseconds: UInt64 = 0
    /// The worker's running totals as the window opened: the first interval counts from there, so
    /// connections set up in the warm-up are not "established" in it. Written before the first
    /// seal, read by the collector after it.
    private(set) var windowStartTotals: IntervalTotals?
    private let slots: UnsafeMutablePointer<Slot>
    /// Whether a capture is attached; nil without capture.
    private let gate: CaptureGate?
    /// The capture phase under way (attached or not) and the totals it started from.
    private var phaseInside = false
    private var phaseStart: IntervalTotals?
    /// The measured window's answers split by capture phase; complete after `closeWindow`.
    private(set) var captureSplit = CaptureSplit()

    init(measureStart: UInt64, length: UInt64, gate: CaptureGate? = nil) {
        self.measureStart = measureStart
        self.length = length
        self.gate = gate
        nextBoundary = measureStart + length
        slots = .allocate(capacity: 2)
        slots.initialize(repeating: Slot(), count: 2)
        slot = slots
    }

    deinit {
        slots.deinitialize(count: 2)
        slots.deallocate()
    }

    /// Worker side: seals the current interval if `now` has left it and the other slot is free;
    /// `sample` fills the slot's TCP_INFO just before it is sealed (once per interval, not per message).
    @inline(__always)
    func roll(_ now: UInt64, totals: @autoclosure () -> IntervalTotals,
              sample: (UnsafeMutablePointer<Slot>) -> Void = { _ in }) {
        if cpuAtWindowStart == nil, now >= measureStart {
            cpuAtWindowStart = Self.threadCPU()
            windowStartTotals = totals()
        }
        if let gate, now >= measureStart {
            let inside = gate.isOpen
            if phaseStart == nil || inside != phaseInside {
                let current = totals()
                if let start = phaseStart { captureSplit.add(from: start, to: current, inside: phaseInside) }
                phaseStart = current
                phaseInside = inside
            }
        }
        guard now >= nextBoundary else { return }
        guard consumed.load(ordering: .acquiring) >= lastSealed else { return } // collector behind: keep recording here
        slot.pointee.totals = totals()
        sample(slot)
        sealed.store(current << 1 | slotNumber, ordering: .releasing)
        lastSealed = current
        current = Int((now - measureStart) / length)
        nextBoundary = measureStart + UInt64(current + 1) * length
        slotNumber ^= 1
        slot = slots + slotNumber
        slot.pointee.latency.reset()
        slot.pointee.uncorrected.reset()
        slot.pointee.tcpInfo.reset()
    }

    /// Worker side, as its measured window closes: the CPU its thread spent inside the window, and
    /// the last capture phase's answers.
    func closeWindow(totals: IntervalTotals) {
        if let start = cpuAtWindowStart { windowCPUNanoseconds = Self.threadCPU() - start }
        if let start = phaseStart {
            captureSplit.add(from: start, to: totals, inside: phaseInside)
            phaseStart = nil
        }
    }

    static func threadCPU() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// Collector side: the interval sealed since `after` was read, if any. Call `release` when done with it.
    func takeSealed(after: Int) -> (index: Int, slot: UnsafeMutablePointer<Slot>)? {
        let value = sealed.load(ordering: .acquiring)
        guard value >= 0, value >> 1 > after else { return nil }
        return (value >> 1, slots + (value & 1))
    }

    /// Collector side: hands the slot of interval `index` back to the worker.
    func release(_ index: Int) { consumed.store(index, ordering: .releasing) }

    /// Collector side, only after the worker thread has been joined: the interval still being recorded.
    var unsealed: (index: Int, slot: UnsafeMutablePointer<Slot>) { (current, slot) }
}

/// A worker's running counts, copied into a slot when it is sealed; the collector turns
/// consecutive copies into per-interval figures.
struct IntervalTotals: Sendable, Equatable {
    var messagesSent: UInt64 = 0
    var messagesReceived: UInt64 = 0
    var bytesSent: UInt64 = 0
    var bytesReceived: UInt64 = 0
    var errors = ErrorCounts()
    var connectionsEstablished = 0
    var connectionsOpen = 0

    func minus(_ earlier: IntervalTotals) -> IntervalTotals {
        IntervalTotals(messagesSent: messagesSent - earlier.messagesSent, messagesReceived: messagesReceived - earlier.messagesReceived,
                       bytesSent: bytesSent - earlier.bytesSent, bytesReceived: bytesReceived - earlier.bytesReceived,
                       errors: errors.minus(earlier.errors), connectionsEstablished: connectionsEstablished - earlier.connectionsEstablished,
                       connectionsOpen: connectionsOpen)
    }

    mutating func add(_ other: IntervalTotals) {
        messagesSent += other.messagesSent
        messagesReceived += other.messagesReceived
        bytesSent += other.bytesSent
        bytesReceived += other.bytesReceived
        errors.add(other.errors)
        connectionsEstablished += other.connectionsEstablished
        connectionsOpen += other.connectionsOpen
    }
}
