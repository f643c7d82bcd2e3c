/// The capture's cost to the load, measured in the run itself (`runs[].capture.observer_effect`):
/// the load's rate while a capture socket was attached against its rate while none was, both
/// inside the measured window. No peer tool reports its own observer effect; windows mode makes it
/// measurable because the measured window has captured and uncaptured stretches.
public struct ObserverEffect: Codable, Sendable, Equatable {
    /// What the rates count: `messages` (answers received) or `bytes` (received, for streams).
    public var unit: String
    /// Time inside the measured window with a capture attached, and without.
    public var capturedS: Double
    public var uncapturedS: Double
    public var capturedPerSecond: Double?
    public var uncapturedPerSecond: Double?
    /// `captured_per_second / uncaptured_per_second`: 1 is no effect, 0.9 is 10% slower while capturing.
    public var ratio: Double?
    /// What the capture cost this run's figures, from the ratio and the share captured:
    /// (1 - ratio) × captured share, in percent of the measured window's rate.
    public var runCostPercent: Double?
    /// Why there is no ratio, when there is none.
    public var note: String?

    /// Each side needs this much time for a rate worth comparing.
    static let minimumSideNanoseconds: UInt64 = 100_000_000

    /// `windows` are the capture's attached stretches in ns from the measured window's start
    /// (clipped to it here); `measured` is the window's length.
    static func measure(split: CaptureSplit, windows: [(start: UInt64, end: UInt64)], measured: UInt64, bytes: Bool) -> ObserverEffect {
        let captured = windows.reduce(UInt64(0)) { total, window in
            let end = min(window.end, measured)
            return total + (end > window.start ? end - window.start : 0)
        }
        let uncaptured = measured > captured ? measured - captured : 0
        var effect = ObserverEffect(unit: bytes ? "bytes" : "messages", capturedS: Double(captured) / 1e9, uncapturedS: Double(uncaptured) / 1e9)
        guard captured >= minimumSideNanoseconds, uncaptured >= minimumSideNanoseconds else {
            effect.note = captured < minimumSideNanoseconds
                ? "capture was attached for less than 0.1 s of the measured window: too little to measure its effect"
                : "capture was attached for all but \(Format.seconds(effect.uncapturedS)) of the measured window: no uncaptured stretch to compare (Benchmarks/capture-overhead measures full capture against none)"
            return effect
        }
        let inside = Double(bytes ? split.bytesInside : split.messagesInside) / effect.capturedS
        let outside = Double(bytes ? split.bytesOutside : split.messagesOutside) / effect.uncapturedS
        effect.capturedPerSecond = inside
        effect.uncapturedPerSecond = outside
        guard outside > 0 else {
            effect.note = "nothing was answered while capture was off: no rate to compare"
            return effect
        }
        let ratio = inside / outside
        effect.ratio = ratio
        effect.runCostPercent = (1 - ratio) * Double(captured) / Double(measured) * 100
        return effect
    }
}
