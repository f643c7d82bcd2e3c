/// Something that happened at one moment of a run (`runs[].events[]`): the first errors of each
/// worker, the reference server exiting, an interruption, the error budget running out.
public struct RunEvent: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case error
        case serverExited = "server-exited"
        case interrupted
        case errorBudget = "error-budget"
    }

    /// Seconds from the start of the measured window (negative: during the warm-up).
    public var atS: Double
    public var kind: Kind
    /// For errors: refused, reset, timeout, closed, integrity, protocol or other.
    public var category: String?
    public var message: String

    public init(atS: Double, kind: Kind, category: String? = nil, message: String) {
        self.atS = atS
        self.kind = kind
        self.category = category
        self.message = message
    }
}

/// `runs[].error_budget`: the scenario's budget against the errors the run saw.
public struct ErrorBudgetRecord: Codable, Sendable, Equatable {
    /// As written in the scenario (`10 errors`, `1% of attempts`).
    public var budget: String
    public var allowed: UInt64
    public var errors: UInt64
    /// Messages sent plus connection attempts.
    public var attempts: UInt64
    public var exceeded: Bool
}

/// `runs[].impairment`: what the impairment proxy was told to do and what it did, next to what
/// the run measured.
public struct ImpairmentRecord: Codable, Sendable, Equatable {
    /// The proxy the clients talked to (the server's address is `runs[].server.address`).
    public var proxy: String
    /// The `impair:` settings as given (delay, jitter, rate, loss, ..., direction, seed).
    public var settings: [String: String]
    /// The proxy's own count of what it forwarded, dropped, duplicated, reordered, reset and stalled.
    public var injected: InjectedStatistics?
}
