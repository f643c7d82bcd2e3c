import Foundation

/// Number formatting shared by the Markdown report and the terminal summary.
enum Format {
    /// A latency in the unit that keeps 3-4 significant digits: `812ns`, `36.2µs`, `4.10ms`, `1.20s`.
    static func latency(_ nanoseconds: Double) -> String {
        if let text = outsidePrintable(nanoseconds, unit: "s", scale: 1e9) { return text }
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
        let bits = bytesPerSecond * 8
        if let text = outsidePrintable(bits, unit: " Gbit/s", scale: 1e9) { return text }
        return bits >= 1e9 ? String(format: "%.2f Gbit/s", bits / 1e9) : String(format: "%.1f Mbit/s", bits / 1e6)
    }

    static func bytes(_ count: Double) -> String {
        if let text = outsidePrintable(count, unit: " GiB", scale: 1073741824) { return text }
        switch count {
        case ..<1024: return String(format: "%.0f B", count)
        case ..<(1024 * 1024): return String(format: "%.1f KiB", count / 1024)
        case ..<(1024 * 1024 * 1024): return String(format: "%.1f MiB", count / 1048576)
        default: return String(format: "%.2f GiB", count / 1073741824)
        }
    }

    /// A rate with thousands separators, `12,345/s`.
    static func rate(_ perSecond: Double) -> String { outsidePrintable(perSecond, unit: "/s", scale: 1) ?? grouped(perSecond.rounded()) + "/s" }

    /// `1,234,567`; `n/a` for NaN or infinity and `9.3e+18` from 1e15 up, where `Int64(_:)` would trap or digits mislead.
    static func grouped(_ value: Double) -> String {
        if let text = outsidePrintable(value, unit: "", scale: 1) { return text }
        let digits = String(Int64(value))
        var result = ""
        for (index, character) in digits.reversed().enumerated() {
            if index > 0, index % 3 == 0, character != "-" { result.append(",") }
            result.append(character)
        }
        return String(result.reversed())
    }

    static func seconds(_ value: Double) -> String { outsidePrintable(value, unit: " s", scale: 1) ?? String(format: "%.3f s", value) }

    /// Figures a run cannot produce but a report file can hold (edited, corrupt, or from a broken
    /// tool): NaN, infinities, and magnitudes of 1e15 units or more. Nil for ordinary values;
    /// else `n/a` (not finite) or scientific notation in the largest unit, so no formatter
    /// converts it to an integer (which would stop the process) or prints hundreds of digits.
    static func outsidePrintable(_ value: Double, unit: String, scale: Double) -> String? {
        guard value.isFinite else { return "n/a" }
        guard abs(value) >= 1e15 * scale else { return nil }
        return String(format: "%.3g", value / scale) + unit
    }
}

/// `1 connection`, `16 connections`.
public func plural(_ count: Int, _ noun: String) -> String { count == 1 ? "1 \(noun)" : "\(count) \(noun)s" }

/// `1 error`, `3 errors`, for the unsigned counters reports keep.
public func plural(_ count: UInt64, _ noun: String) -> String { count == 1 ? "1 \(noun)" : "\(count) \(noun)s" }

extension Format {
    /// `2.3%`, one decimal.
    static func percent(_ value: Double) -> String { outsidePrintable(value, unit: "%", scale: 1) ?? String(format: "%.1f%%", value) }
}
