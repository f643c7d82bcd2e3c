import CSockBenchLinux
import Glibc
import Synchronization

/// What every client worker thread offers the engine.
protocol LoadWorker: AnyObject, Sendable {
    /// Drives the worker's connections until the plan's end time, then closes them.
    func run()
    /// What it measured; read after the thread is joined.
    var result: WorkerResult { get }
    /// Its running counts as the measured window ended (the last interval's figures).
    var totalsAtEnd: IntervalTotals { get }
    /// Its share of the interval series.
    var intervals: IntervalRecorder { get }
}

/// Runs a load: spreads the connections over worker threads, starts them on one shared
/// timeline (start, end of warm-up, end), collects the interval series while they run, waits for
/// them and merges what they measured.
public enum LoadEngine {
    public struct Outcome: Sendable {
        public var result: WorkerResult
        /// Length of the measured window actually covered (shorter when every connection failed early).
        public var measuredNanoseconds: UInt64
        public var intervals: [IntervalRecord]
        /// This process's resident memory before any connection existed, and its peak during the run.
        public var residentBeforeBytes: UInt64
        public var peakResidentBytes: UInt64
        /// CPU the worker threads spent inside the measured window (the cost of the measured messages).
        public var windowCPUNanoseconds: UInt64
        /// Why the load stopped before its end, and when (seconds into the measured window).
        public var stopped: (reason: RunControl.Reason, atS: Double)?
        /// The first errors, in time order, with their moment.
        public var errorEvents: [RunEvent]
        /// The measured window's answers with a capture attached and without (empty without a gate).
        public var captureSplit: CaptureSplit
        /// What the namespace's TCP and UDP counters rose by over the measured window; nil when
        /// /proc/net/snmp could not be read or the run stopped before its window opened.
        public var kernelCounters: [KernelCounterDelta]?
        /// The same over the warm-up, from before the first connect to the window's opening (nil without a warm-up).
        public var warmupKernelCounters: [KernelCounterDelta]?
    }

    /// Counts workers that have returned, so the collecting thread knows when to stop polling.
    private final class Finished: Sendable {
        let count = Atomic<Int>(0)
    }

    public static func run(plan basePlan: LoadPlan, connections: Int, threads: Int, warmup: UInt64, duration: UInt64,
                           progress: ((LoadProgress) -> Void)? = nil,
                           watch: (() -> RunControl.Reason?)? = nil,
                           windowScheduled: ((_ measureStart: UInt64) -> Void)? = nil,
                           captureGate: CaptureGate? = nil) throws(SocketError) -> Outcome {
        var plan = basePlan
        let threadCount = max(1, min(threads, connections))
        let residentBefore = ProcessResources.residentBytes()
        let now = MonotonicClock.now()
        plan.startTime = now
        plan.measureStart = now + warmup
        plan.endTime = plan.measureStart + duration
        windowScheduled?(plan.measureStart)
        var edges = WindowEdges(start: plan.measureStart, end: plan.endTime, warmup: warmup > 0)
        // Without a warm-up the window opens with the first connect: read before any thread starts.
        if warmup == 0 { edges.observe(plan.measureStart) }
        var workers: [any LoadWorker] = []
        for index in 0..<threadCount {
            let share = connections / threadCount + (index < connections % threadCount ? 1 : 0)
            let recorder = IntervalRecorder(measureStart: plan.measureStart, length: plan.intervalLength, gate: captureGate)
            let first = index * (connections / threadCount) + min(index, connections % threadCount)
            workers.append(try ConnectionEngine(plan: plan, connections: share, firstConnection: first, intervals: recorder))
        }
        let recorders = workers.map(\.intervals)
        let collector = IntervalCollector(recorders: recorders, plan: plan)
        collector.onProgress = progress
        let finished = Finished()
        var threadsStarted: [JoinableThread] = []
        for (index, worker) in workers.enumerated() {
            threadsStarted.append(try JoinableThread(name: "\(plan.transport.rawValue)-client-\(index)") {
                worker.run()
                finished.count.add(1, ordering: .releasing)
            })
        }
        var stopped: (reason: RunControl.Reason, atS: Double)?
        var stoppedAt = UInt64.max
        while finished.count.load(ordering: .acquiring) < workers.count {
            let now = MonotonicClock.now()
            // Wake on the window's edges, not up to 20 ms after them: the counters are read there.
            let wake = min(now + 20_000_000, edges.nextEdge(after: now) ?? .max)
            if wake > now { usleep(useconds_t(min((wake - now) / 1000, 20_000))) }
            edges.observe(MonotonicClock.now())
            collector.poll()
            // Interrupted, or the server died: the workers see the flag within one loop iteration (≤10 ms).
            if stopped == nil, let reason = watch?() {
                plan.control.stop(reason)
                stoppedAt = MonotonicClock.now()
                collector.stop(at: stoppedAt)
                stopped = (reason, seconds(stoppedAt, from: plan.measureStart))
            }
        }
        threadsStarted.forEach { $0.join() }
        // Every worker stopped early (all connections failed, interrupted): the window ends here.
        edges.closeEarly()
        collector.finish(finalTotals: workers.map(\.totalsAtEnd))
        // A stopped load's window ends when it was told to stop, not when its workers were joined
        // (their drain is not measured time), and its interval series with the interval of that moment.
        let ended = min(MonotonicClock.now(), plan.endTime, stoppedAt)
        let measured = ended > plan.measureStart ? ended - plan.measureStart : 0
        var total = WorkerResult()
        workers.forEach { total.merge($0.result) }
        return Outcome(result: total, measuredNanoseconds: measured,
                       intervals: collector.records, residentBeforeBytes: residentBefore,
                       peakResidentBytes: max(collector.peakResidentBytes, ProcessResources.residentBytes()),
                       windowCPUNanoseconds: recorders.reduce(0) { $0 + $1.windowCPUNanoseconds },
                       stopped: stopped,
                       errorEvents: total.errorLog.map {
                           RunEvent(atS: seconds($0.time, from: plan.measureStart), kind: .error, category: $0.category.rawValue, message: $0.message)
                       },
                       captureSplit: recorders.reduce(into: CaptureSplit()) { $0.merge($1.captureSplit) },
                       kernelCounters: edges.deltas, warmupKernelCounters: edges.warmupDeltas)
    }

    /// The kernel's counters read as the measured window opens and as it closes (and, with a
    /// warm-up, before the first connect), by the engine's thread: the workers never touch /proc.
    struct WindowEdges {
        let start: UInt64
        let end: UInt64
        private(set) var atLoadStart: KernelCounters?
        private(set) var atStart: KernelCounters?
        private(set) var atEnd: KernelCounters?
        private var startRead = false
        private var endRead = false

        init(start: UInt64, end: UInt64, warmup: Bool) {
            self.start = start
            self.end = end
            if warmup { atLoadStart = KernelCounters.read() }
        }

        /// The next edge still to read, if any.
        func nextEdge(after now: UInt64) -> UInt64? {
            if !startRead { return start }
            return endRead ? nil : end
        }

        /// Reads the counters at each edge `now` has reached.
        mutating func observe(_ now: UInt64) {
            if !startRead, now >= start {
                startRead = true
                atStart = KernelCounters.read()
            }
            if startRead, !endRead, now >= end {
                endRead = true
                atEnd = KernelCounters.read()
            }
        }

        /// The load stopped: a window that opened ends now; one that never opened has no counters.
        mutating func closeEarly() {
            guard startRead, !endRead else { return }
            endRead = true
            atEnd = KernelCounters.read()
        }

        var deltas: [KernelCounterDelta]? {
            guard let atStart, let atEnd else { return nil }
            return atEnd.deltas(since: atStart)
        }

        /// From before the first connect to the window's opening, or to the stop when it never opened.
        var warmupDeltas: [KernelCounterDelta]? {
            guard let atLoadStart, let until = atStart ?? KernelCounters.read() else { return nil }
            return until.deltas(since: atLoadStart)
        }
    }

    /// Seconds from `start` to `time`, negative before it.
    static func seconds(_ time: UInt64, from start: UInt64) -> Double {
        time >= start ? Double(time - start) / 1e9 : -Double(start - time) / 1e9
    }
}
