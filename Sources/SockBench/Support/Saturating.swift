/// Conversions from `Double` that cannot trap. Swift's `UInt64(_:)` and `Int(_:)` stop the
/// process on NaN, infinity or a value past the integer's range; a scenario's rate, a report's
/// figure or a schedule's tick can be any of those, so every such conversion goes through here.
extension UInt64 {
    /// `value` rounded toward zero, clamped to `0...UInt64.max`; NaN is 0.
    @inline(__always)
    init(saturating value: Double) {
        if value.isNaN || value <= 0 {
            self = 0
        } else if value >= 18_446_744_073_709_551_616.0 { // 2^64, the first Double past UInt64.max
            self = .max
        } else {
            self = UInt64(value)
        }
    }
}

extension Int {
    /// `value` rounded toward zero, clamped to `Int.min...Int.max`; NaN is 0.
    @inline(__always)
    init(saturating value: Double) {
        if value.isNaN {
            self = 0
        } else if value >= 9_223_372_036_854_775_808.0 { // 2^63
            self = .max
        } else if value < -9_223_372_036_854_775_808.0 {
            self = .min
        } else {
            self = Int(value)
        }
    }
}

extension UInt64 {
    /// The sum, or `UInt64.max` where it would overflow (counts read back from a report).
    @inline(__always)
    func saturatingAdd(_ other: UInt64) -> UInt64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? .max : sum
    }
}
