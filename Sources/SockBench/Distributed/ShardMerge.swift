import Foundation

/// `sockbench merge`: N shard reports of one scenario become one ordinary report, as if one
/// generator had made all the load. Histograms are added (the merged percentiles are those of
/// one histogram of every sample), counts and rates summed, intervals aligned by wall clock, each
/// shard's own figures kept beside the sum, and the scenario's error budget and thresholds judged
/// on the merged figures.
///
/// Refused, with the reason: a report that is not a shard, shards of different scenarios or
/// shard counts, an index missing or present twice (an Indexed Job reruns a failed pod under its
/// index: keep one report per index), shards whose runs differ.
public enum ShardMerge {
    /// Above this spread of window starts a merge is flagged as skewed (default: half an interval).
    public static func merge(_ shards: [(path: String, report: Report)], maxSkewS: Double? = nil,
                             generatedAt: String = ISO8601DateFormatter().string(from: Date())) throws(DistributedError) -> Report {
        guard let first = shards.first else { throw DistributedError("merge: no shard report given") }
        var records: [ShardRecord] = []
        for (path, report) in shards {
            guard let shard = report.shard else {
                throw DistributedError("\(path): not a shard report (it has no `shard`; run with --shard I/N)")
            }
            records.append(shard)
        }
        let count = records[0].count
        let hash = records[0].scenarioHash
        for (index, record) in records.enumerated() {
            let path = shards[index].path
            guard record.scenarioHash == hash else {
                throw DistributedError("\(path): shard of another scenario (\(record.scenarioHash), not \(hash) as in \(shards[0].path))")
            }
            guard record.count == count else {
                throw DistributedError("\(path): shard \(record.index)/\(record.count) of a run split \(record.count) ways, not \(count) as \(shards[0].path)")
            }
            if let twin = records[..<index].firstIndex(where: { $0.index == record.index }) {
                throw DistributedError("\(path): shard \(record.index) is there twice (also \(shards[twin].path)); keep one report per index (a re-run pod writes another)")
            }
        }
        let missing = (0..<count).filter { index in !records.contains { $0.index == index } }
        guard missing.isEmpty else {
            throw DistributedError("merge: shard\(missing.count == 1 ? "" : "s") \(missing.map(String.init).joined(separator: ", ")) of \(count) missing")
        }
        let ordered = shards.indices.sorted { records[$0].index < records[$1].index }.map { shards[$0] }
        // A shard that failed or was interrupted measured less than its share: no sum stands for the run.
        if let broken = ordered.first(where: { $0.report.status == "failed" || $0.report.status == "interrupted" }) {
            throw DistributedError("\(broken.path): shard \(broken.report.shard!.index) \(broken.report.status): \(broken.report.failure ?? "no reason recorded"); the shards do not add up to the run",
                                   failedRun: true)
        }
        let keys = first.report.runs.map(\.mergeKey)
        for (path, report) in ordered where report.runs.map(\.mergeKey) != keys {
            throw DistributedError("\(path): its runs (\(report.runs.map(\.mergeKey).joined(separator: ", "))) are not those of \(shards[0].path) (\(keys.joined(separator: ", ")))")
        }

        var runs: [RunResult] = []
        for position in keys.indices {
            let parts = ordered.map { (record: $0.report.shard!, run: $0.report.runs[position]) }
            runs.append(try mergeRun(parts))
        }
        let starts = runs.flatMap { $0.shards ?? [] }.map(\.offsetS)
        let skew = starts.max() ?? 0
        let interval = first.report.scenario.load.intervalS ?? 1
        let limit = maxSkewS ?? interval / 2

        let shardRecord = ordered[0].report.shard!
        var scenario = ordered[0].report.scenario
        scenario.load.connections = shardRecord.totalConnections
        scenario.load.ratePerSecond = shardRecord.totalRatePerSecond
        scenario.command = nil
        var thresholds: [Threshold] = []
        for text in shardRecord.thresholds {
            guard case .success(let threshold) = Threshold.parse(text) else {
                throw DistributedError("\(ordered[0].path): threshold '\(text)' does not parse")
            }
            thresholds.append(threshold)
        }
        let budget = shardRecord.errorBudget.flatMap { ErrorBudget(parsing: $0) }
        for index in runs.indices { runs[index].rejudgeBudget(budget ?? .default, isDefault: budget == nil) }

        // Judged on the merged runs: a dead server's event, the error budget, nothing exchanged; and
        // shards whose windows never overlapped, whose load never ran together.
        var status = "ok"
        var failure: String?
        let window = runs.map(\.durationS).min() ?? 0
        if let ending = runs.lazy.compactMap({ RunEnding($0) }).first {
            status = ending.status.rawValue
            failure = ending.reason
        } else if skew >= window {
            status = RunEnding.Status.degraded.rawValue
            failure = String(format: "the shards' measured windows do not overlap: they started %.3f s apart and each lasted %.3f s, so their load never ran together (one --start-at for every shard, synchronized clocks)", skew, window)
        }
        var report = Report(generatedAt: generatedAt, status: status, failure: failure, environment: ordered[0].report.environment,
                            scenario: scenario, runs: runs)
        report.environment.host = Array(Set(records.map(\.host))).sorted().joined(separator: ", ")
        report.matrix = ordered[0].report.matrix
        if runs.count > 1 || !(report.matrix?.keys.isEmpty ?? true) {
            report.comparison = Comparison(runs: runs, matrixKeys: report.matrix?.keys ?? [])
        }
        if !thresholds.isEmpty { report.thresholds = ThresholdResult.evaluate(thresholds, runs: runs) }
        report.merge = MergeRecord(shards: count, scenarioHash: hash, files: ordered.map(\.path), startSkewS: skew, maxSkewS: limit, skewed: skew > limit)
        return report
    }

    /// One run, summed over its shards.
    static func mergeRun(_ parts: [(record: ShardRecord, run: RunResult)]) throws(DistributedError) -> RunResult {
        var merged = parts[0].run
        let runs = parts.map(\.run)
        func sum<T: BinaryInteger>(_ value: (RunResult) -> T) -> T { runs.reduce(0) { $0 + value($1) } }
        func sum(_ value: (RunResult) -> Double) -> Double { runs.reduce(0) { $0 + value($1) } }

        merged.connections = RunResult.ConnectionCounts(
            requested: sum { $0.connections.requested }, established: sum { $0.connections.established }, failed: sum { $0.connections.failed },
            reconnects: runs.contains { $0.connections.reconnects != nil } ? sum { $0.connections.reconnects ?? 0 } : nil,
            starved: runs.contains { $0.connections.starved != nil } ? sum { $0.connections.starved ?? 0 } : nil)
        merged.messages = RunResult.MessageCounts(
            sent: sum { $0.messages.sent }, received: sum { $0.messages.received }, bytesSent: sum { $0.messages.bytesSent },
            bytesReceived: sum { $0.messages.bytesReceived }, peakInFlight: runs.map(\.messages.peakInFlight).max() ?? 0)
        merged.latencyNs = try HistogramSum.add(runs.map(\.latencyNs))
        merged.latencyUncorrectedNs = try HistogramSum.addOptional(runs.map(\.latencyUncorrectedNs))
        merged.connectLatencyNs = try HistogramSum.add(runs.map(\.connectLatencyNs))
        if let steps = merged.steps {
            merged.steps = try steps.map { step throws(DistributedError) in
                let same = runs.compactMap { $0.steps?.first { $0.name == step.name } }
                return StepRecord(name: step.name, count: same.reduce(0) { $0 + $1.count }, latencyNs: try HistogramSum.add(same.map(\.latencyNs)),
                                  latencyUncorrectedNs: try HistogramSum.addOptional(same.map(\.latencyUncorrectedNs)))
            }
        }
        merged.throughput = RunResult.Throughput(
            messagesPerSecond: sum { $0.throughput.messagesPerSecond }, bytesPerSecondSent: sum { $0.throughput.bytesPerSecondSent },
            bytesPerSecondReceived: sum { $0.throughput.bytesPerSecondReceived },
            connectionsPerSecond: runs.contains { $0.throughput.connectionsPerSecond != nil } ? sum { $0.throughput.connectionsPerSecond ?? 0 } : nil,
            requestsPerSecond: runs.contains { $0.throughput.requestsPerSecond != nil } ? sum { $0.throughput.requestsPerSecond ?? 0 } : nil)
        var errors = ErrorCounts()
        for run in runs { errors.add(run.errors) }
        merged.errors = errors
        merged.firstError = runs.lazy.compactMap(\.firstError).first
        merged.udp = mergeUDP(runs)
        merged.cpu = RunResult.CPUUsage(
            clientUserS: sum { $0.cpu.clientUserS }, clientSysS: sum { $0.cpu.clientSysS },
            clientMeasuredS: runs.contains { $0.cpu.clientMeasuredS != nil } ? sum { $0.cpu.clientMeasuredS ?? 0 } : nil,
            serverUserS: runs.contains { $0.cpu.serverUserS != nil } ? sum { $0.cpu.serverUserS ?? 0 } : nil,
            serverSysS: runs.contains { $0.cpu.serverSysS != nil } ? sum { $0.cpu.serverSysS ?? 0 } : nil)
        if merged.schedule != nil {
            let schedules = runs.compactMap(\.schedule)
            let lag = try HistogramSum.add(schedules.map(\.sendLagNs))
            let scheduled = schedules.reduce(0) { $0 + $1.scheduled }
            let sent = schedules.reduce(0) { $0 + $1.sent }
            let late = schedules.reduce(0) { $0 + $1.lateSends }
            merged.schedule = RunResult.ScheduleRecord(
                requestedPerSecond: schedules.reduce(0) { $0 + $1.requestedPerSecond }, achievedPerSecond: schedules.reduce(0) { $0 + $1.achievedPerSecond },
                scheduled: scheduled, sent: sent, unsent: schedules.reduce(0) { $0 + $1.unsent },
                unsentWhileDown: schedules.contains { $0.unsentWhileDown != nil } ? schedules.reduce(0) { $0 + ($1.unsentWhileDown ?? 0) } : nil,
                lateSends: late, sendLagNs: lag,
                behindSchedule: Double(sent) < 0.99 * Double(scheduled) || Double(late) > 0.01 * Double(max(sent, 1)))
        }
        merged.protocolMismatches = runs.contains { $0.protocolMismatches != nil } ? Array(runs.flatMap { $0.protocolMismatches ?? [] }.prefix(WorkerResult.keptMismatches)) : nil
        if var memory = merged.memory {
            let peak = runs.reduce(UInt64(0)) { $0 + ($1.memory?.clientPeakResidentBytes ?? 0) }
            let before = runs.reduce(UInt64(0)) { $0 + ($1.memory?.clientResidentBeforeBytes ?? 0) }
            let connections = Double(max(1, merged.connections.requested))
            memory.clientPeakResidentBytes = peak
            memory.clientResidentBeforeBytes = before
            memory.clientBytesPerConnection = Double(peak > before ? peak - before : 0) / connections
            memory.serverPeakResidentBytes = memory.serverPeakResidentBytes.map { _ in runs.reduce(UInt64(0)) { $0 + ($1.memory?.serverPeakResidentBytes ?? 0) } }
            memory.serverBytesPerConnection = memory.serverPeakResidentBytes.map { Double($0) / connections }
            merged.memory = memory
        }
        // Per host and per file, not additive: each shard's report keeps its own.
        merged.capture = nil
        merged.tcpInfo = nil
        merged.kernelCounters = nil
        merged.resourceTrend = nil
        merged.impairment = nil
        merged.warmup = nil
        merged.socketOptions.server = nil

        let starts = runs.map { $0.windowStartUnixNs ?? 0 }
        let base = starts.min() ?? 0
        merged.windowStartUnixNs = base
        merged.intervals = try IntervalAlignment.align(runs, base: base)
        merged.events = runs.enumerated().flatMap { shard, run in
            (run.events ?? []).filter { $0.kind != .errorBudget }.map { event in
                var event = event
                event.message = "shard \(parts[shard].record.index): \(event.message)"
                return event
            }
        }.sorted { $0.atS < $1.atS }
        if merged.events?.isEmpty == true { merged.events = nil }
        merged.shards = parts.map { part in
            ShardFigures(index: part.record.index, host: part.record.host, connections: part.run.connections.requested,
                         messagesPerSecond: part.run.throughput.messagesPerSecond, p50Ns: part.run.latencyNs.p50, p99Ns: part.run.latencyNs.p99,
                         errors: part.run.errors.total, lateS: part.record.lateS,
                         offsetS: Double((part.run.windowStartUnixNs ?? base) &- base) / 1e9)
        }
        return merged
    }

    static func mergeUDP(_ runs: [RunResult]) -> RunResult.UDPRecord? {
        let records = runs.compactMap(\.udp)
        guard var merged = records.first else { return nil }
        func optional(_ value: (RunResult.UDPRecord) -> UInt64?) -> UInt64? {
            records.contains { value($0) != nil } ? records.reduce(0) { $0 + (value($1) ?? 0) } : nil
        }
        merged.sent = records.reduce(0) { $0 + $1.sent }
        merged.received = optional(\.received)
        merged.lost = optional(\.lost)
        merged.lossPercent = merged.lost.map { merged.sent == 0 ? 0 : 100 * Double($0) / Double(merged.sent) }
        merged.duplicated = records.reduce(0) { $0 + $1.duplicated }
        merged.reordered = records.reduce(0) { $0 + $1.reordered }
        // Jitter is a running estimate per flow: the merged figure weighs each shard by its answers.
        let weights = records.map { Double($0.received ?? 0) }
        let total = weights.reduce(0, +)
        merged.jitterNs = total > 0 && records.allSatisfy { $0.jitterNs != nil }
            ? zip(records, weights).reduce(0) { $0 + ($1.0.jitterNs ?? 0) * $1.1 } / total : nil
        merged.damaged = optional(\.damaged)
        merged.clientRxqOverflows = optional(\.clientRxqOverflows)
        merged.serverRxqOverflows = optional(\.serverRxqOverflows)
        merged.hostRcvbufErrors = optional(\.hostRcvbufErrors)
        merged.hostInErrors = optional(\.hostInErrors)
        return merged
    }
}

extension RunResult {
    /// Which run of a sequence this is: variant and repetition.
    var mergeKey: String { repetition.map { "\(variant) #\($0)" } ?? variant }

    /// The error budget judged on the merged errors and attempts (a count budget is the whole
    /// run's, not each shard's).
    mutating func rejudgeBudget(_ budget: ErrorBudget, isDefault: Bool) {
        let attempts = messages.sent + UInt64(connections.established + connections.failed)
        let allowed = budget.allowed(attempts: attempts)
        errorBudget = ErrorBudgetRecord(budget: budget.description + (isDefault ? " (the default)" : ""), allowed: allowed, errors: errors.total,
                                        attempts: attempts, exceeded: errors.total > allowed, isDefault: isDefault ? true : nil)
        if errorBudget!.exceeded {
            events = ((events ?? []) + [errorBudget!.event(intervals: intervals ?? [], runEndS: durationS)]).sorted { $0.atS < $1.atS }
        }
    }
}
