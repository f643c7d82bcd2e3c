import CSockBenchLinux
import Glibc

/// CLOCK_MONOTONIC in nanoseconds: the one clock every timestamp in a run is taken from.
public enum MonotonicClock {
    @inline(__always)
    public static func now() -> UInt64 { read(CLOCK_MONOTONIC) }

    /// The wall clock (CLOCK_REALTIME) in nanoseconds since the epoch: what packet timestamps use.
    public static func wallClock() -> UInt64 { read(CLOCK_REALTIME) }

    private static func read(_ clock: clockid_t) -> UInt64 {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}
