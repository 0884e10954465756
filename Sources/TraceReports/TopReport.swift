import Symbolication
import TraceAnalysis

/// What `top` ranks sites by.
public enum SiteMetric: String, CaseIterable, Sendable {
    case allocations, bytes, peak, leaked, temporary
}

/// `alloctrace top`: allocation sites ranked by one measure, each with its full stack.
public struct TopReport: Encodable {
    public struct Row: Encodable {
        public var value: UInt64
        public var function: String
        public var location: String
        public var allocations: UInt64
        public var bytes: UInt64
        public var peakBytes: UInt64
        public var leakedBytes: UInt64
        public var leakedBlocks: UInt64
        public var temporary: UInt64
        /// Stacks merged into this row (1 unless grouped by function).
        public var stacks: Int
        public var stack: [String]

        enum CodingKeys: String, CodingKey {
            case value, function, location, allocations, bytes, temporary, stacks, stack
            case peakBytes = "peak_bytes", leakedBytes = "leaked_bytes", leakedBlocks = "leaked_blocks"
        }
    }

    public var trace: String
    public var by: String
    public var group: String
    public var totalSites: Int
    public var rows: [Row]

    enum CodingKeys: String, CodingKey {
        case trace, by, group, rows
        case totalSites = "total_sites"
    }

    public init(replay: HeapReplay, resolver: StackResolver, by metric: SiteMetric, groupByFunction: Bool, limit: Int) {
        let sites = replay.sites
        var rows: [String: Row] = [:]
        var order: [String] = []
        for stack in sites.stacks {
            let i = Int(stack)
            let function = resolver.function(stack)
            let key = groupByFunction ? function : String(stack)
            var row = rows[key] ?? Row(value: 0, function: function, location: groupByFunction ? function : resolver.location(stack),
                                       allocations: 0, bytes: 0, peakBytes: 0, leakedBytes: 0, leakedBlocks: 0,
                                       temporary: 0, stacks: 0,
                                       stack: resolver.frames(stack).map(StackResolver.describe))
            if rows[key] == nil { order.append(key) }
            row.allocations += sites.allocations[i]
            row.bytes = Saturating.add(row.bytes, sites.bytes[i])
            row.peakBytes = Saturating.add(row.peakBytes, sites.peak(i))
            row.leakedBytes = Saturating.add(row.leakedBytes, sites.liveBytes[i])
            row.leakedBlocks += sites.liveBlocks[i]
            row.temporary += sites.temporary[i]
            row.stacks += 1
            rows[key] = row
        }
        var list = order.map { rows[$0]! }
        for i in list.indices {
            let r = list[i]
            switch metric {
            case .allocations: list[i].value = r.allocations
            case .bytes: list[i].value = r.bytes
            case .peak: list[i].value = r.peakBytes
            case .leaked: list[i].value = r.leakedBytes
            case .temporary: list[i].value = r.temporary
            }
        }
        list = list.filter { $0.value > 0 }
        list.sort { ($0.value, $1.location) > ($1.value, $0.location) }
        trace = replay.reader.path
        by = metric.rawValue
        group = groupByFunction ? "function" : "stack"
        totalSites = list.count
        self.rows = Array(list.prefix(limit))
    }

    public func text() -> String {
        var o = "top \(rows.count) of \(totalSites) sites by \(by)" + (group == "function" ? ", grouped by function" : "") + "\n"
        let isBytes = by != "allocations" && by != "temporary"
        for (n, r) in rows.enumerated() {
            let value = isBytes ? Formatting.bytes(r.value) : Formatting.count(r.value)
            o += "\n#\(n + 1)  \(value)  \(r.function)\n"
            o += "    allocations \(Formatting.count(r.allocations)), bytes \(Formatting.bytes(r.bytes)), at peak \(Formatting.bytes(r.peakBytes)), "
            o += "not freed \(Formatting.bytes(r.leakedBytes)) in \(Formatting.count(r.leakedBlocks)), temporary \(Formatting.count(r.temporary))"
            if r.stacks > 1 { o += ", \(r.stacks) stacks" }
            o += "\n"
            for frame in r.stack { o += "      \(frame)\n" }
        }
        return o
    }
}
