/// One entry of a run's interval series (`runs[].intervals[]`, `intervals.csv`).
public struct IntervalRecord: Codable, Sendable, Equatable {
    /// Seconds from the start of the measured window.
    public var startS: Double
    public var endS: Double
    public var messagesSent: UInt64
    public var messagesReceived: UInt64
    public var messagesPerSecond: Double
    public var bitsPerSecondSent: Double
    public var bitsPerSecondReceived: Double
    /// Latency of the answers completed in this interval (from the intended send in open loop).
    public var latencyNs: IntervalLatency
    /// Open loop only: the same answers timed from their actual send.
    public var latencyUncorrectedNs: IntervalLatency?
    public var errors: UInt64
    /// The same errors by category (refused, reset, timeout, closed...): when each fault struck.
    public var errorsByCategory: ErrorCounts?
    public var connectionsEstablished: Int
    public var connectionsOpen: Int
    /// The client process (sockbench) at the end of the interval.
    public var residentBytes: UInt64
    public var openDescriptors: Int
    /// TCP runs: TCP_INFO of a sample of the client connections, read as the interval ended
    /// (absent for UDP and conversations, and when no connection was open).
    public var tcpInfo: IntervalTCPInfo?
}

public struct IntervalLatency: Codable, Sendable, Equatable {
    public var count: UInt64
    public var p50: UInt64
    public var p90: UInt64
    public var p99: UInt64
    public var p999: UInt64
    public var max: UInt64
    /// Shard runs: the interval's whole histogram (HdrHistogram V2, as run totals are), so merged
    /// intervals have exact percentiles too.
    public var histogram: String?

    init(_ histogram: LatencyHistogram, encoded: Bool = false) {
        count = histogram.count
        p50 = histogram.percentile(50)
        p90 = histogram.percentile(90)
        p99 = histogram.percentile(99)
        p999 = histogram.percentile(99.9)
        max = histogram.max
        self.histogram = encoded ? HistogramCodec.encode(histogram) : nil
    }
}

/// What the live progress line shows, once per interval.
public struct LoadProgress: Sendable {
    public var elapsedNs: UInt64
    public var remainingNs: UInt64
    public var messagesPerSecond: Double
    public var p99SoFarNs: UInt64
    public var errors: UInt64
}

/// Gathers the workers' sealed intervals on the engine's thread and merges them into records,
/// in order, once every worker has moved past an interval.
final class IntervalCollector {
    private struct Pending {
        var latency = LatencyHistogram()
        var uncorrected = LatencyHistogram()
        var totals = IntervalTotals()
        /// Open connections as each worker last reported them (a worker may add twice to the last interval).
        var openByWorker: [Int: Int] = [:]
        /// Every worker's TCP_INFO sample of the interval, and what those connections retransmitted.
        var tcpSamples: [TCPInfo] = []
        var tcpRetransmissions: UInt64 = 0
    }

    private let recorders: [IntervalRecorder]
    private let plan: LoadPlan
    /// Intervals in the measured window (the last may be shorter).
    private let intervalCount: Int
    /// The series' last interval: the window's, or the one holding the moment the load was stopped.
    private var lastInterval: Int
    private var lastRead: [Int]
    private var lastTotals: [IntervalTotals]
    private var pending: [Int: Pending] = [:]
    private var nextToEmit = 0
    private var soFar = LatencyHistogram()
    private var errorsSoFar: UInt64 = 0
    private(set) var records: [IntervalRecord] = []
    private(set) var peakResidentBytes: UInt64 = 0
    /// Called after each interval is emitted (the live progress line).
    var onProgress: ((LoadProgress) -> Void)?

    init(recorders: [IntervalRecorder], plan: LoadPlan) {
        self.recorders = recorders
        self.plan = plan
        let window = plan.endTime - plan.measureStart
        intervalCount = max(1, Int((window + plan.intervalLength - 1) / plan.intervalLength))
        lastInterval = intervalCount - 1
        lastRead = Array(repeating: -1, count: recorders.count)
        lastTotals = Array(repeating: IntervalTotals(), count: recorders.count)
    }

    /// Takes what the workers have sealed and emits every interval all of them have passed.
    func poll() {
        for (worker, recorder) in recorders.enumerated() {
            guard let sealed = recorder.takeSealed(after: lastRead[worker]) else { continue }
            absorb(worker: worker, index: sealed.index, slot: sealed.slot.pointee)
            recorder.release(sealed.index)
        }
        // The last interval waits for `finish`: what a worker counts after sealing it (a timeout found
        // in the final drain) is absorbed into it there, and an interval emitted early would lose it.
        emit(through: min(lastRead.min() ?? -1, lastInterval - 1))
    }

    /// The load was told to stop at `time` (CLOCK_MONOTONIC): the series ends with the interval
    /// holding that moment, and what the workers count until they return goes into it.
    func stop(at time: UInt64) {
        let index = time > plan.measureStart ? Int((time - plan.measureStart) / plan.intervalLength) : 0
        lastInterval = max(nextToEmit, min(lastInterval, index))
    }

    /// After every worker thread has been joined: takes the intervals still open and emits the rest.
    func finish(finalTotals: [IntervalTotals]) {
        poll()
        for (worker, recorder) in recorders.enumerated() {
            var slot = recorder.unsealed.slot.pointee
            slot.totals = finalTotals[worker]
            absorb(worker: worker, index: recorder.unsealed.index, slot: slot)
        }
        emit(through: lastInterval)
    }

    private func absorb(worker: Int, index rawIndex: Int, slot: IntervalRecorder.Slot) {
        // A worker that rolled just after the end (or the stop) still belongs to the last interval.
        let index = min(rawIndex, lastInterval)
        if lastRead[worker] < 0, let start = recorders[worker].windowStartTotals { lastTotals[worker] = start }
        var entry = pending[index] ?? Pending()
        entry.latency.merge(slot.latency)
        entry.uncorrected.merge(slot.uncorrected)
        entry.totals.add(slot.totals.minus(lastTotals[worker]))
        entry.openByWorker[worker] = slot.totals.connectionsOpen
        entry.tcpSamples += slot.tcpInfo.connections
        entry.tcpRetransmissions &+= slot.tcpInfo.retransmissions
        pending[index] = entry
        lastTotals[worker] = slot.totals
        lastRead[worker] = max(lastRead[worker], rawIndex)
    }

    private func emit(through last: Int) {
        while nextToEmit <= min(last, lastInterval) {
            let index = nextToEmit
            var entry = pending.removeValue(forKey: index) ?? Pending()
            entry.totals.connectionsOpen = entry.openByWorker.values.reduce(0, +)
            let start = UInt64(index) * plan.intervalLength
            let end = min(start + plan.intervalLength, plan.endTime - plan.measureStart)
            let seconds = Double(end - start) / 1e9
            let resident = ProcessResources.residentBytes()
            peakResidentBytes = max(peakResidentBytes, resident)
            let record = IntervalRecord(
                startS: Double(start) / 1e9, endS: Double(end) / 1e9,
                messagesSent: entry.totals.messagesSent, messagesReceived: entry.totals.messagesReceived,
                messagesPerSecond: plan.messagesPerSecond(entry.totals, seconds: seconds),
                bitsPerSecondSent: seconds > 0 ? Double(entry.totals.bytesSent) * 8 / seconds : 0,
                bitsPerSecondReceived: seconds > 0 ? Double(entry.totals.bytesReceived) * 8 / seconds : 0,
                latencyNs: IntervalLatency(entry.latency, encoded: plan.intervalHistograms),
                latencyUncorrectedNs: plan.rate == nil ? nil : IntervalLatency(entry.uncorrected, encoded: plan.intervalHistograms),
                errors: entry.totals.errors.total, errorsByCategory: entry.totals.errors, connectionsEstablished: entry.totals.connectionsEstablished,
                connectionsOpen: entry.totals.connectionsOpen, residentBytes: resident,
                openDescriptors: ProcessResources.openDescriptors(),
                tcpInfo: IntervalTCPInfo(samples: entry.tcpSamples, retransmissions: entry.tcpRetransmissions))
            records.append(record)
            soFar.merge(entry.latency)
            errorsSoFar += entry.totals.errors.total
            let window = plan.endTime - plan.measureStart
            onProgress?(LoadProgress(elapsedNs: end, remainingNs: window - end, messagesPerSecond: record.messagesPerSecond,
                                           p99SoFarNs: soFar.percentile(99), errors: errorsSoFar))
            nextToEmit += 1
        }
    }
}
