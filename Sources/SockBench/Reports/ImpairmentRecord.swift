/// `runs[].impairment`: what the impairment proxy was told to do and what it did, next to what
/// the run measured.
public struct ImpairmentRecord: Codable, Sendable, Equatable {
    /// The proxy the clients talked to (the server's address is `runs[].server.address`).
    public var proxy: String
    /// The `impair:` settings as given (delay, jitter, rate, loss, ..., direction, seed).
    public var settings: [String: String]
    /// The settings that are quantities, as numbers with their unit in the name (absent when not set).
    public var delayNs: UInt64?
    public var jitterNs: UInt64?
    public var rateBitsPerSecond: Double?
    public var sliceBytes: Int?
    public var resetAfterBytes: UInt64?
    public var stallAfterBytes: UInt64?
    public var stallForNs: UInt64?
    /// loss, duplicate and reorder: the share drawn at random (`loss: 1%`), or every Nth datagram (`loss: every 10`).
    public var lossPercent: Double?
    public var lossEvery: Int?
    public var duplicatePercent: Double?
    public var duplicateEvery: Int?
    public var reorderPercent: Double?
    public var reorderEvery: Int?
    /// The proxy's own count of what it forwarded, dropped, duplicated, reordered, reset and stalled.
    public var injected: InjectedStatistics?
}

extension ImpairmentRecord {
    init(proxy: String, spec: ImpairmentSpec, injected: InjectedStatistics?) {
        self.proxy = proxy
        settings = Dictionary(uniqueKeysWithValues: spec.settings.map { ($0.key, $0.text) })
        self.injected = injected
        delayNs = spec.delayNanoseconds > 0 ? spec.delayNanoseconds : nil
        jitterNs = spec.jitterNanoseconds > 0 ? spec.jitterNanoseconds : nil
        rateBitsPerSecond = spec.rateBitsPerSecond
        sliceBytes = spec.sliceBytes
        resetAfterBytes = spec.resetAfterBytes
        stallAfterBytes = spec.stallAfterBytes
        stallForNs = spec.stallAfterBytes != nil ? spec.stallNanoseconds : nil
        (lossPercent, lossEvery) = Self.split(spec.loss)
        (duplicatePercent, duplicateEvery) = Self.split(spec.duplicate)
        (reorderPercent, reorderEvery) = Self.split(spec.reorder)
    }

    private static func split(_ choice: ImpairmentSpec.Choice?) -> (Double?, Int?) {
        switch choice {
        case .percent(let percent)?: (percent, nil)
        case .every(let every)?: (nil, every)
        case nil: (nil, nil)
        }
    }
}
