/// What the load completed inside the measured window while a capture socket was attached and
/// while none was (`CaptureGate`), for the run's own observer effect.
public struct CaptureSplit: Sendable, Equatable {
    public var messagesInside: UInt64 = 0
    public var bytesInside: UInt64 = 0
    public var messagesOutside: UInt64 = 0
    public var bytesOutside: UInt64 = 0

    public init() {}

    /// Adds the answers and bytes received between two snapshots of a worker's totals.
    mutating func add(from start: IntervalTotals, to end: IntervalTotals, inside: Bool) {
        let messages = end.messagesReceived &- start.messagesReceived
        let bytes = end.bytesReceived &- start.bytesReceived
        if inside {
            messagesInside &+= messages
            bytesInside &+= bytes
        } else {
            messagesOutside &+= messages
            bytesOutside &+= bytes
        }
    }

    mutating func merge(_ other: CaptureSplit) {
        messagesInside &+= other.messagesInside
        bytesInside &+= other.bytesInside
        messagesOutside &+= other.messagesOutside
        bytesOutside &+= other.bytesOutside
    }
}
