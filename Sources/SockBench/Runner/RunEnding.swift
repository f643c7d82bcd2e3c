/// How a sequence of runs ended when it did not simply finish: the report's `status` and `failure`.
struct RunEnding: Sendable {
    enum Status: String, Sendable {
        case ok
        /// A run could not measure at all (no connection, nothing exchanged, setup failed): exit 3.
        case failed
        /// A run measured, but the reference server died or the errors passed the budget: exit 3.
        case degraded
        /// SIGINT or SIGTERM: exit 130, with the runs so far.
        case interrupted
    }

    var status: Status
    var reason: String

    init(status: Status, reason: String) {
        self.status = status
        self.reason = reason
    }

    /// Why the sequence must stop after `run`, if it must. One rule for every pattern: a run whose
    /// measured window completed no exchange has failed; a dead server or proxy, or errors beyond
    /// the error budget, degrade it.
    init?(_ run: RunResult) {
        let target = run.target
        let events = run.events ?? []
        if let interrupted = events.first(where: { $0.kind == .interrupted }) {
            self.init(status: .interrupted, reason: interrupted.message)
        } else if run.connections.established == 0, run.connections.failed > 0 || run.pattern != .connect {
            let why = (run.firstError ?? run.warmup?.events?.first?.message).map { ": \($0)" } ?? ""
            self.init(status: .failed, reason: "no connection to \(target) could be established (\(run.connections.failed) of \(plural(run.connections.failed, "attempt")) failed)\(why)")
        } else if let nothing = Self.noExchange(run) {
            // An open loop far behind may still be sending what was due in the warm-up.
            self.init(status: .failed, reason: Self.fellBehind(run).map { "\(nothing); \($0)" } ?? nothing)
        } else if let exited = events.first(where: { $0.kind == .serverExited || $0.kind == .proxyExited }) {
            self.init(status: .degraded, reason: exited.message)
        } else if let budget = run.errorBudget, budget.exceeded {
            self.init(status: .degraded, reason: "\(plural(Int(clamping: budget.errors), "error")) in \(plural(Int(clamping: budget.attempts), "attempt")) exceed\(budget.errors == 1 ? "s" : "") the error budget of \(budget.budget) (\(budget.allowed) allowed)"
                + (run.firstError.map { "; first: \($0)" } ?? ""))
        } else if let behind = Self.fellBehind(run) {
            self.init(status: .degraded, reason: behind)
        } else {
            return nil
        }
    }

    /// The share of an open-loop schedule below which a run did not measure the rate it was asked
    /// for (wrk2 only prints such a run; a gate that passed it would pass a client that could not
    /// keep up). Sends that fell due while a connection was down are the errors' share, not this one's.
    static let keptScheduleShare = 0.9

    /// Why an open-loop run is degraded by its schedule: it sent under 90% of what fell due in
    /// the window, not counting sends due while connections were down; nil otherwise.
    static func fellBehind(_ run: RunResult) -> String? {
        guard let schedule = run.schedule, schedule.scheduled > 0 else { return nil }
        let kept = schedule.sent &+ (schedule.unsentWhileDown ?? 0)
        guard Double(kept) < keptScheduleShare * Double(schedule.scheduled) else { return nil }
        let share = 100 * Double(schedule.sent) / Double(schedule.scheduled)
        return "the client fell behind its open-loop schedule: \(schedule.sent) of \(schedule.scheduled) sends (\(Format.percent(share))) at "
            + "\(Format.rate(schedule.achievedPerSecond)) of \(Format.rate(schedule.requestedPerSecond)) requested; the latency is not the latency "
            + "at that rate (more connections or depth, or a lower load.rate)"
    }

    /// The reason a run completed no exchange in its measured window, saying what was attempted
    /// and what came back; nil when something was exchanged.
    static func noExchange(_ run: RunResult) -> String? {
        let window = "in the \(Format.seconds(run.durationS)) measured window"
        let messages = run.messages
        let attempted: String
        switch (run.pattern, run.transport) {
        case (.requestResponse, _), (.connect, _):
            guard messages.received == 0 else { return nil }
            let what = run.pattern == .connect ? "transaction" : "request"
            // Nothing sent in the window with connections up: each was still owed an answer from before it.
            let stuck = messages.sent == 0 && run.pattern == .requestResponse && fellBehind(run) == nil
                ? " (every connection was still waiting for an answer to a warm-up request)" : ""
            attempted = "nothing was exchanged with \(run.target) \(window): \(plural(Int(clamping: messages.sent), what)) sent\(stuck), none answered"
        case (.idle, _):
            if run.connectionsHeldOpenOnly {
                guard (run.connections.starved ?? 0) >= run.connections.requested else { return nil }
                attempted = "no connection to \(run.target) stayed open through the \(Format.seconds(run.durationS)) measured window"
            } else {
                guard messages.received == 0 else { return nil }
                attempted = "no ping was answered by \(run.target) \(window): \(plural(Int(clamping: messages.sent), "ping")) sent"
            }
        case (.conversation, _):
            guard messages.received == 0 else { return nil }
            attempted = "no conversation with \(run.target) finished \(window): \(plural(Int(clamping: messages.sent), "conversation")) started, none finished"
        case (.stream, .tcp):
            let bytes: UInt64 = switch run.direction ?? .upload {
            case .upload: messages.bytesSent
            case .download: messages.bytesReceived
            case .both: min(messages.bytesSent, messages.bytesReceived)
            }
            guard bytes == 0 else { return nil }
            let way = switch run.direction ?? .upload {
            case .upload: "no byte could be sent to"
            case .download: "no byte was received from"
            case .both: "the stream did not move both ways with"
            }
            attempted = "\(way) \(run.target) \(window) (sent \(Format.bytes(Double(messages.bytesSent))), received \(Format.bytes(Double(messages.bytesReceived))))"
        case (.stream, .udp):
            // A sink answers nothing: delivery is what the reference server counted, when it did.
            if messages.sent == 0 {
                attempted = "no datagram was sent to \(run.target) \(window)"
            } else if let delivered = run.udp?.received {
                guard delivered == 0 else { return nil }
                attempted = "the server received none of the \(plural(Int(clamping: messages.sent), "datagram")) sent \(window)"
            } else {
                return nil
            }
        }
        let errors = run.errors.total == 0 ? "no error was seen" : "errors: \(run.errors.summary)"
        return attempted + "; \(errors)" + (run.firstError.map { "; first: \($0)" } ?? "")
    }
}

extension RunResult {
    /// Idle connections without pings exchange nothing: their job is to stay open.
    var connectionsHeldOpenOnly: Bool { pattern == .idle && latencyNs.count == 0 && messages.sent == 0 }
}
