/// The open-loop timetable of one worker: sends leave at a fixed total rate, spread round-robin
/// over the worker's connections, so connection `i`'s message `k` is due at
/// `start + (k * connections + i) * tick`. Intended times come from that formula, so they need
/// no storage, and a late send still knows when it should have left: latency counts from then
/// (the coordinated-omission correction wrk2 makes).
struct SendSchedule {
    let start: UInt64
    /// Nanoseconds between consecutive sends across all of the worker's connections.
    let tick: Double
    let connections: Int
    /// Global send slots already handed to their connections.
    private var visited: UInt64 = 0

    /// The worker's share of `rate` (per second for the whole run), or nil in closed loop.
    init?(rate: Double?, share: Int, of totalConnections: Int, start: UInt64) {
        guard let rate, share > 0 else { return nil }
        let workerRate = rate * Double(share) / Double(totalConnections)
        self.start = start
        tick = 1e9 / workerRate
        connections = share
    }

    /// When message `sequence` of connection `index` should leave.
    @inline(__always)
    func intended(connection index: Int, sequence: UInt64) -> UInt64 {
        start.saturatingAdd(UInt64(saturating: (Double(sequence) * Double(connections) + Double(index)) * tick))
    }

    /// How many of connection `index`'s messages are due by `now`.
    @inline(__always)
    func due(connection index: Int, at now: UInt64) -> UInt64 {
        guard now >= start else { return 0 }
        let slots = Double(now - start) / tick - Double(index)
        return slots < 0 ? 0 : UInt64(saturating: slots / Double(connections)).saturatingAdd(1)
    }

    /// How many of connection `index`'s messages `first..<end` were meant for `from...to`
    /// (intended times grow with the sequence, so the answer is a range's length, not a loop).
    func count(connection index: Int, sequences first: UInt64, _ end: UInt64, meantFor from: UInt64, _ to: UInt64) -> UInt64 {
        guard end > first, to >= from else { return 0 }
        // The first sequence meant for `from` or later, and the first meant after `to`.
        func firstAtOrAfter(_ time: UInt64) -> UInt64 {
            guard time > start else { return 0 }
            let k = ((Double(time - start) / tick - Double(index)) / Double(connections)).rounded(.up)
            return k <= 0 ? 0 : (k >= 9e18 ? UInt64.max : UInt64(k))
        }
        var low = max(first, firstAtOrAfter(from))
        var high = min(end, firstAtOrAfter(to &+ 1))
        // Rounding in the formula can be one off at the edges: settle them with `intended`.
        while low > first, intended(connection: index, sequence: low - 1) >= from { low -= 1 }
        while low < high, intended(connection: index, sequence: low) < from { low += 1 }
        while high < end, intended(connection: index, sequence: high) <= to { high += 1 }
        while high > low, intended(connection: index, sequence: high - 1) > to { high -= 1 }
        return high > low ? high - low : 0
    }

    /// When the next not yet visited send slot falls due.
    var nextDue: UInt64 { start.saturatingAdd(UInt64(saturating: Double(visited) * tick)) }

    /// Calls `body` once for each connection with a send slot due since the last call.
    @inline(__always)
    mutating func visitDue(at now: UInt64, _ body: (Int) -> Void) {
        guard now >= start else { return }
        let dueSlots = UInt64(saturating: Double(now - start) / tick).saturatingAdd(1)
        guard dueSlots > visited else { return }
        if dueSlots - visited >= UInt64(connections) {
            for index in 0..<connections { body(index) }
        } else {
            for slot in visited..<dueSlots { body(Int(slot % UInt64(connections))) }
        }
        visited = dueSlots
    }
}

/// Connections waiting for a moment (think time): a FIFO, since every wait has the same length,
/// each connection is in it at most once, and storage is allocated once.
struct DeadlineQueue: ~Copyable {
    private let indices: UnsafeMutablePointer<Int32>
    private let deadlines: UnsafeMutablePointer<UInt64>
    private let capacity: Int
    private var head = 0
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        indices = .allocate(capacity: self.capacity)
        deadlines = .allocate(capacity: self.capacity)
    }

    deinit {
        indices.deallocate()
        deadlines.deallocate()
    }

    mutating func push(_ index: Int, at deadline: UInt64) {
        guard count < capacity else { return }
        let slot = (head + count) % capacity
        indices[slot] = Int32(index)
        deadlines[slot] = deadline
        count += 1
    }

    /// The earliest deadline, if any.
    var nextDeadline: UInt64? { count == 0 ? nil : deadlines[head] }

    /// Removes and returns the first connection whose deadline has passed.
    mutating func popDue(at now: UInt64) -> Int? {
        guard count > 0, deadlines[head] <= now else { return nil }
        let index = Int(indices[head])
        head = (head + 1) % capacity
        count -= 1
        return index
    }
}
