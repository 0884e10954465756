/// Arithmetic on figures that come from a trace (sizes, RSS samples, sums of them): a crafted or
/// damaged trace can hold any 64-bit value, so these never trap; a figure that does not fit
/// stops at the largest value instead.
public enum Saturating {
    /// a + b, or UInt64.max when the sum does not fit.
    @inline(__always)
    public static func add(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (s, o) = a.addingReportingOverflow(b)
        return o ? .max : s
    }

    /// a * b, or UInt64.max when the product does not fit.
    @inline(__always)
    public static func multiply(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (p, o) = a.multipliedReportingOverflow(by: b)
        return o ? .max : p
    }

    /// The change from `a` to `b`, clamped to Int64's range.
    public static func change(from a: UInt64, to b: UInt64) -> Int64 {
        b >= a ? Int64(clamping: b - a) : -Int64(clamping: a - b)
    }

    /// A UInt64 figure as Int64 (formats that store signed values), clamped.
    public static func signed(_ v: UInt64) -> Int64 { Int64(clamping: v) }

    /// A Double as UInt64: NaN and negatives 0, too large UInt64.max.
    public static func unsigned(_ d: Double) -> UInt64 {
        guard d > 0 else { return 0 }                  // also NaN
        return d >= 18_446_744_073_709_551_616.0 ? .max : UInt64(d)
    }

    /// A Double as Int64, clamped (NaN 0).
    public static func int64(_ d: Double) -> Int64 {
        guard !d.isNaN else { return 0 }
        if d >= 9_223_372_036_854_775_808.0 { return .max }
        if d <= -9_223_372_036_854_775_808.0 { return .min }
        return Int64(d)
    }
}
