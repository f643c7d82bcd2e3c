import CSockBenchLinux
import Glibc

/// CLOCK_MONOTONIC in nanoseconds: the one clock every timestamp in a run is taken from.
public enum MonotonicClock {
    @inline(__always)
    public static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}
