import TraceFormat

/// Converts ticks to CLOCK_MONOTONIC nanoseconds, piecewise-linearly between the (ticks, ns) pairs of
/// the `process` start, each `sync` and the `end`. Before the first pair it extends the first
/// segment's rate, after the last pair the last segment's; with a single pair it assumes 1 ns per
/// tick. With clock kind 0 the ticks already are nanoseconds.
public struct TickClock: Sendable {
    /// (ticks, ns) pairs, strictly increasing in both.
    public private(set) var pairs: [(ticks: UInt64, nanoseconds: UInt64)] = []
    /// Ticks are nanoseconds: no conversion.
    public private(set) var isIdentity: Bool
    /// `startMonotonicNanoseconds` of the process (the zero of `secondsSinceStart`).
    public private(set) var origin: UInt64

    /// A clock for `process` (identity with origin 0 when there is no process record).
    public init(process: TraceProcess?) {
        guard let process else {
            isIdentity = true
            origin = 0
            return
        }
        isIdentity = process.clockRaw == ClockKind.monotonicNanoseconds.rawValue
        origin = isIdentity ? process.startTicks : process.startMonotonicNanoseconds
        add(ticks: process.startTicks, nanoseconds: process.startMonotonicNanoseconds)
    }

    /// Adds a pair; ignored unless it is after the last pair in both ticks and nanoseconds.
    public mutating func add(ticks: UInt64, nanoseconds: UInt64) {
        if let last = pairs.last, ticks <= last.ticks || nanoseconds < last.nanoseconds { return }
        pairs.append((ticks, nanoseconds))
    }

    /// CLOCK_MONOTONIC nanoseconds at `ticks` (may be negative only far before the first pair).
    public func nanoseconds(_ ticks: UInt64) -> Int64 {
        if isIdentity || pairs.isEmpty { return Int64(bitPattern: ticks) }
        if pairs.count == 1 { return Int64(bitPattern: pairs[0].nanoseconds &+ (ticks &- pairs[0].ticks)) }
        // The segment [i, i+1] containing ticks (clamped to the first and last segments). A replay
        // asks mostly about the last one (events released by the sync that added its end).
        var lo = pairs.count - 2, hi = pairs.count - 1
        if pairs[lo].ticks > ticks {
            lo = 0
            while hi - lo > 1 {
                let mid = (lo + hi) / 2
                if pairs[mid].ticks <= ticks { lo = mid } else { hi = mid }
            }
        }
        let a = pairs[lo], b = pairs[lo + 1]
        let dt = b.ticks - a.ticks, dn = b.nanoseconds - a.nanoseconds
        let negative = ticks < a.ticks
        let distance = negative ? a.ticks - ticks : ticks - a.ticks
        let product = distance.multipliedFullWidth(by: dn)
        let scaled: UInt64
        if product.high >= dt {
            scaled = UInt64(Int64.max)
        } else {
            scaled = dt.dividingFullWidth(product).quotient
        }
        let base = Int64(bitPattern: a.nanoseconds)
        let offset = Int64(bitPattern: min(scaled, UInt64(Int64.max)))
        return negative ? base &- offset : base &+ offset
    }

    /// Nanoseconds from the start of recording (`process.start_monotonic_ns`) to `ticks`.
    public func nanosecondsSinceStart(_ ticks: UInt64) -> Int64 {
        nanoseconds(ticks) &- Int64(bitPattern: origin)
    }
}
