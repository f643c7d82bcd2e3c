import CSockBenchLinux
import Foundation
import Glibc

/// `--start-at`: the wall-clock moment every shard starts its warm-up, so N generators on N
/// machines load the server together. Their clocks must agree (NTP) to well under the interval.
public struct StartTime: Sendable, Equatable {
    /// Nanoseconds since the Unix epoch (CLOCK_REALTIME).
    public let unixNanoseconds: UInt64

    public init(unixNanoseconds: UInt64) { self.unixNanoseconds = unixNanoseconds }

    /// RFC 3339 (`2026-12-02T10:00:00Z`, fractions and offsets allowed) or `+DURATION` from now (`+30s`).
    public init(parsing text: String, now: UInt64 = StartTime.wallClockNow()) throws(DistributedError) {
        if text.hasPrefix("+") {
            guard case .success(let delay) = Quantity.nanoseconds(String(text.dropFirst())), delay <= 86_400_000_000_000 else {
                throw DistributedError("--start-at: expected +DURATION of at most 24h (+30s, +2m), got '\(text)'")
            }
            self.init(unixNanoseconds: now + delay)
            return
        }
        guard let date = Self.parseRFC3339(text) else {
            throw DistributedError("--start-at: expected an RFC 3339 time (2026-12-02T10:00:00Z, 2026-12-02T11:00:00.5+01:00) or +DURATION, got '\(text)'")
        }
        let seconds = date.timeIntervalSince1970
        guard seconds > 0, seconds < 1e10 else { throw DistributedError("--start-at: '\(text)' is outside the years 1970 to 2286") }
        self.init(unixNanoseconds: UInt64(seconds * 1e9))
        // More than a day away, either way: a mistyped date, not a plan (a late shard is minutes late).
        if unixNanoseconds > now ? unixNanoseconds - now > 86_400_000_000_000 : now - unixNanoseconds > 86_400_000_000_000 {
            throw DistributedError("--start-at: \(text) is more than 24 hours from now")
        }
    }

    static func parseRFC3339(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    /// The current wall-clock time in nanoseconds since the epoch.
    public static func wallClockNow() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    /// RFC 3339 with nanoseconds, in UTC.
    public static func format(unixNanoseconds: UInt64) -> String {
        var seconds = time_t(unixNanoseconds / 1_000_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%09dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(unixNanoseconds % 1_000_000_000))
    }

    public var text: String { Self.format(unixNanoseconds: unixNanoseconds) }

    /// Sleeps until the moment (in slices of at most 20 ms, so an interruption is seen); returns
    /// how late it is now in seconds (≥ 0; a moment already past returns at once), or nil when
    /// `interrupted` said stop.
    public func wait(interrupted: () -> Bool) -> Double? {
        while true {
            let now = Self.wallClockNow()
            if now >= unixNanoseconds { return Double(now - unixNanoseconds) / 1e9 }
            if interrupted() { return nil }
            let left = unixNanoseconds - now
            var pause = timespec(tv_sec: 0, tv_nsec: Int(min(left, 20_000_000)))
            nanosleep(&pause, nil)
        }
    }
}
