import Foundation

/// Number formatting shared by the Markdown report and the terminal summary.
enum Format {
    /// A latency in the unit that keeps 3-4 significant digits: `812ns`, `36.2µs`, `4.10ms`, `1.20s`.
    static func latency(_ nanoseconds: Double) -> String {
        guard nanoseconds.isFinite else { return "n/a" }
        switch nanoseconds {
        case ..<1_000: return String(format: "%.0fns", nanoseconds)
        case ..<1_000_000: return String(format: "%.1fµs", nanoseconds / 1e3)
        case ..<1_000_000_000: return String(format: "%.2fms", nanoseconds / 1e6)
        default: return String(format: "%.2fs", nanoseconds / 1e9)
        }
    }

    static func latency(_ nanoseconds: UInt64) -> String { latency(Double(nanoseconds)) }

    /// Bits per second in Gbit/s (or Mbit/s below 1 Gbit/s).
    static func bitRate(bytesPerSecond: Double) -> String {
        guard bytesPerSecond.isFinite else { return "n/a" }
        let bits = bytesPerSecond * 8
        return bits >= 1e9 ? String(format: "%.2f Gbit/s", bits / 1e9) : String(format: "%.1f Mbit/s", bits / 1e6)
    }

    static func bytes(_ count: Double) -> String {
        guard count.isFinite else { return "n/a" }
        switch count {
        case ..<1024: return String(format: "%.0f B", count)
        case ..<(1024 * 1024): return String(format: "%.1f KiB", count / 1024)
        case ..<(1024 * 1024 * 1024): return String(format: "%.1f MiB", count / 1048576)
        default: return String(format: "%.2f GiB", count / 1073741824)
        }
    }

    /// A rate with thousands separators, `12,345/s`.
    static func rate(_ perSecond: Double) -> String { perSecond.isFinite ? grouped(perSecond.rounded()) + "/s" : "n/a" }

    /// `1,234,567`; `n/a` for NaN or infinity (which `Int64(_:)` would trap on), clamped to Int64's range.
    static func grouped(_ value: Double) -> String {
        guard value.isFinite else { return "n/a" }
        let digits = String(Int64(Swift.min(Swift.max(value, -9.2e18), 9.2e18)))
        var result = ""
        for (index, character) in digits.reversed().enumerated() {
            if index > 0, index % 3 == 0, character != "-" { result.append(",") }
            result.append(character)
        }
        return String(result.reversed())
    }

    static func seconds(_ value: Double) -> String { String(format: "%.3f s", value) }
}

/// `1 connection`, `16 connections`.
public func plural(_ count: Int, _ noun: String) -> String { count == 1 ? "1 \(noun)" : "\(count) \(noun)s" }

/// `1 error`, `3 errors`, for the unsigned counters reports keep.
public func plural(_ count: UInt64, _ noun: String) -> String { count == 1 ? "1 \(noun)" : "\(count) \(noun)s" }

extension Format {
    /// `2.3%`, one decimal.
    static func percent(_ value: Double) -> String { value.isFinite ? String(format: "%.1f%%", value) : "n/a" }
}
