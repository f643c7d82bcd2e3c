import Foundation

/// Number formatting shared by the Markdown report and the terminal summary.
enum Format {
    /// A latency in the unit that keeps 3-4 significant digits: `812ns`, `36.2µs`, `4.10ms`, `1.20s`.
    static func latency(_ nanoseconds: Double) -> String {
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
        return bits >= 1e9 ? String(format: "%.2f Gbit/s", bits / 1e9) : String(format: "%.1f Mbit/s", bits / 1e6)
    }

    static func bytes(_ count: Double) -> String {
        switch count {
        case ..<1024: return String(format: "%.0f B", count)
        case ..<(1024 * 1024): return String(format: "%.1f KiB", count / 1024)
        case ..<(1024 * 1024 * 1024): return String(format: "%.1f MiB", count / 1048576)
        default: return String(format: "%.2f GiB", count / 1073741824)
        }
    }

    /// A rate with thousands separators, `12,345/s`.
    static func rate(_ perSecond: Double) -> String { grouped(perSecond.rounded()) + "/s" }

    static func grouped(_ value: Double) -> String {
        let digits = String(Int64(value))
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

extension Format {
    /// `2.3%`, one decimal.
    static func percent(_ value: Double) -> String { String(format: "%.1f%%", value) }
}
