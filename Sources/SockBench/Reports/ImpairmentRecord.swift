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
