import Synchronization

/// Whether a capture socket is attached right now. The capture thread sets it when a handle is
/// activated and clears it when the handle is closed; the load's workers read it once per loop
/// iteration (a relaxed load, never per message) to count what they completed with the capture
/// attached and without it, which is how a run measures its own observer effect.
public final class CaptureGate: Sendable {
    private let state = Atomic<Bool>(false)

    public init() {}

    public var isOpen: Bool { state.load(ordering: .relaxed) }

    func set(open: Bool) { state.store(open, ordering: .relaxed) }
}
