/// Runs a load: spreads the connections over worker threads, starts them on one shared
/// timeline (start, end of warm-up, end), waits for them and merges what they measured.
public enum LoadEngine {
    public struct Outcome: Sendable {
        public var result: WorkerResult
        /// Length of the measured window actually covered (shorter when every connection failed early).
        public var measuredNanoseconds: UInt64
    }

    public static func run(plan basePlan: LoadPlan, connections: Int, threads: Int,
                           warmup: UInt64, duration: UInt64) throws(SocketError) -> Outcome {
        var plan = basePlan
        let threadCount = max(1, min(threads, connections))
        let now = MonotonicClock.now()
        plan.measureStart = now + warmup
        plan.endTime = plan.measureStart + duration
        var tcpWorkers: [TCPWorker] = []
        var udpWorkers: [UDPWorker] = []
        var threadsStarted: [JoinableThread] = []
        for index in 0..<threadCount {
            let share = connections / threadCount + (index < connections % threadCount ? 1 : 0)
            if plan.transport == .tcp {
                let worker = try TCPWorker(plan: plan, connections: share)
                tcpWorkers.append(worker)
                threadsStarted.append(try JoinableThread(name: "tcp-client-\(index)") { worker.run() })
            } else {
                let worker = try UDPWorker(plan: plan, connections: share)
                udpWorkers.append(worker)
                threadsStarted.append(try JoinableThread(name: "udp-client-\(index)") { worker.run() })
            }
        }
        threadsStarted.forEach { $0.join() }
        let finished = min(MonotonicClock.now(), plan.endTime)
        var total = WorkerResult()
        tcpWorkers.forEach { total.merge($0.result) }
        udpWorkers.forEach { total.merge($0.result) }
        return Outcome(result: total, measuredNanoseconds: finished > plan.measureStart ? finished - plan.measureStart : 0)
    }
}
