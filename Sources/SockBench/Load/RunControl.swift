import Synchronization

/// Tells a running load to stop before its end time, and why: the user interrupted it (SIGINT or
/// SIGTERM) or the reference server died. Workers read it once per loop iteration (one relaxed
/// atomic load, no lock); the engine's collecting thread and the runner set it.
public final class RunControl: Sendable {
    public enum Reason: UInt8, Sendable {
        case interrupted = 1
        case serverExited = 2
        case proxyExited = 3
    }

    private let state = Atomic<UInt8>(0)

    public init() {}

    /// Asks the load to stop; the first reason given is the one kept.
    public func stop(_ reason: Reason) {
        _ = state.compareExchange(expected: 0, desired: reason.rawValue, ordering: .relaxed)
    }

    public var reason: Reason? { Reason(rawValue: state.load(ordering: .relaxed)) }

    @inline(__always)
    var stopRequested: Bool { state.load(ordering: .relaxed) != 0 }
}
