import TraceAnalysis

/// One name compared at two moments (or in two traces): the common row of growth and diff.
public struct ComparisonRow: Encodable {
    public var name: String
    public var countBefore: Int
    public var countAfter: Int
    public var bytesBefore: UInt64
    public var bytesAfter: UInt64
    public var countChange: Int64 { Saturating.change(from: UInt64(countBefore), to: UInt64(countAfter)) }
    public var bytesChange: Int64 { Saturating.change(from: bytesBefore, to: bytesAfter) }
    /// new, gone, larger, smaller or same.
    public var status: String {
        if countBefore == 0 && countAfter > 0 { return "new" }
        if countAfter == 0 && countBefore > 0 { return "gone" }
        if bytesChange > 0 || (bytesChange == 0 && countChange > 0) { return "larger" }
        if bytesChange < 0 || countChange < 0 { return "smaller" }
        return "same"
    }

    enum CodingKeys: String, CodingKey {
        case name, status
        case countBefore = "count_before", countAfter = "count_after", countChange = "count_change"
        case bytesBefore = "bytes_before", bytesAfter = "bytes_after", bytesChange = "bytes_change"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(status, forKey: .status)
        try c.encode(countBefore, forKey: .countBefore)
        try c.encode(countAfter, forKey: .countAfter)
        try c.encode(countChange, forKey: .countChange)
        try c.encode(bytesBefore, forKey: .bytesBefore)
        try c.encode(bytesAfter, forKey: .bytesAfter)
        try c.encode(bytesChange, forKey: .bytesChange)
    }

    /// Rows for every name in either tally, biggest increase first (by count, then bytes).
    static func compare(_ before: [String: HeapSnapshot.Tally], _ after: [String: HeapSnapshot.Tally]) -> [ComparisonRow] {
        let names = Set(before.keys).union(after.keys)
        return names.map { n in
            ComparisonRow(name: n, countBefore: before[n]?.blocks ?? 0, countAfter: after[n]?.blocks ?? 0,
                          bytesBefore: before[n]?.bytes ?? 0, bytesAfter: after[n]?.bytes ?? 0)
        }
        .sorted { ($0.countChange, $0.bytesChange, $1.name) > ($1.countChange, $1.bytesChange, $0.name) }
    }

    static func table(_ rows: [ComparisonRow], before: String, after: String) -> String {
        var t = TextTable(["count \(before)", "count \(after)", "change", "bytes change", "status", "name"],
                          rightAligned: [0, 1, 2, 3])
        for r in rows {
            t.add([Formatting.count(r.countBefore), Formatting.count(r.countAfter), Formatting.signed(r.countChange),
                   Formatting.signedBytes(r.bytesChange), r.status, r.name])
        }
        return t.render()
    }
}
