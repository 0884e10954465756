/// Address ranges `[start, end)` with a value each, sorted once, then queried by address: the
/// containing range with the greatest start wins (the innermost, when ranges nest). Overlaps are
/// allowed: a running maximum of the ends bounds the backward scan.
struct RangeIndex<Value> {
    private var starts: [UInt64] = []
    private var ends: [UInt64] = []
    private var values: [Value] = []
    /// `maxEnds[i]` = max(ends[0...i]).
    private var maxEnds: [UInt64] = []

    var count: Int { starts.count }

    init(_ ranges: [(start: UInt64, end: UInt64, value: Value)]) {
        let sorted = ranges.filter { $0.end > $0.start }.sorted { $0.start < $1.start }
        starts = sorted.map(\.start)
        ends = sorted.map(\.end)
        values = sorted.map(\.value)
        maxEnds.reserveCapacity(sorted.count)
        var m: UInt64 = 0
        for e in ends {
            m = max(m, e)
            maxEnds.append(m)
        }
    }

    /// The value of the range holding `address`, nil when none does.
    func lookup(_ address: UInt64) -> Value? {
        var lo = 0, hi = starts.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if starts[mid] <= address { lo = mid + 1 } else { hi = mid }
        }
        var i = lo - 1
        while i >= 0 && maxEnds[i] > address {
            if ends[i] > address { return values[i] }
            i -= 1
        }
        return nil
    }
}
